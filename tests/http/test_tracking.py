"""HttpTrackingStore against a real ``mlflow server`` (MLflow's SQLite store)."""

from __future__ import annotations

import math
import time
import uuid

import pytest

from storekit.client import TrackingClient
from storekit.entities import Dataset, DatasetInput, LoggedModelStatus, Metric, Param, RunStatus, RunTag, ViewType
from storekit.errors import (
    AlreadyExistsError,
    ExperimentNotFound,
    InvalidParameterError,
    LoggedModelNotFound,
    RunNotFound,
)
from storekit.plugins import resolve_tracking_store
from storekit_http import HttpTrackingStore
from storekit_http.batching import RequestLimits, split_batch
from tests.mlflow_server.processes import MlflowServer


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def store(mlflow_server: MlflowServer) -> HttpTrackingStore:
    s = resolve_tracking_store(mlflow_server.url)
    assert isinstance(s, HttpTrackingStore)
    yield s
    s.close()


@pytest.fixture
def exp_id(store: HttpTrackingStore) -> str:
    return store.create_experiment(_name("exp"))


def test_resolved_for_http_and_https_schemes(mlflow_server: MlflowServer) -> None:
    assert type(resolve_tracking_store("https://tracking.example.com")).__name__ == "HttpTrackingStore"
    assert isinstance(resolve_tracking_store(mlflow_server.url + "/"), HttpTrackingStore)


def test_experiment_lifecycle(store: HttpTrackingStore) -> None:
    name = _name("exp")
    exp_id = store.create_experiment(name, tags={"team": "a"})
    exp = store.get_experiment(exp_id)
    assert (exp.name, exp.tags["team"], str(exp.lifecycle_stage)) == (name, "a", "active")
    assert store.get_experiment_by_name(name).experiment_id == exp_id
    assert store.get_experiment_by_name(_name("missing")) is None
    with pytest.raises(AlreadyExistsError):
        store.create_experiment(name)
    store.rename_experiment(exp_id, name + "-renamed")
    store.delete_experiment(exp_id)
    assert str(store.get_experiment(exp_id).lifecycle_stage) == "deleted"
    deleted = store.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}-renamed'")
    assert [e.experiment_id for e in deleted] == [exp_id]
    store.restore_experiment(exp_id)
    with pytest.raises(ExperimentNotFound):
        store.get_experiment("987654321")


