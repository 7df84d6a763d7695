"""MLflow's own client, unchanged, against a real ``storekit server``: fluent API, MlflowClient,
``mlflow.sklearn.log_model`` with registration, aliases and stages, proxied artifacts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.storekit_server_process import StorekitServer

pytestmark = [pytest.mark.mlflow_server, pytest.mark.timeout(1200)]


@pytest.fixture
def mlflow_on_server(storekit_server: StorekitServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """MLflow's tracking and registry URIs pointed at the server for one test."""
    import mlflow

    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    mlflow.set_tracking_uri(storekit_server.url)
    mlflow.set_registry_uri(storekit_server.url)
    yield storekit_server.url
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_mlflow_client_tracking(mlflow_on_server: str) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag, ViewType

    client = MlflowClient(mlflow_on_server)
    exp_id = client.create_experiment("mlflow-client", tags={"team": "a"})
    assert client.get_experiment_by_name("mlflow-client").experiment_id == exp_id
    assert client.get_experiment(exp_id).tags == {"team": "a"}
    run = client.create_run(exp_id, run_name="first", tags={"k": "v"})
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.1")
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step, timestamp=1000 + step)
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.9, 2000, 0), Metric("nan", float("nan"), 2000, 0)],
        params=[Param("epochs", "3")],
        tags=[RunTag("stage", "dev")],
    )
    client.set_tag(run_id, "gone", "x")
    client.delete_tag(run_id, "gone")
    client.set_terminated(run_id, "FINISHED")

    got = client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "first" and got.info.end_time
    assert got.data.params == {"lr": "0.1", "epochs": "3"}
    assert got.data.metrics["loss"] == pytest.approx(0.2) and got.data.metrics["acc"] == pytest.approx(0.9)
    assert got.data.tags["stage"] == "dev" and got.data.tags["k"] == "v" and "gone" not in got.data.tags
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]

    other = client.create_run(exp_id, run_name="second")
    client.log_metric(other.info.run_id, "loss", 5.0)
    found = client.search_runs([exp_id], "metrics.loss < 1", order_by=["metrics.loss ASC"])
    assert [r.info.run_id for r in found] == [run_id]
    page = client.search_runs([exp_id], max_results=1)
    assert len(page) == 1 and page.token
    rest = client.search_runs([exp_id], max_results=1, page_token=page.token)
    assert {page[0].info.run_id, rest[0].info.run_id} == {run_id, other.info.run_id}

    client.delete_run(other.info.run_id)
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run_id]
    assert len(client.search_runs([exp_id], run_view_type=ViewType.ALL)) == 2
    client.restore_run(other.info.run_id)
    client.rename_experiment(exp_id, "mlflow-client-renamed")
    assert client.get_experiment(exp_id).name == "mlflow-client-renamed"
    assert any(e.experiment_id == exp_id for e in client.search_experiments(filter_string="name LIKE 'mlflow-%'"))


def test_fluent_api_and_artifacts(mlflow_on_server: str, tmp_path: Path) -> None:
    import mlflow

    mlflow.set_experiment("fluent")
    (tmp_path / "notes.txt").write_text("hello artifacts")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "data.bin").write_bytes(os.urandom(300_000))
    with mlflow.start_run(run_name="fluent-run") as run:
        mlflow.log_params({"a": 1, "b": "two"})
        for step in range(3):
            mlflow.log_metric("m", step * 2.0, step=step)
        mlflow.set_tags({"t": "1"})
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="docs")
        mlflow.log_artifacts(str(tmp_path / "tree"), artifact_path="tree")
        mlflow.log_dict({"x": 1}, "config.json")
    client = mlflow.MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert got.data.params == {"a": "1", "b": "two"} and got.data.metrics == {"m": 4.0}
    assert sorted(f.path for f in client.list_artifacts(run.info.run_id)) == ["config.json", "docs", "tree"]
    assert [f.path for f in client.list_artifacts(run.info.run_id, "tree/sub")] == ["tree/sub/data.bin"]
    out = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / "dl")))
    assert (out / "docs" / "notes.txt").read_text() == "hello artifacts"
    assert (out / "tree" / "sub" / "data.bin").read_bytes() == (tmp_path / "tree" / "sub" / "data.bin").read_bytes()
    assert mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/config.json") == {"x": 1}


def test_sklearn_model_registry_aliases_stages(mlflow_on_server: str) -> None:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    mlflow.set_experiment("registry")
    with mlflow.start_run() as run:
        model = LogisticRegression().fit(X, y)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="clf")
    client = mlflow.MlflowClient()
    assert info.model_id
    logged = client.get_logged_model(info.model_id)
    assert logged.status.to_proto() == 2 or str(logged.status).endswith("READY")
    assert logged.source_run_id == run.info.run_id
    assert [o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs] == [info.model_id]

    version = client.get_model_version("clf", "1")
    assert version.status == "READY"
    client.set_registered_model_alias("clf", "champion", "1")
    assert client.get_model_version_by_alias("clf", "champion").version == "1"
    assert client.get_registered_model("clf").aliases == {"champion": "1"}
    client.transition_model_version_stage("clf", "1", "Production")
    assert [v.version for v in client.get_latest_versions("clf", ["Production"])] == ["1"]
    expected = model.predict(X).tolist()
    assert mlflow.sklearn.load_model("models:/clf@champion").predict(X).tolist() == expected
    assert mlflow.pyfunc.load_model("models:/clf/1").predict(X).tolist() == expected

    second = client.create_model_version("clf", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert second.version == "2" and second.run_id == run.info.run_id
    client.set_model_version_tag("clf", "2", "validated", "yes")
    found = client.search_model_versions("name = 'clf' AND tag.validated = 'yes'")
    assert [v.version for v in found] == ["2"]
    client.delete_registered_model_alias("clf", "champion")
    assert client.get_registered_model("clf").aliases == {}
    assert [m.name for m in client.search_registered_models("name LIKE 'cl%'")] == ["clf"]
    client.delete_model_version("clf", "2")
    with pytest.raises(mlflow.exceptions.MlflowException) as err:
        client.get_model_version("clf", "2")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_sklearn_autolog(mlflow_on_server: str) -> None:
    """MLflow's autolog, unchanged, logs params, metrics and the model through the server."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    mlflow.set_experiment("autolog")
    mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=False)
    try:
        with mlflow.start_run() as run:
            LogisticRegression(C=0.5, max_iter=50).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    finally:
        mlflow.sklearn.autolog(disable=True)
    got = mlflow.MlflowClient(mlflow_on_server).get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5"
    assert "training_accuracy_score" in got.data.metrics
    assert got.data.tags.get("estimator_name") == "LogisticRegression"
