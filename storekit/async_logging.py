"""Asynchronous, batching logging of metrics, params and tags.

Logging one metric point per call costs a full store transaction when done
synchronously (about half a millisecond on SQLite, more on a server).  An
:class:`AsyncBatchingLogger` makes such calls cheap: each call validates its
input, puts it on a bounded in-memory queue and returns; a background
thread drains the queue and stores the points with as few ``log_batch``
calls as the contract's batch limits allow (1,000 metrics, 100 params and
100 tags per batch).

Guarantees
----------
* **Order.** For each run, points are stored in the order they were logged,
  so ``get_metric_history`` keeps the logging order as its tie-breaker.
* **Backpressure, never loss.** When ``max_queue`` items are waiting, the
  logging call blocks until the background thread has caught up; nothing is
  dropped.
* **Errors surface.** Input is validated in the caller's thread (bad input
  raises at once).  An error the store raises later (a param logged again
  with another value, a deleted or unknown run, an unreachable server) is
  re-raised to the caller by the next logging call (whose own items are
  queued nonetheless), :meth:`~AsyncBatchingLogger.flush` or
  :meth:`~AsyncBatchingLogger.close` - as the original exception, with a
  note naming the run and how many other errors happened.  One failing item
  never takes the rest of its batch down: a failed batch is retried split
  by kind, params one by one, so only the offending items are refused.
* **Flush.** ``flush()`` returns once everything logged before the call is
  stored (or has failed and been reported).  Ending a run through the
  client or the fluent API flushes first, and an ``atexit`` hook flushes
  every open logger when the interpreter exits normally.
* **Abnormal exit.** Points still queued when the process dies without
  running ``atexit`` hooks (SIGKILL, ``os._exit``, a crash of the
  interpreter, power loss) are lost: at most what was logged since the
  last completed flush or background batch.  Call ``flush()`` at
  checkpoints whose data must survive such an exit.

Opting in: ``storekit.start_run(log_async=True)`` (or the environment
variable ``STOREKIT_ASYNC_LOGGING=1``) for the fluent API;
``TrackingClient.log_metric(..., synchronous=False)`` or
``TrackingClient.async_logger()`` for the client; or wrap any store
directly with ``AsyncBatchingLogger(store)``.
"""

from __future__ import annotations

import atexit
import collections
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from .entities import Metric, Param, RunTag
from .envvars import env_flag, env_float
from .errors import InvalidParameterError, StorekitError
from .interfaces import TrackingStore
from .validation import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    coerce_metric_value,
    validate_metric,
    validate_param,
    validate_run_id,
    validate_tag,
)

__all__ = [
    "ASYNC_EXIT_TIMEOUT_ENV",
    "ASYNC_LOGGING_ENV",
    "AsyncBatchingLogger",
    "AsyncLoggerClosedError",
    "async_logging_enabled",
    "flush_all",
]

#: Environment variable that turns asynchronous logging on for the fluent API.
ASYNC_LOGGING_ENV = "STOREKIT_ASYNC_LOGGING"

#: Environment variable: how many seconds the interpreter-exit flush may wait (default 60).
ASYNC_EXIT_TIMEOUT_ENV = "STOREKIT_ASYNC_EXIT_TIMEOUT"
_DEFAULT_EXIT_TIMEOUT = 60.0


def _exit_timeout() -> float:
    """The bound of the interpreter-exit flush: ``STOREKIT_ASYNC_EXIT_TIMEOUT`` seconds, else 60."""
    # a malformed or negative value keeps the default: the exit must stay bounded
    return env_float(ASYNC_EXIT_TIMEOUT_ENV, _DEFAULT_EXIT_TIMEOUT, minimum=0, unit="seconds", fallback=True)


def async_logging_enabled(explicit: Optional[bool] = None) -> bool:
    """``explicit`` if given, else whether ``STOREKIT_ASYNC_LOGGING`` is ``1``/``true``/``yes``/``on``."""
    if explicit is not None:
        return bool(explicit)
    return env_flag(ASYNC_LOGGING_ENV)


