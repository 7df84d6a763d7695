"""MLflow's own client against a real ``mlflow server`` (several workers) on storekit stores.

Each test drives the server only through MLflow's public client
(``MLFLOW_TRACKING_URI=http://127.0.0.1:PORT``), then reads the storekit store
directly with storekit's own client to prove the data went where the
``storekit:`` URIs said, and that artifacts were proxied into the
``--artifacts-destination`` directory.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from storekit import TrackingClient
from tests.mlflow_server.conftest import WORKERS, MlflowServer
from tests.mlflow_server.processes import group_processes

pytestmark = pytest.mark.mlflow_server


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _training_data() -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.5], [3.0, 0.5], [4.0, 2.0], [5.0, 1.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    return x, y


def test_server_runs_several_workers(mlflow_server: MlflowServer) -> None:
    """The server really runs WORKERS uvicorn worker processes (plus its parents)."""
    commands = [cmd for _, cmd in group_processes(mlflow_server.process.process.pid)]
    workers = [cmd for cmd in commands if "spawn_main" in cmd]
    assert len(workers) == WORKERS, commands


def test_runs_params_metrics_tags_and_search(mlflow_client_env: MlflowServer) -> None:
    experiment_name = _unique("server-sweep")
    experiment_id = mlflow.create_experiment(experiment_name, tags={"team": "storekit"})
    mlflow.set_experiment(experiment_id=experiment_id)
    run_ids = []
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("optimizer", "adam")
        for i in range(4):
            with mlflow.start_run(run_name=f"child-{i}", nested=True) as child:
                mlflow.log_params({"lr": 0.1 * (i + 1), "depth": i})
                for step in range(5):
                    mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
                mlflow.set_tag("fold", str(i))
                run_ids.append(child.info.run_id)
    client = MlflowClient()
    client.log_batch(
        run_ids[0],
        metrics=[Metric("acc", 0.5 + 0.1 * s, 1_700_000_000_000 + s, s) for s in range(3)],
        params=[Param("batch", "32")],
        tags=[RunTag("note", "batched")],
    )

    found = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string="params.depth != '0' and metrics.loss < 0.5",
        order_by=["params.depth DESC"],
    )
    assert isinstance(found, pd.DataFrame)
    assert list(found["tags.mlflow.runName"]) == ["child-3", "child-2", "child-1"]
    assert list(found["params.lr"]) == [str(0.1 * 4), str(0.1 * 3), str(0.1 * 2)]
    assert found["metrics.loss"].tolist() == pytest.approx([1 / 8, 1 / 7, 1 / 6])
    assert set(found["tags.mlflow.parentRunId"]) == {parent.info.run_id}

    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'", max_results=2)
    assert len(children) == 2 and children.token
    rest = client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'", max_results=2, page_token=children.token
    )
    assert {r.info.run_id for r in [*children, *rest]} == set(run_ids)

    history = client.get_metric_history(run_ids[0], "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    batched = client.get_run(run_ids[0]).data
    assert batched.params["batch"] == "32" and batched.tags["note"] == "batched"
    assert batched.metrics["acc"] == pytest.approx(0.7)

    # The data is in the storekit store the server was given, read here with storekit itself.
    with TrackingClient(mlflow_client_env.store_uri) as store:
        assert store.get_experiment(experiment_id).name == experiment_name
        run = store.get_run(run_ids[2])
        assert run.info.run_name == "child-2"
        assert run.data.params == {"lr": str(0.1 * 3), "depth": "2"}
        assert [(m.step, m.value) for m in store.get_metric_history(run_ids[2], "loss")] == [
            (s, 1.0 / (s + 3)) for s in range(5)
        ]


def test_artifacts_are_proxied_into_the_storekit_destination(mlflow_client_env: MlflowServer, tmp_path: Path) -> None:
    mlflow.set_experiment(_unique("server-artifacts"))
    source = tmp_path / "out"
    (source / "plots").mkdir(parents=True)
    (source / "summary.txt").write_text("accuracy 0.93\n")
    (source / "plots" / "curve.csv").write_text("step,loss\n0,1.0\n1,0.5\n")
    payload = bytes(range(256)) * 4096  # 1 MiB of binary
    (source / "weights.bin").write_bytes(payload)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(source), artifact_path="outputs")
        mlflow.log_text("hello", "notes/hello.txt")
    client = MlflowClient()
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")  # proxied through the server
    listed = {f.path: f for f in client.list_artifacts(run.info.run_id, "outputs")}
    assert set(listed) == {"outputs/plots", "outputs/summary.txt", "outputs/weights.bin"}
    assert listed["outputs/plots"].is_dir and listed["outputs/weights.bin"].file_size == len(payload)

    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="outputs", dst_path=str(tmp_path / "dl")
        )
    )
    assert (downloaded / "summary.txt").read_text() == "accuracy 0.93\n"
    assert (downloaded / "plots" / "curve.csv").read_text() == "step,loss\n0,1.0\n1,0.5\n"
    assert (downloaded / "weights.bin").read_bytes() == payload
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello"

    # The bytes sit under --artifacts-destination (storekit's local artifact repository).
    on_disk = list(mlflow_client_env.artifacts_dir.rglob("weights.bin"))
    assert len(on_disk) == 1 and on_disk[0].read_bytes() == payload
    assert run.info.run_id in str(on_disk[0])


def test_log_model_load_register_and_aliases(mlflow_client_env: MlflowServer) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _training_data()
    model = LogisticRegression().fit(x, y)
    expected = model.predict(x)
    mlflow.set_experiment(_unique("server-models"))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model", input_example=x[:2], pip_requirements=["scikit-learn"])
        mlflow.log_metric("train_acc", float((expected == y).mean()))

    by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(by_run.predict(x), expected)
    by_id = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(by_id.predict(x), expected)

    name = _unique("classifier")
    first = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    second = mlflow.register_model(info.model_uri, name)
    assert (first.version, second.version) == ("1", "2")
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", first.version)
    client.set_registered_model_alias(name, "challenger", second.version)
    client.set_model_version_tag(name, second.version, "validated", "yes")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2"}
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(x), expected)
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(f"models:/{name}/2").predict(x), expected)

    versions = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"])
    assert [v.version for v in versions] == ["2", "1"]
    assert versions[0].tags == {"validated": "yes"}
    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "1"}

    with TrackingClient(mlflow_client_env.store_uri) as store:
        assert store.get_model_version_by_alias(name, "champion").version == "1"
        assert {v.version for v in store.search_model_versions(f"name = '{name}'")} == {"1", "2"}
    assert versions[1].run_id == run.info.run_id  # registered from runs:/<id>/model


@pytest.mark.xfail(
    strict=False,
    reason=(
        "storekit-mlflow gap: a version registered from models:/m-<id> without run_id gets run_id None; "
        "MLflow's own store fills in the logged model's source run (remove this mark once the bridge does)"
    ),
)
def test_version_registered_from_a_logged_model_names_its_run(mlflow_client_env: MlflowServer) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _training_data()
    mlflow.set_experiment(_unique("server-model-run"))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name="model", pip_requirements=["scikit-learn"])
    version = mlflow.register_model(info.model_uri, _unique("by-model-id"))
    assert version.run_id == run.info.run_id


def test_concurrent_clients_across_workers(mlflow_client_env: MlflowServer) -> None:
    """Many clients at once: requests spread over the workers, every point lands once."""
    experiment_id = mlflow.create_experiment(_unique("server-concurrency"))
    client = MlflowClient()
    run_id = client.create_run(experiment_id).info.run_id

    def log(worker: int) -> None:
        own = MlflowClient()
        for step in range(20):
            own.log_metric(run_id, f"m{worker}", float(step), step=step)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(log, range(8)))
    client.set_terminated(run_id)
    for worker in range(8):
        history = client.get_metric_history(run_id, f"m{worker}")
        assert sorted(m.step for m in history) == list(range(20))
    assert client.get_run(run_id).info.status == "FINISHED"


def test_errors_carry_mlflow_error_codes(mlflow_client_env: MlflowServer) -> None:
    client = MlflowClient()
    name = _unique("server-errors")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as exists:
        client.create_experiment(name)
    assert exists.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as missing:
        client.get_run(uuid.uuid4().hex)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as missing_model:
        client.get_registered_model(_unique("nope"))
    assert missing_model.value.error_code == "RESOURCE_DOES_NOT_EXIST"
