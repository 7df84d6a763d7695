"""Metric history routes: ``metrics/get-history`` and the web UI's bulk reads."""

from __future__ import annotations

from typing import Any

from storekit_http.convert import metric_to_json

from ...rules import validate_max_results
from ..context import ServerContext
from ..table import INTEGER, STRING, Args, Field, Route
from .runs import run_id_of

__all__ = ["ROUTES"]


def get_history(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Every point of one metric of a run, in ``(step, timestamp)`` order, in pages."""
    points = ctx.tracking.get_metric_history(
        run_id_of(a), a.req("metric_key"), a.get("max_results"), a.get("page_token")
    )
    out: dict[str, Any] = {"metrics": [metric_to_json(m) for m in points]}
    if points.token:
        out["next_page_token"] = points.token
    return out


def get_history_bulk_interval(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Points of one metric for several runs between two steps, at most ``max_results`` per run, evenly spread."""
    limit = validate_max_results(a.get("max_results", 320))
    start, end = a.get("start_step"), a.get("end_step")
    out: list[dict[str, Any]] = []
    for run_id in a.get("run_ids") or []:
        points = [
            m
            for m in ctx.tracking.get_metric_history(run_id, a.req("metric_key"))
            if (start is None or m.step >= start) and (end is None or m.step <= end)
        ]
        if len(points) > limit:
            last = len(points) - 1
            picks = sorted({round(i * last / max(limit - 1, 1)) for i in range(limit)})
            points = [points[i] for i in picks]
        out.extend({**metric_to_json(m), "run_id": run_id} for m in points)
    return {"metrics": out}


ROUTES = (
    Route(
        "metrics.get_history",
        ("GET",),
        "metrics/get-history",
        "Get a metric's history",
        "run",
        "read",
        (
            Field("run_id", STRING),
            Field("run_uuid", STRING),
            Field("metric_key", STRING, required=True),
            Field("max_results", INTEGER),
            Field("page_token", STRING),
        ),
        get_history,
    ),
    Route(
        "metrics.get_history_bulk_interval",
        ("GET",),
        "metrics/get-history-bulk-interval",
        "Get a metric's history for several runs, sampled",
        "run",
        "read",
        (
            Field("run_ids", STRING, array=True, required=True),
            Field("metric_key", STRING, required=True),
            Field("start_step", INTEGER),
            Field("end_step", INTEGER),
            Field("max_results", INTEGER),
        ),
        get_history_bulk_interval,
    ),
)
