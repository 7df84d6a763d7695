"""Model registry routes: ``registered-models/...`` and ``model-versions/...``."""

from __future__ import annotations

from typing import Any

from storekit_http.convert import model_version_to_json, registered_model_to_json

from ...search.mlflow_syntax import MODEL_VERSION_ALIASES, REGISTERED_MODEL_ALIASES, registry_filter, rewrite_order_by
from ..context import ServerContext
from ..table import BOOLEAN, STRING, Args, Field, Route
from .common import PAGE_FIELDS, page, pairs_of, tags_field

__all__ = ["ROUTES"]

_NAME = Field("name", STRING, required=True, description="registered model name")
_VERSION = Field("version", STRING, required=True, description="version number")


def _rm(ctx: ServerContext, rm: Any) -> dict[str, Any]:
    return registered_model_to_json(rm, ctx.uris.to_client)


def _mv(ctx: ServerContext, mv: Any) -> dict[str, Any]:
    return model_version_to_json(mv, ctx.uris.to_client)


def create_model(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Create a registered model."""
    rm = ctx.registry.create_registered_model(a["name"], pairs_of(a.get("tags"), "tags"), a.get("description"))
    return {"registered_model": _rm(ctx, rm)}


def rename_model(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Rename a registered model."""
    return {"registered_model": _rm(ctx, ctx.registry.rename_registered_model(a["name"], a.req("new_name")))}


def update_model(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Change a registered model's description."""
    return {"registered_model": _rm(ctx, ctx.registry.update_registered_model(a["name"], a.get("description")))}


def delete_model(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Delete a registered model and its versions."""
    ctx.registry.delete_registered_model(a["name"])
    return {}


def get_model(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Fetch a registered model."""
    return {"registered_model": _rm(ctx, ctx.registry.get_registered_model(a["name"]))}


def search_models(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Search registered models."""
    found = ctx.registry.search_registered_models(
        registry_filter(a.get("filter"), REGISTERED_MODEL_ALIASES),
        a.get("max_results", 100),
        rewrite_order_by(a.get("order_by"), REGISTERED_MODEL_ALIASES),
        a.get("page_token"),
    )
    return page(found, "registered_models", lambda m: _rm(ctx, m))


def latest_versions(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """The newest version per stage."""
    versions = ctx.registry.get_latest_versions(a["name"], a.get("stages") or None)
    return {"model_versions": [_mv(ctx, v) for v in versions]}


def set_model_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Set a registered model tag."""
    ctx.registry.set_registered_model_tag(a["name"], a.req("key"), a.get("value", ""))
    return {}


def delete_model_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove a registered model tag."""
    ctx.registry.delete_registered_model_tag(a["name"], a.req("key"))
    return {}


def set_alias(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Point an alias at a version."""
    ctx.registry.set_registered_model_alias(a["name"], a.req("alias"), a.req("version"))
    return {}


def delete_alias(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove an alias."""
    ctx.registry.delete_registered_model_alias(a["name"], a.req("alias"))
    return {}


def get_by_alias(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """The version an alias points at."""
    return {"model_version": _mv(ctx, ctx.registry.get_model_version_by_alias(a["name"], a.req("alias")))}


def create_version(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Create the next version of a registered model."""
    mv = ctx.registry.create_model_version(
        a["name"],
        ctx.uris.to_store(a.req("source")) or "",
        run_id=a.get("run_id") or None,
        tags=pairs_of(a.get("tags"), "tags"),
        description=a.get("description"),
        model_id=a.get("model_id") or None,
    )
    return {"model_version": _mv(ctx, mv)}


def update_version(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Change a version's description."""
    return {"model_version": _mv(ctx, ctx.registry.update_model_version(a["name"], a["version"], a.get("description")))}


def transition_stage(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Move a version to a stage."""
    mv = ctx.registry.transition_model_version_stage(
        a["name"], a["version"], a.req("stage"), bool(a.get("archive_existing_versions", False))
    )
    return {"model_version": _mv(ctx, mv)}


def delete_version(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Delete a version."""
    ctx.registry.delete_model_version(a["name"], a["version"])
    return {}


def get_version(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Fetch a version."""
    return {"model_version": _mv(ctx, ctx.registry.get_model_version(a["name"], a["version"]))}


def search_versions(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Search model versions."""
    found = ctx.registry.search_model_versions(
        registry_filter(a.get("filter"), MODEL_VERSION_ALIASES),
        a.get("max_results", 10_000),
        rewrite_order_by(a.get("order_by"), MODEL_VERSION_ALIASES),
        a.get("page_token"),
    )
    return page(found, "model_versions", lambda v: _mv(ctx, v))


def download_uri(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Where a version's files are."""
    uri = ctx.registry.get_model_version_download_uri(a["name"], a["version"])
    return {"artifact_uri": ctx.uris.to_client(uri)}


def set_version_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Set a model version tag."""
    ctx.registry.set_model_version_tag(a["name"], a["version"], a.req("key"), a.get("value", ""))
    return {}


def delete_version_tag(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove a model version tag."""
    ctx.registry.delete_model_version_tag(a["name"], a["version"], a.req("key"))
    return {}


_RM, _MV = "registered_model", "registered_model"
_SEARCH = (Field("filter", STRING), Field("order_by", STRING, array=True), *PAGE_FIELDS)
_KEY = Field("key", STRING, required=True)
ROUTES = (
    Route(
        "registered_models.create",
        ("POST",),
        "registered-models/create",
        "Create a registered model",
        _RM,
        "create",
        (_NAME, tags_field(), Field("description", STRING)),
        create_model,
    ),
    Route(
        "registered_models.rename",
        ("POST",),
        "registered-models/rename",
        "Rename a registered model",
        _RM,
        "manage",
        (_NAME, Field("new_name", STRING, required=True)),
        rename_model,
    ),
    Route(
        "registered_models.update",
        ("PATCH",),
        "registered-models/update",
        "Update a registered model's description",
        _RM,
        "edit",
        (_NAME, Field("description", STRING)),
        update_model,
    ),
    Route(
        "registered_models.delete",
        ("DELETE",),
        "registered-models/delete",
        "Delete a registered model",
        _RM,
        "manage",
        (_NAME,),
        delete_model,
    ),
    Route(
        "registered_models.get",
        ("GET",),
        "registered-models/get",
        "Get a registered model",
        _RM,
        "read",
        (_NAME,),
        get_model,
    ),
    Route(
        "registered_models.search",
        ("GET",),
        "registered-models/search",
        "Search registered models",
        _RM,
        "read",
        _SEARCH,
        search_models,
    ),
    Route(
        "registered_models.get_latest_versions",
        ("GET", "POST"),
        "registered-models/get-latest-versions",
        "Get the newest version per stage",
        _RM,
        "read",
        (_NAME, Field("stages", STRING, array=True)),
        latest_versions,
    ),
    Route(
        "registered_models.set_tag",
        ("POST",),
        "registered-models/set-tag",
        "Set a registered model tag",
        _RM,
        "edit",
        (_NAME, _KEY, Field("value", STRING)),
        set_model_tag,
    ),
    Route(
        "registered_models.delete_tag",
        ("DELETE",),
        "registered-models/delete-tag",
        "Delete a registered model tag",
        _RM,
        "edit",
        (_NAME, _KEY),
        delete_model_tag,
    ),
    Route(
        "registered_models.set_alias",
        ("POST",),
        "registered-models/alias",
        "Set an alias",
        _RM,
        "edit",
        (_NAME, Field("alias", STRING, required=True), _VERSION),
        set_alias,
    ),
    Route(
        "registered_models.delete_alias",
        ("DELETE",),
        "registered-models/alias",
        "Delete an alias",
        _RM,
        "edit",
        (_NAME, Field("alias", STRING, required=True)),
        delete_alias,
    ),
    Route(
        "registered_models.get_by_alias",
        ("GET",),
        "registered-models/alias",
        "Get the version an alias points at",
        _RM,
        "read",
        (_NAME, Field("alias", STRING, required=True)),
        get_by_alias,
    ),
    Route(
        "model_versions.create",
        ("POST",),
        "model-versions/create",
        "Create a model version",
        _MV,
        "edit",
        (
            _NAME,
            Field("source", STRING, required=True),
            Field("run_id", STRING),
            tags_field(),
            Field("run_link", STRING),
            Field("description", STRING),
            Field("model_id", STRING),
        ),
        create_version,
    ),
    Route(
        "model_versions.update",
        ("PATCH",),
        "model-versions/update",
        "Update a version's description",
        _MV,
        "edit",
        (_NAME, _VERSION, Field("description", STRING)),
        update_version,
    ),
    Route(
        "model_versions.transition_stage",
        ("POST",),
        "model-versions/transition-stage",
        "Move a version to a stage",
        _MV,
        "edit",
        (_NAME, _VERSION, Field("stage", STRING, required=True), Field("archive_existing_versions", BOOLEAN)),
        transition_stage,
    ),
    Route(
        "model_versions.delete",
        ("DELETE",),
        "model-versions/delete",
        "Delete a version",
        _MV,
        "manage",
        (_NAME, _VERSION),
        delete_version,
    ),
    Route(
        "model_versions.get",
        ("GET",),
        "model-versions/get",
        "Get a version",
        _MV,
        "read",
        (_NAME, _VERSION),
        get_version,
    ),
    Route(
        "model_versions.search",
        ("GET",),
        "model-versions/search",
        "Search model versions",
        _MV,
        "read",
        _SEARCH,
        search_versions,
    ),
    Route(
        "model_versions.get_download_uri",
        ("GET",),
        "model-versions/get-download-uri",
        "Where a version's files are",
        _MV,
        "read",
        (_NAME, _VERSION),
        download_uri,
    ),
    Route(
        "model_versions.set_tag",
        ("POST",),
        "model-versions/set-tag",
        "Set a model version tag",
        _MV,
        "edit",
        (_NAME, _VERSION, _KEY, Field("value", STRING)),
        set_version_tag,
    ),
    Route(
        "model_versions.delete_tag",
        ("DELETE",),
        "model-versions/delete-tag",
        "Delete a model version tag",
        _MV,
        "edit",
        (_NAME, _VERSION, _KEY),
        delete_version_tag,
    ),
)
