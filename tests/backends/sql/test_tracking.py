"""Pinned tracking semantics on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import math

import pytest

from storekit.entities import LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from storekit.errors import (
    AlreadyExistsError,
    ExperimentNotFound,
    InvalidParameterError,
    NotFoundError,
    RunNotFound,
)


@pytest.fixture
def run(store, uniq):
    exp = store.create_experiment(uniq("exp"))
    return store.create_run(exp, user_id="alice", run_name="r")


def test_experiment_lifecycle_and_artifact_locations(store, uniq, tmp_path):
    name = uniq("exp")
    exp_id = store.create_experiment(name, tags={"team": "a"})
    exp = store.get_experiment(exp_id)
    assert exp.name == name and exp.tags == {"team": "a"}
    assert exp.artifact_location == (tmp_path / "artifacts").as_uri() + f"/{exp_id}"
    with pytest.raises(AlreadyExistsError):
        store.create_experiment(name)
    store.delete_experiment(exp_id)
    with pytest.raises(AlreadyExistsError):  # deleted names stay taken
        store.create_experiment(name)
    assert store.get_experiment(exp_id).lifecycle_stage is LifecycleStage.DELETED
    store.restore_experiment(exp_id)
    assert store.get_experiment(exp_id) == exp
    other = store.create_experiment(uniq("exp"))
    with pytest.raises(AlreadyExistsError):
        store.rename_experiment(other, name)
    store.rename_experiment(other, name.upper())  # names are case-sensitive on every database
    assert store.get_experiment_by_name(name.upper()).experiment_id == other
    assert store.get_experiment_by_name(uniq("missing")) is None
    with pytest.raises(ExperimentNotFound):
        store.get_experiment("999999999")
    store.delete_experiment_tag(exp_id, "team")
    with pytest.raises(NotFoundError):
        store.delete_experiment_tag(exp_id, "team")


def test_run_artifact_uri_and_defaults(store, run):
    exp = store.get_experiment(run.info.experiment_id)
    assert run.info.artifact_uri == f"{exp.artifact_location}/{run.info.run_id}/artifacts"
    assert run.info.status is RunStatus.RUNNING and run.info.user_id == "alice"
    assert store.get_run(run.info.run_id).info == run.info


def test_run_ids_validated(store):
    with pytest.raises(InvalidParameterError, match="run_id"):
        store.get_run("not-a-run")
    with pytest.raises(RunNotFound):
        store.get_run("0" * 32)


def test_log_batch_is_atomic(store, run):
    rid = run.info.run_id
    store.log_batch(rid, params=[Param("p", "1")])
    with pytest.raises(InvalidParameterError) as err:
        store.log_batch(rid, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "2")], tags=[RunTag("t", "v")])
    assert "'p'" in str(err.value) and "'1'" in str(err.value) and "'2'" in str(err.value)
    data = store.get_run(rid).data
    assert data.metrics == {} and data.tags == {} and data.params == {"p": "1"}
    assert store.get_metric_history(rid, "m") == []
    store.log_batch(rid, params=[Param("p", "1")])  # same value: no-op


def test_limits_name_field_and_limit(store, run):
    with pytest.raises(InvalidParameterError, match="6000"):
        store.log_batch(run.info.run_id, params=[Param("p", "x" * 6001)])
    with pytest.raises(InvalidParameterError, match="1000"):
        store.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, 0, i) for i in range(1001)])


def test_latest_metric_rule_and_non_finite_round_trip(store, run):
    rid = run.info.run_id
    points = [
        Metric("a", 5.0, 100, 1),
        Metric("a", 1.0, 50, 2),
        Metric("a", 0.5, 50, 2),  # step wins
        Metric("b", 1.0, 10, 0),
        Metric("b", 2.0, 10, 0),
        Metric("b", math.nan, 10, 0),  # NaN greatest
        Metric("c", math.inf, 1, 0),
        Metric("c", -math.inf, 2, 0),  # timestamp wins
        Metric("d", 3.0, 1, 0),
    ]
    store.log_batch(rid, metrics=points[:4])
    store.log_batch(rid, metrics=points[4:])
    store.log_batch(rid, metrics=[Metric("d", 100.0, 0, 0)])  # older point never replaces
    latest = store.get_run(rid).data.metrics
    assert latest["a"] == 1.0 and math.isnan(latest["b"]) and latest["c"] == -math.inf and latest["d"] == 3.0
    history = store.get_metric_history(rid, "b")
    assert [m.value for m in history][:2] == [1.0, 2.0] and math.isnan(history[2].value)
    assert [m.value for m in store.get_metric_history(rid, "c")] == [math.inf, -math.inf]


def test_metric_history_order_and_paging(store, run):
    rid = run.info.run_id
    pts = [Metric("h", float(i), ts, step) for i, (ts, step) in enumerate([(5, 2), (1, 1), (9, 1), (1, 1), (0, 3)])]
    store.log_batch(rid, metrics=pts)
    full = store.get_metric_history(rid, "h")
    assert [m.value for m in full] == [1.0, 3.0, 2.0, 0.0, 4.0]  # (step, ts) then logging order
    assert full.token is None
    page = store.get_metric_history(rid, "h", max_results=2)
    seen = list(page)
    while page.token:
        page = store.get_metric_history(rid, "h", max_results=2, page_token=page.token)
        seen += page
    assert [m.value for m in seen] == [m.value for m in full]
    with pytest.raises(InvalidParameterError):
        store.get_metric_history(rid, "h", max_results=2, page_token="garbage")


def test_tags_overwrite_and_delete(store, run):
    rid = run.info.run_id
    store.set_tag(rid, RunTag("t", "1"))
    store.log_batch(rid, tags=[RunTag("t", "2"), RunTag("u", "x")])
    assert store.get_run(rid).data.tags == {"t": "2", "u": "x"}
    store.delete_tag(rid, "t")
    with pytest.raises(NotFoundError):
        store.delete_tag(rid, "t")


def test_soft_delete_and_writes(store, run, uniq):
    rid = run.info.run_id
    store.update_run_info(rid, status=RunStatus.FINISHED, end_time=123)
    store.log_metric(rid, Metric("m", 1.0, 1, 0))  # finished runs accept writes
    store.delete_run(rid)
    store.delete_run(rid)  # idempotent
    with pytest.raises(InvalidParameterError, match="deleted"):
        store.log_metric(rid, Metric("m", 2.0, 2, 1))
    exp = run.info.experiment_id
    assert store.search_runs([exp]) == []
    assert [r.info.run_id for r in store.search_runs([exp], view_type=ViewType.DELETED_ONLY)] == [rid]
    store.restore_run(rid)
    restored = store.get_run(rid)
    assert restored.info.status is RunStatus.FINISHED and restored.info.end_time == 123
    assert restored.data.metrics == {"m": 1.0}
    store.delete_experiment(exp)
    assert store.search_runs([exp]) == []
    with pytest.raises(InvalidParameterError, match="deleted"):
        store.create_run(exp)
    assert len(store.search_runs([exp], view_type=ViewType.ALL)) == 1


def test_get_and_search_return_same_runs(store, uniq):
    exp = store.create_experiment(uniq("exp"))
    ids = []
    for i in range(30):
        r = store.create_run(exp, start_time=i)
        store.log_batch(r.info.run_id, [Metric("m", float(i), 0, 0)], [Param("p", str(i))], [RunTag("t", "x")])
        ids.append(r.info.run_id)
    found = store.search_runs([exp])
    assert [r.info.run_id for r in found] == ids[::-1]  # start_time DESC
    assert found[0] == store.get_run(ids[-1])


def test_encoded_order_matches_metric_order_key():
    from storekit.backends.sql.metrics import decode_value, metric_tuple
    from storekit.entities import metric_order_key

    values = [-math.inf, -1.0, 0.0, 2.5, math.inf, math.nan]
    for a in values:
        for b in values:
            ma, mb = Metric("k", a, 1, 1), Metric("k", b, 1, 1)
            ta, tb = metric_tuple(0, ma), metric_tuple(0, mb)
            assert ((ta[5], ta[4], ta[3], ta[2]) < (tb[5], tb[4], tb[3], tb[2])) == (
                metric_order_key(ma) < metric_order_key(mb)
            )
            decoded = decode_value(ta[2], ta[3])
            assert decoded == a or (math.isnan(a) and math.isnan(decoded))


def test_runs_of_a_deleted_experiment_read_as_deleted_and_come_back_unchanged(store, uniq):
    from storekit.entities import Dataset, DatasetInput

    exp = store.create_experiment(uniq("exp"))
    kept = store.create_run(exp, start_time=2).info.run_id
    alone = store.create_run(exp, start_time=1).info.run_id
    store.log_batch(kept, [Metric("m", 1.0, 1, 0)], [Param("p", "1")], [RunTag("t", "x")])
    store.delete_run(alone)  # deleted on its own: stays deleted after the experiment comes back
    before = store.get_run(kept)
    store.delete_experiment(exp)

    gone = store.get_run(kept)
    assert gone.info.lifecycle_stage is LifecycleStage.DELETED and gone.data == before.data
    assert store.search_runs([exp]) == []
    for view in (ViewType.DELETED_ONLY, ViewType.ALL):
        found = store.search_runs([exp], view_type=view)
        assert [r.info.run_id for r in found] == [kept, alone]
        assert {r.info.lifecycle_stage for r in found} == {LifecycleStage.DELETED}
    by_stage = store.search_runs([exp], "attributes.lifecycle_stage = 'deleted'", view_type=ViewType.ALL)
    assert [r.info.run_id for r in by_stage] == [kept, alone]
    assert store.search_runs([exp], "attributes.lifecycle_stage = 'active'", view_type=ViewType.ALL) == []

    writes = [
        lambda: store.log_metric(kept, Metric("m", 2.0, 2, 1)),
        lambda: store.log_param(kept, Param("q", "1")),
        lambda: store.set_tag(kept, RunTag("t", "y")),
        lambda: store.delete_tag(kept, "t"),
        lambda: store.log_batch(kept),
        lambda: store.update_run_info(kept, status=RunStatus.FINISHED),
        lambda: store.log_inputs(kept, [DatasetInput(Dataset("d", "abc", "s3", "s3://b/d"))]),
    ]
    for write in writes:
        with pytest.raises(InvalidParameterError, match="deleted"):
            write()

    store.restore_experiment(exp)
    assert store.get_run(kept) == before
    assert store.get_run(alone).info.lifecycle_stage is LifecycleStage.DELETED
    assert [r.info.run_id for r in store.search_runs([exp])] == [kept]
    assert [r.info.run_id for r in store.search_runs([exp], view_type=ViewType.DELETED_ONLY)] == [alone]
    store.log_metric(kept, Metric("m", 2.0, 2, 1))  # writable again
    assert store.get_run(kept).data.metrics == {"m": 2.0}
