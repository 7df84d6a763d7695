"""Run routes: ``runs/...`` (create, read, update, log, search)."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

from storekit_http.convert import metric_from_json, run_info_to_json, run_to_json

from ...entities import Metric, Param, RunTag
from ...errors import InvalidParameterError
from ...search.mlflow_syntax import RUN_ALIASES, rewrite, rewrite_order_by
from ..context import ServerContext
from ..table import INTEGER, NUMBER, STRING, Args, Field, Route
from .common import KEY_VALUE, PAGE_FIELDS, page, pair_list, pairs_of, tags_field, view_of

__all__ = ["ROUTES", "run_id_of", "metrics_of"]

_RUN_ID = Field("run_id", STRING, description="run id")
_RUN_UUID = Field("run_uuid", STRING, description="run id (deprecated name)")
_RUN = (_RUN_ID, _RUN_UUID)
_METRIC = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "value": {"type": "number"},
        "timestamp": {"type": "integer"},
        "step": {"type": "integer"},
        "model_id": {"type": "string"},
    },
}
#: The run tag MLflow's clients read the logged models of a run from (``runs/log-model``).
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"


def run_id_of(a: Args) -> str:
    """``run_id`` (or its older name ``run_uuid``), required."""
    value = a.get("run_id") or a.get("run_uuid")
    if not value:
        raise InvalidParameterError("run_id: missing value for required parameter 'run_id'")
    return str(value)


def metrics_of(items: Optional[Sequence[Any]], field: str = "metrics") -> list[Metric]:
    """MLflow ``Metric`` objects as storekit metrics; a malformed item names ``field``."""
    out = []
    for item in items or ():
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidParameterError(f"{field}: each metric needs a string 'key'")
        if isinstance(item.get("value"), (bool, dict, list)):
            raise InvalidParameterError(f"{field}: the value of metric {item['key']!r} must be a number")
        try:
            out.append(metric_from_json(item))
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"{field}: metric {item['key']!r} needs a numeric value and integer timestamp and step"
            ) from None
    return out


def _run(ctx: ServerContext, run: Any) -> dict[str, Any]:
    return run_to_json(run, ctx.uris.to_client)


def create(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Create a run."""
    run = ctx.tracking.create_run(
        a.req("experiment_id"),
        user_id=a.get("user_id"),
        start_time=a.get("start_time"),
        tags=pairs_of(a.get("tags"), "tags"),
        run_name=a.get("run_name") or None,
    )
    return {"run": _run(ctx, run)}


