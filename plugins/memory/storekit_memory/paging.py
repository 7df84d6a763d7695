"""Filter, order and page a list of entities with storekit's search and paging helpers.

Every search of the memory backends goes through :func:`search_page`, so
they all share storekit's pinned semantics: the parser and evaluator decide
what matches, ``sort_entities`` orders (missing last, NaN before missing),
and page tokens are keyset cursors bound to their query and to a creation
bound (entities created after the first page are not returned by later pages).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, TypeVar

from storekit.entities import PagedList
from storekit.errors import InvalidParameterError
from storekit.paging import decode_page_token, encode_page_token, query_fingerprint
from storekit.search import SearchSchema, evaluate, is_after, order_values, parse_filter, parse_order_by, sort_entities
from storekit.search.ast import Identifier
from storekit.validation import validate_max_results

__all__ = ["search_page", "offset_page"]

T = TypeVar("T")


def search_page(
    items: Sequence[T],
    schema: SearchSchema,
    get: Callable[[T, Identifier], object],
    created: Callable[[T], int],
    clock: int,
    filter_string: Optional[str],
    order_by: Optional[Sequence[str]],
    max_results: Optional[int],
    page_token: Optional[str],
    *query: object,
) -> PagedList[T]:
    """One page of ``items`` matching ``filter_string`` in ``order_by`` order.

    ``created(item)`` is the item's creation sequence number and ``clock``
    the current one; ``query`` identifies the search (it is bound into the token).
    """
    expr = parse_filter(filter_string, schema)
    keys = parse_order_by(order_by, schema)
    limit = validate_max_results(max_results)
    fingerprint = query_fingerprint(schema.entity, filter_string, list(order_by or ()), *query)
    cursor = decode_page_token(page_token, fingerprint) if page_token else {}
    bound = cursor.get("bound", clock)
    if not isinstance(bound, int):
        raise InvalidParameterError("page_token: invalid page token")
    matching = [i for i in items if created(i) <= bound and evaluate(expr, lambda ident: get(i, ident))]
    ordered = sort_entities(matching, keys, get)
    if "after" in cursor:
        ordered = [i for i in ordered if is_after(order_values(i, keys, get), cursor["after"], keys)]
    page = ordered[:limit]
    token = None
    if len(ordered) > limit:
        token = encode_page_token({"after": order_values(page[-1], keys, get), "bound": bound}, fingerprint)
    return PagedList(page, token)


def offset_page(items: Sequence[T], max_results: Optional[int], page_token: Optional[str], *query: object) -> PagedList[T]:
    """Page an already ordered, append-only list by offset (``max_results=None``: everything)."""
    fingerprint = query_fingerprint("offset", *query)
    start = decode_page_token(page_token, fingerprint).get("offset", 0) if page_token else 0
    if not isinstance(start, int) or start < 0:
        raise InvalidParameterError("page_token: invalid page token")
    if max_results is None:
        return PagedList(items[start:])
    limit = validate_max_results(max_results)
    end = start + limit
    token = encode_page_token({"offset": end}, fingerprint) if end < len(items) else None
    return PagedList(items[start:end], token)
