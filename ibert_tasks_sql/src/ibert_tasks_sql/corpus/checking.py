"""Validation for the corpus builder: each distinct check runs once, and runs beside the builder.

A unit asks the validator a few batches of questions; many are repeats: the dialects of one
pair often transpile back to the same DuckDB SQL, so the round trip would check the same
(code, reference, schema, stages, options) several times. A verdict is a function of that job
(fixtures come from fixed seeds), so `Checker` answers a repeated job from the verdict it
already has; every record still rests on a verdict the validator computed for exactly its
check.

`Checker.submit` hands a batch to a validation thread and returns a future, so the builder
generates and translates the next units while the validator's workers check this one; the
thread merges the batches queued meanwhile into one `validate_many`, which keeps every worker
busy to the end of a batch. The thread mostly waits on the worker pipes, which releases the GIL.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import attrs

from ibert_core.types import ValidationJob, Verdict

#: recent verdicts kept for repeats (a unit's repeats are close together; verdicts hold rows)
CACHE_SIZE = 4096


@attrs.frozen
class Checked:
    """Verdicts of a batch, in job order; `cached[i]` when job i was answered from memory."""

    verdicts: list[Verdict]
    cached: list[bool]


def job_key(job: ValidationJob) -> tuple[Any, ...]:
    """Everything a verdict depends on."""
    options = tuple(sorted((str(k), repr(v)) for k, v in job.options.items()))
    return (
        job.code,
        job.reference_sql,
        job.schema,
        job.data,
        job.dialect,
        tuple(job.stages),
        options,
    )


class Checker:
    """A validator (anything with `validate_many`) with a verdict memory and a batching thread."""

    def __init__(self, validator: Any, cache_size: int = CACHE_SIZE) -> None:
        self.validator = validator
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], Verdict] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[list[ValidationJob], Future[Checked]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    # --- synchronous -----------------------------------------------------------------------

    def check(self, jobs: Sequence[ValidationJob]) -> Checked:
        """Verdicts of `jobs`, running only those not answered before (each distinct one once)."""
        keys = [job_key(j) for j in jobs]
        with self._lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
        todo: dict[tuple[Any, ...], ValidationJob] = {}
        for key, job in zip(keys, jobs, strict=True):
            if key not in known and key not in todo:
                todo[key] = job
        fresh = dict(zip(todo, self.validator.validate_many(list(todo.values())), strict=True))
        with self._lock:
            for key, verdict in fresh.items():
                self._cache[key] = verdict
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        verdicts: list[Verdict] = []
        cached: list[bool] = []
        first: set[tuple[Any, ...]] = set()
        for key in keys:
            if key in fresh and key not in first:
                first.add(key)
                verdicts.append(fresh[key])
                cached.append(False)
            else:
                verdicts.append(known.get(key) or fresh[key])
                cached.append(True)
        return Checked(verdicts, cached)

    # --- in the background -------------------------------------------------------------------

    def submit(self, jobs: Sequence[ValidationJob]) -> Future[Checked]:
        """Check `jobs` on the validation thread; the future holds their `Checked`."""
        future: Future[Checked] = Future()
        if not jobs:
            future.set_result(Checked([], []))
            return future
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name="ibert-corpus-validation", daemon=True
            )
            self._thread.start()
        self._queue.put((list(jobs), future))
        return future

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while True:  # everything queued meanwhile joins this validate_many
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            jobs = [j for js, _ in batch for j in js]
            try:
                checked = self.check(jobs)
            except BaseException as err:  # noqa: BLE001 - handed to the waiting builder
                for _, future in batch:
                    future.set_exception(err)
            else:
                start = 0
                for js, future in batch:
                    end = start + len(js)
                    future.set_result(
                        Checked(checked.verdicts[start:end], checked.cached[start:end])
                    )
                    start = end
            if stop:
                return

    def close(self) -> None:
        """Stop the validation thread (after the batches already queued)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
