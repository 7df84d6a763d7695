"""The PostgreSQL / MariaDB fast path (:mod:`storekit.backends.sql.fastpath`) against the SQLAlchemy path.

Both paths run on the same real database: what one writes, the other reads
identically (runs, latest values, histories, page tokens), the rules are the
shared ones, and a refused batch leaves nothing behind.
"""

from __future__ import annotations

import math
from typing import Iterator

import pytest

from storekit.backends.sql import SqlTrackingStore
from storekit.backends.sql.fastpath import COPY_MIN_POINTS
from storekit.backends.sql.tracking import SqlAlchemyTrackingStore
from storekit.entities import Dataset, DatasetInput, Metric, Param, RunStatus, RunTag
from storekit.errors import InvalidParameterError, RunNotFound

pytestmark = pytest.mark.parametrize("backend", ["postgresql", "mariadb"])


@pytest.fixture
def stores(db_uri: str, tmp_path) -> Iterator[tuple[SqlTrackingStore, SqlAlchemyTrackingStore]]:
    """``(fast, slow)``: the store as opened, and one on the same database with the fast path turned off."""
    root = (tmp_path / "artifacts").as_uri()
    fast = SqlTrackingStore(db_uri, default_artifact_root=root)
    slow = SqlAlchemyTrackingStore(db_uri, root)
    slow._fast = None
    yield fast, slow
    fast.close()
    slow.close()


def _history(store: object, run_id: str, key: str, page: int) -> tuple[list[Metric], list[str]]:
    points: list[Metric] = []
    tokens: list[str] = []
    token = None
    while True:
        got = store.get_metric_history(run_id, key, max_results=page, page_token=token)  # type: ignore[attr-defined]
        points += list(got)
        token = got.token
        if not token:
            return points, tokens
        tokens.append(token)


def _points(key: str, steps: range, base: float = 0.0) -> list[Metric]:
    return [Metric(key, base + s / 7, 1_000 + s % 3, s) for s in steps]


def test_fast_path_is_taken(stores) -> None:
    fast, _ = stores
    assert fast._full()._fast is not None


