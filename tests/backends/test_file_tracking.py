"""FileTrackingStore: the pinned semantics of contract section 3 on the file backend."""

from __future__ import annotations

import errno
import json
import math
import os
import time
from pathlib import Path

import pytest

from storekit.backends.file import FileTrackingStore
from storekit.backends.file.oserrors import translated
from storekit.backends.file.run_index import ExperimentIndex
from storekit.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    LifecycleStage,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from storekit.errors import (
    AlreadyExistsError,
    BackendUnavailableError,
    ExperimentNotFound,
    InvalidParameterError,
    NotFoundError,
    RunNotFound,
    StoreCorruptionError,
)
from storekit.interfaces import Capability


@pytest.fixture
def store(tmp_path: Path) -> FileTrackingStore:
    s = FileTrackingStore(str(tmp_path / "store"))
    yield s
    s.close()


@pytest.fixture
def run_id(store: FileTrackingStore) -> str:
    eid = store.create_experiment("exp")
    return store.create_run(eid, user_id="alice", start_time=1000).info.run_id


def reopen(store: FileTrackingStore) -> FileTrackingStore:
    return FileTrackingStore(str(store.root))


# --- construction and layout ---------------------------------------------------------
def test_uri_forms_and_root_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STOREKIT_ARTIFACT_URI", raising=False)
    for uri, expected in [
        ("plain", tmp_path / "plain"),
        ("./dotted/sub", tmp_path / "dotted" / "sub"),
        ((tmp_path / "uri").as_uri(), tmp_path / "uri"),
    ]:
        s = FileTrackingStore(uri)
        assert s.root == expected and expected.is_dir()
        eid = s.create_experiment("e")
        assert s.get_experiment(eid).artifact_location == (expected / "artifacts" / eid).as_uri()


def test_artifact_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREKIT_ARTIFACT_URI", "s3://bucket/root")
    s = FileTrackingStore(str(tmp_path / "a"))
    eid = s.create_experiment("e")
    assert s.get_experiment(eid).artifact_location == f"s3://bucket/root/{eid}"
    run = s.create_run(eid)
    assert run.info.artifact_uri == f"s3://bucket/root/{eid}/{run.info.run_id}/artifacts"
    s2 = FileTrackingStore(str(tmp_path / "b"), default_artifact_root="file:///data/art")
    eid2 = s2.create_experiment("e", artifact_location="s3://elsewhere/x")
    assert s2.get_experiment(eid2).artifact_location == "s3://elsewhere/x"
    assert s2.get_experiment(s2.create_experiment("f")).artifact_location == "file:///data/art/2"


def test_capabilities() -> None:
    assert {
        Capability.ATOMIC_BATCH,
        Capability.SEARCH_OR,
        Capability.MULTIPROCESS_WRITERS,
        Capability.CONCURRENT_WRITERS,
        Capability.DURABLE,
        Capability.REGISTRY,
    } <= FileTrackingStore.capabilities


def test_tree_is_human_readable(store: FileTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, [Metric("loss", 0.5, 1, 0)], [Param("lr", "0.1")])
    meta = json.loads((store.root / "1" / "meta.json").read_text())
    assert meta["name"] == "exp"
    lines = (store.root / "1" / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line)["op"] for line in lines] == ["create", "data"]
    history = (store.root / "1" / run_id / "metrics.jsonl").read_text().splitlines()
    assert json.loads(history[0]) == {"key": "loss", "value": 0.5, "timestamp": 1, "step": 0}


# --- experiments ---------------------------------------------------------------------
def test_experiment_ids_increase_and_names_are_unique(store: FileTrackingStore) -> None:
    ids = [store.create_experiment(f"e{i}") for i in range(3)]
    assert ids == ["1", "2", "3"]
    store.delete_experiment("2")
    with pytest.raises(AlreadyExistsError):
        store.create_experiment("e1")  # taken by a deleted experiment
    with pytest.raises(AlreadyExistsError):
        store.rename_experiment("1", "e2")
    store.rename_experiment("1", "renamed")
    assert store.get_experiment_by_name("renamed").experiment_id == "1"
    assert store.get_experiment_by_name("e0") is None
    assert store.create_experiment("e0") == "4"


