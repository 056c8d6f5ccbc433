"""A pool of reusable worker processes with a wall-clock deadline per check.

Workers come from a fork server that has ibis, duckdb and sqlglot imported, so replacing
a killed worker costs milliseconds. The parent never runs candidate code: it sends a
job, waits until the job's deadline, and kills and replaces a worker that overruns or
dies; the verdict then names the limit that stopped it.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler as _ForkingPickler
from typing import Any

import attrs

from ibert_core.types import Stage, ValidationJob, Verdict
from ibert_validator_duckdb import wire
from ibert_validator_duckdb.limits import Limits, job_timeout

WORKER_MODULE = "ibert_validator_duckdb.worker"
START_TIMEOUT = 120.0


def _context() -> Any:
    methods = mp.get_all_start_methods()
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([WORKER_MODULE])
        return ctx
    return mp.get_context("spawn")


_spawn_lock = threading.Lock()


def _start_without_main(process: Any) -> None:
    """Start a worker without re-running the parent's `__main__` in it.

    multiprocessing re-imports the main module in spawned and fork-server children (a
    script without an `if __name__ == "__main__"` guard would run again); workers need only
    this package, so the main-module entries are dropped from the preparation data.
    """
    from multiprocessing import spawn

    original = spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data: dict[str, Any] = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _spawn_lock:
        spawn.get_preparation_data = without_main
        try:
            process.start()
        finally:
            spawn.get_preparation_data = original


def _entry(conn: Connection, limits: Limits, progress: Any) -> None:
    from ibert_validator_duckdb.worker import main

    main(conn, limits, progress)


@attrs.define
class _Worker:
    process: Any
    conn: Connection
    progress: Any
    ready: bool = False
    queue: deque[int] = attrs.Factory(deque)  # jobs sent and not answered; [0] is running
    deadline: float = 0.0  # of the running job
    timeout: float = 0.0


def _death_reason(exitcode: int | None, limits: Limits) -> str:
    reasons = {
        -signal.SIGXCPU: f"CPU time limit of {limits.cpu} s exceeded (the worker was stopped)",
        -signal.SIGKILL: "the worker was killed (out of memory?)",
        -signal.SIGSEGV: "the worker crashed (segmentation fault)",
        -signal.SIGXFSZ: "file size limit hit: candidate code may not write files",
    }
    return reasons.get(exitcode or 0, f"the worker exited unexpectedly (code {exitcode})")


class WorkerPool:
    """`run(jobs)` spreads jobs over up to `size` workers and returns verdicts in job order.

    `start()` begins `initial` workers; more are forked (in milliseconds, from the fork
    server) when a batch has more jobs than there are workers. A single check, as in
    `ibert run`, so never pays for a second worker's memory or start-up CPU.
    """

    def __init__(self, size: int = 2, limits: Limits | None = None, initial: int = 1) -> None:
        self.size = max(1, size)
        self.initial = min(max(1, initial), self.size)
        self.limits = limits or Limits()
        self._ctx = _context()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self.restarts = 0

    # -- lifecycle --

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        progress = self._ctx.Value("i", -1, lock=False)
        process = self._ctx.Process(
            target=_entry,
            args=(child, self.limits, progress),
            daemon=True,
            name="ibert-validator-worker",
        )
        _start_without_main(process)
        child.close()
        return _Worker(process, parent, progress)

    def start(self) -> None:
        with self._lock:
            while len(self._workers) < self.initial:
                self._workers.append(self._spawn())

    def _replace(self, worker: _Worker) -> _Worker:
        _kill(worker)
        self.restarts += 1
        fresh = self._spawn()
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def close(self) -> None:
        with self._lock:
            for w in self._workers:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            for w in self._workers:
                w.process.join(timeout=2)
                if w.process.is_alive():
                    _kill(w)
                w.conn.close()
            self._workers.clear()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]

    # -- running --

    def run(self, jobs: Sequence[ValidationJob]) -> list[Verdict]:
        with self._lock:
            return self._run(jobs)

    def _run(self, jobs: Sequence[ValidationJob]) -> list[Verdict]:
        while len(self._workers) < min(self.size, max(len(jobs), self.initial)):
            self._workers.append(self._spawn())
        results: list[Verdict | None] = [None] * len(jobs)
        pending = deque(range(len(jobs)))
        started = time.monotonic()
        slots = [_affinity(job, len(self._workers)) for job in jobs]

        def fail(w: _Worker, reason: str) -> None:
            """The running job gets a verdict naming `reason`; the worker is replaced and
            the jobs queued behind it go back to the front of `pending`."""
            stage_index = w.progress.value if w.progress is not None else -1
            lost = w.queue.popleft()
            results[lost] = _lost_verdict(jobs[lost], stage_index, reason)
            pending.extendleft(reversed(w.queue))
            w.queue.clear()
            self._replace(w)

        def begin(w: _Worker, now: float) -> None:
            """The worker's first queued job starts about now: its deadline runs from here."""
            w.timeout = job_timeout(self.limits, jobs[w.queue[0]].options)
            w.deadline = now + w.timeout + self.limits.grace

        while pending or any(w.queue for w in self._workers):
            for slot, w in enumerate(list(self._workers)):
                while w.ready and len(w.queue) < QUEUE_DEPTH and pending:
                    index = _take(pending, slots, slot)
                    payload = _ForkingPickler.dumps((index, jobs[index]))
                    if w.queue and len(payload) > QUEUED_BYTES:
                        pending.appendleft(index)  # too big to wait in the pipe: later
                        break
                    w.queue.append(index)
                    if len(w.queue) == 1:
                        begin(w, time.monotonic())
                    try:
                        w.conn.send_bytes(payload)
                    except (OSError, ValueError):
                        fail(w, "the worker pipe broke")
                        break
            now = time.monotonic()
            deadlines = [w.deadline for w in self._workers if w.queue]
            wait_for = min(deadlines) - now if deadlines else START_TIMEOUT
            ready: list[Any] = wait([w.conn for w in self._workers], timeout=max(wait_for, 0.0))
            by_conn = {id(x.conn): x for x in self._workers}
            for conn in ready:
                found = by_conn.get(id(conn))
                if found is None:  # replaced earlier in this round
                    continue
                w = found
                try:
                    message = wire.decode(conn.recv_bytes(wire.MAX_MESSAGE_BYTES))
                except (EOFError, OSError, wire.BadMessage):
                    w.process.join(timeout=1)
                    reason = _death_reason(w.process.exitcode, self.limits)
                    if w.queue:
                        fail(w, reason)
                    else:  # a worker that retired after a limit, or one that failed to start
                        never_started = not w.ready
                        self._replace(w)
                        if never_started and time.monotonic() - started > START_TIMEOUT:
                            raise RuntimeError(
                                f"validation workers fail to start: {reason}"
                            ) from None
                    continue
                if message[0] == "ready":
                    w.ready = True
                    continue
                answered, verdict = message
                if not isinstance(verdict, Verdict) or not w.queue or w.queue[0] != answered:
                    # not the job it was given: the worker is broken
                    if w.queue:
                        fail(w, "the worker answered wrongly")
                    continue
                results[answered] = verdict
                w.queue.popleft()
                if verdict.artifacts.get("worker_retired"):  # it exits after a limit
                    pending.extendleft(reversed(w.queue))  # what waited in its pipe is lost
                    w.queue.clear()
                    w.process.join(timeout=5)
                    self._replace(w)
                elif w.queue:
                    begin(w, time.monotonic())
            now = time.monotonic()
            for w in list(self._workers):
                if w.queue and now >= w.deadline:
                    fail(
                        w,
                        f"wall time limit of {w.timeout:g} s exceeded "
                        "(the worker did not answer and was killed)",
                    )
            idle = not ready and not any(w.queue for w in self._workers)
            if (
                idle
                and pending
                and not any(w.ready for w in self._workers)
                and (time.monotonic() - started > START_TIMEOUT)
            ):
                raise RuntimeError("validation workers did not start in time")
        return [
            v if v is not None else _lost_verdict(jobs[i], 0, "no answer")
            for i, v in enumerate(results)
        ]


