"""Experiment routes: ``experiments/...``."""

from __future__ import annotations

from typing import Any

from storekit_http.convert import experiment_to_json

from ...entities import ExperimentTag
from ...errors import ExperimentNotFound
from ...search.mlflow_syntax import EXPERIMENT_ALIASES, rewrite, rewrite_order_by
from ..context import ServerContext
from ..table import STRING, Args, Field, Route
from .common import PAGE_FIELDS, page, pairs_of, tags_field, view_of

__all__ = ["ROUTES"]

_ID = Field("experiment_id", STRING, required=True, description="experiment id")


def _exp(ctx: ServerContext, exp: Any) -> dict[str, Any]:
    return experiment_to_json(exp, ctx.uris.to_client)


def create(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Create an experiment."""
    exp_id = ctx.tracking.create_experiment(
        a.req("name"), ctx.uris.to_store(a.get("artifact_location")), pairs_of(a.get("tags"), "tags")
    )
    return {"experiment_id": exp_id}


def get(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Fetch an experiment by id."""
    return {"experiment": _exp(ctx, ctx.tracking.get_experiment(a["experiment_id"]))}


def get_by_name(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Fetch an experiment by name."""
    name = a["experiment_name"]
    exp = ctx.tracking.get_experiment_by_name(name)
    if exp is None:
        raise ExperimentNotFound(f"experiment_name: no experiment named {name!r}")
    return {"experiment": _exp(ctx, exp)}


def search(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Search experiments."""
    found = ctx.tracking.search_experiments(
        view_of(a, "view_type"),
        a.get("max_results", 1000),
        rewrite(a.get("filter"), EXPERIMENT_ALIASES),
        rewrite_order_by(a.get("order_by"), EXPERIMENT_ALIASES),
        a.get("page_token"),
    )
    return page(found, "experiments", lambda e: _exp(ctx, e))


def delete(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Soft-delete an experiment."""
    ctx.tracking.delete_experiment(a["experiment_id"])
    return {}


def restore(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Restore a deleted experiment."""
    ctx.tracking.restore_experiment(a["experiment_id"])
    return {}


def update(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Rename an experiment."""
    if a.get("new_name") is not None:
        ctx.tracking.rename_experiment(a["experiment_id"], a["new_name"])
    return {}


def set_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Set an experiment tag."""
    ctx.tracking.set_experiment_tag(a["experiment_id"], ExperimentTag(a.req("key"), a.get("value", "")))
    return {}


def delete_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove an experiment tag."""
    ctx.tracking.delete_experiment_tag(a["experiment_id"], a.req("key"))
    return {}


_E = "experiment"
ROUTES = (
    Route(
        "experiments.create",
        ("POST",),
        "experiments/create",
        "Create an experiment",
        _E,
        "create",
        (
            Field("name", STRING, required=True),
            Field("artifact_location", STRING),
            tags_field(),
        ),
        create,
    ),
    Route(
        "experiments.search",
        ("GET", "POST"),
        "experiments/search",
        "Search experiments",
        _E,
        "read",
        (
            Field("view_type", STRING, description="ACTIVE_ONLY, DELETED_ONLY, ALL or 1, 2, 3"),
            Field("filter", STRING),
            Field("order_by", STRING, array=True),
            *PAGE_FIELDS,
        ),
        search,
    ),
    Route("experiments.get", ("GET",), "experiments/get", "Get an experiment", _E, "read", (_ID,), get),
    Route(
        "experiments.get_by_name",
        ("GET",),
        "experiments/get-by-name",
        "Get an experiment by name",
        _E,
        "read",
        (Field("experiment_name", STRING, required=True),),
        get_by_name,
    ),
    Route("experiments.delete", ("POST",), "experiments/delete", "Delete an experiment", _E, "manage", (_ID,), delete),
    Route(
        "experiments.restore", ("POST",), "experiments/restore", "Restore an experiment", _E, "manage", (_ID,), restore
    ),
    Route(
        "experiments.update",
        ("POST",),
        "experiments/update",
        "Rename an experiment",
        _E,
        "edit",
        (_ID, Field("new_name", STRING)),
        update,
    ),
    Route(
        "experiments.set_tag",
        ("POST",),
        "experiments/set-experiment-tag",
        "Set an experiment tag",
        _E,
        "edit",
        (_ID, Field("key", STRING, required=True), Field("value", STRING)),
        set_tag,
    ),
    Route(
        "experiments.delete_tag",
        ("POST",),
        "experiments/delete-experiment-tag",
        "Delete an experiment tag",
        _E,
        "edit",
        (_ID, Field("key", STRING, required=True)),
        delete_tag,
    ),
)
