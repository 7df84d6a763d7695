"""Writes a realistic MLflow store with MLflow itself (run as a script in a subprocess).

``python -m tests.migration.mlflow_writer TRACKING_URI ARTIFACT_ROOT`` logs, through
MLflow's own client: an experiment with unicode names and tags, nested runs,
a deleted run, a deleted experiment, NaN/±inf metric histories, a dataset
input, an autologged scikit-learn model (a logged model in MLflow 3) and a
registry with versions, stages, aliases and tags.
"""

from __future__ import annotations

import os
import sys
import tempfile


def main(tracking_uri: str, artifact_root: str) -> None:
    """Log the whole scenario into ``tracking_uri``."""
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri, tracking_uri)
    location = None if tracking_uri.startswith("file:") or "://" not in tracking_uri else artifact_root + "/exp"
    exp_id = client.create_experiment("entraînement ✓", artifact_location=location, tags={"équipe": "vision", "k": "v"})
    mlflow.set_experiment(experiment_id=exp_id)

    with mlflow.start_run(run_name="parent ü") as parent:
        mlflow.log_params({"lr": "0.01", "optimizer": "adam", "unicode": "ça va"})
        mlflow.set_tags({"stage": "dev", "emoji": "🚀"})
        values = [1.0, 0.5, float("nan"), float("inf"), -float("inf"), 0.25]
        for step, value in enumerate(values):
            mlflow.log_metric("loss", value, step=step, timestamp=1_700_000_000_000 + step)
        for step in range(50):
            mlflow.log_metric("acc", step / 50, step=step, timestamp=1_700_000_000_000 + step)
        mlflow.log_metric("acc", 0.99, step=49, timestamp=1_700_000_000_100)  # a second point at one step
        df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
        dataset = mlflow.data.from_pandas(df, source="data/train.csv", name="train set", targets="y")
        mlflow.log_input(dataset, context="training")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "notes é.txt")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("résumé\n" * 100)
            mlflow.log_artifact(path, artifact_path="docs")
        for i in range(2):
            with mlflow.start_run(run_name=f"child {i}", nested=True):
                mlflow.log_param("fold", str(i))
                mlflow.log_metric("fold_loss", 0.1 * (i + 1), step=0)
        mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=True, silent=True)
        with mlflow.start_run(run_name="autolog", nested=True) as auto:
            X = np.array([[0.0], [1.0], [2.0], [3.0]])
            y = np.array([0, 0, 1, 1])
            LogisticRegression().fit(X, y)
        mlflow.sklearn.autolog(disable=True)

    failed = client.create_run(exp_id, run_name="failed run")
    client.log_metric(failed.info.run_id, "m", 3.0)
    client.set_terminated(failed.info.run_id, "FAILED")
    doomed = client.create_run(exp_id, run_name="deleted run")
    client.log_param(doomed.info.run_id, "p", "1")
    client.set_terminated(doomed.info.run_id)
    client.delete_run(doomed.info.run_id)

    gone = client.create_experiment(
        "old experiment", artifact_location=None if location is None else artifact_root + "/old"
    )
    old = client.create_run(gone, run_name="old run")
    client.log_metric(old.info.run_id, "x", 1.0)
    client.set_terminated(old.info.run_id)
    client.delete_experiment(gone)

    # registry: the autologged model registered twice, stages, aliases, tags
    model_uri = f"runs:/{auto.info.run_id}/model"
    logged = mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list")
    if logged:
        model_uri = f"models:/{logged[0].model_id}"
    client.create_registered_model("classifier ✓", tags={"team": "vision"}, description="a model")
    v1 = client.create_model_version("classifier ✓", model_uri, run_id=auto.info.run_id, tags={"v": "1"})
    v2 = client.create_model_version("classifier ✓", model_uri, run_id=auto.info.run_id, description="second")
    client.transition_model_version_stage("classifier ✓", v1.version, "Production")
    client.transition_model_version_stage("classifier ✓", v2.version, "Staging")
    client.set_registered_model_alias("classifier ✓", "champion", v1.version)
    client.set_registered_model_alias("classifier ✓", "challenger", v2.version)
    client.set_model_version_tag("classifier ✓", v2.version, "validated", "yes")
    client.create_registered_model("empty-model")
    print(parent.info.run_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
