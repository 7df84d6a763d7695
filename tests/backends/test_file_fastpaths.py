"""The file backend's fast paths give exactly the answers of the straightforward ones.

* metric history lines are encoded in one pass per batch, and a key's history
  is read by selecting its lines without parsing the others (falling back to
  a full parse when a line might spell its key differently);
* the history cache per (run, key) reads only the bytes committed since;
* the latest value per key of a batch is found without building order keys;
* large index loads pause the cyclic garbage collector and restore it;
* searches compile the filter once and see writes made since the last search.
"""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storekit.backends.file import FileTrackingStore
from storekit.backends.file.gcpause import gc_paused
from storekit.backends.file.metric_log import (
    encode_float,
    encode_metrics,
    latest_points,
    read_points,
)
from storekit.entities import Dataset, DatasetInput, Metric, Param, RunStatus, ViewType, metric_order_key
from storekit.errors import StoreCorruptionError

FAST = settings(max_examples=150, deadline=None, database=None)

KEYS = st.sampled_from(["a", "b", "loss/train", "ü b:c", "x.y-z"])
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.sampled_from([0.0, -0.0, 1.0, 2.0]),
)
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
METRICS = st.lists(
    st.builds(
        Metric,
        KEYS,
        VALUES,
        st.sampled_from([0, 1, 2]) | INTS,
        st.sampled_from([0, 1, 2]) | INTS,
        st.sampled_from([None, None, "m-1", 'q"uote']),
    ),
    min_size=1,
    max_size=30,
)


@pytest.fixture
def store(tmp_path: Path) -> FileTrackingStore:
    s = FileTrackingStore(str(tmp_path / "store"))
    yield s
    s.close()


def _plain_encoding(metrics: list[Metric]) -> bytes:
    """One json-ish line per point, written the obvious way."""
    lines = []
    for m in metrics:
        line = '{"key":%s,"value":%s,"timestamp":%d,"step":%d' % (
            json.dumps(m.key, ensure_ascii=False),
            encode_float(m.value),
            m.timestamp,
            m.step,
        )
        if m.model_id is not None:
            line += ',"model_id":%s' % json.dumps(m.model_id)
        lines.append(line + "}\n")
    return "".join(lines).encode("utf-8")


@FAST
@given(metrics=METRICS)
def test_encode_metrics_is_the_plain_encoding(metrics):
    assert encode_metrics(metrics) == _plain_encoding(metrics)


@FAST
@given(metrics=METRICS)
def test_latest_points_follow_metric_order_key(metrics):
    expected: dict[str, Metric] = {}
    for m in metrics:
        if m.key not in expected or metric_order_key(m) > metric_order_key(expected[m.key]):
            expected[m.key] = m
    got = latest_points(metrics)
    assert set(got) == set(expected)
    for key, m in expected.items():
        value, timestamp, step = got[key]
        assert (repr(value), timestamp, step) == (repr(float(m.value)), m.timestamp, m.step)


def _same_points(a: list[Metric], b: list[Metric]) -> bool:
    return [(m.key, repr(m.value), m.timestamp, m.step, m.model_id) for m in a] == [
        (m.key, repr(m.value), m.timestamp, m.step, m.model_id) for m in b
    ]


@FAST
@given(metrics=METRICS, escaped=st.booleans())
def test_reading_one_key_equals_filtering_everything(tmp_path_factory, metrics, escaped):
    path = tmp_path_factory.mktemp("hist") / "metrics.jsonl"
    data = encode_metrics(metrics)
    if escaped:  # another writer spelling keys with ASCII escapes: the full parse must decide
        data = b"".join(json.dumps(json.loads(line), ensure_ascii=True).encode() + b"\n" for line in data.splitlines())
    path.write_bytes(data)
    everything = read_points(path, 0, len(data))
    for key in {m.key for m in metrics} | {"absent"}:
        assert _same_points(read_points(path, 0, len(data), key), [m for m in everything if m.key == key])


@pytest.mark.parametrize(
    "odd_line",
    [
        b'{"key":"a","value":1.0,"timestamp":1,"step":1,"key":"b"}\n',  # JSON keeps the last "key"
        b'{"value":1.0,"key":"b","timestamp":1,"step":1}\n',  # another field order
        b'{"key": "b", "value": 1.0, "timestamp": 1, "step": 1}\n',  # other spacing
    ],
)
def test_lines_spelt_differently_are_parsed_whole(tmp_path: Path, odd_line: bytes) -> None:
    path = tmp_path / "metrics.jsonl"
    data = encode_metrics([Metric("a", 2.0, 1, 1), Metric("b", 3.0, 1, 1)]) + odd_line
    path.write_bytes(data)
    everything = read_points(path, 0, len(data))
    assert [m.key for m in everything] == ["a", "b", "b"]
    for key in ("a", "b"):
        assert _same_points(read_points(path, 0, len(data), key), [m for m in everything if m.key == key])


