"""storekit quick start: track a run, log an artifact, register the model.

Runs against the store named by ``STOREKIT_TRACKING_URI``, else the embedded
default (SQLite at ./storekit.db, artifacts under ./storekit-artifacts), so
no server is needed::

    python examples/quickstart.py          # prints the run id last
    storekit runs show <run id>
    storekit models show quickstart-model

Only the public API (``import storekit``) is used.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import storekit

EXPERIMENT = "quickstart"
MODEL_NAME = "quickstart-model"
ALIAS = "champion"


def write_model(directory: Path, weights: list[float]) -> None:
    """Write a tiny "model": its weights as JSON and a human-readable card."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "weights.json").write_text(json.dumps({"weights": weights}))
    (directory / "README.txt").write_text("A linear model trained by the storekit quick start.\n")


def train_and_track() -> str:
    """Train a toy model for 20 steps under a run and return the run's id."""
    storekit.set_experiment(EXPERIMENT)
    params = {"learning_rate": 0.1, "epochs": 20, "optimizer": "sgd"}
    with storekit.start_run(run_name="quickstart", tags={"purpose": "quickstart"}) as run:
        storekit.log_params(params)
        weight = 0.0
        for step in range(params["epochs"]):
            weight += params["learning_rate"] * (2.0 - weight)  # gradient step towards w = 2
            storekit.log_metric("loss", (2.0 - weight) ** 2, step=step)
        storekit.log_metrics({"final_weight": weight, "accuracy": 1.0 - math.exp(-weight)})
        storekit.set_tag("model_family", "linear")
        with tempfile.TemporaryDirectory() as tmp:
            write_model(Path(tmp) / "model", [weight])
            storekit.log_artifacts(Path(tmp) / "model", artifact_path="model")
            notes = Path(tmp) / "notes.txt"
            notes.write_text(f"final weight {weight:.4f} after {params['epochs']} steps\n")
            storekit.log_artifact(notes)
        return run.info.run_id


def register(run_id: str) -> str:
    """Register the run's ``model`` artifact as a new version and point the alias at it."""
    client = storekit.TrackingClient()
    try:
        client.create_registered_model(MODEL_NAME, description="The quick start's toy model.")
    except storekit.AlreadyExistsError:
        pass  # running the quick start again adds a version
    version = client.create_model_version(MODEL_NAME, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(MODEL_NAME, ALIAS, version.version)
    return version.version


def main() -> None:
    """Run the quick start; the last line printed is the run id."""
    run_id = train_and_track()
    version = register(run_id)
    print(f"registered {MODEL_NAME} version {version} as @{ALIAS}")
    print(run_id)


if __name__ == "__main__":
    main()
