"""MLflow REST JSON <-> storekit entities.

MLflow's JSON is protobuf JSON: fields with default values (0, "", false) may be
absent, 64-bit integers may arrive as strings, and non-finite doubles are the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.  Everything here copes
with that and nothing else; no MLflow import.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

from storekit.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
)

from .session import ARTIFACTS_PREFIX

__all__ = [
    "ArtifactUriMapper",
    "float_to_json",
    "float_from_json",
    "metric_to_json",
    "metric_from_json",
    "pairs",
    "pairs_to_dict",
    "experiment_from_json",
    "run_info_from_json",
    "run_from_json",
    "dataset_input_to_json",
    "logged_model_from_json",
    "LOGGED_MODEL_STATUS_TO_JSON",
    "model_version_from_json",
    "registered_model_from_json",
    "UriOut",
    "experiment_to_json",
    "run_info_to_json",
    "run_to_json",
    "dataset_input_from_json",
    "logged_model_to_json",
    "logged_model_status_from_json",
    "model_version_to_json",
    "registered_model_to_json",
]

#: How a server turns a stored artifact URI into the one it hands out (identity by default).
UriOut = Callable[[str], str]


def _same(uri: str) -> str:
    return uri


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_to_json(value: float) -> Any:
    """A double as protobuf JSON (non-finite values as strings)."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def float_from_json(raw: Any) -> float:
    """A double from protobuf JSON (absent means 0.0)."""
    if raw is None:
        return 0.0
    if isinstance(raw, str) and raw in _NON_FINITE:
        return _NON_FINITE[raw]
    return float(raw)


def _int(raw: Any, default: Optional[int] = None) -> Optional[int]:
    return default if raw is None or raw == "" else int(raw)


def _str(raw: Any) -> Optional[str]:
    return None if raw is None or raw == "" else str(raw)


def pairs(mapping: Optional[Mapping[str, str]]) -> list[dict[str, str]]:
    """``{"k": "v"}`` as ``[{"key": "k", "value": "v"}]``."""
    return [{"key": k, "value": v} for k, v in (mapping or {}).items()]


def pairs_to_dict(items: Optional[Sequence[Mapping[str, Any]]]) -> dict[str, str]:
    """``[{"key": "k", "value": "v"}]`` as ``{"k": "v"}`` (absent value means "")."""
    return {str(i["key"]): str(i.get("value", "")) for i in (items or ())}


#: Prefix of the URIs an ``mlflow server`` on a storekit store (the storekit-mlflow bridge) hands out.
_BRIDGE_PREFIX = "storekit:"


class ArtifactUriMapper:
    """Turns the server's ``mlflow-artifacts:`` URIs into ``http(s)://`` URIs of its proxy, and back.

    ``mlflow-artifacts:/0/abc/artifacts`` from a server at ``https://host`` becomes
    ``https://host/api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts``, which
    storekit resolves to this plugin's artifact repository.  Other URIs (``s3://``,
    local paths a server hands out for direct access) are returned unchanged,
    except that a ``storekit:<uri>`` URI (how an ``mlflow server`` on a storekit
    store through the storekit-mlflow bridge hands out storekit's own URIs) is
    returned as the ``<uri>`` inside it.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def to_client(self, uri: Optional[str]) -> str:
        """The URI storekit should resolve for an artifact URI the server returned."""
        if not uri:
            return ""
        if uri.lower().startswith(_BRIDGE_PREFIX) and len(uri) > len(_BRIDGE_PREFIX):
            inner = uri[len(_BRIDGE_PREFIX) :]
            return inner[2:] if inner.startswith("///") else inner  # storekit:///abs names /abs
        if uri.lower().startswith("mlflow-artifacts:"):
            rest = uri[len("mlflow-artifacts:") :]
            if rest.startswith("//"):
                # mlflow-artifacts://host:port/path names a server explicitly: keep its path only
                # when it is this server; otherwise address that server with our scheme.
                netloc, _, path = rest[2:].partition("/")
                scheme = self.base_url.split("://", 1)[0]
                return f"{scheme}://{netloc}{ARTIFACTS_PREFIX}/{path}"
            return f"{self.base_url}{ARTIFACTS_PREFIX}/{rest.lstrip('/')}"
        return uri

    def to_server(self, uri: Optional[str]) -> Optional[str]:
        """The inverse of :meth:`to_client`: this server's proxy URLs back as ``mlflow-artifacts:`` URIs."""
        prefix = f"{self.base_url}{ARTIFACTS_PREFIX}/"
        if uri and uri.startswith(prefix):
            return "mlflow-artifacts:/" + uri[len(prefix) :]
        return uri


