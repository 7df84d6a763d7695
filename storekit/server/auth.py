"""The authorization hook: the one place where each request's route and resource are known.

:func:`authorize` runs before every route's handler with the route (its name,
``resource`` and ``access``) and the request's parsed fields (which name the
experiment, run, registered model or artifact path).  With ``--auth none`` it
lets everything through (account administration routes answer 404).  Other modes are provided by the module named in
:data:`AUTH_PROVIDERS`: it must define ``authorize(request, route, args, ctx)``
(raising :class:`~storekit.server.errors.RequestError` with 401 or 403 to refuse)
and may define ``check(ctx)``, called once at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from ..errors import MissingExtraError

if TYPE_CHECKING:
    from starlette.requests import Request

    from .context import ServerContext
    from .table import Args, Route

__all__ = ["authorize", "load_authorizer", "AUTH_PROVIDERS", "Authorizer"]

#: ``--auth`` mode -> module providing ``authorize`` (``none`` needs none).
AUTH_PROVIDERS: dict[str, str] = {"basic": "storekit.accounts.server"}

Authorizer = Callable[["Request", "Route", "Args", "ServerContext"], Awaitable[None]]


async def _allow_all(request: "Request", route: "Route", args: "Args", ctx: "ServerContext") -> None:
    if route.access == "admin":  # account administration exists only where there are accounts
        from .errors import RequestError

        raise RequestError(404, "ENDPOINT_NOT_FOUND", f"{route.name}: served only with --auth basic")
    return None


def load_authorizer(mode: str) -> Authorizer:
    """The ``authorize`` coroutine of an ``--auth`` mode (a missing provider is an error at start-up)."""
    if mode == "none":
        return _allow_all
    module_name = AUTH_PROVIDERS.get(mode)
    if module_name is None:
        raise MissingExtraError(f"auth: no provider for --auth {mode!r}")
    try:
        module: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"auth: --auth {mode} needs {module_name}, which is not installed ({exc.name})"
        ) from None
    found: Optional[Authorizer] = getattr(module, "authorize", None)
    if found is None:
        raise MissingExtraError(f"auth: {module_name} does not define authorize()")
    return found


async def authorize(
    authorizer: Authorizer, request: "Request", route: "Route", args: "Args", ctx: "ServerContext"
) -> None:
    """Run the configured authorizer for one request (raises to refuse it)."""
    await authorizer(request, route, args, ctx)
