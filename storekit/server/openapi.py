"""The OpenAPI 3.0 document of ``storekit server``, generated from the one route table."""

from __future__ import annotations

import functools
import re
from typing import Any

from .routes import ROUTES
from .table import Field, Route

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error_code", "message"],
}
_ERROR_STATUSES = {
    "400": "Invalid parameter, malformed request or an entity that exists already",
    "404": "No such entity or endpoint",
    "413": "Request body too large",
    "501": "Not offered by this backend",
    "503": "Backend unavailable; retry after Retry-After seconds",
}


def _schema(f: Field) -> dict[str, Any]:
    one: dict[str, Any] = dict(f.schema) if f.schema else {"type": f.type}
    out = {"type": "array", "items": one} if f.array else one
    if f.description:
        out = {**out, "description": f.description}
    return out


def _path_template(path: str) -> str:
    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)(:[a-z]+)?\}", r"{\1}", path)


def _operation(route: Route, method: str, path: str) -> dict[str, Any]:
    suffix = re.sub(r"[^A-Za-z0-9]+", "_", path.strip("/").split("/", 1)[0])
    op: dict[str, Any] = {
        "operationId": f"{route.name}.{method.lower()}.{suffix}",
        "summary": route.summary,
        "tags": [route.name.split(".", 1)[0]],
        "x-storekit-resource": route.resource,
        "x-storekit-access": route.access,
    }
    params = [{"name": f.name, "in": "path", "required": True, "schema": _schema(f)} for f in route.fields if f.in_path]
    body_fields = [f for f in route.fields if not f.in_path]
    if method == "GET" or route.request_body == "none" or route.raw is not None:
        for f in body_fields:
            param: dict[str, Any] = {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f)}
            if f.array:
                param.update(style="form", explode=True)
            params.append(param)
        if route.request_body == "binary":
            op["requestBody"] = {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
    elif body_fields:
        op["requestBody"] = {
            "required": any(f.required for f in body_fields),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {f.name: _schema(f) for f in body_fields},
                        **(
                            {"required": [f.name for f in body_fields if f.required]}
                            if any(f.required for f in body_fields)
                            else {}
                        ),
                    }
                }
            },
        }
    if params:
        op["parameters"] = params
    ok_schema: dict[str, Any] = {"type": "object"} if route.content_type == "application/json" else {"type": "string"}
    op["responses"] = {
        "200": {"description": "OK", "content": {route.content_type: {"schema": ok_schema}}},
        **{
            status: {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for status, text in _ERROR_STATUSES.items()
        },
    }
    return op


@functools.lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """Every route at every path it is served at, with its fields, as an OpenAPI 3.0 document."""
    from .routes.server import server_version

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        for path in route.paths():
            template = _path_template(path)
            for method in route.methods:
                paths.setdefault(template, {})[method.lower()] = _operation(route, method, path)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "storekit server",
            "version": server_version(),
            "description": "MLflow's REST API (tracking, registry, logged models, datasets, proxied artifacts) "
            "on any storekit backend.",
        },
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR}},
    }
