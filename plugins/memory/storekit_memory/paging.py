"""Filter, order and page a list of entities with storekit's search and paging helpers.

Every search of the memory backends goes through :func:`search_page`, so
they all share storekit's pinned semantics: the parser and evaluator decide
what matches, ``sort_entities`` orders (missing last, NaN before missing),
and page tokens are keyset cursors bound to their query and to a creation
bound (entities created after the first page are not returned by later pages).
Tokens are signed with the secret of the named store that issued them (``key``,
created with the store), and every field read back from one is checked
(``token_int``, ``token_scalars``) before it is used.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, TypeVar

from storekit.entities import PagedList
from storekit.paging import decode_page_token, encode_page_token, query_fingerprint, token_int, token_scalars
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
    key: Optional[bytes] = None,
) -> PagedList[T]:
    """One page of ``items`` matching ``filter_string`` in ``order_by`` order.

    ``created(item)`` is the item's creation sequence number and ``clock``
    the current one; ``query`` identifies the search (it is bound into the token);
    ``key`` is the store's page-token secret.
    """
    expr = parse_filter(filter_string, schema)
    keys = parse_order_by(order_by, schema)
    limit = validate_max_results(max_results)
    fingerprint = query_fingerprint(schema.entity, filter_string, list(order_by or ()), *query)
    cursor = decode_page_token(page_token, fingerprint, key=key) if page_token else {}
    bound = token_int(cursor.get("bound", clock), "bound")
    if "after" in cursor:
        token_scalars(cursor["after"], len(keys), "after")
    matching = [i for i in items if created(i) <= bound and evaluate(expr, lambda ident: get(i, ident))]
    ordered = sort_entities(matching, keys, get)
    if "after" in cursor:
        ordered = [i for i in ordered if is_after(order_values(i, keys, get), cursor["after"], keys)]
    page = ordered[:limit]
    token = None
    if len(ordered) > limit:
        token = encode_page_token({"after": order_values(page[-1], keys, get), "bound": bound}, fingerprint, key=key)
    return PagedList(page, token)


def offset_page(
    items: Sequence[T],
    max_results: Optional[int],
    page_token: Optional[str],
    *query: object,
    key: Optional[bytes] = None,
) -> PagedList[T]:
    """Page an already ordered, append-only list by offset (``max_results=None``: everything)."""
    fingerprint = query_fingerprint("offset", *query)
    start = (
        token_int(decode_page_token(page_token, fingerprint, key=key).get("offset", 0), "offset") if page_token else 0
    )
    if max_results is None:
        return PagedList(items[start:])
    limit = validate_max_results(max_results)
    end = start + limit
    token = encode_page_token({"offset": end}, fingerprint, key=key) if end < len(items) else None
    return PagedList(items[start:end], token)
