"""Dumps everything MLflow's own client reads from a store, as JSON (run as a script in a subprocess).

``python -m tests.migration.mlflow_dump TRACKING_URI OUT.json``; the shape is
the one :func:`tests.migration.snapshots.storekit_snapshot` produces, so
the tests compare the two after the documented conversions.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _metrics(points: Any) -> list[list[Any]]:
    return sorted([[m.step, m.timestamp, repr(float(m.value))] for m in points])


def main(tracking_uri: str, out: str) -> None:
    """Write the snapshot of ``tracking_uri`` to ``out``."""
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri, tracking_uri)
    snap: dict[str, Any] = {"experiments": {}, "registered_models": {}}
    for exp in client.search_experiments(view_type=ViewType.ALL, max_results=50000):
        runs = {}
        for run in client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=50000):
            info = run.info
            runs[info.run_id] = {
                "run_name": info.run_name,
                "user_id": info.user_id,
                "status": info.status,
                "start_time": info.start_time,
                "end_time": info.end_time,
                "lifecycle_stage": info.lifecycle_stage,
                "artifact_uri": info.artifact_uri,
                "params": dict(run.data.params),
                "tags": dict(run.data.tags),
                "metrics": {k: _metrics(client.get_metric_history(info.run_id, k)) for k in run.data.metrics},
                "inputs": sorted(
                    [
                        [
                            d.dataset.name,
                            d.dataset.digest,
                            d.dataset.source_type,
                            d.dataset.source,
                            d.dataset.schema,
                            d.dataset.profile,
                            {t.key: t.value for t in d.tags},
                        ]
                        for d in (run.inputs.dataset_inputs if run.inputs else [])
                    ],
                    key=str,
                ),
                "outputs": sorted(o.model_id for o in (run.outputs.model_outputs if run.outputs else [])),
            }
        models = {}
        for m in client.search_logged_models(experiment_ids=[exp.experiment_id]):
            models[m.model_id] = {
                "name": m.name,
                "source_run_id": m.source_run_id,
                "status": str(m.status).split(".")[-1],
                "tags": dict(m.tags),
                "params": dict(m.params),
                "metrics": {x.key: repr(float(x.value)) for x in (m.metrics or [])},
            }
        snap["experiments"][exp.experiment_id] = {
            "name": exp.name,
            "lifecycle_stage": exp.lifecycle_stage,
            "tags": dict(exp.tags),
            "runs": runs,
            "logged_models": models,
        }
    for rm in client.search_registered_models(max_results=1000):
        versions = {}
        for v in client.search_model_versions(f"name = '{rm.name}'"):
            versions[str(v.version)] = {
                "current_stage": v.current_stage,
                "source": v.source,
                "run_id": v.run_id,
                "status": v.status,
                "tags": dict(v.tags),
                "description": v.description or None,
                "aliases": sorted(v.aliases),
            }
        snap["registered_models"][rm.name] = {
            "description": rm.description or None,
            "tags": dict(rm.tags),
            "aliases": {a: str(v) for a, v in (rm.aliases or {}).items()},
            "versions": versions,
        }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(snap, fh, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
