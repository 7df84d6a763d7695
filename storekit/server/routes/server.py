"""Server routes: ``/health``, ``/version`` and ``/openapi.json``."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..context import ServerContext
from ..table import Route

__all__ = ["ROUTES", "server_version"]


def server_version() -> str:
    """The installed storekit version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storekit")
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        return "0+unknown"


async def health(request: Request, ctx: ServerContext, route: Route) -> Response:
    """``OK`` while the process serves requests (it does not touch the stores)."""
    return PlainTextResponse("OK")


async def version(request: Request, ctx: ServerContext, route: Route) -> Response:
    """The storekit version serving the API."""
    return PlainTextResponse(server_version())


async def openapi(request: Request, ctx: ServerContext, route: Route) -> Response:
    """The OpenAPI document of every route (built once from the route table)."""
    from .. import openapi as document

    return Response(json.dumps(document.openapi_document()), media_type="application/json")


_S = "server"
ROUTES = (
    Route(
        "server.health",
        ("GET",),
        "/health",
        "Liveness",
        _S,
        "public",
        (),
        raw=health,
        prefixes=("",),
        content_type="text/plain",
        request_body="none",
    ),
    Route(
        "server.version",
        ("GET",),
        "/version",
        "storekit version",
        _S,
        "public",
        (),
        raw=version,
        prefixes=("",),
        content_type="text/plain",
        request_body="none",
    ),
    Route(
        "server.openapi",
        ("GET",),
        "/openapi.json",
        "This API's OpenAPI document",
        _S,
        "public",
        (),
        raw=openapi,
        prefixes=("",),
        request_body="none",
    ),
)
