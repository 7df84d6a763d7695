"""The lean dispatch of JSON routes: a dict lookup and one thread hop instead of Starlette's routing.

Every request a training job or a dashboard sends in bulk (``runs/log-batch``,
``runs/get``, ``runs/search``, ``metrics/get-history``, ...) is a JSON route of
the one route table (:mod:`storekit.server.table`): a fixed path, no path
parameters, a handler that calls a store.  For those, Starlette's regex
routing over a few hundred paths, its request and response objects and
anyio's thread pool cost more CPU than the store call itself.
:class:`JsonDispatch` sits in front of the Starlette app and serves them
directly from an exact ``(method, path) -> route`` map:

* the body is read with the same limit and the same 413 as before, then parsed
  (:func:`.codec.loads`); the fields are converted by :func:`~.table.parse_args`;
* the configured authorizer runs with a Starlette ``Request`` on the same scope;
* the handler and the JSON encoding run in a thread of a bounded pool (the
  stores are synchronous), the only hop off the event loop;
* every exception becomes MLflow's error JSON through :func:`.errors.error_response`.

Anything else (streaming routes, path parameters, ``HEAD``, unknown paths and
methods, the lifespan) goes to the Starlette app unchanged, so routing,
limits, errors and the OpenAPI document stay the same for every route.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Authorizer, authorize
from .codec import dumps, loads
from .context import ServerContext
from .errors import RequestError, error_response
from .table import Route, parse_args

__all__ = ["JsonDispatch", "fast_routes", "read_json_body", "THREADS"]

#: Threads of each server process's handler pool (Starlette's default thread limit is the same).
THREADS = 40
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
_JSON_HEADERS = [(b"content-type", b"application/json")]


def fast_routes(routes: Iterable[Route]) -> dict[tuple[str, str], Route]:
    """``(method, full path) -> route`` for every JSON route without path parameters."""
    table: dict[tuple[str, str], Route] = {}
    for route in routes:
        if route.raw is not None or route.handler is None or any(f.in_path for f in route.fields):
            continue
        for path in route.paths():
            for method in route.methods:
                table[(method, path)] = route
    return table


def _query(raw: bytes) -> dict[str, list[str]]:
    """The query string as Starlette reads it (latin-1, blank values kept), values in order per key."""
    out: dict[str, list[str]] = {}
    if raw:
        for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            out.setdefault(key, []).append(value)
    return out


def _declared_length(scope: Scope) -> Optional[bytes]:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bytes(value)
    return None


async def read_json_body(scope: Scope, receive: Receive, limit: int) -> Optional[dict[str, Any]]:
    """The JSON object of a request body of at most ``limit`` bytes (``None`` for an empty body).

    A declared or streamed size over ``limit`` is a 413 ``RESOURCE_LIMIT_EXCEEDED``;
    a body that is not a JSON object is a 400 ``MALFORMED_REQUEST``.
    """
    declared = _declared_length(scope)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(
            413, "RESOURCE_LIMIT_EXCEEDED", f"request body: {declared.decode()} bytes exceed the limit of {limit}"
        )
    message = await receive()
    body = message.get("body", b"")
    if message.get("more_body", False):
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestError(
                    413, "RESOURCE_LIMIT_EXCEEDED", f"request body: more than the limit of {limit} bytes"
                )
            chunks.append(chunk)
        body = b"".join(chunks)
    elif message["type"] == "http.disconnect":
        body = b""
    if len(body) > limit:
        raise RequestError(413, "RESOURCE_LIMIT_EXCEEDED", f"request body: more than the limit of {limit} bytes")
    if not body.strip():
        return None
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "MALFORMED_REQUEST", "request body: not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError(400, "MALFORMED_REQUEST", "request body: expected a JSON object")
    return data


class JsonDispatch:
    """ASGI app: serves the JSON routes of ``routes`` itself and passes everything else to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Mapping[tuple[str, str], Route],
        ctx: ServerContext,
        authorizer: Authorizer,
        threads: int = THREADS,
    ) -> None:
        self.app = app
        self.routes = dict(routes)
        self.ctx = ctx
        self.authorizer = authorizer
        self.limit = ctx.settings.max_request_bytes
        self.retry_after = ctx.settings.retry_after
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._threads = threads

    @property
    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """The handler threads (started on first use, in the worker process that serves)."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self._threads, thread_name_prefix="storekit-handler")
        return self._pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI event."""
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.routes.get((scope["method"], scope["path"]))
            if route is not None:
                await self._serve(route, scope, receive, send)
                return
        elif scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's lifespan; the handler threads are joined at shutdown."""
        try:
            await self.app(scope, receive, send)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    async def _serve(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = None
            if scope["method"] in _BODY_METHODS:
                body = await read_json_body(scope, receive, self.limit)
            args = parse_args(route.fields, _query(scope.get("query_string", b"")), body, {})
            await authorize(self.authorizer, Request(scope, receive), route, args, self.ctx)
            handler = route.handler
            assert handler is not None
            call: Callable[[], bytes] = lambda: dumps(handler(self.ctx, args))  # noqa: E731
            payload = await asyncio.get_running_loop().run_in_executor(self.pool, call)
        except Exception as exc:  # every failure becomes MLflow's error JSON
            await error_response(exc, self.retry_after, route.name)(scope, receive, send)
            return
        headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
