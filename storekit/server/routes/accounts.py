"""Account administration over REST, at the paths of MLflow's basic-auth app (administrators only).

``users/create|get|update-password|update-admin|delete``,
``experiments/permissions/create|get|update|delete``,
``registered-models/permissions/create|get|update|delete`` and MLflow 3's
``/api/3.0/mlflow/users/permissions/grant|revoke|get`` act on the account
store kept in the backend store (:mod:`storekit.accounts`), with MLflow's
request fields and answer shapes, so MLflow's ``AuthServiceClient`` works
unchanged.  Every route has ``access`` ``admin``: the accounts middleware and
the per-route hook refuse anyone else (403), and without ``--auth basic`` they
answer 404.  Passwords and hashes never appear in an answer.

storekit keys accounts by user name; MLflow's integer ``id`` / ``user_id``
fields are answered as a stable number derived from the name
(:func:`user_number`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ...accounts.model import Grant, Permission, ResourceKind, User
from ...accounts.rules import parse_kind
from ...errors import AlreadyExistsError, NotFoundError
from ..context import ServerContext
from ..table import API_PREFIXES, BOOLEAN, STRING, Args, Field, Route

__all__ = ["ROUTES", "user_number"]

_EXP, _RM = ResourceKind.EXPERIMENT, ResourceKind.REGISTERED_MODEL
_USERNAME = Field("username", STRING, required=True, description="user name")
_PASSWORD = Field("password", STRING, required=True, description="8 to 1024 characters")
_PERMISSION = Field("permission", STRING, required=True, description="READ, EDIT, MANAGE or NO_PERMISSIONS")
_EXPERIMENT = Field("experiment_id", STRING, required=True, description="experiment id")
_MODEL = Field("name", STRING, required=True, description="registered model name")
_TYPE = Field("resource_type", STRING, required=True, description="experiment or registered_model")
_RESOURCE = Field("resource_id", STRING, required=True, description="experiment id or registered model name")
#: MLflow 3's prefixes of the unified permission routes.
_V3 = ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow")


def user_number(username: str) -> int:
    """A stable positive 31-bit number for a user name (MLflow's ``id`` / ``user_id`` fields)."""
    return int.from_bytes(hashlib.sha256(username.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


def _grant_json(grant: Grant) -> dict[str, Any]:
    field = "experiment_id" if grant.kind is _EXP else "name"
    return {
        field: grant.resource_id,
        "user_id": user_number(grant.username),
        "username": grant.username,
        "permission": grant.permission.name,
    }


def _user_json(ctx: ServerContext, user: User) -> dict[str, Any]:
    grants = ctx.accounts.list_grants(user.username)
    return {
        "id": user_number(user.username),
        "username": user.username,
        "is_admin": user.is_admin,
        "experiment_permissions": [_grant_json(g) for g in grants if g.kind is _EXP],
        "registered_model_permissions": [_grant_json(g) for g in grants if g.kind is _RM],
    }


# --- users -----------------------------------------------------------------------------
def create_user(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Create a (non-administrator) user."""
    user = ctx.accounts.create_user(a["username"], a["password"])
    return {"user": _user_json(ctx, user)}


def get_user(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """A user and the grants they hold."""
    return {"user": _user_json(ctx, ctx.accounts.get_user(a["username"]))}


def update_password(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Give a user a new password."""
    ctx.accounts.set_password(a["username"], a["password"])
    return {}


def update_admin(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Make a user an administrator, or not."""
    ctx.accounts.set_admin(a["username"], a["is_admin"])
    return {}


def delete_user(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Delete a user with their tokens and grants."""
    ctx.accounts.delete_user(a["username"])
    return {}


# --- grants ----------------------------------------------------------------------------
def _resource(ctx: ServerContext, kind: ResourceKind, a: Args) -> str:
    """The resource id of a permission request; an unknown experiment or model is a 404."""
    if kind is _EXP:
        return ctx.tracking.get_experiment(a["experiment_id"]).experiment_id
    return ctx.registry.get_registered_model(a["name"]).name


def _held(ctx: ServerContext, kind: ResourceKind, resource_id: str, username: str) -> Permission:
    ctx.accounts.get_user(username)  # an unknown user is a 404
    held = ctx.accounts.get_permission(username, kind, resource_id)
    if held is None:
        raise NotFoundError(f"user {username!r} holds no permission on {kind.value} {resource_id!r}")
    return held


def _answer(kind: ResourceKind, grant: Grant) -> dict[str, Any]:
    return {("experiment_permission" if kind is _EXP else "registered_model_permission"): _grant_json(grant)}


def _create(kind: ResourceKind) -> Any:
    def create(ctx: ServerContext, a: Args) -> dict[str, Any]:
        resource_id = _resource(ctx, kind, a)
        if ctx.accounts.get_permission(a["username"], kind, resource_id) is not None:
            raise AlreadyExistsError(
                f"user {a['username']!r} already holds a permission on {kind.value} {resource_id!r}; update it"
            )
        return _answer(kind, ctx.accounts.grant(a["username"], kind, resource_id, a["permission"]))

    create.__doc__ = f"Grant a user a permission on a {kind.value} (400 if they hold one)."
    return create


def _get(kind: ResourceKind) -> Any:
    def get(ctx: ServerContext, a: Args) -> dict[str, Any]:
        resource_id = _resource(ctx, kind, a)
        held = _held(ctx, kind, resource_id, a["username"])
        return _answer(kind, Grant(a["username"], kind, resource_id, held))

    get.__doc__ = f"The permission a user holds on a {kind.value} (404 without one)."
    return get


def _update(kind: ResourceKind) -> Any:
    def update(ctx: ServerContext, a: Args) -> dict[str, Any]:
        resource_id = _resource(ctx, kind, a)
        _held(ctx, kind, resource_id, a["username"])
        ctx.accounts.grant(a["username"], kind, resource_id, a["permission"])
        return {}

    update.__doc__ = f"Change the permission a user holds on a {kind.value} (404 without one)."
    return update


def _delete(kind: ResourceKind) -> Any:
    def delete(ctx: ServerContext, a: Args) -> dict[str, Any]:
        resource_id = _resource(ctx, kind, a)
        ctx.accounts.get_user(a["username"])
        ctx.accounts.revoke(a["username"], kind, resource_id)
        return {}

    delete.__doc__ = f"Remove the permission a user holds on a {kind.value} (404 without one)."
    return delete


# --- MLflow 3's unified grants: users/permissions/grant|revoke|get (``/api/3.0``) -----------
def _kind_and_id(ctx: ServerContext, a: Args) -> tuple[ResourceKind, str]:
    kind = parse_kind(a["resource_type"])
    if kind is _EXP:
        return kind, ctx.tracking.get_experiment(a["resource_id"]).experiment_id
    return kind, ctx.registry.get_registered_model(a["resource_id"]).name


def grant(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Give a user a permission on an experiment or registered model (replacing what they held)."""
    ctx.accounts.get_user(a["username"])
    kind, resource_id = _kind_and_id(ctx, a)
    ctx.accounts.grant(a["username"], kind, resource_id, a["permission"])
    return {}


def revoke(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """Remove a user's grant on an experiment or registered model (404 without one)."""
    ctx.accounts.get_user(a["username"])
    kind, resource_id = _kind_and_id(ctx, a)
    ctx.accounts.revoke(a["username"], kind, resource_id)
    return {}


def effective(ctx: ServerContext, a: Args) -> dict[str, Any]:
    """The permission a user has on a resource (admin, else grant, else the server's default).

    ``allowed`` is MLflow's "may use" cut: EDIT or more.
    """
    from ...accounts.server import default_permission

    user = ctx.accounts.get_user(a["username"])
    kind = parse_kind(a["resource_type"])
    if user.is_admin:
        have = Permission.MANAGE
    else:
        held = ctx.accounts.get_permission(user.username, kind, str(a["resource_id"]))
        have = default_permission() if held is None else held
    return {"allowed": have.can_edit, "permission": have.name}


def _admin(
    name: str,
    method: str,
    path: str,
    summary: str,
    fields: tuple[Field, ...],
    handler: Any,
    prefixes: tuple[str, ...] = API_PREFIXES,
) -> Route:
    return Route(f"accounts.{name}", (method,), path, summary, "account", "admin", fields, handler, prefixes=prefixes)


def _permission_routes(kind: ResourceKind, prefix: str, key: Field) -> tuple[Route, ...]:
    what = kind.value.replace("_", " ")
    return (
        _admin(
            f"{prefix}.create",
            "POST",
            f"{prefix}/permissions/create",
            f"Grant a permission on a {what}",
            (key, _USERNAME, _PERMISSION),
            _create(kind),
        ),  # fmt: skip
        _admin(
            f"{prefix}.get",
            "GET",
            f"{prefix}/permissions/get",
            f"A user's permission on a {what}",
            (key, _USERNAME),
            _get(kind),
        ),  # fmt: skip
        _admin(
            f"{prefix}.update",
            "PATCH",
            f"{prefix}/permissions/update",
            f"Change a permission on a {what}",
            (key, _USERNAME, _PERMISSION),
            _update(kind),
        ),  # fmt: skip
        _admin(
            f"{prefix}.delete",
            "DELETE",
            f"{prefix}/permissions/delete",
            f"Remove a permission on a {what}",
            (key, _USERNAME),
            _delete(kind),
        ),  # fmt: skip
    )


ROUTES = (
    _admin("users.create", "POST", "users/create", "Create a user", (_USERNAME, _PASSWORD), create_user),
    _admin("users.get", "GET", "users/get", "Get a user and their permissions", (_USERNAME,), get_user),
    _admin(
        "users.update_password",
        "PATCH",
        "users/update-password",
        "Set a user's password",
        (_USERNAME, _PASSWORD),
        update_password,
    ),  # fmt: skip
    _admin(
        "users.update_admin",
        "PATCH",
        "users/update-admin",
        "Make a user an administrator or not",
        (_USERNAME, Field("is_admin", BOOLEAN, required=True)),
        update_admin,
    ),  # fmt: skip
    _admin(
        "users.delete", "DELETE", "users/delete", "Delete a user, their tokens and grants", (_USERNAME,), delete_user
    ),  # fmt: skip
    *_permission_routes(_EXP, "experiments", _EXPERIMENT),
    *_permission_routes(_RM, "registered-models", _MODEL),
    _admin(
        "users.grant",
        "POST",
        "users/permissions/grant",
        "Grant a permission on a resource",
        (_USERNAME, _TYPE, _RESOURCE, _PERMISSION),
        grant,
        _V3,
    ),  # fmt: skip
    _admin(
        "users.revoke",
        "POST",
        "users/permissions/revoke",
        "Revoke a permission on a resource",
        (_USERNAME, _TYPE, _RESOURCE),
        revoke,
        _V3,
    ),  # fmt: skip
    _admin(
        "users.permission",
        "GET",
        "users/permissions/get",
        "A user's effective permission on a resource",
        (_USERNAME, _TYPE, _RESOURCE),
        effective,
        _V3,
    ),  # fmt: skip
)
