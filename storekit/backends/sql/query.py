"""Parsing a search request, shared by the SQLAlchemy (:mod:`.paged`) and raw SQLite (:mod:`.raw_search`) paths."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ...errors import InvalidParameterError
from ...paging import query_fingerprint
from ...search.ast import Expr, OrderKey, SearchSchema

__all__ = ["parse_query", "fingerprint"]


def parse_query(
    filter_string: Optional[str], order_by: Optional[Sequence[str]], schema: SearchSchema
) -> tuple[Optional[Expr], list[OrderKey]]:
    """Parse a filter and an order_by list with the shared storekit.search parser.

    The parser is imported only when there is something to parse: an
    unfiltered, default-ordered search (a store's first query) does not pay for it.
    """
    if isinstance(order_by, str):
        order_by = [order_by]  # one string is one clause, as storekit.search.parse_order_by reads it
    if isinstance(filter_string, str) and "\x00" in filter_string:
        # no stored value contains NUL, and PostgreSQL refuses NUL in any query parameter
        raise InvalidParameterError(
            f"filter_string: NUL character at position {filter_string.index(chr(0))} is not allowed"
        )
    if order_by and any(isinstance(o, str) and "\x00" in o for o in order_by):
        raise InvalidParameterError("order_by: NUL characters are not allowed")
    if not filter_string and not order_by:
        return None, list(schema.default_order)
    from ...search.parser import parse_filter, parse_order_by

    expr = parse_filter(filter_string, schema=schema) if filter_string else None
    keys = list(parse_order_by(order_by, schema)) if order_by else list(schema.default_order)
    return expr, keys


def fingerprint(*parts: Any) -> str:
    """The query a page token is bound to."""
    return query_fingerprint(*parts)
