"""Field shapes and small conversions the route modules share."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ...entities import PagedList, ViewType
from ...rules import parse_view_type
from ..table import INTEGER, STRING, Args, Field

__all__ = ["KEY_VALUE", "tags_field", "view_of", "page", "PAGE_FIELDS", "pairs_of", "pair_list"]

#: JSON schema of MLflow's ``{"key": ..., "value": ...}`` items.
KEY_VALUE = {
    "type": "object",
    "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
}


def tags_field(name: str = "tags", description: str = "key/value pairs") -> Field:
    """A list of ``{"key", "value"}`` objects."""
    return Field(name, "object", array=True, schema=KEY_VALUE, description=description)


#: ``max_results`` and ``page_token`` of every search.
PAGE_FIELDS = (
    Field("max_results", INTEGER, description="page size"),
    Field("page_token", STRING, description="token of the next page, from the previous answer"),
)


def view_of(args: Args, name: str) -> ViewType:
    """A view type sent as its number (``1``), its name (``ACTIVE_ONLY``) or absent (active only)."""
    raw: Any = args.get(name)
    if raw is None:
        return ViewType.ACTIVE_ONLY
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    return parse_view_type(raw)


def pairs_of(items: Optional[Sequence[Any]], field: str) -> dict[str, str]:
    """``[{"key", "value"}]`` as a dict (a missing value is ``""``); a malformed item names ``field``."""
    return dict(pair_list(items, field))


def pair_list(items: Optional[Sequence[Any]], field: str) -> list[tuple[str, str]]:
    """``[{"key", "value"}]`` as ``(key, value)`` pairs in order, duplicates kept."""
    from ...errors import InvalidParameterError

    out: list[tuple[str, str]] = []
    for item in items or ():
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidParameterError(f"{field}: each item needs a string 'key'")
        value = item.get("value", "")
        if value is None:
            value = ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InvalidParameterError(f"{field}: the value of {item['key']!r} must be a string")
        out.append((item["key"], str(value)))
    return out


def page(items: PagedList[Any], field: str, convert: Any) -> dict[str, Any]:
    """A search answer: the converted items and, when there is one, ``next_page_token``."""
    out: dict[str, Any] = {field: [convert(i) for i in items]}
    if items.token:
        out["next_page_token"] = items.token
    return out
