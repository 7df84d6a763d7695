"""The ASGI app of ``storekit server`` (Starlette), built from the one route table.

:func:`create_app` turns each :class:`~storekit.server.table.Route` into a
Starlette route at each of its paths.  A JSON route's endpoint reads the body
(bounded by ``max_request_bytes``), parses the declared fields, calls the
authorization hook, runs the handler in the thread pool (stores are
synchronous) and answers JSON; every exception becomes MLflow's error JSON
(:mod:`storekit.server.errors`).  Unknown paths answer ``ENDPOINT_NOT_FOUND``.
The JSON routes without path parameters are served the same way, ahead of
Starlette's routing, by :class:`~storekit.server.dispatch.JsonDispatch`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator, Callable, Optional

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Authorizer, authorize, load_authorizer
from .codec import dumps
from .context import ServerContext
from .dispatch import JsonDispatch, fast_routes, read_json_body
from .errors import error_body, error_response
from .routes import ROUTES
from .settings import ServerSettings
from .table import Route, parse_args

__all__ = ["create_app", "app_from_env", "LimitsMiddleware"]

_log = logging.getLogger("storekit.server")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _query(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


def _endpoint(route: Route, ctx: ServerContext, authorizer: Authorizer) -> Callable[[Request], Any]:
    settings = ctx.settings

    async def endpoint(request: Request) -> Response:
        try:
            body = None
            if route.raw is None and request.method in _BODY_METHODS:
                body = await read_json_body(request.scope, request.receive, settings.max_request_bytes)
            args = parse_args(route.fields, _query(request), body, request.path_params)
            await authorize(authorizer, request, route, args, ctx)
            if route.raw is not None:
                return await route.raw(request, ctx, route)
            handler = route.handler
            assert handler is not None

            def call() -> bytes:
                return dumps(handler(ctx, args))

            return Response(await run_in_threadpool(call), media_type="application/json")
        except Exception as exc:  # every failure becomes MLflow's error JSON
            return error_response(exc, settings.retry_after, route.name)

    endpoint.__name__ = route.name.replace(".", "_")
    return endpoint


class LimitsMiddleware:
    """Refuses requests whose request line plus headers exceed ``max_header_bytes`` (431), before routing."""

    def __init__(self, app: ASGIApp, max_header_bytes: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(k) + len(v) + 4 for k, v in scope.get("headers") or ())
            if size > self.max_header_bytes:
                body = error_body(
                    "RESOURCE_LIMIT_EXCEEDED", f"request headers: more than the limit of {self.max_header_bytes} bytes"
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    code = "ENDPOINT_NOT_FOUND"
    message = f"no route {request.method} {request.url.path}" if status == 404 else "method not allowed here"
    return Response(error_body(code, message), status_code=status, media_type="application/json")


def create_app(settings: ServerSettings, ctx: Optional[ServerContext] = None) -> Starlette:
    """The server's ASGI app on ``settings`` (stores opened at start-up, closed at shutdown)."""
    ctx = ctx or ServerContext(settings)
    authorizer = load_authorizer(settings.auth)
    routes = []
    for route in ROUTES:
        endpoint = _endpoint(route, ctx, authorizer)
        for path in route.paths():
            routes.append(StarletteRoute(path, endpoint, methods=list(route.methods), name=f"{route.name}:{path}"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(ctx.open)
        _log.info("storekit server ready: %r", settings)
        try:
            yield
        finally:
            await run_in_threadpool(ctx.close)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _not_found, 405: _not_found})
    app.state.ctx = ctx
    # innermost: the JSON routes skip Starlette's routing; accounts and limits still see every request
    app.add_middleware(JsonDispatch, routes=fast_routes(ROUTES), ctx=ctx, authorizer=authorizer)
    if settings.auth != "none":  # accounts: authentication, permissions, search filtering, ownership
        from ..accounts.asgi import AccountsMiddleware
        from ..accounts.server import policy_for

        app.add_middleware(AccountsMiddleware, policy=lambda: policy_for(ctx))
    app.add_middleware(LimitsMiddleware, max_header_bytes=settings.max_header_bytes)
    return app


def app_from_env() -> Starlette:
    """The app for a uvicorn worker process (settings from ``STOREKIT_SERVER_SETTINGS``)."""
    return create_app(ServerSettings.from_env())
