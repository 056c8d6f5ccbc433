"""Network isolation of a worker: its own (empty) network namespace.

The sandbox already keeps candidate code away from sockets; this is the layer under it, so
that even code that escaped the sandbox finds no network (only a loopback device that is
down). Linux lets an unprivileged process do this inside a new user namespace; elsewhere,
or where user namespaces are disabled, the worker runs without it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Move this (single-threaded) process into new user + network namespaces; True when
    it worked. Must run before any thread starts (DuckDB connections start threads)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return bool(libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
    except (OSError, AttributeError):
        return False