def metric_to_json(metric: Metric) -> dict[str, Any]:
    """A metric as MLflow's ``Metric`` JSON."""
    out: dict[str, Any] = {
        "key": metric.key,
        "value": float_to_json(metric.value),
        "timestamp": int(metric.timestamp),
        "step": int(metric.step),
    }
    if metric.model_id:
        out["model_id"] = metric.model_id
    return out


def metric_from_json(raw: Mapping[str, Any]) -> Metric:
    """MLflow's ``Metric`` JSON as a storekit metric."""
    return Metric(
        key=str(raw["key"]),
        value=float_from_json(raw.get("value")),
        timestamp=_int(raw.get("timestamp"), 0) or 0,
        step=_int(raw.get("step"), 0) or 0,
        model_id=_str(raw.get("model_id")),
    )


def experiment_from_json(raw: Mapping[str, Any], artifacts: ArtifactUriMapper) -> Experiment:
    """MLflow's ``Experiment`` JSON."""
    return Experiment(
        experiment_id=str(raw["experiment_id"]),
        name=str(raw.get("name", "")),
        artifact_location=artifacts.to_client(raw.get("artifact_location")),
        lifecycle_stage=LifecycleStage(raw.get("lifecycle_stage") or "active"),
        tags=pairs_to_dict(raw.get("tags")),
        creation_time=_int(raw.get("creation_time")),
        last_update_time=_int(raw.get("last_update_time")),
    )


def run_info_from_json(raw: Mapping[str, Any], artifacts: ArtifactUriMapper) -> RunInfo:
    """MLflow's ``RunInfo`` JSON."""
    return RunInfo(
        run_id=str(raw.get("run_id") or raw.get("run_uuid")),
        experiment_id=str(raw.get("experiment_id", "")),
        run_name=_str(raw.get("run_name")),
        user_id=_str(raw.get("user_id")),
        status=RunStatus(raw.get("status") or "RUNNING"),
        start_time=_int(raw.get("start_time")),
        end_time=_int(raw.get("end_time")),
        lifecycle_stage=LifecycleStage(raw.get("lifecycle_stage") or "active"),
        artifact_uri=artifacts.to_client(raw.get("artifact_uri")),
    )


#: storekit's dataset-input tag ``context`` is MLflow's ``mlflow.data.context``.
_CONTEXT_TAG, _MLFLOW_CONTEXT_TAG = "context", "mlflow.data.context"


def dataset_input_from_json(raw: Mapping[str, Any]) -> DatasetInput:
    """MLflow's ``DatasetInput`` JSON as a storekit dataset input (``mlflow.data.context`` as ``context``)."""
    d = raw.get("dataset") or {}
    return DatasetInput(
        dataset=Dataset(
            name=str(d.get("name", "")),
            digest=str(d.get("digest", "")),
            source_type=str(d.get("source_type", "")),
            source=str(d.get("source", "")),
            schema=_str(d.get("schema")),
            profile=_str(d.get("profile")),
        ),
        tags={(_CONTEXT_TAG if k == _MLFLOW_CONTEXT_TAG else k): v for k, v in pairs_to_dict(raw.get("tags")).items()},
    )


def dataset_input_to_json(item: DatasetInput) -> dict[str, Any]:
    """A storekit dataset input as MLflow's ``DatasetInput`` JSON."""
    d = item.dataset
    dataset: dict[str, Any] = {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source}
    if d.schema is not None:
        dataset["schema"] = d.schema
    if d.profile is not None:
        dataset["profile"] = d.profile
    tags = {(_MLFLOW_CONTEXT_TAG if k == _CONTEXT_TAG else k): v for k, v in item.tags.items()}
    return {"tags": pairs(tags), "dataset": dataset}


def run_from_json(raw: Mapping[str, Any], artifacts: ArtifactUriMapper) -> Run:
    """MLflow's ``Run`` JSON (each metric's latest point, as MLflow returns them)."""
    data = raw.get("data") or {}
    inputs = raw.get("inputs") or {}
    outputs = raw.get("outputs") or {}
    latest = {m.key: m for m in map(metric_from_json, data.get("metrics") or ())}
    return Run(
        info=run_info_from_json(raw.get("info") or {}, artifacts),
        data=RunData(
            metrics={k: m.value for k, m in latest.items()},
            params=pairs_to_dict(data.get("params")),
            tags=pairs_to_dict(data.get("tags")),
            latest_metrics=latest,
        ),
        inputs=RunInputs(tuple(dataset_input_from_json(d) for d in inputs.get("dataset_inputs") or ())),
        outputs=RunOutputs(tuple(dict.fromkeys(str(o["model_id"]) for o in outputs.get("model_outputs") or ()))),
    )


