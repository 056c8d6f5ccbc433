"""Resource limits of a validation worker; light to import (the parent process uses it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from ibert_core.errors import BadInput


@attrs.frozen
class Limits:
    """What one check may use. `timeout` is wall seconds per check (the worker interrupts
    itself at `timeout`, the parent kills it at `timeout + grace`); `cpu_seconds` is CPU
    time per check (RLIMIT_CPU, 0 = `ceil(timeout) + 1`); `memory_mb` is the address space a
    worker may add to what it maps after start-up (RLIMIT_AS; pyarrow alone reserves over
    1 GB it never touches); `duckdb_memory_mb` DuckDB's own memory limit; `max_rows`
    caps a result."""

    timeout: float = 10.0
    grace: float = 2.0
    cpu_seconds: int = 0
    memory_mb: int = 1024
    duckdb_memory_mb: int = 512
    max_rows: int = 100_000
    cache_size: int = 48

    @property
    def cpu(self) -> int:
        return self.cpu_seconds or math.ceil(self.timeout) + 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        names = {f.name: f for f in attrs.fields(cls)}
        unknown = [k for k in config if k not in names]
        if unknown:
            raise BadInput(
                f"unknown validator limit(s): {', '.join(unknown)}",
                f"use one of: {', '.join(names)}",
            )
        try:
            return cls(**{k: type(getattr(cls(), k))(v) for k, v in config.items()})
        except (TypeError, ValueError) as err:
            raise BadInput(f"bad validator limit: {err}", "limits are numbers") from err


def job_timeout(limits: Limits, options: Mapping[str, Any]) -> float:
    """The wall timeout of one job (`options["timeout"]` overrides the validator's)."""
    value = options.get("timeout")
    return float(value) if value else limits.timeout