def test_experiment_errors(store: FileTrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        store.get_experiment("42")
    with pytest.raises(InvalidParameterError, match="500"):
        store.create_experiment("x" * 501)
    with pytest.raises(InvalidParameterError):
        store.create_experiment("")
    with pytest.raises(InvalidParameterError):
        store.get_experiment("../etc")


def test_experiment_delete_restore_and_tags(store: FileTrackingStore) -> None:
    eid = store.create_experiment("e", tags={"a": "1"})
    store.set_experiment_tag(eid, ExperimentTag("b", "2"))
    store.delete_experiment(eid)
    store.delete_experiment(eid)  # idempotent
    exp = store.get_experiment(eid)
    assert exp.lifecycle_stage is LifecycleStage.DELETED
    assert store.search_experiments() == []
    assert [e.experiment_id for e in store.search_experiments(ViewType.DELETED_ONLY)] == [eid]
    store.restore_experiment(eid)
    store.restore_experiment(eid)
    restored = store.get_experiment(eid)
    assert restored.lifecycle_stage is LifecycleStage.ACTIVE and restored.tags == {"a": "1", "b": "2"}
    store.delete_experiment_tag(eid, "a")
    with pytest.raises(NotFoundError):
        store.delete_experiment_tag(eid, "a")
    assert store.get_experiment(eid).tags == {"b": "2"}


def test_search_experiments_filter_order_and_paging(store: FileTrackingStore) -> None:
    for i in range(7):
        store.create_experiment(f"exp-{i}", tags={"team": "a" if i % 2 else "b"})
    found = store.search_experiments(filter_string="tags.team = 'a'", order_by=["name"])
    assert [e.name for e in found] == ["exp-1", "exp-3", "exp-5"]
    seen, token = [], None
    while True:
        page = store.search_experiments(max_results=3, page_token=token)
        seen += [e.experiment_id for e in page]
        if token is None and page.token:
            store.create_experiment("late")  # created after the first page: not returned
        token = page.token
        if not token:
            break
    assert sorted(seen, key=int) == [str(i) for i in range(1, 8)]


# --- runs ----------------------------------------------------------------------------
def test_create_run_defaults(store: FileTrackingStore) -> None:
    eid = store.create_experiment("e")
    before = int(time.time() * 1000)
    run = store.create_run(eid)
    assert run.info.status is RunStatus.RUNNING
    assert run.info.run_name is None and run.info.user_id is None
    assert before <= run.info.start_time <= int(time.time() * 1000) + 1
    assert len(run.info.run_id) == 32
    assert run.info.artifact_uri.endswith(f"/{eid}/{run.info.run_id}/artifacts")
    assert store.get_run(run.info.run_id) == run


def test_run_not_found_and_malformed_id(store: FileTrackingStore) -> None:
    with pytest.raises(RunNotFound):
        store.get_run("0" * 32)
    with pytest.raises(InvalidParameterError, match="run_id"):
        store.get_run("not-a-run")
    with pytest.raises(ExperimentNotFound):
        store.create_run("99")


def test_create_run_in_deleted_experiment(store: FileTrackingStore) -> None:
    eid = store.create_experiment("e")
    store.delete_experiment(eid)
    with pytest.raises(InvalidParameterError, match="deleted"):
        store.create_run(eid)


def test_update_run_info(store: FileTrackingStore, run_id: str) -> None:
    info = store.update_run_info(run_id, status=RunStatus.FINISHED, end_time=2000, run_name="named")
    assert (info.status, info.end_time, info.run_name) == (RunStatus.FINISHED, 2000, "named")
    info = store.update_run_info(run_id, status="failed")
    assert info.status is RunStatus.FAILED and info.end_time == 2000 and info.run_name == "named"
    with pytest.raises(InvalidParameterError, match="status"):
        store.update_run_info(run_id, status="EXPLODED")
    # writing to a finished run is allowed
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    assert reopen(store).get_run(run_id).info.status is RunStatus.FAILED


def test_soft_delete_and_restore_run(store: FileTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("p", "v")], [RunTag("t", "x")])
    before = store.get_run(run_id)
    eid = before.info.experiment_id
    store.delete_run(run_id)
    store.delete_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage is LifecycleStage.DELETED
    assert store.search_runs([eid]) == []
    assert [r.info.run_id for r in store.search_runs([eid], view_type=ViewType.DELETED_ONLY)] == [run_id]
    for write in (
        lambda: store.log_metric(run_id, Metric("m", 2.0, 2, 1)),
        lambda: store.log_param(run_id, Param("q", "v")),
        lambda: store.set_tag(run_id, RunTag("t", "y")),
        lambda: store.delete_tag(run_id, "t"),
        lambda: store.update_run_info(run_id, status=RunStatus.FINISHED),
    ):
        with pytest.raises(InvalidParameterError, match="deleted"):
            write()
    store.restore_run(run_id)
    assert store.get_run(run_id) == before