@pytest.mark.parametrize("points", [3, COPY_MIN_POINTS - 1, COPY_MIN_POINTS, 1000])
def test_both_paths_read_and_write_the_same(stores, points: int) -> None:
    fast, slow = stores
    exp = fast.create_experiment(f"fastpath-{points}")
    run_fast = fast.create_run(exp, user_id="u", start_time=5, tags={"a": "1"}, run_name="f").info.run_id
    run_slow = slow.create_run(exp, user_id="u", start_time=5, tags={"a": "1"}, run_name="f").info.run_id
    odd = [Metric("odd", v, 7, 0) for v in (math.nan, math.inf, -math.inf, 0.5)]  # latest by kind: NaN
    batches = [
        (_points("m", range(points)), [Param("p", "1"), Param("q", "x" * 600)], [RunTag("t", "1"), RunTag("t", "2")]),
        (_points("m", range(points // 2), base=10.0) + odd, [Param("p", "1")], [RunTag("t", "3")]),
    ]
    for run_id, store in ((run_fast, fast), (run_slow, slow)):
        for metrics, params, tags in batches:
            store.log_batch(run_id, metrics, params, tags)
        store.update_run_info(run_id, status=RunStatus.FINISHED, end_time=9)
    for reader in (fast, slow):
        a, b = reader.get_run(run_fast), reader.get_run(run_slow)
        assert a.data.params == b.data.params == {"p": "1", "q": "x" * 600}
        assert a.data.tags == b.data.tags == {"a": "1", "t": "3"}
        assert a.data.metrics.keys() == b.data.metrics.keys() == {"m", "odd"}
        assert a.data.metrics["m"] == b.data.metrics["m"] == (points - 1) / 7  # the highest step stays latest
        assert math.isnan(a.data.metrics["odd"]) and math.isnan(b.data.metrics["odd"])
        assert (a.info.status, a.info.end_time, a.info.run_name) == (RunStatus.FINISHED, 9, "f")
        assert a.info.artifact_uri.replace(run_fast, "X") == b.info.artifact_uri.replace(run_slow, "X")
        whole_a = list(reader.get_metric_history(run_fast, "m"))
        whole_b = list(reader.get_metric_history(run_slow, "m"))
        assert whole_a == whole_b and len(whole_a) == points + points // 2
        assert [(m.step, m.timestamp) for m in whole_a] == sorted((m.step, m.timestamp) for m in whole_a)
        odd_a = reader.get_metric_history(run_fast, "odd")
        assert [m.value for m in odd_a][1:] == [math.inf, -math.inf, 0.5] and math.isnan(odd_a[0].value)
    # pages and tokens: the same pages on either path, and one path's token continues on the other
    paged_fast, tokens = _history(fast, run_fast, "m", 7)
    paged_slow, _ = _history(slow, run_fast, "m", 7)
    assert paged_fast == paged_slow == list(fast.get_metric_history(run_fast, "m"))
    if tokens:
        assert list(slow.get_metric_history(run_fast, "m", 7, tokens[0])) == list(
            fast.get_metric_history(run_fast, "m", 7, tokens[0])
        )


@pytest.mark.parametrize("points", [2, COPY_MIN_POINTS])
def test_refused_batch_leaves_nothing(stores, points: int) -> None:
    fast, slow = stores
    exp = fast.create_experiment(f"fastpath-atomic-{points}")
    run_id = fast.create_run(exp).info.run_id
    fast.log_batch(run_id, _points("m", range(points)), [Param("p", "1")], [RunTag("t", "1")])
    with pytest.raises(InvalidParameterError, match="p"):
        fast.log_batch(run_id, _points("m", range(100, 100 + points)), [Param("p", "2")], [RunTag("t", "2")])
    for reader in (fast, slow):
        run = reader.get_run(run_id)
        assert run.data.params == {"p": "1"} and run.data.tags == {"t": "1"}
        assert run.data.metrics["m"] == (points - 1) / 7
        assert len(reader.get_metric_history(run_id, "m")) == points


def test_latest_keeps_a_later_stored_point(stores) -> None:
    fast, _ = stores
    run_id = fast.create_run(fast.create_experiment("fastpath-latest")).info.run_id
    fast.log_batch(run_id, [Metric("m", 1.0, 10, 5)])
    fast.log_batch(run_id, [Metric("m", 2.0, 99, 4)] * 3)  # an earlier step, a later timestamp
    assert fast.get_run(run_id).data.metrics["m"] == 1.0
    fast.log_batch(run_id, _points("m", range(COPY_MIN_POINTS)))  # steps up to 199: these win
    assert fast.get_run(run_id).data.metrics["m"] == (COPY_MIN_POINTS - 1) / 7
    fast.log_batch(run_id, [Metric("m", 3.0, 1_002, COPY_MIN_POINTS - 1)])  # same step, later timestamp
    assert fast.get_run(run_id).data.metrics["m"] == 3.0


def test_unknown_and_deleted_runs(stores) -> None:
    fast, _ = stores
    exp = fast.create_experiment("fastpath-missing")
    missing = "0" * 32
    with pytest.raises(RunNotFound):
        fast.get_run(missing)
    with pytest.raises(RunNotFound):
        fast.get_metric_history(missing, "m")
    with pytest.raises(RunNotFound):
        fast.log_batch(missing, [Metric("m", 1.0, 1, 1)])
    with pytest.raises(RunNotFound):
        fast.update_run_info(missing, status=RunStatus.FINISHED)
    run_id = fast.create_run(exp).info.run_id
    assert list(fast.get_metric_history(run_id, "m")) == []
    fast.delete_run(run_id)
    with pytest.raises(InvalidParameterError):
        fast.log_batch(run_id, [Metric("m", 1.0, 1, 1)])
    assert fast.get_run(run_id).info.lifecycle_stage.value == "deleted"


def test_search_and_get_run_with_inputs_match(stores) -> None:
    fast, slow = stores
    exp = fast.create_experiment("fastpath-search")
    run_ids = []
    for i in range(5):
        run_id = fast.create_run(exp, start_time=i, tags={"i": str(i)}).info.run_id
        fast.log_batch(run_id, [Metric("m", i / 10, 1, 0)], [Param("p", f"v{i % 2}")])
        run_ids.append(run_id)
    datasets = [
        DatasetInput(Dataset("b", "d2", "local", "/b", schema="s"), {"context": "eval"}),
        DatasetInput(Dataset("a", "d1", "local", "/a", profile="p"), {"context": "train"}),
    ]
    fast.log_inputs(run_ids[1], datasets)
    fast.log_inputs(run_ids[3], datasets[:1])
    for run_id in run_ids:
        assert fast.get_run(run_id) == slow.get_run(run_id)
    assert [d.dataset.name for d in fast.get_run(run_ids[1]).inputs.dataset_inputs] == ["a", "b"]
    for query in ("", "metrics.m > 0.15", "params.p = 'v1'"):
        got = fast.search_runs([exp], query, order_by=["metrics.m DESC"], max_results=2)
        want = slow.search_runs([exp], query, order_by=["metrics.m DESC"], max_results=2)
        assert list(got) == list(want) and got.token == want.token and len(got) == 2
