"""The one route table: every endpoint's method, path, fields and handler.

The app (:mod:`storekit.server.app`), the OpenAPI document
(:mod:`storekit.server.openapi`) and the authorization hook
(:mod:`storekit.server.auth`) are all built from :data:`Route` entries, so a
route cannot be served without being described, or described without being
served.

A JSON route's handler is a plain (synchronous) function
``handler(ctx, args) -> dict`` run in the server's thread pool; ``args`` are
the request's fields, read from the query string and the JSON body (the body
wins) and converted to the declared types (protobuf JSON sends 64-bit
integers as strings; GET requests send everything as strings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Optional, Sequence

from ..errors import InvalidParameterError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .context import ServerContext

__all__ = ["Field", "Route", "Args", "API_PREFIXES", "parse_args", "STRING", "INTEGER", "NUMBER", "BOOLEAN"]

#: Prefixes every MLflow REST route is served under (the API and the web UI's ajax API).
API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

STRING, INTEGER, NUMBER, BOOLEAN, OBJECT = "string", "integer", "number", "boolean", "object"
_STRING_VALUES = ("NaN", "Infinity", "-Infinity")


@dataclass(frozen=True)
class Field:
    """One request field: ``type`` is a JSON-schema type; ``array`` makes it a list of that type."""

    name: str
    type: str = STRING
    required: bool = False
    array: bool = False
    description: str = ""
    #: JSON schema of an object (or of each array item of objects), for the OpenAPI document.
    schema: Optional[Mapping[str, Any]] = None
    #: True for a ``{name}`` segment of the path.
    in_path: bool = False


@dataclass(frozen=True)
class Route:
    """One endpoint.

    ``path`` is relative to each of ``prefixes`` (MLflow's API and ajax-API prefixes by default).
    ``resource`` names what the route reads or changes (``experiment``,
    ``run``, ``registered_model``, ``logged_model``, ``artifact``, ``server``),
    ``access`` is ``read``, ``edit``, ``manage`` or ``create``: the
    authorization hook decides on these.
    """

    name: str
    methods: tuple[str, ...]
    path: str
    summary: str
    resource: str
    access: str
    fields: tuple[Field, ...] = ()
    handler: Optional[Callable[["ServerContext", "Args"], dict[str, Any]]] = None
    #: A streaming route: ``raw(request, ctx, route) -> Response`` handles the request itself.
    raw: Optional[Callable[["Request", "ServerContext", "Route"], Awaitable["Response"]]] = None
    #: Path prefixes the route is served under (``("",)``: ``path`` is absolute).
    prefixes: tuple[str, ...] = API_PREFIXES
    #: Content type of a successful answer (the OpenAPI document lists it).
    content_type: str = "application/json"
    #: What the request body is: ``json`` (the fields), ``binary`` (a file) or ``none``.
    request_body: str = "json"

    def paths(self) -> list[str]:
        """Every full path the route is served at."""
        return [f"{prefix}/{self.path}" if prefix else self.path for prefix in self.prefixes]


class Args(dict[str, Any]):
    """The converted fields of one request (absent fields are absent)."""

    def req(self, name: str) -> Any:
        """A required field (its absence is an InvalidParameterError naming it)."""
        value = self.get(name)
        if value is None:
            raise InvalidParameterError(f"{name}: missing value for required parameter '{name}'")
        return value


def _convert_one(f: Field, raw: Any, from_query: bool) -> Any:
    if f.type == STRING:
        if isinstance(raw, (dict, list)):
            raise InvalidParameterError(f"{f.name}: expected a string")
        if isinstance(raw, bool):
            return "true" if raw else "false"
        return str(raw)
    if f.type == INTEGER:
        if isinstance(raw, bool) or isinstance(raw, (dict, list)):
            raise InvalidParameterError(f"{f.name}: expected an integer")
        if isinstance(raw, float):
            if not raw.is_integer():
                raise InvalidParameterError(f"{f.name}: expected an integer, got {raw!r}")
            return int(raw)
        try:
            return int(str(raw).strip())
        except ValueError:
            raise InvalidParameterError(f"{f.name}: expected an integer, got {str(raw)[:40]!r}") from None
    if f.type == NUMBER:
        if isinstance(raw, bool) or isinstance(raw, (dict, list)):
            raise InvalidParameterError(f"{f.name}: expected a number")
        if isinstance(raw, str) and raw in _STRING_VALUES:
            return float(raw.replace("Infinity", "inf"))
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{f.name}: expected a number, got {str(raw)[:40]!r}") from None
        if isinstance(raw, str) and not math.isfinite(value) and raw.strip().lower() not in ("nan", "inf", "-inf"):
            raise InvalidParameterError(f"{f.name}: expected a number")
        return value
    if f.type == BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
            return raw.lower() in ("true", "1")
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        raise InvalidParameterError(f"{f.name}: expected a boolean")
    # objects
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"{f.name}: expected an object")
    return raw


def _convert(f: Field, raw: Any, from_query: bool) -> Any:
    if f.array:
        items = raw if isinstance(raw, list) else [raw]
        return [_convert_one(f, item, from_query) for item in items]
    if isinstance(raw, list):
        if from_query and raw:
            return _convert_one(f, raw[-1], from_query)
        raise InvalidParameterError(f"{f.name}: expected a single value, not a list")
    return _convert_one(f, raw, from_query)


def parse_args(
    fields: Sequence[Field],
    query: Mapping[str, Sequence[str]],
    body: Optional[Mapping[str, Any]],
    path: Mapping[str, str],
) -> Args:
    """The declared fields of a request, converted; unknown fields are ignored (as MLflow does).

    A JSON ``null`` is the same as an absent field.  Required fields are checked.
    """
    args = Args()
    for f in fields:
        if f.in_path:
            raw: Any = path.get(f.name)
            from_query = True
        elif body is not None and body.get(f.name) is not None:
            raw, from_query = body[f.name], False
        elif f.name in query:
            values = list(query[f.name])
            raw, from_query = (values if f.array or len(values) > 1 else values[0]), True
        else:
            raw = None
            from_query = False
        if raw is None:
            if f.required:
                raise InvalidParameterError(f"{f.name}: missing value for required parameter '{f.name}'")
            continue
        args[f.name] = _convert(f, raw, from_query)
    return args