class AsyncLoggerClosedError(StorekitError):
    """A logging call was made on an :class:`AsyncBatchingLogger` after :meth:`~AsyncBatchingLogger.close`."""


@dataclass(frozen=True)
class _Item:
    """One queued write: exactly one of metric, param or tag is set."""

    run_id: str
    metric: Optional[Metric] = None
    param: Optional[Param] = None
    tag: Optional[RunTag] = None


@dataclass
class _RunBatch:
    """The queued writes of one run, in logging order per kind."""

    metrics: list[Metric]
    params: list[Param]
    tags: dict[str, RunTag]  # later values of a key win; insertion order kept
    conflicting: list[Param]  # a key seen twice with different values: stored one by one after


def _group(items: Iterable[_Item]) -> dict[str, _RunBatch]:
    """Group drained items per run, keeping logging order within each run."""
    runs: dict[str, _RunBatch] = {}
    seen_params: dict[str, dict[str, str]] = {}
    for item in items:
        batch = runs.get(item.run_id)
        if batch is None:
            batch = runs[item.run_id] = _RunBatch([], [], {}, [])
            seen_params[item.run_id] = {}
        if item.metric is not None:
            batch.metrics.append(item.metric)
        elif item.param is not None:
            seen = seen_params[item.run_id]
            previous = seen.get(item.param.key)
            if previous is None:
                seen[item.param.key] = item.param.value
                batch.params.append(item.param)
            elif previous != item.param.value:
                batch.conflicting.append(item.param)
        elif item.tag is not None:
            batch.tags.pop(item.tag.key, None)
            batch.tags[item.tag.key] = item.tag
    return runs


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _plan(batch: _RunBatch) -> list[tuple[Sequence[Metric], Sequence[Param], Sequence[RunTag]]]:
    """Split one run's writes into ``log_batch`` calls within the contract's limits."""
    metric_chunks = _chunks(batch.metrics, MAX_METRICS_PER_BATCH)
    param_chunks = _chunks(batch.params, MAX_PARAMS_PER_BATCH)
    tag_chunks = _chunks(list(batch.tags.values()), MAX_TAGS_PER_BATCH)
    count = max(len(metric_chunks), len(param_chunks), len(tag_chunks))
    empty: Sequence[Any] = ()
    return [
        (
            metric_chunks[i] if i < len(metric_chunks) else empty,
            param_chunks[i] if i < len(param_chunks) else empty,
            tag_chunks[i] if i < len(tag_chunks) else empty,
        )
        for i in range(count)
    ]


_live: "weakref.WeakSet[AsyncBatchingLogger]" = weakref.WeakSet()
_live_lock = threading.Lock()
_atexit_registered = False


def _add_note(error: BaseException, note: str) -> None:
    """Attach ``note`` to ``error`` where the interpreter supports exception notes (3.11+)."""
    if sys.version_info >= (3, 11):
        error.add_note(note)


def flush_all(timeout: Optional[float] = None) -> None:
    """Flush and close every open logger of this process, reporting errors on stderr (the atexit hook).

    The wait is bounded: ``timeout`` seconds for all loggers together, by default
    ``STOREKIT_ASYNC_EXIT_TIMEOUT`` (60 s), so a store that hangs cannot keep the
    interpreter from exiting; what was not stored by then is reported on stderr.
    """
    budget = _exit_timeout() if timeout is None else timeout
    deadline = time.monotonic() + budget
    with _live_lock:
        loggers = list(_live)
    for logger in loggers:
        try:
            logger.close(timeout=max(0.0, deadline - time.monotonic()))
        except BaseException as exc:
            print(f"storekit: asynchronous logger failed at exit: {type(exc).__name__}: {exc}", file=sys.stderr)


def _register(logger: "AsyncBatchingLogger") -> None:
    global _atexit_registered
    with _live_lock:
        _live.add(logger)
        if not _atexit_registered:
            atexit.register(flush_all)
            _atexit_registered = True