def test_a_corrupt_line_of_the_wanted_key_names_its_real_offset(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    good = encode_metrics([Metric("a", 1.0, 1, 1), Metric("b", 2.0, 1, 1)])
    bad = b'{"key":"b","value":oops}\n'
    path.write_bytes(good + bad)
    with pytest.raises(StoreCorruptionError, match=f"at byte {len(good)}"):
        read_points(path, 0, len(good) + len(bad), "b")


def test_history_cache_reads_new_batches_and_other_writers(store: FileTrackingStore, tmp_path: Path) -> None:
    eid = store.create_experiment("e")
    run_id = store.create_run(eid).info.run_id
    store.log_batch(run_id, metrics=[Metric("a", float(i), 100, i) for i in range(5)] + [Metric("b", 9.0, 1, 0)])
    assert [m.value for m in store.get_metric_history(run_id, "a")] == [0.0, 1.0, 2.0, 3.0, 4.0]
    store.log_batch(run_id, metrics=[Metric("a", -1.0, 50, 2), Metric("b", 8.0, 1, 1)])
    assert [(m.step, m.value) for m in store.get_metric_history(run_id, "a")] == [
        (0, 0.0),
        (1, 1.0),
        (2, -1.0),
        (2, 2.0),
        (3, 3.0),
        (4, 4.0),
    ]
    other = FileTrackingStore(str(store.root))
    try:
        other.log_metric(run_id, Metric("a", math.nan, 1, 7))
    finally:
        other.close()
    history = store.get_metric_history(run_id, "a")
    assert len(history) == 7 and math.isnan(history[-1].value)
    assert [m.value for m in store.get_metric_history(run_id, "b")] == [9.0, 8.0]
    returned = store.get_metric_history(run_id, "b")
    returned.append(Metric("b", 0.0, 0, 0))  # callers may not corrupt the cache
    assert len(store.get_metric_history(run_id, "b")) == 2


def test_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with gc_paused(active=False):
        assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()


def test_large_index_load_matches_and_leaves_gc_on(store: FileTrackingStore, monkeypatch) -> None:
    import storekit.backends.file.jsonlog as jsonlog
    import storekit.backends.file.run_index as run_index

    monkeypatch.setattr(jsonlog, "_LARGE_READ", 0)
    monkeypatch.setattr(run_index, "_MANY_EVENTS", 0)
    eid = store.create_experiment("e")
    ids = []
    for i in range(30):
        rid = store.create_run(eid, start_time=i).info.run_id
        store.log_batch(rid, metrics=[Metric("m", i / 10, 1, 0)])
        ids.append(rid)
    fresh = FileTrackingStore(str(store.root))
    try:
        runs = fresh.search_runs([eid], filter_string="metrics.m >= 1.5", max_results=100)
        assert gc.isenabled()
        assert [r.info.run_id for r in runs] == list(reversed(ids[15:]))
    finally:
        fresh.close()


def test_searches_see_writes_made_since_the_last_search(store: FileTrackingStore) -> None:
    eid = store.create_experiment("e")
    a = store.create_run(eid, start_time=1).info.run_id
    b = store.create_run(eid, start_time=2).info.run_id
    store.log_metric(a, Metric("m", 1.0, 1, 0))
    query = dict(filter_string="metrics.m > 0.5 or params.p = 'x'", order_by=["metrics.m DESC"])
    assert [r.info.run_id for r in store.search_runs([eid], **query)] == [a]
    store.log_metric(b, Metric("m", 2.0, 1, 0))
    assert [r.info.run_id for r in store.search_runs([eid], **query)] == [b, a]
    store.log_metric(b, Metric("m", 0.0, 1, 1))  # a later step replaces the latest value
    store.log_batch(b, params=[Param("p", "x")])
    assert [r.info.run_id for r in store.search_runs([eid], **query)] == [a, b]
    store.update_run_info(a, status=RunStatus.FINISHED)
    assert [r.info.run_id for r in store.search_runs([eid], filter_string="attributes.status = 'FINISHED'")] == [a]
    store.delete_run(a)
    assert [r.info.run_id for r in store.search_runs([eid], **query)] == [b]
    assert [
        r.info.lifecycle_stage.value
        for r in store.search_runs(
            [eid], filter_string="attributes.lifecycle_stage = 'deleted'", view_type=ViewType.ALL
        )
    ] == ["deleted"]
    store.log_inputs(b, [DatasetInput(Dataset("d", "1", "local", "/x"), {"context": "training"})])
    assert [r.info.run_id for r in store.search_runs([eid], filter_string="datasets.context = 'training'")] == [b]


def test_run_info_snapshots_follow_changes(store: FileTrackingStore) -> None:
    eid = store.create_experiment("e")
    run_id = store.create_run(eid, run_name="one").info.run_id
    first = store.get_run(run_id).info
    store.update_run_info(run_id, status=RunStatus.FAILED, run_name="two", end_time=5)
    info = store.get_run(run_id).info
    assert (first.status, first.run_name) == (RunStatus.RUNNING, "one")
    assert (info.status, info.run_name, info.end_time) == (RunStatus.FAILED, "two", 5)
    store.delete_experiment(eid)
    assert store.get_run(run_id).info.lifecycle_stage.value == "deleted"
    store.restore_experiment(eid)
    assert store.get_run(run_id).info.lifecycle_stage.value == "active"