#: storekit status -> MLflow's ``LoggedModelStatus`` enum name.
LOGGED_MODEL_STATUS_TO_JSON = {
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
_LOGGED_MODEL_STATUS_FROM_JSON = {v: k for k, v in LOGGED_MODEL_STATUS_TO_JSON.items()}


def logged_model_from_json(raw: Mapping[str, Any], artifacts: ArtifactUriMapper) -> LoggedModel:
    """MLflow's ``LoggedModel`` JSON."""
    info = raw.get("info") or {}
    data = raw.get("data") or {}
    tags = pairs_to_dict(info.get("tags"))
    return LoggedModel(
        model_id=str(info["model_id"]),
        experiment_id=str(info.get("experiment_id", "")),
        name=str(info.get("name", "")),
        artifact_location=artifacts.to_client(info.get("artifact_uri")),
        creation_timestamp=_int(info.get("creation_timestamp_ms"), 0) or 0,
        last_updated_timestamp=_int(info.get("last_updated_timestamp_ms"), 0) or 0,
        model_type=_str(info.get("model_type")),
        source_run_id=_str(info.get("source_run_id")),
        status=_LOGGED_MODEL_STATUS_FROM_JSON.get(str(info.get("status")), LoggedModelStatus.PENDING),
        status_message=_str(info.get("status_message")),
        tags=tags,
        params=pairs_to_dict(data.get("params")),
        metrics=tuple(metric_from_json(m) for m in data.get("metrics") or ()),
        # storekit server sends it (MLflow's server answers a deleted model with 404 instead)
        lifecycle_stage=LifecycleStage(info.get("lifecycle_stage") or "active"),
    )


def model_version_from_json(raw: Mapping[str, Any], artifacts: Optional[ArtifactUriMapper] = None) -> ModelVersion:
    """MLflow's ``ModelVersion`` JSON (its ``mlflow-artifacts:`` source as a proxy URL when ``artifacts`` is given)."""
    source = _str(raw.get("source"))
    return ModelVersion(
        name=str(raw.get("name", "")),
        version=str(raw.get("version", "")),
        creation_timestamp=_int(raw.get("creation_timestamp"), 0) or 0,
        last_updated_timestamp=_int(raw.get("last_updated_timestamp"), 0) or 0,
        description=_str(raw.get("description")),
        user_id=_str(raw.get("user_id")),
        current_stage=str(raw.get("current_stage") or "None"),
        source=artifacts.to_client(source) if artifacts is not None and source else source,
        run_id=_str(raw.get("run_id")),
        status=str(raw.get("status") or "READY"),
        tags=pairs_to_dict(raw.get("tags")),
        aliases=tuple(sorted(str(a) for a in raw.get("aliases") or ())),
        model_id=_str(raw.get("model_id")),
    )


def registered_model_from_json(
    raw: Mapping[str, Any], artifacts: Optional[ArtifactUriMapper] = None
) -> RegisteredModel:
    """MLflow's ``RegisteredModel`` JSON."""
    return RegisteredModel(
        name=str(raw.get("name", "")),
        creation_timestamp=_int(raw.get("creation_timestamp"), 0) or 0,
        last_updated_timestamp=_int(raw.get("last_updated_timestamp"), 0) or 0,
        description=_str(raw.get("description")),
        tags=pairs_to_dict(raw.get("tags")),
        aliases={str(a["alias"]): str(a["version"]) for a in raw.get("aliases") or ()},
        latest_versions=tuple(
            sorted(
                (model_version_from_json(v, artifacts) for v in raw.get("latest_versions") or ()),
                key=lambda v: v.current_stage,
            )
        ),
    )


# -- the other direction: storekit entities as MLflow's JSON (what a server answers) ------------------


def _opt(out: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    if value is not None:
        out[key] = value
    return out


def experiment_to_json(exp: Experiment, uri_out: UriOut = _same) -> dict[str, Any]:
    """A storekit experiment as MLflow's ``Experiment`` JSON."""
    out: dict[str, Any] = {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "artifact_location": uri_out(exp.artifact_location),
        "lifecycle_stage": str(LifecycleStage(exp.lifecycle_stage).value),
        "tags": pairs(exp.tags),
    }
    _opt(out, "creation_time", exp.creation_time)
    return _opt(out, "last_update_time", exp.last_update_time)


def run_info_to_json(info: RunInfo, uri_out: UriOut = _same) -> dict[str, Any]:
    """A storekit run info as MLflow's ``RunInfo`` JSON (``run_uuid`` too, for older clients)."""
    out: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "experiment_id": info.experiment_id,
        "status": str(RunStatus(info.status).value),
        "lifecycle_stage": str(LifecycleStage(info.lifecycle_stage).value),
        "artifact_uri": uri_out(info.artifact_uri),
    }
    _opt(out, "run_name", info.run_name)
    _opt(out, "user_id", info.user_id)
    _opt(out, "start_time", info.start_time)
    return _opt(out, "end_time", info.end_time)


def run_to_json(run: Run, uri_out: UriOut = _same) -> dict[str, Any]:
    """A storekit run as MLflow's ``Run`` JSON (each metric's latest point: value, step and timestamp)."""
    return {
        "info": run_info_to_json(run.info, uri_out),
        "data": {
            "metrics": [metric_to_json(run.data.latest_metric(k)) for k in run.data.metrics],
            "params": pairs(run.data.params),
            "tags": pairs(run.data.tags),
        },
        "inputs": {"dataset_inputs": [dataset_input_to_json(d) for d in run.inputs.dataset_inputs]},
        "outputs": {"model_outputs": [{"model_id": m, "step": 0} for m in run.outputs.model_ids]},
    }


def logged_model_status_from_json(raw: Any) -> LoggedModelStatus:
    """MLflow's ``LoggedModelStatus`` (enum name or number) as storekit's status."""
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        numbers = {1: LoggedModelStatus.PENDING, 2: LoggedModelStatus.READY, 3: LoggedModelStatus.FAILED}
        if int(raw) in numbers:
            return numbers[int(raw)]
    if isinstance(raw, str) and raw in _LOGGED_MODEL_STATUS_FROM_JSON:
        return _LOGGED_MODEL_STATUS_FROM_JSON[raw]
    return LoggedModelStatus.parse(raw)


def logged_model_to_json(model: LoggedModel, uri_out: UriOut = _same) -> dict[str, Any]:
    """A storekit logged model as MLflow's ``LoggedModel`` JSON."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "artifact_uri": uri_out(model.artifact_location),
        "creation_timestamp_ms": model.creation_timestamp,
        "last_updated_timestamp_ms": model.last_updated_timestamp,
        "status": LOGGED_MODEL_STATUS_TO_JSON[LoggedModelStatus.parse(model.status)],
        "tags": pairs(model.tags),
        "lifecycle_stage": str(LifecycleStage(model.lifecycle_stage).value),
    }
    _opt(info, "model_type", model.model_type)
    _opt(info, "source_run_id", model.source_run_id)
    _opt(info, "status_message", model.status_message)
    return {
        "info": info,
        "data": {"params": pairs(model.params), "metrics": [metric_to_json(m) for m in model.metrics]},
    }


def model_version_to_json(mv: ModelVersion, uri_out: UriOut = _same) -> dict[str, Any]:
    """A storekit model version as MLflow's ``ModelVersion`` JSON."""
    out: dict[str, Any] = {
        "name": mv.name,
        "version": mv.version,
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "current_stage": mv.current_stage,
        "status": mv.status,
        "tags": pairs(mv.tags),
        "aliases": list(mv.aliases),
    }
    _opt(out, "description", mv.description)
    _opt(out, "user_id", mv.user_id)
    _opt(out, "source", uri_out(mv.source) if mv.source else mv.source)
    _opt(out, "run_id", mv.run_id)
    return _opt(out, "model_id", mv.model_id)


def registered_model_to_json(rm: RegisteredModel, uri_out: UriOut = _same) -> dict[str, Any]:
    """A storekit registered model as MLflow's ``RegisteredModel`` JSON."""
    out: dict[str, Any] = {
        "name": rm.name,
        "creation_timestamp": rm.creation_timestamp,
        "last_updated_timestamp": rm.last_updated_timestamp,
        "tags": pairs(rm.tags),
        "aliases": [{"alias": a, "version": v} for a, v in sorted(rm.aliases.items())],
        "latest_versions": [model_version_to_json(v, uri_out) for v in rm.latest_versions],
    }
    return _opt(out, "description", rm.description)
