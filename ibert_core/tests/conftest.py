"""Shared helpers for the core's tests: real plugins installed into a temporary site dir."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def install_fake_distribution(
    site: Path, dist: str, modules: dict[str, str], entry_points: str
) -> None:
    """Install a distribution the way pip leaves it: modules plus a dist-info folder."""
    for name, code in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(code))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def install():
    """`install(site, dist, modules, entry_points)`: a real, importable distribution."""
    return install_fake_distribution


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    path.mkdir()
    return path


@pytest.fixture
def ibert(site):
    """Run the installed `ibert` CLI in a subprocess that also sees `site`."""

    def run(*args, env=None, stdin=None, cwd=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IBERT_")}
        full_env.update({"PYTHONPATH": str(site), **(env or {})})
        return subprocess.run(
            [sys.executable, "-m", "ibert_core", *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=stdin,
            check=False,
            cwd=cwd,
        )

    return run
