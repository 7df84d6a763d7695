"""The bridge's stores called as MLflow calls them, on every storekit backend (real databases)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from mlflow.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.exceptions import MlflowException

import storekit as sk
from storekit_mlflow.registry import StorekitRegistryStore
from storekit_mlflow.tracking import StorekitTrackingStore


def now() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def tracking(store_uri: str, local_artifacts: str) -> StorekitTrackingStore:
    return StorekitTrackingStore(store_uri, None)


@pytest.fixture
def registry(store_uri: str) -> StorekitRegistryStore:
    return StorekitRegistryStore(store_uri, store_uri)


def code_of(exc_info: pytest.ExceptionInfo[MlflowException]) -> str:
    return exc_info.value.error_code


# ------------------------------------------------------------------ experiments


def test_default_experiment_is_zero(tracking: StorekitTrackingStore, store_uri: str, native_uri: str) -> None:
    default = tracking.get_experiment("0")
    assert (default.experiment_id, default.name, default.lifecycle_stage) == ("0", "Default", "active")
    assert tracking.get_experiment_by_name("Default").experiment_id == "0"
    # a second store instance finds the same experiment; storekit itself sees one Default
    again = StorekitTrackingStore(store_uri, None)
    assert again.get_experiment("0").experiment_id == "0"
    native = sk.resolve_tracking_store(native_uri)
    names = [e.name for e in native.search_experiments(view_type=sk.ViewType.ALL)]
    assert names.count("Default") == 1
    # other experiments keep storekit's ids; "0" never leaks as a storekit id
    eid = tracking.create_experiment("other", None, [ExperimentTag("k", "v")])
    assert eid != "0"
    assert native.get_experiment(eid).name == "other"
    assert tracking.get_experiment(eid).tags == {"k": "v"}


@pytest.mark.mlflow
def test_default_experiment_created_once_by_racing_processes(new_storekit_uri, tmp_path) -> None:
    """Three processes (like ``mlflow server`` workers) open new stores of every backend at the same moment."""
    from .conftest import BACKENDS

    natives = [new_storekit_uri(b) for b in BACKENDS]
    go = tmp_path / "go"
    code = (
        "import os, sys, time; from storekit_mlflow.tracking import StorekitTrackingStore as S\n"
        "open(sys.argv[1] + '.' + str(os.getpid()), 'w').close()\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
        "print(' '.join(S('storekit:' + u, None).get_experiment('0').name for u in sys.argv[2:]))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(go), *natives], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    deadline = time.time() + 300
    while len(list(tmp_path.glob("go.*"))) < 3 and time.time() < deadline:
        time.sleep(0.05)
    go.touch()  # every process has imported MLflow and the bridge: release them together
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert outs == [" ".join(["Default"] * len(BACKENDS))] * 3
    for native in natives:
        store = sk.resolve_tracking_store(native)
        assert [e.name for e in store.search_experiments(view_type=sk.ViewType.ALL)].count("Default") == 1, native


def test_experiment_lifecycle_and_search(tracking: StorekitTrackingStore) -> None:
    a = tracking.create_experiment("exp-a", None, [ExperimentTag("team", "x")])
    b = tracking.create_experiment("exp-b", None, None)
    with pytest.raises(MlflowException) as info:
        tracking.create_experiment("exp-a", None, None)
    assert code_of(info) == "RESOURCE_ALREADY_EXISTS"
    found = tracking.search_experiments(filter_string="name LIKE 'exp-%' AND tags.team = 'x'")
    assert [e.experiment_id for e in found] == [a]
    tracking.rename_experiment(b, "exp-b2")
    tracking.set_experiment_tag(b, ExperimentTag("k", "v"))
    tracking.delete_experiment_tag(b, "k")
    tracking.delete_experiment(b)
    assert tracking.get_experiment(b).lifecycle_stage == "deleted"
    assert b not in [e.experiment_id for e in tracking.search_experiments(ViewType.ACTIVE_ONLY)]
    assert [e.name for e in tracking.search_experiments(ViewType.DELETED_ONLY)] == ["exp-b2"]
    assert tracking.filter_active_experiment_ids([a, b, "0", "987654"]) == [a, "0"]
    tracking.restore_experiment(b)
    assert tracking.get_experiment(b).lifecycle_stage == "active"
    page = tracking.search_experiments(max_results=1, order_by=["name ASC"])
    assert len(page) == 1 and page.token
    assert tracking.search_experiments(max_results=10, order_by=["name ASC"], page_token=page.token)[0].name
    with pytest.raises(MlflowException) as info:
        tracking.get_experiment("987654")
    assert code_of(info) == "RESOURCE_DOES_NOT_EXIST"


# ------------------------------------------------------------------ runs


def test_run_names_and_tags(tracking: StorekitTrackingStore) -> None:
    run = tracking.create_run("0", "alice", now(), [RunTag("t", "1")], None)
    name = run.info.run_name
    assert name and run.data.tags["mlflow.runName"] == name and run.data.tags["t"] == "1"
    assert run.info.experiment_id == "0" and run.info.status == "RUNNING"
    assert run.info.artifact_uri.startswith("storekit:") and run.info.artifact_uri.endswith(
        f"{run.info.run_id}/artifacts"
    )
    named = tracking.create_run("0", "alice", now(), [], "given")
    assert named.data.tags["mlflow.runName"] == "given"
    with pytest.raises(MlflowException) as info:
        tracking.create_run("0", "alice", now(), [RunTag("mlflow.runName", "a")], "b")
    assert code_of(info) == "INVALID_PARAMETER_VALUE"
    info_ = tracking.update_run_info(run.info.run_id, RunStatus.FINISHED, now(), "renamed")
    assert (info_.status, info_.run_name) == ("FINISHED", "renamed")
    assert tracking.get_run(run.info.run_id).data.tags["mlflow.runName"] == "renamed"
    tracking.set_tag(run.info.run_id, RunTag("mlflow.runName", "by-tag"))
    assert tracking.get_run(run.info.run_id).info.run_name == "by-tag"
    tracking.delete_tag(run.info.run_id, "t")
    assert "t" not in tracking.get_run(run.info.run_id).data.tags
    tracking.delete_run(run.info.run_id)
    assert tracking.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    tracking.restore_run(run.info.run_id)
    assert tracking.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_log_batch_and_metric_history(tracking: StorekitTrackingStore) -> None:
    run_id = tracking.create_run("0", "u", now(), [], "m").info.run_id
    points = [
        Metric("loss", 0.5, 1000, 2),
        Metric("loss", 0.9, 3000, 0),
        Metric("loss", 0.7, 2000, 1),
        Metric("acc", float("nan"), 10, 0),
        Metric("inf", float("inf"), 10, 0),
    ]
    tracking.log_batch(run_id, points, [Param("lr", "0.1")], [RunTag("a", "b")])
    run = tracking.get_run(run_id)
    assert run.data.params == {"lr": "0.1"} and run.data.tags["a"] == "b"
    latest = {m.key: m for m in run.data._metric_objs}
    assert (latest["loss"].value, latest["loss"].step, latest["loss"].timestamp) == (0.5, 2, 1000)
    assert latest["inf"].value == float("inf")
    history = tracking.get_metric_history(run_id, "loss")
    # MLflow's SQL-store order: (timestamp, step, value)
    assert [(m.timestamp, m.step, m.value) for m in history] == [(1000, 2, 0.5), (2000, 1, 0.7), (3000, 0, 0.9)]
    assert all(m.run_id == run_id for m in history)
    first = tracking.get_metric_history(run_id, "loss", max_results=2)
    assert len(first) == 2 and first.token
    rest = tracking.get_metric_history(run_id, "loss", max_results=2, page_token=first.token)
    assert [m.value for m in [*first, *rest]] == [0.5, 0.7, 0.9] and rest.token is None
    sampled = tracking.get_metric_history_bulk_interval([run_id], "loss", 10, None, None)
    assert sorted(m.step for m in sampled) == [0, 1, 2]
    by_steps = tracking.get_metric_history_bulk_interval_from_steps(run_id, "loss", [1, 2], 10)
    assert [m.step for m in by_steps] == [1, 2]
    # param conflict: MLflow's INVALID_PARAMETER_VALUE naming the key and both values
    with pytest.raises(MlflowException) as info:
        tracking.log_param(run_id, Param("lr", "0.2"))
    assert code_of(info) == "INVALID_PARAMETER_VALUE" and "lr" in info.value.message


def test_bad_input_names_field_and_limit_and_writes_nothing(
    tracking: StorekitTrackingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = tracking.create_run("0", "u", now(), [], "bad").info.run_id
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "false")
    with pytest.raises(MlflowException) as info:
        tracking.log_batch(run_id, [Metric("good", 1.0, 1, 0)], [Param("long", "x" * 6001)], [])
    assert code_of(info) == "INVALID_PARAMETER_VALUE"
    assert "6000" in info.value.message and "param" in info.value.message.lower()
    with pytest.raises(MlflowException) as info:
        tracking.log_batch(run_id, [Metric("k" * 251, 1.0, 1, 0)], [], [])
    assert code_of(info) == "INVALID_PARAMETER_VALUE" and "250" in info.value.message
    run = tracking.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {}  # nothing of either batch was stored
    # MLflow's default (MLFLOW_TRUNCATE_LONG_VALUES=true): long param and tag values are truncated
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "true")
    tracking.log_batch(run_id, [], [Param("long", "y" * 7000)], [RunTag("t", "z" * 9000)])
    run = tracking.get_run(run_id)
    assert run.data.params["long"] == "y" * 6000 and run.data.tags["t"] == "z" * 8000
    with pytest.raises(MlflowException) as info:
        tracking.get_run("0" * 32)
    assert code_of(info) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        tracking.create_run("424242", "u", now(), [], None)
    assert code_of(info) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        tracking.search_runs(["0"], "metrics.x >", ViewType.ALL)
    assert code_of(info) == "INVALID_PARAMETER_VALUE" and "filter" in info.value.message


def test_search_runs_with_mlflow_syntax(tracking: StorekitTrackingStore) -> None:
    exp = tracking.create_experiment("search", None, None)
    ids = []
    for i in range(7):
        run = tracking.create_run(exp, "u", 1000 + i, [RunTag("group", "even" if i % 2 == 0 else "odd")], f"run-{i}")
        tracking.log_batch(run.info.run_id, [Metric("acc", i / 10, 1, 0)], [Param("i", str(i))], [])
        ids.append(run.info.run_id)

    def names(filter_string: str | None, order_by: list[str] | None = None) -> list[str]:
        return [
            r.info.run_name for r in tracking.search_runs([exp], filter_string, ViewType.ACTIVE_ONLY, order_by=order_by)
        ]

    assert names("tags.mlflow.runName = 'run-3'") == ["run-3"]
    assert names("attributes.run_name = 'run-3'") == ["run-3"]
    assert names("attributes.`Run name` LIKE 'run-1%'") == ["run-1"]
    assert names(f"attributes.run_id IN ('{ids[0]}', '{ids[1]}')", ["attributes.run_name ASC"]) == ["run-0", "run-1"]
    assert names("metrics.acc >= 0.4 and tags.group = 'even'", ["metrics.acc DESC"]) == ["run-6", "run-4"]
    assert names("params.i = '2'") == ["run-2"]
    assert names("attributes.created > 1004", ["start_time ASC"]) == ["run-5", "run-6"]
    assert names(None) == [f"run-{i}" for i in range(6, -1, -1)]  # default order: newest first
    assert names(None, ["tags.mlflow.runName ASC"])[:2] == ["run-0", "run-1"]
    # paging with tokens visits every run once
    seen, token = [], None
    while True:
        page = tracking.search_runs([exp], None, ViewType.ALL, max_results=3, page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    tracking.delete_run(ids[0])
    assert len(tracking.search_runs([exp], None, ViewType.DELETED_ONLY)) == 1


def test_datasets_and_dataset_summary(tracking: StorekitTrackingStore) -> None:
    exp = tracking.create_experiment("ds", None, None)
    run_id = tracking.create_run(exp, "u", now(), [], "r").info.run_id
    ds = Dataset("iris", "abc123", "local", '{"uri": "/data/iris.csv"}', '{"cols": 4}', None)
    tracking.log_inputs(run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
    tracking.log_inputs(run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])  # idempotent
    run = tracking.get_run(run_id)
    [inp] = run.inputs.dataset_inputs
    assert (inp.dataset.name, inp.dataset.digest, inp.dataset.source, inp.dataset.schema) == (
        "iris",
        "abc123",
        '{"uri": "/data/iris.csv"}',
        '{"cols": 4}',
    )
    assert {t.key: t.value for t in inp.tags} == {"mlflow.data.context": "training"}
    summaries = tracking._search_datasets([exp])
    assert [(s.experiment_id, s.name, s.digest, s.context) for s in summaries] == [(exp, "iris", "abc123", "training")]
    found = tracking.search_runs([exp], "datasets.name = 'iris' AND datasets.context = 'training'", ViewType.ALL)
    assert [r.info.run_id for r in found] == [run_id]


def test_logged_models(tracking: StorekitTrackingStore) -> None:
    exp = tracking.create_experiment("models", None, None)
    run_id = tracking.create_run(exp, "u", now(), [], "trainer").info.run_id
    model = tracking.create_logged_model(exp, "clf", run_id, [LoggedModelTag("t", "1")], [], "sklearn")
    assert model.status == LoggedModelStatus.PENDING and model.experiment_id == exp
    assert model.artifact_location.startswith("storekit:")
    tracking.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=3)])
    ready = tracking.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY
    tracking.set_logged_model_tags(model.model_id, [LoggedModelTag("stage", "dev")])
    tracking.delete_logged_model_tag(model.model_id, "t")
    got = tracking.get_logged_model(model.model_id)
    assert got.tags == {"stage": "dev"} and got.source_run_id == run_id and got.model_type == "sklearn"
    # how MLflow resolves runs:/<run_id>/clf
    hits = tracking.search_logged_models([exp], f"source_run_id = '{run_id}' AND name = 'clf'")
    assert [m.model_id for m in hits] == [model.model_id]
    ordered = tracking.search_logged_models([exp], None, order_by=[{"field_name": "creation_time", "ascending": False}])
    assert [m.model_id for m in ordered] == [model.model_id]
    run = tracking.get_run(run_id)
    assert [(o.model_id, o.step) for o in run.outputs.model_outputs] == [(model.model_id, 3)]
    assert "mlflow.storekit.modelOutputSteps" not in run.data.tags
    other = tracking.create_run(exp, "u", now(), [], "evaluator").info.run_id
    tracking.log_inputs(other, models=[LoggedModelInput(model.model_id)])
    assert [m.model_id for m in tracking.get_run(other).inputs.model_inputs] == [model.model_id]
    tracking.set_model_versions_tags("reg", "1", model.model_id)
    assert json.loads(tracking.get_logged_model(model.model_id).tags["mlflow.modelVersions"]) == [
        {"name": "reg", "version": "1"}
    ]
    tracking.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as info:
        tracking.get_logged_model(model.model_id)
    assert code_of(info) == "RESOURCE_DOES_NOT_EXIST"
    assert tracking.get_logged_model(model.model_id, allow_deleted=True).model_id == model.model_id


# ------------------------------------------------------------------ registry


def test_registry(registry: StorekitRegistryStore, tracking: StorekitTrackingStore) -> None:
    name = f"model-{uuid.uuid4().hex[:6]}"
    rm = registry.create_registered_model(name, [RegisteredModelTag("owner", "me")], "first")
    assert (rm.name, rm.description, rm.tags) == (name, "first", {"owner": "me"})
    with pytest.raises(MlflowException) as info:
        registry.create_registered_model(name)
    assert code_of(info) == "RESOURCE_ALREADY_EXISTS"
    run_id = tracking.create_run("0", "u", now(), [], "src").info.run_id
    v1 = registry.create_model_version(name, "storekit:/abs/models/1", run_id, [ModelVersionTag("k", "v")])
    v2 = registry.create_model_version(name, "models:/m-abc", run_id, None, model_id="m-abc")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.source == "storekit:/abs/models/1" and v2.source == "models:/m-abc" and v2.model_id == "m-abc"
    assert registry.get_model_version_download_uri(name, 1) == "storekit:/abs/models/1"
    registry.transition_model_version_stage(name, "1", "Production", False)
    moved = registry.transition_model_version_stage(name, 2, "production", True)
    assert moved.current_stage == "Production"
    assert registry.get_model_version(name, "1").current_stage == "Archived"
    assert [v.version for v in registry.get_latest_versions(name, ["Production"])] == ["2"]
    registry.set_registered_model_alias(name, "champion", "1")
    assert registry.get_model_version_by_alias(name, "champion").version == "1"
    assert registry.get_registered_model(name).aliases == {"champion": "1"}
    registry.set_model_version_tag(name, "1", ModelVersionTag("a", "b"))
    registry.delete_model_version_tag(name, "1", "k")
    assert registry.get_model_version(name, "1").tags == {"a": "b"}
    registry.set_registered_model_tag(name, RegisteredModelTag("x", "y"))
    registry.delete_registered_model_tag(name, "owner")
    registry.update_registered_model(name, "second")
    registry.update_model_version(name, "2", "v2 desc")
    assert registry.get_model_version(name, "2").description == "v2 desc"
    # MLflow's client adds the prompt exclusion clause to every search
    found = registry.search_registered_models(f"name = '{name}' AND tag.`mlflow.prompt.is_prompt` != 'true'")
    assert [m.name for m in found] == [name] and found[0].tags == {"x": "y"}
    versions = registry.search_model_versions(
        f"name = '{name}' AND run_id = '{run_id}'", order_by=["version_number DESC"]
    )
    assert [v.version for v in versions] == ["2", "1"]
    assert [v.version for v in registry.search_model_versions(f"name = '{name}' AND version_number = 1")] == ["1"]
    assert list(registry.list_webhooks()) == [] and list(registry.list_webhooks_by_event(None)) == []
    renamed = registry.rename_registered_model(name, name + "-new")
    assert renamed.name == name + "-new"
    registry.delete_registered_model_alias(name + "-new", "champion")
    registry.delete_model_version(name + "-new", "1")
    with pytest.raises(MlflowException) as info:
        registry.get_model_version(name + "-new", "1")
    assert code_of(info) == "RESOURCE_DOES_NOT_EXIST"
    registry.delete_registered_model(name + "-new")
    with pytest.raises(MlflowException) as info:
        registry.get_registered_model(name + "-new")
    assert code_of(info) == "RESOURCE_DOES_NOT_EXIST"


def test_what_the_server_and_ui_send(
    tracking: StorekitTrackingStore, registry: StorekitRegistryStore, native_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REST defaults ('' for absent strings, max_results above storekit's cap) and runs made by storekit itself."""
    exp = tracking.create_experiment("server", None, None)
    run_id = tracking.create_run(exp, "u", now(), [], "r").info.run_id
    model = tracking.create_logged_model(exp, "m", "", [], [], "")  # proto defaults of CreateLoggedModel
    assert model.model_type is None and model.source_run_id is None
    # the UI's run page: model-versions/search with MLflow's default max_results of 200,000
    name = f"big-{uuid.uuid4().hex[:6]}"
    registry.create_registered_model(name)
    for _ in range(3):
        registry.create_model_version(name, "storekit:/abs/m", run_id)
    assert len(registry.search_model_versions(f"run_id = '{run_id}'", max_results=200_000)) == 3
    assert len(registry.search_registered_models(max_results=200_000)) >= 1
    first = registry.search_model_versions(f"name = '{name}'", max_results=2)
    rest = registry.search_model_versions(f"name = '{name}'", max_results=2, page_token=first.token)
    assert [v.version for v in [*first, *rest]] == ["3", "2", "1"] and rest.token is None
    assert len(tracking.search_runs([exp], None, ViewType.ALL, max_results=60_000)) == 1
    with pytest.raises(MlflowException) as info:
        tracking.search_runs([exp], None, ViewType.ALL, max_results=0)
    assert code_of(info) == "INVALID_PARAMETER_VALUE" and "max_results" in info.value.message
    # a run logged through storekit's own API: MLflow still sees its name as the mlflow.runName tag
    native = sk.resolve_tracking_store(native_uri)
    own = native.create_run(native.get_experiment_by_name("server").experiment_id, run_name="from-storekit")
    native.log_batch(own.info.run_id, metrics=[sk.Metric("loss", 0.3, 500, 7), sk.Metric("loss", 0.4, 400, 6)])
    found = {r.info.run_id: r for r in tracking.search_runs([exp], None, ViewType.ALL)}
    mirrored = found[own.info.run_id]
    assert mirrored.data.tags["mlflow.runName"] == "from-storekit"
    # small search pages carry each metric's exact latest step and timestamp (the UI picks line charts by them)
    [loss] = mirrored.data._metric_objs
    assert (loss.value, loss.step, loss.timestamp) == (0.3, 7, 500)
    # large pages too: the run entity carries its latest points (no history reads needed)
    monkeypatch.setenv("STOREKIT_MLFLOW_EXACT_METRICS_MAX_RUNS", "0")
    [loss] = tracking.search_runs([exp], "attributes.run_name = 'from-storekit'", ViewType.ALL)[0].data._metric_objs
    assert (loss.value, loss.step, loss.timestamp) == (0.3, 7, 500)
