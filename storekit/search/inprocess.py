"""Filtered, ordered, keyset-paged searches over entities held in process.

The one implementation of ``search_*`` for stores that keep (or load) their
entities as Python objects: the file backend and the memory template that
plugin authors copy.  The filter language and the ordering rules come from
:mod:`storekit.search`; page tokens from :mod:`storekit.paging`.

**One accessor protocol.**  A store describes its entities with an
:data:`Accessor`: ``accessor(identifier)`` returns a function from an entity
to its value for that search identifier (None when missing: a float for
metrics, a str for params and tags, an int or str for attributes, a tuple of
str for datasets).  It is called once per identifier of a search, so a store
can resolve each identifier to a direct lookup.

**Keyset pages.**  A page token carries the sort values of the last row
returned (the order always ends with a unique tie-breaker, so the cursor is
exact) and a *creation bound* taken on the first page: rows created
afterwards are not returned by later pages of the same search.
:func:`creation_bound` builds the bound check for stores that number or time
their entities' creation.

**Offset pages.**  :func:`offset_page` pages an already ordered, append-only
list (a metric history).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

from ..entities import PagedList
from ..errors import InvalidParameterError
from ..paging import decode_page_token, encode_page_token, query_fingerprint, token_int, token_scalars
from ..validation import validate_max_results
from .ast import Identifier, SearchSchema
from .evaluator import compile_filter, is_after, order_values, sort_entities
from .parser import parse_filter, parse_order_by

__all__ = [
    "Accessor",
    "search_page",
    "offset_page",
    "creation_bound",
    "int_bound",
    "ResultCache",
]

T = TypeVar("T")

#: identifier -> (entity -> value): how a store exposes its entities to a search.
Accessor = Callable[[Identifier], Callable[[T], object]]


class ResultCache:
    """A few recent searches' full ordered results, keyed by query and data version.

    A search whose query, creation bound and data version (e.g. the byte
    offsets of the run indexes) are unchanged reuses the ordered rows, so
    repeating a search or paging through it does not filter and sort again.
    """

    def __init__(self, size: int = 8) -> None:
        """Keep the results of at most ``size`` searches."""
        self._size = size
        self._entries: "OrderedDict[Any, list[Any]]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Optional[list[Any]]:
        """The cached rows for ``key``, or None."""
        with self._lock:
            rows = self._entries.get(key)
            if rows is not None:
                self._entries.move_to_end(key)
            return rows

    def put(self, key: Any, rows: list[Any]) -> None:
        """Remember ``rows`` for ``key``, forgetting the oldest entry when full."""
        with self._lock:
            self._entries[key] = rows
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def _getter(accessor: "Accessor[T]") -> Callable[[T, Identifier], object]:
    """``get(item, identifier)`` over ``accessor``, resolving each identifier once."""
    resolved: dict[Identifier, Callable[[T], object]] = {}

    def get(item: T, ident: Identifier) -> object:
        value_of = resolved.get(ident)
        if value_of is None:
            value_of = resolved[ident] = accessor(ident)
        return value_of(item)

    return get


def search_page(
    items: Iterable[T],
    accessor: "Accessor[T]",
    *,
    schema: SearchSchema,
    filter_string: Optional[str],
    order_by: Optional[Sequence[str]],
    max_results: Optional[int],
    page_token: Optional[str],
    query: Sequence[Any],
    bound: Any,
    within_bound: Callable[[Any], Callable[[T], bool]],
    key: Optional[bytes] = None,
    cache: Optional[ResultCache] = None,
    version: Any = None,
) -> PagedList[T]:
    """One page of ``items`` matching ``filter_string`` in ``order_by`` order.

    ``items`` is iterated at most once, and not at all when the ordered
    result is cached (so it may be a lazy generator).  ``accessor`` gives the
    entities' values (see :data:`Accessor`).  ``bound`` is the creation bound
    of a new search (JSON data); ``within_bound(bound)`` validates a bound read
    back from a token and returns a predicate telling whether an item existed
    when it was taken (see :func:`creation_bound`).  ``query`` names the rest of
    the query (experiment ids, view type...) so a token is refused by a
    different search.  ``key`` is the store's page-token secret.  With
    ``cache`` and a ``version`` of the data, ordered results are reused while
    ``version`` is unchanged.
    """
    max_results = validate_max_results(max_results)
    expr = parse_filter(filter_string, schema)
    keys = parse_order_by(order_by, schema)
    get = _getter(accessor)
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


def offset_page(
    items: Sequence[T],
    max_results: Optional[int],
    page_token: Optional[str],
    *query: object,
    key: Optional[bytes] = None,
) -> PagedList[T]:
    """Page an already ordered, append-only list by offset.

    Without ``max_results`` and ``page_token`` the whole list is one page;
    otherwise pages hold ``max_results`` items (default 1,000).  ``query``
    names the list (run id, metric key): a token is refused by another list
    or another page size.
    """
    if max_results is None and page_token is None:
        return PagedList(list(items))
    limit = validate_max_results(max_results)
    fingerprint = query_fingerprint("offset", limit, *query)
    start = 0
    if page_token:
        start = token_int(decode_page_token(page_token, fingerprint, key=key).get("offset"), "offset")
    end = start + limit
    token = encode_page_token({"offset": end}, fingerprint, key=key) if end < len(items) else None
    return PagedList(list(items[start:end]), token)


def int_bound(bound: Any) -> int:
    """A creation bound read back from a page token, which must be an integer."""
    if isinstance(bound, bool) or not isinstance(bound, int):
        raise InvalidParameterError("page_token: invalid page token (bad bound)")
    return bound


def creation_bound(created: Callable[[T], int]) -> Callable[[Any], Callable[[T], bool]]:
    """A ``within_bound`` for entities whose creation is numbered or timed: ``created(item) <= bound``.

    Pass the current clock (the highest number given out, or the time now) as
    ``bound`` of :func:`search_page`.
    """

    def within(bound: Any) -> Callable[[T], bool]:
        limit = int_bound(bound)
        return lambda item: created(item) <= limit

    return within
