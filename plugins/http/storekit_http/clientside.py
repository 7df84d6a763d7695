"""Search done on the client, for what the server's filter language cannot express.

MLflow's server accepts ``AND`` only.  A filter with ``OR`` or ``NOT`` is
evaluated here instead, with storekit's own parser and evaluator, over every
entity of the searched scope fetched from the server: slower, never wrong.
Pages of such a search carry storekit page tokens (an offset bound to the
query), not the server's.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, TypeVar

from storekit.entities import PagedList
from storekit.errors import InvalidParameterError
from storekit.paging import decode_page_token, encode_page_token, query_fingerprint
from storekit.search import And, Comparison, Expr, Not, Or, SearchSchema, evaluate, parse_filter, parse_order_by, sort_entities
from storekit.search.ast import Identifier

__all__ = ["needs_client_side", "client_side_page", "is_client_token"]

T = TypeVar("T")

_TOKEN_MARK = "sk."


def needs_client_side(filter_string: Optional[str], schema: SearchSchema) -> bool:
    """Whether ``filter_string`` (checked with storekit's grammar) uses ``OR`` or ``NOT``."""
    expr = parse_filter(filter_string, schema)

    def walk(node: Optional[Expr]) -> bool:
        if node is None or isinstance(node, Comparison):
            return False
        if isinstance(node, (Or, Not)):
            return True
        if isinstance(node, And):
            return any(walk(child) for child in node.items)
        return False

    return walk(expr)


def is_client_token(token: Optional[str]) -> bool:
    """Whether a page token was issued by :func:`client_side_page`."""
    return bool(token) and str(token).startswith(_TOKEN_MARK)


def client_side_page(
    items: Sequence[T],
    schema: SearchSchema,
    get: Callable[[T, Identifier], object],
    filter_string: Optional[str],
    order_by: Optional[Sequence[str]],
    max_results: int,
    page_token: Optional[str],
    *query: object,
) -> PagedList[T]:
    """One page of the ``items`` that match, in ``order_by`` order (storekit's pinned rules)."""
    expr = parse_filter(filter_string, schema)
    keys = parse_order_by(order_by, schema)
    fingerprint = query_fingerprint("http-client-side", schema.entity, filter_string, list(order_by or ()), *query)
    start = 0
    if page_token:
        if not is_client_token(page_token):
            raise InvalidParameterError("page_token: invalid page token (issued for a different query)")
        start = decode_page_token(page_token[len(_TOKEN_MARK):], fingerprint).get("offset", 0)
        if not isinstance(start, int) or start < 0:
            raise InvalidParameterError("page_token: invalid page token")
    matching = [i for i in items if evaluate(expr, lambda ident, i=i: get(i, ident))]  # type: ignore[misc]
    ordered = sort_entities(matching, keys, get)
    end = start + max_results
    token = _TOKEN_MARK + encode_page_token({"offset": end}, fingerprint) if end < len(ordered) else None
    return PagedList(ordered[start:end], token)
