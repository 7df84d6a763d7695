"""Inter-process locks on lock files.

One lock file guards each unit of consistency: the experiment list, each
experiment's runs, the model registry.  On POSIX the lock is an ``flock``
on a file descriptor kept open for the store's lifetime (a few
microseconds per acquisition); elsewhere :mod:`filelock` is used.  Locks
are re-entrant within a thread; a lock that cannot be taken within
``STOREKIT_FILE_LOCK_TIMEOUT`` seconds (default 120) raises
:class:`~storekit.errors.BackendUnavailableError`.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from ...envvars import env_float
from ...errors import BackendUnavailableError
from .oserrors import translated

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["StoreLock"]


def _timeout() -> float:
    return env_float("STOREKIT_FILE_LOCK_TIMEOUT", 120.0, minimum=0, unit="seconds", fallback=True)


class StoreLock:
    """A lock held by at most one thread of one process at a time.

    Combines a :class:`threading.RLock` (threads of this process) with a
    lock on a file (other processes).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: Optional[int] = None
        self._pid = 0
        self._fallback = None

    def _acquire_file(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            timeout = _timeout()
            import filelock

            if self._fallback is None:
                self._fallback = filelock.FileLock(str(self.path), thread_local=False)
            try:
                self._fallback.acquire(timeout=timeout)
            except filelock.Timeout:
                raise self._timed_out(timeout) from None
            return
        with translated("locking", self.path):
            if self._fd is None or self._pid != os.getpid():
                # after a fork the inherited descriptor shares the parent's lock
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                self._pid = os.getpid()
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            timeout = _timeout()  # only read when the lock is contended
            deadline = time.monotonic() + timeout
            delay = 0.0005
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._timed_out(timeout) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.02)

    def _timed_out(self, timeout: float) -> BackendUnavailableError:
        return BackendUnavailableError(f"file store: timed out after {timeout:.0f} s waiting for lock {self.path}")

    def _release_file(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            self._fallback.release()
            return
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lock for the duration of the block."""
        with self._thread_lock:
            if self._depth == 0:
                self._acquire_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release_file()

    def close(self) -> None:
        """Close the lock file's descriptor (the lock must not be held)."""
        with self._thread_lock:
            if self._fd is not None and self._pid == os.getpid():
                try:
                    os.close(self._fd)
                except OSError:
                    pass
            self._fd = None
