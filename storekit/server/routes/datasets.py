"""Dataset routes: ``runs/log-inputs`` and the web UI's ``experiments/search-datasets``."""

from __future__ import annotations

from typing import Any

from storekit_http.convert import dataset_input_from_json

from ...entities import ViewType
from ...errors import InvalidParameterError
from ..context import ServerContext
from ..table import STRING, Args, Field, Route
from .runs import run_id_of

__all__ = ["ROUTES"]

_SUMMARY_PAGE = 1000
_MAX_SUMMARIES = 1000


def log_inputs(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Record datasets a run consumed."""
    items = []
    for raw in a.get("datasets") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), dict):
            raise InvalidParameterError("datasets: each item needs a 'dataset' object")
        try:
            items.append(dataset_input_from_json(raw))
        except (TypeError, ValueError, KeyError):
            raise InvalidParameterError("datasets: malformed dataset input") from None
    ctx.tracking.log_inputs(run_id_of(a), items)
    return {}


def search_datasets(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """The distinct datasets the active runs of some experiments consumed (name, digest, context)."""
    seen: dict[tuple[str, str, str, str], None] = {}
    for exp_id in a.get("experiment_ids") or []:
        token = None
        while len(seen) < _MAX_SUMMARIES:
            runs = ctx.tracking.search_runs([exp_id], None, ViewType.ACTIVE_ONLY, _SUMMARY_PAGE, None, token)
            for run in runs:
                for item in run.inputs.dataset_inputs:
                    seen[(exp_id, item.dataset.name, item.dataset.digest, item.tags.get("context", ""))] = None
            token = runs.token
            if not token:
                break
    return {
        "dataset_summaries": [
            {"experiment_id": e, "name": n, "digest": d, **({"context": c} if c else {})}
            for e, n, d, c in list(seen)[:_MAX_SUMMARIES]
        ]
    }


_DATASET_INPUT = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "object"}},
        "dataset": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "digest": {"type": "string"},
                "source_type": {"type": "string"},
                "source": {"type": "string"},
                "schema": {"type": "string"},
                "profile": {"type": "string"},
            },
        },
    },
}

ROUTES = (
    Route(
        "runs.log_inputs",
        ("POST",),
        "runs/log-inputs",
        "Record datasets a run consumed",
        "run",
        "edit",
        (
            Field("run_id", STRING),
            Field("datasets", "object", array=True, schema=_DATASET_INPUT),
            Field("models", "object", array=True),
        ),
        log_inputs,
    ),
    Route(
        "experiments.search_datasets",
        ("POST",),
        "experiments/search-datasets",
        "List the datasets of some experiments' runs",
        "experiment",
        "read",
        (Field("experiment_ids", STRING, array=True),),
        search_datasets,
    ),
)