def get(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Fetch a run."""
    return {"run": _run(ctx, ctx.tracking.get_run(run_id_of(a)))}


def update(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Change a run's status, end time or name."""
    info = ctx.tracking.update_run_info(run_id_of(a), a.get("status"), a.get("end_time"), a.get("run_name"))
    return {"run_info": run_info_to_json(info, ctx.uris.to_client)}


def delete(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Soft-delete a run."""
    ctx.tracking.delete_run(run_id_of(a))
    return {}


def restore(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Restore a deleted run."""
    ctx.tracking.restore_run(run_id_of(a))
    return {}


def log_metric(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Log one metric point."""
    metric = Metric(a.req("key"), a.req("value"), a.req("timestamp"), a.get("step", 0) or 0, a.get("model_id") or None)
    ctx.tracking.log_metric(run_id_of(a), metric)
    return {}


def log_param(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Log one param."""
    ctx.tracking.log_param(run_id_of(a), Param(a.req("key"), a.get("value", "")))
    return {}


def set_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Set one run tag."""
    ctx.tracking.set_tag(run_id_of(a), RunTag(a.req("key"), a.get("value", "")))
    return {}


def delete_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove a run tag."""
    ctx.tracking.delete_tag(run_id_of(a), a.req("key"))
    return {}


def log_batch(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Log metrics, params and tags in one call (atomic where the store is)."""
    params = [Param(k, v) for k, v in pair_list(a.get("params"), "params")]  # duplicates: the store's rule
    tags = [RunTag(k, v) for k, v in pair_list(a.get("tags"), "tags")]
    ctx.tracking.log_batch(run_id_of(a), metrics_of(a.get("metrics")), params, tags)
    return {}


def log_model(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Record an MLflow model logged to the run (appended to the run tag ``mlflow.log-model.history``)."""
    run_id = run_id_of(a)
    raw = a.req("model_json")
    try:
        model = json.loads(raw)
    except ValueError:
        raise InvalidParameterError("model_json: not valid JSON") from None
    history_raw = ctx.tracking.get_run(run_id).data.tags.get(LOG_MODEL_HISTORY_TAG, "[]")
    try:
        history = json.loads(history_raw)
    except ValueError:
        history = []
    history = (history if isinstance(history, list) else []) + [model]
    ctx.tracking.set_tag(run_id, RunTag(LOG_MODEL_HISTORY_TAG, json.dumps(history)))
    return {}


def search(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Search runs of some experiments."""
    found = ctx.tracking.search_runs(
        a.get("experiment_ids") or [],
        rewrite(a.get("filter"), RUN_ALIASES),
        view_of(a, "run_view_type"),
        a.get("max_results", 1000),
        rewrite_order_by(a.get("order_by"), RUN_ALIASES),
        a.get("page_token"),
    )
    return page(found, "runs", lambda r: _run(ctx, r))


def outputs(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Record logged models a run produced."""
    ids = []
    for item in a.get("models") or []:
        if not isinstance(item, dict) or not isinstance(item.get("model_id"), str):
            raise InvalidParameterError("models: each item needs a string 'model_id'")
        ids.append(item["model_id"])
    ctx.tracking.log_outputs(run_id_of(a), ids)
    return {}


_R = "run"
ROUTES = (
    Route(
        "runs.create",
        ("POST",),
        "runs/create",
        "Create a run",
        "experiment",
        "edit",
        (
            Field("experiment_id", STRING, required=True),
            Field("user_id", STRING),
            Field("start_time", INTEGER),
            tags_field(),
            Field("run_name", STRING),
        ),
        create,
    ),
    Route("runs.get", ("GET",), "runs/get", "Get a run", _R, "read", _RUN, get),
    Route(
        "runs.update",
        ("POST",),
        "runs/update",
        "Update a run's status, end time or name",
        _R,
        "edit",
        (*_RUN, Field("status", STRING), Field("end_time", INTEGER), Field("run_name", STRING)),
        update,
    ),
    Route("runs.delete", ("POST",), "runs/delete", "Delete a run", _R, "manage", _RUN, delete),
    Route("runs.restore", ("POST",), "runs/restore", "Restore a run", _R, "manage", _RUN, restore),
    Route(
        "runs.log_metric",
        ("POST",),
        "runs/log-metric",
        "Log a metric point",
        _R,
        "edit",
        (
            *_RUN,
            Field("key", STRING, required=True),
            Field("value", NUMBER, required=True),
            Field("timestamp", INTEGER, required=True),
            Field("step", INTEGER),
            Field("model_id", STRING),
            Field("dataset_name", STRING),
            Field("dataset_digest", STRING),
        ),
        log_metric,
    ),
    Route(
        "runs.log_parameter",
        ("POST",),
        "runs/log-parameter",
        "Log a param",
        _R,
        "edit",
        (*_RUN, Field("key", STRING, required=True), Field("value", STRING)),
        log_param,
    ),
    Route(
        "runs.set_tag",
        ("POST",),
        "runs/set-tag",
        "Set a run tag",
        _R,
        "edit",
        (*_RUN, Field("key", STRING, required=True), Field("value", STRING)),
        set_tag,
    ),
    Route(
        "runs.delete_tag",
        ("POST",),
        "runs/delete-tag",
        "Delete a run tag",
        _R,
        "edit",
        (*_RUN, Field("key", STRING, required=True)),
        delete_tag,
    ),
    Route(
        "runs.log_batch",
        ("POST",),
        "runs/log-batch",
        "Log metrics, params and tags",
        _R,
        "edit",
        (
            *_RUN,
            Field("metrics", "object", array=True, schema=_METRIC),
            Field("params", "object", array=True, schema=KEY_VALUE),
            tags_field(),
        ),
        log_batch,
    ),
    Route(
        "runs.log_model",
        ("POST",),
        "runs/log-model",
        "Record an MLflow model logged to a run",
        _R,
        "edit",
        (*_RUN, Field("model_json", STRING, required=True)),
        log_model,
    ),
    Route(
        "runs.search",
        ("POST",),
        "runs/search",
        "Search runs",
        "experiment",
        "read",
        (
            Field("experiment_ids", STRING, array=True),
            Field("filter", STRING),
            Field("run_view_type", STRING, description="ACTIVE_ONLY, DELETED_ONLY, ALL or 1, 2, 3"),
            Field("order_by", STRING, array=True),
            *PAGE_FIELDS,
        ),
        search,
    ),
    Route(
        "runs.outputs",
        ("POST",),
        "runs/outputs",
        "Record logged models a run produced",
        _R,
        "edit",
        (
            *_RUN,
            Field(
                "models",
                "object",
                array=True,
                schema={"type": "object", "properties": {"model_id": {"type": "string"}, "step": {"type": "integer"}}},
            ),
        ),
        outputs,
    ),
)