def test_deleted_experiment_hides_and_freezes_its_runs(store: FileTrackingStore, run_id: str) -> None:
    eid = store.get_run(run_id).info.experiment_id
    store.delete_experiment(eid)
    assert store.search_runs([eid]) == []
    assert len(store.search_runs([eid], view_type=ViewType.DELETED_ONLY)) == 1
    with pytest.raises(InvalidParameterError, match="deleted"):
        store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    store.restore_experiment(eid)
    assert store.get_run(run_id).info.lifecycle_stage is LifecycleStage.ACTIVE
    assert len(store.search_runs([eid])) == 1


# --- log_batch -----------------------------------------------------------------------
def test_latest_metric_rule(store: FileTrackingStore, run_id: str) -> None:
    store.log_batch(
        run_id,
        [
            Metric("a", 5.0, 100, 1),
            Metric("a", 1.0, 200, 0),  # higher step wins over later time
            Metric("b", 1.0, 100, 2),
            Metric("b", 2.0, 50, 2),
            Metric("b", 0.0, 150, 2),  # then timestamp
            Metric("c", 1.0, 10, 0),
            Metric("c", 3.0, 10, 0),
            Metric("c", 2.0, 10, 0),  # then greatest value
            Metric("d", 1.0, 10, 0),
            Metric("d", float("nan"), 10, 0),
            Metric("d", float("inf"), 10, 0),
        ],
    )
    store.log_batch(run_id, [Metric("a", 9.0, 50, 0)])  # older: does not replace
    metrics = store.get_run(run_id).data.metrics
    assert metrics["a"] == 5.0 and metrics["b"] == 0.0 and metrics["c"] == 3.0
    assert math.isnan(metrics["d"])
    assert reopen(store).get_run(run_id).data.metrics["a"] == 5.0


def test_history_order_and_special_values(store: FileTrackingStore, run_id: str) -> None:
    values = [float("nan"), float("inf"), -float("inf"), 0.1, -0.0, 1e-310, 1.7976931348623157e308]
    store.log_batch(run_id, [Metric("m", v, 7, 3) for v in values])
    store.log_batch(run_id, [Metric("m", 42.0, 1, 5), Metric("m", 41.0, 9, 0), Metric("m", 40.0, 8, 3)])
    for s in (store, reopen(store)):
        hist = s.get_metric_history(run_id, "m")
        assert [(m.step, m.timestamp) for m in hist] == [(0, 9)] + [(3, 7)] * 7 + [(3, 8), (5, 1)]
        got = [m.value for m in hist[1:8]]
        assert math.isnan(got[0]) and got[1:3] == [math.inf, -math.inf]
        assert got[3:] == values[3:] and math.copysign(1, got[4]) == -1.0
    assert store.get_metric_history(run_id, "unknown") == []


def test_metric_history_paging(store: FileTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, [Metric("m", float(i), i, i) for i in range(25)])
    got, token = [], None
    while True:
        page = store.get_metric_history(run_id, "m", max_results=10, page_token=token)
        got += [m.value for m in page]
        token = page.token
        if not token:
            break
    assert got == [float(i) for i in range(25)]
    with pytest.raises(InvalidParameterError, match="page_token"):
        store.get_metric_history(run_id, "m", max_results=10, page_token="garbage")


def test_params_are_immutable(store: FileTrackingStore, run_id: str) -> None:
    store.log_param(run_id, Param("lr", "0.1"))
    store.log_param(run_id, Param("lr", "0.1"))  # same value: no-op
    with pytest.raises(InvalidParameterError) as exc:
        store.log_param(run_id, Param("lr", "0.2"))
    assert "'lr'" in str(exc.value) and "'0.1'" in str(exc.value) and "'0.2'" in str(exc.value)
    assert store.get_run(run_id).data.params == {"lr": "0.1"}


