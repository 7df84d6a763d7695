"""The asynchronous batching logger against real embedded stores (file and SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

import storekit.fluent as fluent
from storekit.async_logging import AsyncBatchingLogger, AsyncLoggerClosedError, async_logging_enabled
from storekit.client import TrackingClient
from storekit.entities import Metric, Param, RunStatus, RunTag
from storekit.errors import InvalidParameterError
from storekit.interfaces import TrackingStore
from storekit.plugins import resolve_tracking_store
from storekit.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH
from tests.test_client import client, store_uri  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(store_uri: str) -> Iterator[TrackingStore]:
    """A fresh embedded store (each backend), closed afterwards."""
    s = resolve_tracking_store(store_uri)
    try:
        yield s
    finally:
        s.close()


def _new_run(store: TrackingStore, name: str = "exp") -> str:
    exp = store.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp else store.create_experiment(name)
    return store.create_run(exp_id).info.run_id


class RecordingStore:
    """Delegates to a real store, recording the size of each ``log_batch`` and optionally gating it."""

    def __init__(self, inner: TrackingStore, delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[tuple[int, int, int]] = []

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        self.gate.wait()
        if self.delay:
            time.sleep(self.delay)
        self.calls.append((len(metrics), len(params), len(tags)))
        self.inner.log_batch(run_id, metrics=metrics, params=params, tags=tags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_every_point_arrives_exactly_once_in_logging_order(store: TrackingStore) -> None:
    runs = [_new_run(store) for _ in range(3)]
    recorder = RecordingStore(store)
    with AsyncBatchingLogger(recorder, linger=0.01) as logger:  # type: ignore[arg-type]
        for i in range(2500):
            for r in runs:  # same step and timestamp: only the logging order sorts them
                logger.log_metric(r, "m", float(i), timestamp=1000, step=0)
    for r in runs:
        history = store.get_metric_history(r, "m")
        assert [m.value for m in history] == [float(i) for i in range(2500)]
    assert sum(c[0] for c in recorder.calls) == 7500
    assert len(recorder.calls) < 7500 / 100  # batched, not one call per point


def test_batches_respect_the_contract_limits(store: TrackingStore) -> None:
    run_id = _new_run(store)
    recorder = RecordingStore(store)
    logger = AsyncBatchingLogger(recorder, linger=1.0)  # type: ignore[arg-type]
    recorder.gate.clear()  # let everything pile up in one drain
    for i in range(250):
        logger.log_param(run_id, f"p{i}", i)
        logger.set_tag(run_id, f"t{i}", "first")
        logger.set_tag(run_id, f"t{i}", i)  # the later value wins
    logger.log_batch(run_id, metrics=[Metric("m", float(i), 5, i) for i in range(2500)])
    recorder.gate.set()
    logger.close()
    assert recorder.calls, "nothing was stored"
    assert max(c[0] for c in recorder.calls) <= MAX_METRICS_PER_BATCH
    assert max(c[1] for c in recorder.calls) <= MAX_PARAMS_PER_BATCH
    assert max(c[2] for c in recorder.calls) <= MAX_TAGS_PER_BATCH
    run = store.get_run(run_id)
    assert run.data.params == {f"p{i}": str(i) for i in range(250)}
    assert run.data.tags.items() >= {f"t{i}": str(i) for i in range(250)}.items()
    assert [m.step for m in store.get_metric_history(run_id, "m")] == list(range(2500))


def test_param_conflict_with_stored_value_surfaces_on_flush(store: TrackingStore) -> None:
    run_id = _new_run(store)
    with AsyncBatchingLogger(store) as logger:
        logger.log_param(run_id, "lr", "0.1")
        logger.flush()
        logger.log_param(run_id, "lr", "0.2")
        logger.log_metric(run_id, "loss", 1.5, step=3)
        with pytest.raises(InvalidParameterError) as info:
            logger.flush()
        assert "lr" in str(info.value) and "0.1" in str(info.value) and "0.2" in str(info.value)
        logger.flush()  # reported once, then cleared
    assert store.get_run(run_id).data.params == {"lr": "0.1"}
    assert [m.value for m in store.get_metric_history(run_id, "loss")] == [1.5]  # not lost with the param


def test_failed_batch_is_retried_split_so_only_the_offending_param_is_refused(store: TrackingStore) -> None:
    """One stored-value conflict in a mixed batch: the batch is retried by kind and params one by
    one, so every other item is stored and only the conflicting param is refused."""
    run_id = _new_run(store)
    store.log_batch(run_id, params=[Param("p2", "old")])
    recording = RecordingStore(store)
    logger = AsyncBatchingLogger(recording, linger=5.0)  # type: ignore[arg-type]
    for i in range(4):
        logger.log_param(run_id, f"p{i}", "new")
    logger.log_metric(run_id, "m", 1.0, step=0)
    logger.set_tag(run_id, "t", "x")
    with pytest.raises(InvalidParameterError, match="'p2'"):
        logger.close()
    run = store.get_run(run_id)
    assert run.data.params == {"p0": "new", "p1": "new", "p2": "old", "p3": "new"}
    assert run.data.metrics == {"m": 1.0} and run.data.tags["t"] == "x"
    assert recording.calls[0] == (1, 4, 1)  # first the whole batch, refused
    assert sorted(recording.calls[1:]) == sorted([(1, 0, 0), (0, 0, 1)] + [(0, 1, 0)] * 4)


def test_param_conflict_within_one_batch_keeps_the_first_value(store: TrackingStore) -> None:
    run_id = _new_run(store)
    logger = AsyncBatchingLogger(store, linger=5.0)
    logger.log_param(run_id, "a", "1")
    logger.log_param(run_id, "a", "1")  # same value again: a no-op
    logger.log_param(run_id, "a", "2")
    logger.set_tag(run_id, "t", "x")
    with pytest.raises(InvalidParameterError, match="'a'"):
        logger.close()
    run = store.get_run(run_id)
    assert run.data.params == {"a": "1"} and run.data.tags["t"] == "x"


def test_background_error_is_raised_by_the_next_call_whose_item_is_kept(store: TrackingStore) -> None:
    run_id = _new_run(store)
    gone = _new_run(store)
    store.delete_run(gone)
    logger = AsyncBatchingLogger(store)
    logger.log_metric(gone, "m", 1.0)
    deadline = time.monotonic() + 10
    while logger.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(InvalidParameterError, match="deleted"):
        logger.log_metric(run_id, "m", 2.0)
    logger.close()
    assert [m.value for m in store.get_metric_history(run_id, "m")] == [2.0]


def test_bad_input_is_refused_in_the_callers_thread(store: TrackingStore) -> None:
    run_id = _new_run(store)
    with AsyncBatchingLogger(store) as logger:
        with pytest.raises(InvalidParameterError, match="metric key"):
            logger.log_metric(run_id, "bad key!", 1.0)
        with pytest.raises(InvalidParameterError, match="6000"):
            logger.log_param(run_id, "p", "x" * 6001)
        with pytest.raises(InvalidParameterError, match="run_id"):
            logger.log_metric("not-a-run-id", "m", 1.0)
    assert logger.pending == 0


def test_backpressure_blocks_instead_of_dropping(store: TrackingStore) -> None:
    run_id = _new_run(store)
    recorder = RecordingStore(store, delay=0.005)
    logger = AsyncBatchingLogger(recorder, max_queue=10, batch_size=5, linger=0.001)  # type: ignore[arg-type]
    peak = 0
    for i in range(300):
        logger.log_metric(run_id, "m", float(i), step=i)
        peak = max(peak, logger.pending)
    logger.close()
    assert [m.value for m in store.get_metric_history(run_id, "m")] == [float(i) for i in range(300)]
    # pending counts the queue plus the batch being stored: at most two queue-fulls
    assert peak <= 20


def test_flush_timeout_and_later_completion(store: TrackingStore) -> None:
    run_id = _new_run(store)
    recorder = RecordingStore(store)
    logger = AsyncBatchingLogger(recorder, linger=0.0)  # type: ignore[arg-type]
    recorder.gate.clear()
    logger.log_metric(run_id, "m", 1.0)
    with pytest.raises(TimeoutError, match="1 logged items"):
        logger.flush(timeout=0.2)
    recorder.gate.set()
    logger.flush(timeout=10)
    assert logger.pending == 0
    assert len(store.get_metric_history(run_id, "m")) == 1
    logger.close()
    with pytest.raises(AsyncLoggerClosedError):
        logger.log_metric(run_id, "m", 2.0)
    logger.close()  # idempotent


def test_client_synchronous_false_and_set_terminated_flushes(client: TrackingClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    for i in range(500):
        client.log_metric(run_id, "m", i, step=i, synchronous=False)
    client.log_param(run_id, "p", 1, synchronous=False)
    client.set_tag(run_id, "t", "v", synchronous=False)
    client.log_batch(run_id, metrics=[Metric("n", 1.0, 1, 0)], synchronous=False)
    client.set_terminated(run_id)
    run = client.get_run(run_id)
    assert run.info.status is RunStatus.FINISHED
    assert run.data.params == {"p": "1"} and run.data.tags["t"] == "v"
    assert run.data.metrics == {"m": 499.0, "n": 1.0}
    assert len(client.get_metric_history(run_id, "m")) == 500


@pytest.fixture
def tracking(store_uri: str) -> Iterator[TrackingClient]:
    """The fluent API pointed at a fresh store; its global state is reset afterwards."""
    fluent.set_tracking_uri(store_uri)
    try:
        yield TrackingClient(store_uri)
    finally:
        while fluent.active_run() is not None:
            try:
                fluent.end_run()
            except InvalidParameterError:
                pass
        if fluent._client is not None:
            fluent._client.close()
        fluent._reset()


def test_fluent_log_async_run_is_flushed_by_end_run(tracking: TrackingClient) -> None:
    with fluent.start_run(log_async=True) as run:
        assert run.log_async
        for i in range(300):
            fluent.log_metric("loss", 1.0 / (i + 1), step=i)
        fluent.log_metrics({"a": 1.0, "b": 2.0}, step=1)
        fluent.log_params({"lr": 0.1})
        fluent.set_tags({"phase": "train"})
    stored = tracking.get_run(run.info.run_id)
    assert stored.info.status is RunStatus.FINISHED
    assert len(tracking.get_metric_history(run.info.run_id, "loss")) == 300
    assert stored.data.params == {"lr": "0.1"} and stored.data.tags["phase"] == "train"
    assert stored.data.metrics["a"] == 1.0


def test_fluent_end_run_raises_background_error_and_still_ends_the_run(
    tracking: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREKIT_ASYNC_LOGGING", "1")
    assert async_logging_enabled() and not async_logging_enabled(False)
    run = fluent.start_run()
    assert run.log_async
    fluent.log_param("lr", 1)
    fluent.flush_async_logging()
    fluent.log_param("lr", 2)
    with pytest.raises(InvalidParameterError, match="lr"):
        fluent.end_run()
    assert tracking.get_run(run.info.run_id).info.status is RunStatus.FINISHED


EXIT_SCRIPT = textwrap.dedent(
    """
    import sys
    import storekit
    from storekit.async_logging import AsyncBatchingLogger
    uri, mode = sys.argv[1], sys.argv[2]
    if mode == "logger":
        store = storekit.resolve_tracking_store(uri)
        run_id = store.create_run(store.create_experiment("x")).info.run_id
        logger = AsyncBatchingLogger(store, linger=60.0)  # nothing is written before exit
        for i in range(3000):
            logger.log_metric(run_id, "m", float(i), step=i)
    else:
        storekit.set_tracking_uri(uri)
        run = storekit.start_run()  # async through STOREKIT_ASYNC_LOGGING; never ended
        run_id = run.info.run_id
        for i in range(3000):
            storekit.log_metric("m", float(i), step=i)
    print(run_id)
    """
)


@pytest.mark.parametrize("mode", ["logger", "fluent"])
def test_normal_exit_without_flush_loses_nothing(store_uri: str, tmp_path: Path, mode: str) -> None:
    env = {
        **os.environ,
        "STOREKIT_ASYNC_LOGGING": "1",
        "STOREKIT_ARTIFACT_URI": tmp_path.as_uri(),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, store_uri, mode],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip().splitlines()[-1]
    store = resolve_tracking_store(store_uri)
    try:
        history = store.get_metric_history(run_id, "m")
        assert [m.value for m in history] == [float(i) for i in range(3000)]
        if mode == "fluent":
            assert store.get_run(run_id).info.status is RunStatus.FINISHED
    finally:
        store.close()


HANGING_STORE_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    import storekit
    from storekit.async_logging import AsyncBatchingLogger

    class HangingStore:
        '''Delegates to a real store but never returns from log_batch: a store that hangs.'''
        def __init__(self, inner):
            self._inner = inner
        def __getattr__(self, name):
            return getattr(self._inner, name)
        def log_batch(self, run_id, metrics=(), params=(), tags=()):
            threading.Event().wait()

    inner = storekit.resolve_tracking_store(sys.argv[1])
    run_id = inner.create_run(inner.create_experiment("x")).info.run_id
    logger = AsyncBatchingLogger(HangingStore(inner), linger=0.01)
    logger.log_metric(run_id, "m", 1.0, step=0)
    print("exiting", flush=True)
    """
)


def test_exit_flush_is_bounded_when_the_store_hangs(store_uri: str, tmp_path: Path) -> None:
    """A store that never answers cannot keep the interpreter from exiting: the exit flush gives up."""
    env = {
        **os.environ,
        "STOREKIT_ASYNC_EXIT_TIMEOUT": "1",
        "STOREKIT_ARTIFACT_URI": tmp_path.as_uri(),
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", HANGING_STORE_SCRIPT, store_uri],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert "exiting" in proc.stdout
    assert "asynchronous logger failed at exit" in proc.stderr
    assert "not stored within" in proc.stderr
    assert elapsed < 30, f"interpreter exit took {elapsed:.1f} s"