def test_artifact_uris_point_at_the_servers_proxy(
    store: HttpTrackingStore, exp_id: str, mlflow_server: MlflowServer
) -> None:
    run = store.create_run(exp_id, user_id="u", run_name="r")
    assert run.info.artifact_uri.startswith(f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts/")
    assert store.get_experiment(exp_id).artifact_location.startswith(mlflow_server.url)


def test_run_lifecycle_and_errors(store: HttpTrackingStore, exp_id: str) -> None:
    run = store.create_run(exp_id, user_id="alice", start_time=1000, tags={"t": "1"}, run_name="first")
    assert (run.info.status, run.info.run_name, run.info.start_time) == (RunStatus.RUNNING, "first", 1000)
    info = store.update_run_info(run.info.run_id, end_time=2000)
    assert (info.status, info.end_time) == (RunStatus.RUNNING, 2000), "a status left as None must not change"
    info = store.update_run_info(run.info.run_id, status=RunStatus.FINISHED)
    assert info.status is RunStatus.FINISHED and info.end_time == 2000
    store.delete_run(run.info.run_id)
    assert str(store.get_run(run.info.run_id).info.lifecycle_stage) == "deleted"
    store.restore_run(run.info.run_id)
    with pytest.raises(RunNotFound):
        store.get_run("0" * 32)
    with pytest.raises(InvalidParameterError):
        store.get_run("not-a-run-id")
    with pytest.raises(RunNotFound):
        store.log_batch("f" * 32, metrics=[Metric("m", 1.0, 1)])


def test_log_batch_at_storekits_limits_is_split_and_complete(store: HttpTrackingStore, exp_id: str) -> None:
    run_id = store.create_run(exp_id).info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric(f"m{i % 10}", i / 7, now + i, i // 10) for i in range(1000)]
    params = [Param(f"p{i}", "x" * 6000) for i in range(100)]
    tags = [RunTag(f"t{i}", "y" * 8000) for i in range(100)]
    bodies = list(split_batch(metrics, params, tags))
    assert len(bodies) >= 3  # 1200 items and ~1.4 MB: over the server's 1000 items and 1 MB
    for body in bodies:
        assert sum(map(len, body.values())) <= 1000
    store.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    run = store.get_run(run_id)
    assert len(run.data.params) == 100 and len(run.data.tags) >= 100
    assert run.data.params["p7"] == "x" * 6000
    history = store.get_metric_history(run_id, "m3")
    assert [m.step for m in history] == list(range(100))
    assert history[5].value == pytest.approx(53 / 7)


def test_split_batch_respects_each_limit() -> None:
    limits = RequestLimits(metrics=3, params=2, tags=2, total=4, body_bytes=10_000)
    bodies = list(
        split_batch(
            [Metric("m", 1.0, 1, i) for i in range(7)],
            [Param(f"p{i}", "v") for i in range(3)],
            [RunTag("t", "v")],
            limits,
        )
    )
    assert all(len(b["metrics"]) <= 3 and len(b["params"]) <= 2 and sum(map(len, b.values())) <= 4 for b in bodies)
    assert sum(len(b["metrics"]) for b in bodies) == 7 and sum(len(b["params"]) for b in bodies) == 3


def test_non_finite_metric_values_round_trip(store: HttpTrackingStore, exp_id: str) -> None:
    run_id = store.create_run(exp_id).info.run_id
    store.log_batch(run_id, metrics=[Metric("nan", math.nan, 1), Metric("zero", 0.0, 1, 0)])
    assert math.isnan(store.get_metric_history(run_id, "nan")[0].value)
    assert store.get_run(run_id).data.metrics["zero"] == 0.0


def test_metric_history_contract_order_and_paging(store: HttpTrackingStore, exp_id: str) -> None:
    run_id = store.create_run(exp_id).info.run_id
    # MLflow orders history by timestamp; the contract orders by (step, timestamp).
    points = [Metric("loss", float(i), timestamp=10_000 - i, step=i) for i in range(25)]
    store.log_batch(run_id, metrics=points)
    pages, token = [], None
    while True:
        page = store.get_metric_history(run_id, "loss", max_results=10, page_token=token)
        pages.append(list(page))
        token = page.token
        if token is None:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [m.step for p in pages for m in p] == list(range(25))
    with pytest.raises(InvalidParameterError):
        store.get_metric_history(run_id, "loss", max_results=10, page_token="garbage")


def test_search_runs_server_side_with_page_tokens(store: HttpTrackingStore, exp_id: str) -> None:
    for i in range(7):
        run_id = store.create_run(exp_id, run_name=f"r{i}").info.run_id
        store.log_batch(
            run_id, metrics=[Metric("acc", i / 10, 1)], params=[Param("p", "even" if i % 2 == 0 else "odd")]
        )
    seen, token = [], None
    while True:
        page = store.search_runs(
            [exp_id], "metrics.acc >= 0.2", order_by=["metrics.acc DESC"], max_results=2, page_token=token
        )
        seen += [r.data.metrics["acc"] for r in page]
        token = page.token
        if not token:
            break
    assert seen == [0.6, 0.5, 0.4, 0.3, 0.2]


def test_or_and_not_filters_are_evaluated_on_the_client(store: HttpTrackingStore, exp_id: str) -> None:
    for i in range(6):
        run_id = store.create_run(exp_id, run_name=f"r{i}").info.run_id
        store.log_batch(
            run_id, metrics=[Metric("acc", i / 10, 1)], params=[Param("p", "even" if i % 2 == 0 else "odd")]
        )
    query = "metrics.acc > 0.35 OR params.p = 'even'"
    pages, token = [], None
    while True:
        page = store.search_runs([exp_id], query, order_by=["metrics.acc ASC"], max_results=2, page_token=token)
        pages += [round(r.data.metrics["acc"], 2) for r in page]
        token = page.token
        if not token:
            break
    assert pages == [0.0, 0.2, 0.4, 0.5]
    negated = store.search_runs([exp_id], "NOT params.p = 'even'", order_by=["metrics.acc ASC"])
    assert [round(r.data.metrics["acc"], 2) for r in negated] == [0.1, 0.3, 0.5]
    with pytest.raises(InvalidParameterError):
        store.search_runs([exp_id], "metrics.acc > OR")


def test_datasets_and_logged_models(store: HttpTrackingStore, exp_id: str) -> None:
    run_id = store.create_run(exp_id).info.run_id
    ds = DatasetInput(Dataset("train", "abc123", "local", '{"uri": "/data"}'), {"mlflow.data.context": "training"})
    store.log_inputs(run_id, [ds])
    store.log_inputs(run_id, [ds])
    inputs = store.get_run(run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["train"]
    model = store.create_logged_model(exp_id, name="clf", source_run_id=run_id, tags={"k": "v"}, params={"a": "1"})
    assert model.status is LoggedModelStatus.PENDING and model.params == {"a": "1"}
    assert store.finalize_logged_model(model.model_id, LoggedModelStatus.READY).status is LoggedModelStatus.READY
    store.set_logged_model_tags(model.model_id, {"k2": "v2"})
    store.delete_logged_model_tag(model.model_id, "k")
    assert store.get_logged_model(model.model_id).tags == {"k2": "v2"}
    found = store.search_logged_models([exp_id], filter_string=f"source_run_id = '{run_id}' AND name = 'clf'")
    assert [m.model_id for m in found] == [model.model_id]
    store.log_outputs(run_id, [model.model_id])
    assert store.get_run(run_id).outputs.model_ids == (model.model_id,)
    store.delete_logged_model(model.model_id)
    with pytest.raises(LoggedModelNotFound):
        store.get_logged_model("m-" + "0" * 32)


def test_client_and_async_logger_through_http(mlflow_server: MlflowServer, exp_id: str) -> None:
    client = TrackingClient(tracking_uri=mlflow_server.url)
    run = client.create_run(exp_id)
    for step in range(5):
        client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
    client.set_terminated(run.info.run_id)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == list(range(5))
