"""``storekit server --auth basic``: accounts and permissions wired into the server.

This is the provider module :data:`storekit.server.auth.AUTH_PROVIDERS` names
for ``basic``.  :func:`install` wraps the app in
:class:`~storekit.accounts.asgi.AccountsMiddleware` (authentication, the
route table's permission checks, search filtering, ownership of new
resources), with an :class:`~storekit.accounts.policy.AccessPolicy` on the
server's own stores, built on the first request.  :func:`authorize`, the
per-route hook, refuses any request the middleware did not authenticate, so
an app assembled without the middleware fails closed.

Users have :data:`DEFAULT_PERMISSION_ENV` (``READ`` like MLflow when unset,
``private`` for none) on resources they hold no grant on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from ..rules import artifact_location_within
from ..server.errors import RequestError
from .asgi import AccountsMiddleware
from .lookup import StoreLookup
from .model import Permission
from .opening import open_account_store
from .policy import AccessPolicy
from .routes import PUBLIC_PATHS
from .rules import parse_default_permission

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..server.context import ServerContext

__all__ = [
    "DEFAULT_PERMISSION_ENV",
    "default_permission",
    "policy_for",
    "install",
    "authorize",
    "check",
    "check_artifact_location",
]

#: Environment variable: the permission users have without a grant (READ, EDIT, MANAGE, NO_PERMISSIONS, private).
DEFAULT_PERMISSION_ENV = "STOREKIT_SERVER_DEFAULT_PERMISSION"


def default_permission() -> Permission:
    """The configured default permission (``READ`` when unset); a bad value is an error at start-up."""
    return parse_default_permission(os.environ.get(DEFAULT_PERMISSION_ENV, "READ") or "READ")


def policy_for(ctx: "ServerContext") -> AccessPolicy:
    """The access policy of a server process: accounts of its backend store, its stores for lookups."""
    accounts = open_account_store(ctx.settings.backend_store_uri)
    return AccessPolicy(accounts, StoreLookup(ctx.tracking, ctx.registry), default_permission())


def install(app: Any, ctx: "ServerContext") -> AccountsMiddleware:
    """``app`` behind accounts (the policy is built on the first request, when the stores open)."""
    return AccountsMiddleware(app, lambda: policy_for(ctx))


def check(ctx: "ServerContext") -> None:
    """Start-up check: the default permission parses and the account store opens."""
    default_permission()
    open_account_store(ctx.settings.backend_store_uri).close()


async def authorize(request: "Request", route: Any, args: Any, ctx: "ServerContext") -> None:
    """The per-route hook: only requests the accounts middleware authenticated reach a handler.

    Also, for non-administrators: account administration routes (``access``
    ``admin``) are refused, and so is an experiment whose ``artifact_location``
    lies in the server's proxied artifact area (:func:`check_artifact_location`).
    """
    principal = request.scope.get("storekit.principal")
    if request.url.path in PUBLIC_PATHS:
        return
    if principal is None:
        raise RequestError(
            401, "UNAUTHENTICATED", "authentication required: send HTTP Basic credentials or a Bearer token"
        )
    if principal.is_admin:
        return
    if route.access == "admin":
        raise RequestError(403, "PERMISSION_DENIED", f"{route.name}: open to administrators only")
    if route.name == "experiments.create":
        check_artifact_location(args.get("artifact_location"), ctx)


def check_artifact_location(location: Optional[str], ctx: "ServerContext") -> None:
    """Refuse (403) a non-administrator's experiment whose artifact location is inside ``--artifacts-destination``.

    Experiments created without a location get ``<destination>/<id>``, served
    through the artifact proxy under the permissions of experiment ``<id>``; a
    location in that area (``mlflow-artifacts:/...`` or the destination's own
    URI) would read or overwrite another experiment's files.
    """
    if not location:
        return
    stored = ctx.uris.to_store(location) or location
    if artifact_location_within(stored, ctx.uris.destination):
        raise RequestError(
            403,
            "PERMISSION_DENIED",
            "artifact_location: lies in the server's proxied artifact area, where only administrators may "
            "place an experiment; leave artifact_location out to have the server assign one",
        )