def test_log_batch_is_atomic(store: FileTrackingStore, run_id: str) -> None:
    store.log_param(run_id, Param("p", "old"))
    with pytest.raises(InvalidParameterError, match="'p'"):
        store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("new", "x"), Param("p", "new")], [RunTag("t", "v")])
    with pytest.raises(InvalidParameterError):
        store.log_batch(run_id, [Metric("m", 1.0, 1, 0), Metric("bad/../key", 1.0, 1, 0)])
    run = store.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {"p": "old"} and run.data.tags == {}
    assert store.get_metric_history(run_id, "m") == []


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"metrics": [Metric("m", 1.0, 1, i) for i in range(1001)]}, "1000"),
        ({"params": [Param(f"p{i}", "v") for i in range(101)]}, "100"),
        ({"tags": [RunTag(f"t{i}", "v") for i in range(101)]}, "100"),
        ({"params": [Param("k" * 251, "v")]}, "250"),
        ({"params": [Param("p", "v" * 6001)]}, "6000"),
        ({"tags": [RunTag("t", "v" * 8001)]}, "8000"),
        ({"metrics": [Metric("/abs", 1.0, 1, 0)]}, "/"),
    ],
)
def test_limits(store: FileTrackingStore, run_id: str, kwargs: dict, needle: str) -> None:
    with pytest.raises(InvalidParameterError, match=needle):
        store.log_batch(run_id, **kwargs)
    assert store.get_run(run_id).data.params == {}


def test_limits_at_the_edge_are_accepted(store: FileTrackingStore, run_id: str) -> None:
    store.log_batch(
        run_id,
        [Metric("m", 1.0, 1, i) for i in range(1000)],
        [Param("k" * 250, "v" * 6000)],
        [RunTag("t", "v" * 8000)],
    )
    run = reopen(store).get_run(run_id)
    assert run.data.params == {"k" * 250: "v" * 6000} and len(run.data.tags["t"]) == 8000
    assert len(store.get_metric_history(run_id, "m")) == 1000


def test_tags_set_overwrite_delete(store: FileTrackingStore, run_id: str) -> None:
    store.set_tag(run_id, RunTag("t", "1"))
    store.set_tag(run_id, RunTag("t", "2"))
    assert store.get_run(run_id).data.tags == {"t": "2"}
    store.delete_tag(run_id, "t")
    with pytest.raises(NotFoundError):
        store.delete_tag(run_id, "t")
    assert reopen(store).get_run(run_id).data.tags == {}


