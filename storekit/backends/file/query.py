"""Filtered, ordered, keyset-paged searches over in-memory entities.

Used by every search of the file backend (runs, experiments, registered
models, model versions, logged models).  The filter language and the
ordering rules come from :mod:`storekit.search`; page tokens from
:mod:`storekit.paging`.

A page token carries the sort values of the last row returned (the order
always ends with a unique tie-breaker, so the cursor is exact) and a
*creation bound* taken on the first page: rows created afterwards are not
returned by later pages of the same search.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

from ...entities import PagedList
from ...errors import InvalidParameterError
from ...paging import decode_page_token, encode_page_token, query_fingerprint, token_scalars
from ...validation import validate_max_results

__all__ = [
    "search_page",
    "int_bound",
    "ResultCache",
    "timestamp_bound",
    "accessor_from_getter",
    "getter_from_accessor",
]

T = TypeVar("T")


class ResultCache:
    """A few recent searches' full ordered results, keyed by query and data version.

    A search whose query, creation bound and data version (e.g. the byte
    offsets of the run indexes) are unchanged reuses the ordered rows, so
    repeating a search or paging through it does not filter and sort again.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: "OrderedDict[Any, list]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Optional[list]:
        """The cached rows for ``key``, or None."""
        with self._lock:
            rows = self._entries.get(key)
            if rows is not None:
                self._entries.move_to_end(key)
            return rows

    def put(self, key: Any, rows: list) -> None:
        """Remember ``rows`` for ``key``, forgetting the oldest entry when full."""
        with self._lock:
            self._entries[key] = rows
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def search_page(
    items: Iterable[T],
    get: Callable[[T, Any], object],
    *,
    schema: Any,
    filter_string: Optional[str],
    order_by: Optional[Sequence[str]],
    max_results: Optional[int],
    page_token: Optional[str],
    query: Sequence[Any],
    bound: Any,
    within_bound: Callable[[Any], Callable[[T], bool]],
    cache: Optional[ResultCache] = None,
    version: Any = None,
    accessor: Optional[Callable[[Any], Callable[[T], object]]] = None,
    key: Optional[bytes] = None,
) -> PagedList[T]:
    """One page of ``items`` matching ``filter_string`` in ``order_by`` order.

    ``items`` is iterated at most once, and not at all when the ordered
    result is cached (so it may be a lazy generator).

    ``get(item, identifier)`` returns an item's value for a search identifier
    (None when missing).  ``bound`` is the creation bound of a new search;
    ``within_bound(bound)`` validates a bound read back from a token and
    returns a predicate telling whether an item existed when it was taken.
    ``query`` names the rest of the query (experiment ids, view type...) so
    a token is refused by a different search.  With ``cache`` and a
    ``version`` of the data, ordered results are reused while ``version``
    is unchanged.  ``accessor(identifier)``, when given, returns a function
    from an item to its value (as ``get``), resolved once per identifier: the
    filter is compiled once per search (:func:`storekit.search.compile_filter`).
    ``key`` is the store's page-token secret.
    """
    from ...search import compile_filter, parse_filter, parse_order_by, sort_entities
    from ...search.evaluator import is_after, order_values

    max_results = validate_max_results(max_results)
    expr = parse_filter(filter_string, schema)
    keys = parse_order_by(order_by, schema)
    fingerprint = query_fingerprint(schema.entity, filter_string or "", list(order_by or ()), list(query))
    cursor = None
    bounded = None
    if page_token:
        payload = decode_page_token(page_token, fingerprint, key=key)
        cursor, bound = payload.get("after"), payload.get("bound")
        token_scalars(cursor, len(keys), "after")
        bounded = within_bound(bound)  # validates the bound
    cache_key = None
    ordered = None
    if cache is not None and version is not None:
        cache_key = (fingerprint, version, json.dumps(bound, sort_keys=True))
        ordered = cache.get(cache_key)
    if ordered is None:
        if accessor is None:
            accessor = accessor_from_getter(get)
        rows = items if bounded is None else [it for it in items if bounded(it)]
        if expr is not None:
            rows = list(filter(compile_filter(expr, accessor), rows))
        ordered = sort_entities(rows, keys, get, accessor)
        if cache is not None and cache_key is not None:
            cache.put(cache_key, ordered)
    start = 0
    if cursor is not None:
        lo, hi = 0, len(ordered)
        while lo < hi:  # first row strictly after the cursor (rows are in cursor order)
            mid = (lo + hi) // 2
            if is_after(order_values(ordered[mid], keys, get), cursor, keys):
                hi = mid
            else:
                lo = mid + 1
        start = lo
    page = ordered[start : start + max_results]
    token = None
    if start + max_results < len(ordered):
        token = encode_page_token({"after": order_values(page[-1], keys, get), "bound": bound}, fingerprint, key=key)
    return PagedList(page, token)


def accessor_from_getter(get: Callable[[T, Any], object]) -> Callable[[Any], Callable[[T], object]]:
    """An ``accessor`` (identifier -> item -> value) calling ``get(item, identifier)``."""
    return lambda ident: lambda item: get(item, ident)


def getter_from_accessor(accessor: Callable[[Any], Callable[[T], object]]) -> Callable[[T, Any], object]:
    """A ``get(item, identifier)`` calling ``accessor(identifier)(item)`` (accessors resolved once each)."""
    resolved: dict[Any, Callable[[T], object]] = {}

    def get(item: T, ident: Any) -> object:
        value_of = resolved.get(ident)
        if value_of is None:
            value_of = resolved[ident] = accessor(ident)
        return value_of(item)

    return get


def int_bound(bound: Any) -> int:
    """A creation bound read back from a page token, which must be an integer."""
    if isinstance(bound, bool) or not isinstance(bound, int):
        raise InvalidParameterError("page_token: invalid page token (bad bound)")
    return bound


def timestamp_bound(created: Callable[[Any], int]) -> Callable[[Any], Callable[[Any], bool]]:
    """A ``within_bound`` for entities bounded by creation time (``created(item)`` in ms)."""

    def within(bound: Any) -> Callable[[Any], bool]:
        limit = int_bound(bound)
        return lambda item: created(item) <= limit

    return within
