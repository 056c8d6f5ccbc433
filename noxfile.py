"""Matrix tests: each distribution installed alone with ibert-core, across Pythons.

`nox -s tests` runs every torch-free distribution on Python 3.10-3.13;
`nox -s "tests(package='ibert_core')"` one of them; `adapters` runs the torch distribution
on 3.11 (the only Python with a local torch wheel); `integration` installs everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "adapters", "integration", "lint", "typecheck"]

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CONSTRAINTS = ("-c", "constraints.txt")

#: Each torch-free distribution and the local distributions it needs besides ibert-core
#: (they are not on PyPI, so pip must be given their folders).
LOCAL_DEPS: dict[str, tuple[str, ...]] = {
    "ibert_core": (),
    "ibert_validator_duckdb": (),
    "ibert_tasks_sql": ("ibert_validator_duckdb",),
    "ibert_tasks_docs": ("ibert_validator_duckdb",),
    "ibert_miner_github": ("ibert_validator_duckdb",),
    "plugins/ibert_example_plugin": (),
}
ALL = (*LOCAL_DEPS, "adapters")


def _expose_pyenv_pythons() -> None:
    """Let pyenv's shims answer `python3.X` for every installed version (no effect without
    pyenv), so the matrix runs wherever those Pythons are installed.
    """
    if os.environ.get("PYENV_VERSION") or not shutil.which("pyenv"):
        return
    try:
        out = subprocess.run(
            ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return
    wanted = [v for v in out if any(v.startswith(p + ".") for p in PYTHONS)]
    if wanted:
        os.environ["PYENV_VERSION"] = ":".join(wanted)


_expose_pyenv_pythons()


def _install(session: nox.Session, *folders: str) -> None:
    paths = [f"./{f}" for f in ("ibert_core", *folders)]
    session.install(*CONSTRAINTS, *dict.fromkeys(paths), "pytest")


@nox.session(python=PYTHONS)
@nox.parametrize("package", list(LOCAL_DEPS))
def tests(session: nox.Session, package: str) -> None:
    """One distribution, installed with only ibert-core and what it declares."""
    _install(session, *LOCAL_DEPS[package], package)
    session.run("pytest", "-q", f"{package}/tests", *session.posargs)


@nox.session(python="3.11")
def adapters(session: nox.Session) -> None:
    """The torch distribution, on the one Python with a local torch wheel."""
    _install(session, "adapters")
    session.run("pytest", "-q", "adapters/tests", *session.posargs, env={"WANDB_MODE": "offline"})


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Everything installed together, and the cross-distribution tests."""
    _install(session, *ALL)
    session.run("pytest", "-q", "tests", *session.posargs, env={"WANDB_MODE": "offline"})


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy over every distribution's sources, with their dependencies installed (without
    them ibis, sqlglot and torch would be untyped and the checks would differ from CI's)."""
    _install(session, *ALL)
    session.install("mypy")
    session.run("mypy")