# A worker holds the job it runs and one more waiting in its pipe, so it starts the next
# check the moment it answers instead of waiting for the parent (which shares the cores).
# Only small jobs wait: the parent must never block writing to a busy worker's pipe.
QUEUE_DEPTH = 2
QUEUED_BYTES = 16 * 1024

AFFINITY_WINDOW = 32


def _affinity(job: ValidationJob, size: int) -> int:
    """The worker a job prefers: checks against one reference (and schema) go to one worker,
    whose caches already hold that reference's results and fixture databases."""
    key = (job.reference_sql or job.code, job.schema, job.data, job.dialect)
    return hash(key) % size


def _take(pending: deque[int], slots: Sequence[int], slot: int) -> int:
    """The first pending job (within a window) that prefers `slot`, else the oldest one."""
    for n, index in enumerate(pending):
        if n >= AFFINITY_WINDOW:
            break
        if slots[index] == slot:
            del pending[n]
            return index
    return pending.popleft()


def _lost_verdict(job: ValidationJob, stage_index: int, reason: str) -> Verdict:
    stage_index = max(stage_index, 0)
    stages = [Stage(name, True, "", 0.0) for name in job.stages[:stage_index]]
    failing = job.stages[stage_index] if stage_index < len(job.stages) else "execute"
    stages.append(Stage(failing, False, reason, 0.0))
    return Verdict(tuple(stages), tuple(job.stages), {"killed": True})


def _kill(worker: _Worker) -> None:
    try:
        worker.process.kill()
        worker.process.join(timeout=2)
    except Exception:  # noqa: BLE001
        pass
    try:
        worker.conn.close()
    except Exception:  # noqa: BLE001
        pass
