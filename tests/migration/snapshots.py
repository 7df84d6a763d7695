"""Everything a storekit store holds, as plain data, in the shape of :mod:`tests.migration.mlflow_dump`."""

from __future__ import annotations

import math
from typing import Any, Optional

from storekit.entities import ViewType
from storekit.interfaces import Capability, RegistryStore, TrackingStore
from storekit.transfer.storekit_source import paged

__all__ = ["storekit_snapshot", "mlflow_view"]


def _history(store: TrackingStore, run_id: str, key: str) -> list[list[Any]]:
    points = paged(lambda t: store.get_metric_history(run_id, key, max_results=1000, page_token=t))
    return sorted([[m.step, m.timestamp, repr(float(m.value))] for m in points])


def storekit_snapshot(store: TrackingStore, registry: Optional[RegistryStore]) -> dict[str, Any]:
    """Experiments (by id) with runs, histories, inputs, outputs and logged models; the registry."""
    snap: dict[str, Any] = {"experiments": {}, "registered_models": {}}
    experiments = paged(lambda t: store.search_experiments(view_type=ViewType.ALL, page_token=t))
    for exp in experiments:
        runs = {}
        for run in paged(lambda t: store.search_runs([exp.experiment_id], view_type=ViewType.ALL, page_token=t)):
            info = run.info
            runs[info.run_id] = {
                "run_name": info.run_name,
                "user_id": info.user_id,
                "status": str(info.status),
                "start_time": info.start_time,
                "end_time": info.end_time,
                "lifecycle_stage": str(info.lifecycle_stage),
                "artifact_uri": info.artifact_uri,
                "params": dict(run.data.params),
                "tags": dict(run.data.tags),
                "metrics": {k: _history(store, info.run_id, k) for k in run.data.metrics},
                "inputs": sorted(
                    [
                        [
                            d.dataset.name,
                            d.dataset.digest,
                            d.dataset.source_type,
                            d.dataset.source,
                            d.dataset.schema,
                            d.dataset.profile,
                            dict(d.tags),
                        ]
                        for d in run.inputs.dataset_inputs
                    ],
                    key=str,
                ),
                "outputs": sorted(run.outputs.model_ids),
            }
        models = {}
        if Capability.LOGGED_MODELS in store.capabilities:
            for m in paged(lambda t: store.search_logged_models([exp.experiment_id], page_token=t)):
                models[m.model_id] = {
                    "name": m.name,
                    "source_run_id": m.source_run_id,
                    "status": str(m.status),
                    "tags": dict(m.tags),
                    "params": dict(m.params),
                    "metrics": {x.key: repr(float(x.value)) for x in m.metrics},
                }
        snap["experiments"][exp.experiment_id] = {
            "name": exp.name,
            "lifecycle_stage": str(exp.lifecycle_stage),
            "tags": dict(exp.tags),
            "runs": runs,
            "logged_models": models,
        }
    if registry is not None:
        for rm in paged(lambda t: registry.search_registered_models(page_token=t)):
            full = registry.get_registered_model(rm.name)
            versions = {}
            quoted = rm.name.replace("'", "''")
            for v in paged(lambda t: registry.search_model_versions(f"name = '{quoted}'", page_token=t)):
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
                "description": full.description or None,
                "tags": dict(full.tags),
                "aliases": dict(full.aliases),
                "versions": versions,
            }
    return snap


def _value(text: str, sqlite_source: bool) -> str:
    """MLflow's SQL store reads ±inf back as ±max double; the importer restores ±inf."""
    if sqlite_source and text in (repr(1.7976931348623157e308), repr(-1.7976931348623157e308)):
        return repr(math.copysign(math.inf, float(text)))
    return text


def mlflow_view(snap: dict[str, Any], sqlite_source: bool) -> dict[str, Any]:
    """An MLflow dump with the importer's documented conversions applied (see docs/migration.md)."""
    # MLflow's SQL store leaves ``aliases`` empty in search_model_versions results (its file store
    # fills them): take each version's aliases from its model's alias map.
    registry = {
        name: dict(
            rm,
            versions={
                n: dict(v, aliases=sorted(a for a, x in rm["aliases"].items() if x == n))
                for n, v in rm["versions"].items()
            },
        )
        for name, rm in snap["registered_models"].items()
    }
    out: dict[str, Any] = {"experiments": {}, "registered_models": registry}
    for eid, exp in snap["experiments"].items():
        runs = {}
        for rid, run in exp["runs"].items():
            run = dict(run)
            tags = dict(run["tags"])
            if "mlflow.parentRunId" in tags:
                tags["storekit.parentRunId"] = tags["mlflow.parentRunId"]
            run["tags"] = tags
            run["metrics"] = {
                k: [[s, t, _value(v, sqlite_source)] for s, t, v in pts] for k, pts in run["metrics"].items()
            }
            inputs = []
            for item in run["inputs"]:
                item = list(item)
                tags_ = dict(item[6])
                if "mlflow.data.context" in tags_:
                    tags_["context"] = tags_["mlflow.data.context"]
                item[6] = tags_
                inputs.append(item)
            run["inputs"] = inputs
            if exp["lifecycle_stage"] == "deleted":
                run["lifecycle_stage"] = "deleted"  # storekit reports runs of a deleted experiment as deleted
            runs[rid] = run
        out["experiments"][eid] = dict(exp, runs=runs)
    return out
