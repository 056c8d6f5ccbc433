"""The DuckDB validator: the object other plugins get from the registry as "duckdb"."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ibert_core.errors import BadInput
from ibert_core.types import STAGES, ValidationJob, Verdict
from ibert_validator_duckdb.limits import Limits
from ibert_validator_duckdb.pool import WorkerPool


class DuckDBValidator:
    """Checks Ibis code against reference SQL on DuckDB, in a pool of sandboxed workers.

    Workers begin starting in the background as soon as the validator exists (importing
    ibis in them takes about a second, which then overlaps the caller's own work, e.g. a
    translation); they are reused, and `close()` stops them (also on `with`).
    `defaults` are job options applied when a job does not set them (e.g. `seeds`).
    """

    def __init__(
        self,
        workers: int = 2,
        limits: Limits | None = None,
        defaults: Mapping[str, Any] | None = None,
        warm: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.defaults = dict(defaults or {})
        self.pool = WorkerPool(workers, self.limits)
        if warm:  # the pool's lock makes a first `run` wait for (or do) this start
            threading.Thread(
                target=self.pool.start, name="ibert-validator-warm", daemon=True
            ).start()

    def validate(self, job: ValidationJob) -> Verdict:
        return self.validate_many([job])[0]

    def validate_many(self, jobs: Sequence[ValidationJob]) -> list[Verdict]:
        return self.pool.run([self._prepare(j) for j in jobs])

    def _prepare(self, job: ValidationJob) -> ValidationJob:
        stages = tuple(job.stages)
        if stages != STAGES[: len(stages)]:
            raise BadInput(
                f"stages {stages} are not a prefix of {STAGES}",
                "run parse, build, compile, execute, compare in order, stopping anywhere",
            )
        if not self.defaults:
            return job
        import attrs

        return attrs.evolve(job, options={**self.defaults, **job.options})

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> DuckDBValidator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def from_config(config: Mapping[str, Any], workers: int | None = None) -> DuckDBValidator:
    """Settings under `validators.duckdb` (or `validator`): workers, seeds, limits."""
    section = dict(config.get("validators", {}).get("duckdb", {}) or config.get("validator", {}))
    configured = int(section.pop("workers", 2))
    workers = workers or configured
    defaults = {k: section.pop(k) for k in ("seeds", "float_tolerance") if k in section}
    return DuckDBValidator(workers, Limits.from_config(section), defaults)


def factory(context: Any) -> DuckDBValidator:
    """`ValidatorSpec.factory`: one validator per context (the engine shares it)."""
    return from_config(getattr(context, "config", None) or {})
