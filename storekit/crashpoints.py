"""Named crash points for crash-safety tests of multi-step operations (``storekit gc``).

A test sets ``STOREKIT_CRASH_AT=<point>:<n>`` in a child process's
environment; the n-th time (1-based) that process passes ``crash_point(<point>)``
it kills itself with SIGKILL, exactly as an operator's ``kill -9`` or an
out-of-memory kill would.  Unset (always, outside tests), a crash point costs
one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["crash_point", "ENV"]

#: The environment variable naming the point to crash at.
ENV = "STOREKIT_CRASH_AT"

_counts: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if ``STOREKIT_CRASH_AT`` says so for the current pass of ``name``."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.rpartition(":")
    if point != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        hit = str(_counts[name]) == nth
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