# --- search --------------------------------------------------------------------------
@pytest.fixture
def populated(store: FileTrackingStore) -> tuple[FileTrackingStore, str, list[str]]:
    eid = store.create_experiment("s")
    ids = []
    for i in range(12):
        r = store.create_run(eid, start_time=1000 + i // 2, run_name=f"run-{i}").info.run_id
        metrics = [Metric("acc", i / 10, 1, 0)] + ([Metric("loss", float("nan"), 1, 0)] if i == 3 else [])
        store.log_batch(r, metrics, [Param("opt", "adam" if i % 3 else "SGD")], [RunTag("team", f"t{i % 2}")])
        ids.append(r)
    return store, eid, ids


def test_search_filter_and_default_order(populated) -> None:
    store, eid, ids = populated
    runs = store.search_runs([eid])
    expected = sorted(ids, key=lambda r: (-store.get_run(r).info.start_time, r))
    assert [r.info.run_id for r in runs] == expected
    hits = store.search_runs([eid], "metrics.acc > 0.5 and params.opt = 'adam'")
    assert {r.info.run_id for r in hits} == {ids[i] for i in (7, 8, 10, 11)}
    hits = store.search_runs([eid], "params.opt = 'SGD' or tags.team = 't1'")
    assert {r.info.run_id for r in hits} == {ids[i] for i in range(12) if i % 3 == 0 or i % 2}
    assert len(store.search_runs([eid], "params.opt = 'sgd'")) == 0  # case-sensitive
    assert len(store.search_runs([eid], "params.opt ILIKE 'sgd'")) == 4
    assert {r.info.run_id for r in store.search_runs([eid], "metrics.loss != 0")} == {ids[3]}
    assert len(store.search_runs([eid], "attributes.run_name LIKE 'run-1%'")) == 3
    with pytest.raises(InvalidParameterError, match="position"):
        store.search_runs([eid], "metrics.acc >")


def test_search_order_by_metric_missing_last(populated) -> None:
    store, eid, ids = populated
    other = store.create_run(eid).info.run_id  # no acc metric
    runs = store.search_runs([eid], order_by=["metrics.acc DESC"])
    assert [r.info.run_id for r in runs] == list(reversed(ids)) + [other]


def test_search_paging_is_stable(populated) -> None:
    store, eid, ids = populated
    seen, token, first = [], None, True
    while True:
        page = store.search_runs([eid], max_results=5, page_token=token)
        seen += [r.info.run_id for r in page]
        if first:
            first = False
            store.create_run(eid, start_time=0)  # would sort last: must not appear
            store.create_run(eid, start_time=10**12)
            store.log_metric(ids[0], Metric("acc", 9.0, 2, 1))
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


def test_search_tokens_and_limits(populated) -> None:
    store, eid, _ = populated
    page = store.search_runs([eid], max_results=5)
    with pytest.raises(InvalidParameterError, match="page_token"):
        store.search_runs([eid], max_results=5, page_token=page.token[:-3] + "abc")
    with pytest.raises(InvalidParameterError, match="page_token"):
        store.search_runs([eid], "metrics.acc > 0", max_results=5, page_token=page.token)
    with pytest.raises(InvalidParameterError, match="50000"):
        store.search_runs([eid], max_results=50_001)
    assert len(store.search_runs([eid], max_results=50_000)) == 12


def test_search_multiple_experiments_and_unknown(populated) -> None:
    store, eid, ids = populated
    other = store.create_experiment("other")
    extra = store.create_run(other).info.run_id
    runs = store.search_runs([eid, other, "999"])
    assert {r.info.run_id for r in runs} == set(ids) | {extra}


# --- another process's writes, compaction, crash safety --------------------------------
def test_second_instance_sees_writes(store: FileTrackingStore, run_id: str) -> None:
    other = reopen(store)
    assert other.get_run(run_id).data.metrics == {}
    store.log_metric(run_id, Metric("m", 3.0, 1, 0))
    assert other.get_run(run_id).data.metrics == {"m": 3.0}
    assert other.get_metric_history(run_id, "m")[0].value == 3.0


def test_compaction_keeps_everything(store: FileTrackingStore, run_id: str, monkeypatch) -> None:
    monkeypatch.setattr(ExperimentIndex, "SLACK_LINES", 10)
    reader = reopen(store)
    assert reader.get_run(run_id).data.tags == {}
    path = store.root / "1" / "runs.jsonl"
    for i in range(40):
        store.set_tag(run_id, RunTag(f"t{i}", str(i)))
        store.log_metric(run_id, Metric("m", float(i), i, i))
    assert len(path.read_text().splitlines()) < 30  # compacted at least once
    expected = store.get_run(run_id)
    assert reader.get_run(run_id) == expected == reopen(store).get_run(run_id)
    assert len(expected.data.tags) == 40 and expected.data.metrics == {"m": 39.0}
    assert len(reader.get_metric_history(run_id, "m")) == 40


def test_torn_index_line_is_ignored_and_repaired(store: FileTrackingStore, run_id: str) -> None:
    store.log_param(run_id, Param("a", "1"))
    path = store.root / "1" / "runs.jsonl"
    with open(path, "ab") as fh:  # a writer died in the middle of a line
        fh.write(b'{"op":"data","id":"' + run_id.encode() + b'","params":{"b"')
    fresh = reopen(store)
    assert fresh.get_run(run_id).data.params == {"a": "1"}
    fresh.log_param(run_id, Param("c", "3"))
    assert reopen(store).get_run(run_id).data.params == {"a": "1", "c": "3"}
    assert path.read_bytes().endswith(b"\n")


def test_uncommitted_metric_bytes_are_ignored(store: FileTrackingStore, run_id: str) -> None:
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    history = store.root / "1" / run_id / "metrics.jsonl"
    with open(history, "ab") as fh:  # points of a batch whose index line never made it
        fh.write(b'{"key":"m","value":99.0,"timestamp":2,"step":1}\n')
    fresh = reopen(store)
    assert [m.value for m in fresh.get_metric_history(run_id, "m")] == [1.0]
    fresh.log_metric(run_id, Metric("m", 2.0, 3, 2))
    assert [m.value for m in reopen(store).get_metric_history(run_id, "m")] == [1.0, 2.0]


def test_corrupt_files_raise_store_corruption(store: FileTrackingStore, run_id: str) -> None:
    index = store.root / "1" / "runs.jsonl"
    index.write_bytes(index.read_bytes() + b"this is not json\n")
    with pytest.raises(StoreCorruptionError, match="runs.jsonl"):
        reopen(store).get_run(run_id)
    (store.root / "1" / "meta.json").write_text("{broken")
    with pytest.raises(StoreCorruptionError, match="meta.json"):
        reopen(store).get_experiment("1")


def test_os_errors_are_translated(store: FileTrackingStore, run_id: str) -> None:
    history = store.root / "1" / run_id / "metrics.jsonl"
    history.mkdir()  # a directory where the history file should be: a real OSError
    with pytest.raises(BackendUnavailableError, match="metrics.jsonl"):
        store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    with pytest.raises(BackendUnavailableError, match="no space left"):
        with translated("writing", "/some/file"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_datasets_inputs_and_search(store: FileTrackingStore, run_id: str) -> None:
    eid = store.get_run(run_id).info.experiment_id
    train = DatasetInput(Dataset("mnist", "abc123", "s3", "s3://d/mnist"), {"context": "training"})
    store.log_inputs(run_id, [train, train])
    store.log_inputs(run_id, [train])
    inputs = reopen(store).get_run(run_id).inputs.dataset_inputs
    assert inputs == (train,)
    other = store.create_run(eid).info.run_id
    store.log_inputs(other, [DatasetInput(Dataset("cifar", "d2", "local", "/x"), {"context": "eval"})])
    assert [r.info.run_id for r in store.search_runs([eid], "datasets.name = 'mnist'")] == [run_id]
    assert [r.info.run_id for r in store.search_runs([eid], "datasets.context IN ('eval')")] == [other]


def test_logged_models(store: FileTrackingStore, run_id: str) -> None:
    from storekit.entities import LoggedModelStatus
    from storekit.errors import LoggedModelNotFound

    eid = store.get_run(run_id).info.experiment_id
    model = store.create_logged_model(eid, name="net", source_run_id=run_id, params={"layers": "3"}, model_type="cnn")
    location = store.get_experiment(eid).artifact_location
    assert model.status is LoggedModelStatus.PENDING
    assert model.artifact_location == f"{location}/models/{model.model_id}/artifacts"
    assert (store.root / eid / "models" / f"{model.model_id}.json").is_file()
    store.log_batch(
        run_id, [Metric("acc", 0.5, 1, 0, model_id=model.model_id), Metric("acc", 0.7, 2, 1, model_id=model.model_id)]
    )
    store.log_outputs(run_id, [model.model_id, model.model_id])
    assert store.get_run(run_id).outputs.model_ids == (model.model_id,)
    assert store.finalize_logged_model(model.model_id, "ready").status is LoggedModelStatus.READY
    got = reopen(store).get_logged_model(model.model_id)
    assert [(m.key, m.value) for m in got.metrics] == [("acc", 0.7)] and got.params == {"layers": "3"}
    other = store.create_logged_model(eid, model_type="tree")
    assert [m.model_id for m in store.search_logged_models([eid], "metrics.acc > 0.6")] == [model.model_id]
    assert [m.model_id for m in store.search_logged_models([eid], "model_type = 'tree'")] == [other.model_id]
    store.set_logged_model_tags(other.model_id, {"k": "v"})
    store.delete_logged_model_tag(other.model_id, "k")
    with pytest.raises(NotFoundError):
        store.delete_logged_model_tag(other.model_id, "k")
    store.delete_logged_model(other.model_id)
    assert [m.model_id for m in store.search_logged_models([eid])] == [model.model_id]
    assert store.get_logged_model(other.model_id).lifecycle_stage is LifecycleStage.DELETED
    with pytest.raises(LoggedModelNotFound):
        store.get_logged_model("m-" + "0" * 32)
    with pytest.raises(InvalidParameterError, match="status"):
        store.finalize_logged_model(model.model_id, "DONE")


def test_batch_with_unknown_logged_model_stores_nothing(tmp_path) -> None:
    """A metric naming a logged model that does not exist fails the whole batch (atomicity)."""
    from storekit.backends.file import FileTrackingStore
    from storekit.entities import Metric, Param
    from storekit.errors import LoggedModelNotFound

    store = FileTrackingStore(str(tmp_path / "s"))
    exp = store.create_experiment("atomic-models")
    run = store.create_run(exp)
    with pytest.raises(LoggedModelNotFound):
        store.log_batch(
            run.info.run_id,
            metrics=[Metric("a", 1.0, 1, 0), Metric("b", 2.0, 1, 0, model_id="m-" + "0" * 32)],
            params=[Param("p", "v")],
        )
    data = store.get_run(run.info.run_id).data
    assert data.metrics == {} and data.params == {}
    assert store.get_metric_history(run.info.run_id, "a") == []
