"""MLflow's own fluent API and MlflowClient end to end on storekit: every backend, local and S3 artifacts.

Nothing here calls the bridge directly: MLflow finds it through its entry
points from ``mlflow.set_tracking_uri("storekit:...")``.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .conftest import s3_objects

pytestmark = pytest.mark.mlflow

CASES = [
    ("file", "local"),
    ("sqlite", "local"),
    ("postgresql", "local"),
    ("mariadb", "local"),
    ("sqlite", "s3"),
    ("postgresql", "s3"),
]


@pytest.fixture(params=CASES, ids=[f"{b}-{a}" for b, a in CASES])
def setup(request: pytest.FixtureRequest, new_storekit_uri) -> tuple[str, str, str]:
    """(tracking URI, artifact kind, artifact root) with MLflow pointed at the store."""
    backend, kind = request.param
    root = request.getfixturevalue("local_artifacts" if kind == "local" else "s3_artifacts")
    uri = "storekit:" + new_storekit_uri(backend)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri, kind, root


def _artifact_exists(kind: str, root: str, suffix: str) -> bool:
    if kind == "s3":
        return any(key.endswith(suffix) for key in s3_objects(root))
    return any(str(p).endswith(suffix) for p in Path(root).rglob("*"))


def test_fluent_api_and_client(setup: tuple[str, str, str], tmp_path: Path) -> None:
    uri, kind, root = setup
    assert mlflow.get_tracking_uri() == uri
    client = MlflowClient()
    assert client.get_experiment("0").name == "Default"
    mlflow.set_experiment("fluent")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello storekit")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_params({"lr": 0.1, "layers": 3})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.5, "f1": 0.25})
        mlflow.set_tags({"team": "ml", "dots.in.key": "yes"})
        mlflow.log_artifact(str(notes), artifact_path="docs")
        mlflow.log_dict({"a": 1}, "cfg/config.json")
        mlflow.log_input(mlflow.data.from_pandas(frame, name="toy", targets="y"), context="training")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("acc", 0.9)
    parent_id, child_id = parent.info.run_id, child.info.run_id

    run = client.get_run(parent_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "parent"
    assert run.data.params == {"lr": "0.1", "layers": "3"}
    assert run.data.metrics == {"loss": 0.2, "acc": 0.5, "f1": 0.25}
    assert run.data.tags["team"] == "ml" and run.data.tags["dots.in.key"] == "yes"
    assert run.data.tags["mlflow.runName"] == "parent" and "mlflow.user" in run.data.tags
    assert client.get_run(child_id).data.tags["mlflow.parentRunId"] == parent_id
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "toy"
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"

    history = client.get_metric_history(parent_id, "loss")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(s, 1.0 / (s + 1)) for s in range(5)]

    # artifacts: listing, download, round trip through runs:/ URIs
    assert {f.path for f in client.list_artifacts(parent_id)} == {"docs", "cfg"}
    assert [(f.path, f.file_size) for f in client.list_artifacts(parent_id, "docs")] == [("docs/notes.txt", 14)]
    local = mlflow.artifacts.download_artifacts(
        run_id=parent_id, artifact_path="docs/notes.txt", dst_path=str(tmp_path / "dl")
    )
    assert Path(local).read_text() == "hello storekit"
    tree = client.download_artifacts(parent_id, "", str(tmp_path / "all"))
    assert (Path(tree) / "cfg" / "config.json").is_file()
    assert mlflow.artifacts.load_dict(f"runs:/{parent_id}/cfg/config.json") == {"a": 1}
    assert _artifact_exists(kind, root, "docs/notes.txt")
    assert run.info.artifact_uri.startswith("storekit:" + (root if kind == "s3" else ""))

    # search_runs to pandas, with MLflow's filter syntax
    frame_runs = mlflow.search_runs(experiment_names=["fluent"], order_by=["attributes.start_time ASC"])
    assert isinstance(frame_runs, pd.DataFrame)
    assert list(frame_runs["tags.mlflow.runName"]) == ["parent", "child"]
    assert frame_runs.loc[0, "metrics.loss"] == pytest.approx(0.2)
    assert frame_runs.loc[0, "params.lr"] == "0.1"
    only_child = mlflow.search_runs(experiment_names=["fluent"], filter_string="tags.mlflow.runName = 'child'")
    assert list(only_child["run_id"]) == [child_id]
    nested = mlflow.search_runs(
        experiment_names=["fluent"], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'", output_format="list"
    )
    assert [r.info.run_id for r in nested] == [child_id]
    by_dataset = client.search_runs([run.info.experiment_id], "datasets.name = 'toy'")
    assert [r.info.run_id for r in by_dataset] == [parent_id]

    # client-level calls with error codes
    with pytest.raises(MlflowException) as info:
        client.log_param(parent_id, "lr", "0.2")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        client.create_experiment("fluent")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.delete_run(child_id)
    assert client.get_run(child_id).info.lifecycle_stage == "deleted"


def test_sklearn_autolog_log_model_and_registry(setup: tuple[str, str, str]) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    _uri, kind, root = setup
    client = MlflowClient()
    X, y = load_iris(return_X_y=True, as_frame=True)
    mlflow.set_experiment("sklearn")
    # the model is logged explicitly below, with its requirements given (inferring them takes MLflow
    # tens of seconds per model on a loaded machine, whatever the store)
    mlflow.sklearn.autolog(log_models=False, silent=True)
    try:
        with mlflow.start_run(run_name="autolog") as run:
            clf = LogisticRegression(max_iter=300).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run_id = run.info.run_id
    data = client.get_run(run_id).data
    assert data.params["max_iter"] == "300"
    assert data.metrics["training_accuracy_score"] > 0.9
    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(clf, name="clf", pip_requirements=["scikit-learn"])
    [logged] = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
    assert (logged.model_id, logged.name, str(logged.status)) == (info.model_id, "clf", "READY")
    assert info.model_uri.startswith("models:/m-")
    expected = clf.predict(X.head(10))
    via_runs = mlflow.sklearn.load_model(f"runs:/{run_id}/clf")
    assert np.array_equal(via_runs.predict(X.head(10)), expected)
    outputs = {o.model_id for o in client.get_run(run_id).outputs.model_outputs}
    assert info.model_id in outputs
    assert _artifact_exists(kind, root, "MLmodel")

    version = mlflow.register_model(f"runs:/{run_id}/clf", "iris-classifier")
    assert version.version == "1"
    client.set_registered_model_alias("iris-classifier", "champion", "1")
    champion = mlflow.pyfunc.load_model("models:/iris-classifier@champion")
    assert np.array_equal(champion.predict(X.head(10)), expected)
    assert np.array_equal(mlflow.sklearn.load_model("models:/iris-classifier/1").predict(X.head(10)), expected)
    client.transition_model_version_stage("iris-classifier", "1", "Staging")
    assert np.array_equal(mlflow.sklearn.load_model("models:/iris-classifier/Staging").predict(X.head(10)), expected)
    mv = client.get_model_version("iris-classifier", "1")
    assert mv.current_stage == "Staging" and mv.aliases == ["champion"] and mv.run_id == run_id
    registered = client.get_registered_model("iris-classifier")
    assert registered.aliases == {"champion": "1"}
    assert [m.name for m in client.search_registered_models()] == ["iris-classifier"]
    assert [v.version for v in client.search_model_versions("name = 'iris-classifier'")] == ["1"]
    assert client.get_logged_model(info.model_id).tags.get("mlflow.modelVersions")
    v2 = client.create_model_version("iris-classifier", info.model_uri, run_id=run_id, model_id=info.model_id)
    assert v2.version == "2"
    assert os.fspath(client.get_model_version_download_uri("iris-classifier", "2"))


def test_mlflow_tracking_uri_is_all_a_user_sets(tmp_path: Path, local_artifacts: str) -> None:
    """A training script configured only by MLFLOW_TRACKING_URI; storekit's own API reads what it logged."""
    import subprocess
    import sys

    import storekit as sk

    native = f"sqlite:///{tmp_path}/env.db"
    script = (
        "import mlflow\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_param('lr', 0.5)\n"
        "    for step in range(3):\n"
        "        mlflow.log_metric('loss', 1.0 - step / 10, step=step)\n"
        "    mlflow.log_text('hello', 'notes/hello.txt')\n"
        "print(run.info.run_id, run.info.experiment_id)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}  # nothing from other tests
    env.update(MLFLOW_TRACKING_URI="storekit:" + native, MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK="true")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_id, experiment_id = result.stdout.split()[-2:]
    assert experiment_id == "0"
    store = sk.resolve_tracking_store(native)
    run = store.get_run(run_id)
    assert store.get_experiment(run.info.experiment_id).name == "Default"
    assert run.data.params == {"lr": "0.5"} and run.data.metrics == {"loss": 0.8}
    assert run.data.tags["mlflow.runName"] == run.info.run_name and run.info.status == sk.RunStatus.FINISHED
    assert [m.step for m in store.get_metric_history(run_id, "loss")] == [0, 1, 2]
    repo = sk.resolve_artifact_repository(run.info.artifact_uri)
    assert [f.path for f in repo.list_artifacts("notes")] == ["notes/hello.txt"]
