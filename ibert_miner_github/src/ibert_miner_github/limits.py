"""How much of a source the miner may read, and for how long.

Mined repositories are untrusted input: a huge file, a binary blob or a pathological
Python file must cost a bounded amount of time and memory, and one bad repository must
not stop the others. These limits are the knobs; `time_limit` enforces the parse timeout.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import attrs


@attrs.frozen
class MineLimits:
    """Per-file and per-source limits (bytes, files, seconds)."""

    max_file_bytes: int = 512 * 1024
    max_repo_bytes: int = 64 * 1024 * 1024
    max_files: int | None = None
    clone_timeout: float = 120.0
    parse_timeout: float = 10.0
    max_candidates_per_file: int = 200


class MineTimeout(Exception):
    """A parse or extraction ran past `MineLimits.parse_timeout`."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `MineTimeout` in the block after `seconds` (main thread only; elsewhere a no-op,
    since signals can only be delivered there)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(signum: int, frame: object) -> None:
        raise MineTimeout(f"took longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
