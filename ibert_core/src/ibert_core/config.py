"""Settings: flags win over `IBERT_*` environment variables, which win over `./ibert.toml`,
which wins over `~/.config/ibert/config.toml`.

Files hold a flat table of settings (`dialect = "postgres"`, `model = "..."`) and may
hold per-task tables (`[tasks.sql_to_ibis] standalone = true`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ibert_core.errors import BadInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 by nox
    import tomli as tomllib

ENV_PREFIX = "IBERT_"
#: Environment variables that steer plugin loading, not settings.
_NOT_SETTINGS = {"IBERT_LOAD_PLUGINS", "IBERT_STRICT_PLUGINS"}


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ibert" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise BadInput(f"{path} is not valid TOML ({err})", "fix or remove the file") from None


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key not in _NOT_SETTINGS
    }


def load_config(
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    user_file: Path | None = None,
) -> dict[str, Any]:
    """The merged settings; a flag given as None counts as not given."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    layers = [
        _read_toml(user_file or user_config_path()),
        _read_toml((cwd or Path.cwd()) / "ibert.toml"),
        _from_env(environ),
        {k: v for k, v in (flags or {}).items() if v is not None},
    ]
    for layer in layers:
        merged = _deep_merge(merged, layer)
    return merged


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def task_settings(config: Mapping[str, Any], task: str) -> dict[str, Any]:
    """The `[tasks.NAME]` table of the configuration (empty when absent)."""
    tasks = config.get("tasks") or {}
    value = tasks.get(task) if isinstance(tasks, Mapping) else None
    return dict(value) if isinstance(value, Mapping) else {}
