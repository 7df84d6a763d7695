"""Holding off Python's cyclic garbage collector while a large index is materialised.

Loading a run index creates hundreds of thousands of dicts and lists at once,
none of them garbage.  The cyclic collector runs every few hundred container
allocations and, as the survivors pile up, ever larger collections walk them
all again: on a 10,000-run index that more than doubles the load time.
:func:`gc_paused` switches it off for the duration of such a block (reference
counting still frees everything as usual) and back on afterwards.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused(active: bool = True) -> Iterator[None]:
    """Disable cyclic garbage collection during the block (a no-op unless ``active``).

    Nested and concurrent uses (several threads) are counted: the collector
    is re-enabled when the last one ends, and only if it was enabled when
    the first one began.
    """
    global _depth, _was_enabled
    if not active:
        yield
        return
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
