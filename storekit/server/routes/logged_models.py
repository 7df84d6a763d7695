"""Logged-model routes: ``logged-models``, ``logged-models/{model_id}``..., ``logged-models/search``."""

from __future__ import annotations

from typing import Any

from storekit_http.convert import logged_model_status_from_json, logged_model_to_json

from ...search.mlflow_syntax import LOGGED_MODEL_ALIASES, logged_model_order_by, rewrite
from ..context import ServerContext
from ..table import STRING, Args, Field, Route
from .common import KEY_VALUE, PAGE_FIELDS, page, pairs_of, tags_field

__all__ = ["ROUTES"]

_ID = Field("model_id", STRING, required=True, in_path=True)


def _model(ctx: ServerContext, model: Any) -> dict[str, Any]:
    return logged_model_to_json(model, ctx.uris.to_client)


def create(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Create a PENDING logged model."""
    model = ctx.tracking.create_logged_model(
        a.req("experiment_id"),
        name=a.get("name") or None,
        source_run_id=a.get("source_run_id") or None,
        tags=pairs_of(a.get("tags"), "tags"),
        params=pairs_of(a.get("params"), "params"),
        model_type=a.get("model_type") or None,
    )
    return {"model": _model(ctx, model)}


def get(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Fetch a logged model."""
    return {"model": _model(ctx, ctx.tracking.get_logged_model(a["model_id"]))}


def finalize(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Set a logged model's final status."""
    status = logged_model_status_from_json(a.req("status"))
    return {"model": _model(ctx, ctx.tracking.finalize_logged_model(a["model_id"], status))}


def set_tags(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Set tags on a logged model."""
    ctx.tracking.set_logged_model_tags(a["model_id"], pairs_of(a.get("tags"), "tags"))
    return {"model": _model(ctx, ctx.tracking.get_logged_model(a["model_id"]))}


def delete_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove a tag from a logged model."""
    ctx.tracking.delete_logged_model_tag(a["model_id"], a["tag_key"])
    return {}


def delete(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Soft-delete a logged model."""
    ctx.tracking.delete_logged_model(a["model_id"])
    return {}


def log_params(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Add params to a logged model (immutable: another value for a logged key is a 400)."""
    ctx.tracking.log_logged_model_params(a["model_id"], pairs_of(a.get("params"), "params"))
    return {}


def search(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Search logged models."""
    found = ctx.tracking.search_logged_models(
        a.get("experiment_ids") or [],
        rewrite(a.get("filter"), LOGGED_MODEL_ALIASES),
        logged_model_order_by(a.get("order_by")),
        a.get("max_results", 1000),
        a.get("page_token"),
    )
    return page(found, "models", lambda m: _model(ctx, m))


_M = "logged_model"
ROUTES = (
    Route(
        "logged_models.create",
        ("POST",),
        "logged-models",
        "Create a logged model",
        "experiment",
        "edit",
        (
            Field("experiment_id", STRING, required=True),
            Field("name", STRING),
            Field("model_type", STRING),
            Field("source_run_id", STRING),
            Field("params", "object", array=True, schema=KEY_VALUE),
            tags_field(),
        ),
        create,
    ),
    Route(
        "logged_models.search",
        ("POST",),
        "logged-models/search",
        "Search logged models",
        "experiment",
        "read",
        (
            Field("experiment_ids", STRING, array=True),
            Field("filter", STRING),
            Field(
                "order_by",
                "object",
                array=True,
                schema={
                    "type": "object",
                    "properties": {"field_name": {"type": "string"}, "ascending": {"type": "boolean"}},
                },
            ),
            Field("datasets", "object", array=True),
            *PAGE_FIELDS,
        ),
        search,
    ),
    Route("logged_models.get", ("GET",), "logged-models/{model_id}", "Get a logged model", _M, "read", (_ID,), get),
    Route(
        "logged_models.finalize",
        ("PATCH",),
        "logged-models/{model_id}",
        "Finalize a logged model",
        _M,
        "edit",
        (_ID, Field("status", STRING, required=True, description="LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED")),
        finalize,
    ),
    Route(
        "logged_models.delete",
        ("DELETE",),
        "logged-models/{model_id}",
        "Delete a logged model",
        _M,
        "manage",
        (_ID,),
        delete,
    ),
    Route(
        "logged_models.set_tags",
        ("PATCH",),
        "logged-models/{model_id}/tags",
        "Set logged model tags",
        _M,
        "edit",
        (_ID, tags_field()),
        set_tags,
    ),
    Route(
        "logged_models.delete_tag",
        ("DELETE",),
        "logged-models/{model_id}/tags/{tag_key}",
        "Delete a logged model tag",
        _M,
        "edit",
        (_ID, Field("tag_key", STRING, required=True, in_path=True)),
        delete_tag,
    ),
    Route(
        "logged_models.log_params",
        ("POST",),
        "logged-models/{model_id}/params",
        "Log params of a logged model",
        _M,
        "edit",
        (_ID, Field("params", "object", array=True, schema=KEY_VALUE)),
        log_params,
    ),
)