class AsyncBatchingLogger:
    """Queue metrics, params and tags for any number of runs and store them in batches in the background.

    >>> logger = AsyncBatchingLogger(store)          # doctest: +SKIP
    >>> logger.log_metric(run_id, "loss", 0.3, step=1)  # doctest: +SKIP
    >>> logger.flush()                                # doctest: +SKIP

    ``max_queue`` bounds the number of waiting items (the caller blocks when
    it is reached).  The background thread waits up to ``linger`` seconds for
    a batch to fill (``batch_size`` items) before it writes what it has.
    The wrapped store must allow calls from another thread (capability
    ``CONCURRENT_WRITERS``; every built-in store has it).  The logger does
    not own the store: :meth:`close` leaves it open.
    """

    def __init__(
        self,
        store: TrackingStore,
        *,
        max_queue: int = 100_000,
        batch_size: int = MAX_METRICS_PER_BATCH,
        linger: float = 0.05,
    ) -> None:
        if max_queue < 1:
            raise InvalidParameterError(f"max_queue: {max_queue} must be at least 1")
        if batch_size < 1:
            raise InvalidParameterError(f"batch_size: {batch_size} must be at least 1")
        self._store = store
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._linger = max(0.0, float(linger))
        self._queue: collections.deque[_Item] = collections.deque()
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._enqueued = 0  # items ever put on the queue
        self._completed = 0  # items stored or failed
        self._flush_waiters = 0
        self._closing = False
        self._errors: list[tuple[str, BaseException]] = []
        self._thread = threading.Thread(target=self._run, name="storekit-async-logger", daemon=True)
        self._thread.start()
        _register(self)

    # --- the caller's side ---------------------------------------------------------------
    def __repr__(self) -> str:
        """Store, queue length and state."""
        state = "closed" if self._closing else "open"
        return f"<AsyncBatchingLogger {state} store={self._store!r} pending={self.pending}>"

    @property
    def pending(self) -> int:
        """Items logged but not yet stored (or failed)."""
        return self._enqueued - self._completed

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closing

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: Optional[int] = None,
        step: Optional[int] = None,
        model_id: Optional[str] = None,
    ) -> None:
        """Queue one metric point (``timestamp`` defaults to now in ms, ``step`` to 0)."""
        if timestamp is None:
            timestamp = time.time_ns() // 1_000_000
        metric = Metric(key, coerce_metric_value(value, key), timestamp, 0 if step is None else step, model_id)
        self._put([_Item(run_id, metric=validate_metric(metric))], run_id)

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        """Queue a param (``value`` converted with ``str``); a conflicting value is reported later."""
        self._put([_Item(run_id, param=validate_param(Param(key, str(value))))], run_id)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Queue a tag (``value`` converted with ``str``); the last value set wins."""
        value = str(value)
        validate_tag(key, value)
        self._put([_Item(run_id, tag=RunTag(key, value))], run_id)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Queue many writes of one run at once (no per-call size limit; they are re-batched)."""
        items = [_Item(run_id, metric=validate_metric(m)) for m in metrics]
        items += [_Item(run_id, param=validate_param(p)) for p in params]
        for t in tags:
            if not isinstance(t, RunTag):
                raise InvalidParameterError(f"tag: expected a RunTag, got {type(t).__name__}")
            validate_tag(t.key, t.value)
            items.append(_Item(run_id, tag=t))
        if items:
            self._put(items, run_id)

    def _put(self, items: list[_Item], run_id: str) -> None:
        validate_run_id(run_id)
        with self._lock:
            for item in items:
                while len(self._queue) >= self._max_queue and not self._closing:
                    self._not_full.wait()
                if self._closing:
                    raise AsyncLoggerClosedError("the asynchronous logger is closed; nothing more can be logged")
                self._queue.append(item)
                self._enqueued += 1
                size = len(self._queue)
                if size == 1 or size % self._batch_size == 0:
                    self._has_work.notify()
            self._raise_pending()  # an earlier call's failure; this call's items are queued

    def flush(self, timeout: Optional[float] = None) -> None:
        """Block until everything logged before this call is stored, then raise any background error.

        Raises :class:`TimeoutError` if that takes longer than ``timeout`` seconds
        (the items stay queued and are still stored later).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._enqueued
            self._flush_waiters += 1
            try:
                self._has_work.notify()
                while self._completed < target:
                    if not self._thread.is_alive():
                        raise StorekitError("the asynchronous logger's background thread has stopped")
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(
                            f"flush: {target - self._completed} logged items were not stored within {timeout} s"
                        )
                    self._done.wait(remaining if remaining is not None else 1.0)
            finally:
                self._flush_waiters -= 1
            self._raise_pending()

    def close(self, timeout: Optional[float] = None) -> None:
        """Flush, stop the background thread and refuse further logging; idempotent.

        Background errors not yet reported are raised here.
        """
        with self._lock:
            already = self._closing
        if not already:
            try:
                self.flush(timeout)
            finally:
                with self._lock:
                    self._closing = True
                    self._has_work.notify_all()
                    self._not_full.notify_all()
                self._thread.join(timeout)
                with _live_lock:
                    _live.discard(self)
        with self._lock:
            self._raise_pending()

    def __enter__(self) -> "AsyncBatchingLogger":
        """The logger; it is closed (flushed) at the end of the ``with`` block."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close (and so flush) the logger."""
        self.close()

    def _raise_pending(self) -> None:
        """Re-raise the first recorded background error (lock held); the list is cleared."""
        if not self._errors:
            return
        errors, self._errors = self._errors, []
        run_id, first = errors[0]
        _add_note(first, f"raised by storekit's asynchronous logger while storing data of run {run_id}")
        if len(errors) > 1:
            others = "; ".join(f"run {r}: {type(e).__name__}: {e}" for r, e in errors[1:6])
            more = f" (and {len(errors) - 6} more)" if len(errors) > 6 else ""
            _add_note(first, f"{len(errors) - 1} more background error(s): {others}{more}")
        raise first

    # --- the background thread -------------------------------------------------------------
    def _take(self) -> Optional[list[_Item]]:
        """Wait for work and drain the queue; None when closing and empty."""
        with self._lock:
            while not self._queue:
                if self._closing:
                    return None
                self._has_work.wait()
            deadline = time.monotonic() + self._linger
            while len(self._queue) < self._batch_size and not self._flush_waiters and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._has_work.wait(remaining)
            items = list(self._queue)
            self._queue.clear()
            self._not_full.notify_all()
            return items

    def _run(self) -> None:
        while True:
            items = self._take()
            if items is None:
                return
            try:
                self._store_items(items)
            except BaseException as exc:
                self._record(items[0].run_id if items else "?", exc)
            with self._lock:
                self._completed += len(items)
                self._done.notify_all()

    def _record(self, run_id: str, exc: BaseException) -> None:
        with self._lock:
            self._errors.append((run_id, exc))

    def _store_items(self, items: list[_Item]) -> None:
        for run_id, batch in _group(items).items():
            for metrics, params, tags in _plan(batch):
                self._store_batch(run_id, metrics, params, tags)
            for param in batch.conflicting:
                self._store_batch(run_id, (), (param,), ())

    def _store_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        """One ``log_batch``; if it fails, retry split by kind (params one by one) and record what still fails."""
        try:
            self._store.log_batch(run_id, metrics=list(metrics), params=list(params), tags=list(tags))
            return
        except Exception as exc:
            kinds = sum(1 for part in (metrics, params, tags) if part)
            if kinds <= 1 and len(params) <= 1:
                self._record(run_id, exc)
                return
        if metrics:
            self._try(run_id, metrics=metrics)
        if tags:
            self._try(run_id, tags=tags)
        for param in params:
            self._try(run_id, params=(param,))

    def _try(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        try:
            self._store.log_batch(run_id, metrics=list(metrics), params=list(params), tags=list(tags))
        except Exception as exc:
            self._record(run_id, exc)
