"""Transfer machinery shared by every artifact repository.

* :class:`RetryPolicy` and :func:`call_with_retries`: bounded retries with
  exponential backoff and jitter on transient errors.
* :func:`run_parallel`: a bounded thread pool that runs every task, waits for
  all of them, and re-raises the first failure.
* :class:`Progress`: a byte-counting progress bar (``rich``) shown only when
  standard error is a terminal and the transfer is large.
* :func:`copy_stream`: a chunked copy from one file object to another, in
  bounded memory.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import random
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Optional, Sequence, TypeVar

from ..envvars import env_float, env_int

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_WORKERS",
    "PROGRESS_THRESHOLD",
    "RetryPolicy",
    "call_with_retries",
    "run_parallel",
    "Progress",
    "copy_stream",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Bytes read and written per step of a streaming copy (and the multipart part size).
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
#: Files transferred at once by ``log_artifacts`` / ``download_artifacts``.
DEFAULT_MAX_WORKERS = 8
#: Transfers smaller than this never show a progress bar.
PROGRESS_THRESHOLD = 64 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried.

    ``attempts`` counts every try (1 means no retry).  The wait before retry
    ``n`` (1-based) is ``min(max_delay, base_delay * 2 ** (n - 1))`` with up
    to 25 % jitter.
    """

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0

    @classmethod
    def from_env(cls, attempts: Optional[int] = None) -> "RetryPolicy":
        """The policy from ``STOREKIT_ARTIFACT_RETRIES`` / ``STOREKIT_ARTIFACT_RETRY_DELAY``.

        An explicit ``attempts`` (a constructor option) wins over the environment.
        """
        tries = attempts if attempts is not None else env_int("STOREKIT_ARTIFACT_RETRIES", cls.attempts, minimum=1)
        if tries < 1:
            from ..errors import InvalidParameterError

            raise InvalidParameterError(f"retries: must be at least 1 attempt, got {tries}")
        delay = env_float("STOREKIT_ARTIFACT_RETRY_DELAY", cls.base_delay, minimum=0, unit="seconds")
        return cls(attempts=tries, base_delay=delay)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        wait = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return wait * (1.0 + random.random() * 0.25)


def call_with_retries(
    fn: Callable[[], T],
    is_transient: Callable[[BaseException], bool],
    policy: RetryPolicy,
    what: str = "transfer",
) -> T:
    """Call ``fn`` until it succeeds, retrying transient failures per ``policy``.

    A non-transient failure is raised at once; the last transient failure is
    raised once the attempts are used up (the caller translates it).
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt >= policy.attempts or not is_transient(exc):
                raise
            wait = policy.delay(attempt)
            logger.debug(
                "%s failed with %s (attempt %d of %d); retrying in %.2fs",
                what,
                type(exc).__name__,
                attempt,
                policy.attempts,
                wait,
            )
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def run_parallel(
    fn: Callable[[T], Any], items: Sequence[T] | Iterable[T], max_workers: int = DEFAULT_MAX_WORKERS
) -> None:
    """Apply ``fn`` to every item with at most ``max_workers`` threads.

    Every started task finishes before this returns; remaining tasks are
    cancelled after the first failure, which is then raised.
    """
    items = list(items)
    if not items:
        return
    if max_workers <= 1 or len(items) == 1:
        for item in items:
            fn(item)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and f.exception() is not None), None)
        if failed is not None:
            for f in futures:
                f.cancel()
            concurrent.futures.wait(futures)
            raise failed.exception()  # type: ignore[misc]


class Progress:
    """A thread-safe byte counter rendered as a ``rich`` bar on a terminal.

    Use as a context manager; call :meth:`advance` with byte counts from any
    thread.  Nothing is drawn when standard error is not a terminal, when
    ``enabled`` is False, or when ``total`` is below :data:`PROGRESS_THRESHOLD`.
    """

    def __init__(self, description: str, total: int, enabled: Optional[bool] = None) -> None:
        if enabled is None:
            enabled = _stderr_is_tty() and not os.environ.get("STOREKIT_NO_PROGRESS")
        self._show = bool(enabled) and total >= PROGRESS_THRESHOLD
        self._description = description
        self._total = total
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "Progress":
        if self._show:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self._description, total=self._total)
        return self

    def advance(self, nbytes: int) -> None:
        """Count ``nbytes`` more as transferred."""
        if self._bar is not None:
            with self._lock:
                self._bar.advance(self._task, nbytes)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def copy_stream(
    src: IO[bytes],
    dst: IO[bytes],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: Optional[Callable[[int], None]] = None,
) -> int:
    """Copy ``src`` to ``dst`` ``chunk_size`` bytes at a time; return the byte count.

    At most one chunk is held in memory at once.
    """
    total = 0
    read = src.read
    write = dst.write
    while True:
        chunk = read(chunk_size)
        if not chunk:
            return total
        write(chunk)
        total += len(chunk)
        if on_progress is not None:
            on_progress(len(chunk))
