"""Searches that stay correct whatever the server's filter language can express.

MLflow's server accepts ``AND`` only, has no ``IN`` for params or tags, no
``IS NULL`` for metrics and no NaN operands.  :class:`PagedSearch` runs a search
on the server when it can and on the client otherwise:

* the filter and ``order_by`` are first checked with storekit's own parser, so
  malformed input gets storekit's error with its position;
* a filter with ``OR``/``NOT`` - or any query the server answers with
  ``INVALID_PARAMETER_VALUE`` although storekit's grammar accepts it - is
  evaluated here with storekit's evaluator over every entity of the searched
  scope fetched from the server: slower, never wrong;
* page tokens are storekit tokens bound to the query (tamper-evident): on the
  server path they carry the server's own page token, on the client path an
  offset into the ordered matches.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional, Sequence, TypeVar

from storekit.entities import PagedList
from storekit.errors import InvalidParameterError
from storekit.paging import decode_page_token, encode_page_token, query_fingerprint
from storekit.search import (
    And,
    Comparison,
    Expr,
    Not,
    Or,
    SearchSchema,
    evaluate,
    parse_filter,
    parse_order_by,
    sort_entities,
)
from storekit.search.ast import Identifier

__all__ = ["needs_client_side", "PagedSearch"]

T = TypeVar("T")

#: ``server_page(filter_string, max_results, server_token, order_by)`` -> one page from the server.
ServerPage = Callable[[Optional[str], int, Optional[str], Optional[Sequence[str]]], PagedList[T]]


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


class PagedSearch:
    """Routes searches of one store to the server or to the client; remembers what the server refused."""

    def __init__(self, fetch_page_size: int) -> None:
        self.fetch_page_size = fetch_page_size
        self._client_side: set[tuple[str, str, tuple[str, ...], str]] = set()
        self._lock = threading.Lock()

    def search(
        self,
        schema: SearchSchema,
        filter_string: Optional[str],
        order_by: Optional[Sequence[str]],
        max_results: int,
        page_token: Optional[str],
        query: tuple[object, ...],
        server_page: "ServerPage[T]",
        get: Callable[[T, Identifier], object],
    ) -> PagedList[T]:
        """One page of the search, from the server when it can answer it correctly."""
        if isinstance(order_by, str):
            order_by = [order_by]  # one string is one clause (as storekit's parser reads it)
        parse_order_by(order_by, schema)
        client_side = needs_client_side(filter_string, schema)
        order = tuple(order_by or ())
        fingerprint = query_fingerprint("http", schema.entity, filter_string, list(order), *query)
        cursor = decode_page_token(page_token, fingerprint) if page_token else {}
        key = (schema.entity, filter_string or "", order, repr(query))
        with self._lock:
            client_side = client_side or key in self._client_side
        if "offset" in cursor or (not cursor and client_side):
            return self._client_page(
                schema, filter_string, order_by, max_results, cursor, fingerprint, server_page, get
            )
        if cursor and "server" not in cursor:
            raise InvalidParameterError("page_token: invalid page token")
        try:
            page = server_page(filter_string, max_results, cursor.get("server"), order_by)
        except InvalidParameterError:
            if cursor or not (filter_string or order_by):
                raise
            # storekit's grammar accepts the query, the server cannot express it: answer it here.
            with self._lock:
                self._client_side.add(key)
            return self._client_page(schema, filter_string, order_by, max_results, {}, fingerprint, server_page, get)
        token = encode_page_token({"server": page.token}, fingerprint) if page.token else None
        return PagedList(page, token)

    def _everything(self, server_page: "ServerPage[T]") -> list[T]:
        items: list[T] = []
        token: Optional[str] = None
        while True:
            page = server_page(None, self.fetch_page_size, token, None)
            items.extend(page)
            token = page.token
            if not token:
                return items

    def _client_page(
        self,
        schema: SearchSchema,
        filter_string: Optional[str],
        order_by: Optional[Sequence[str]],
        max_results: int,
        cursor: dict[str, object],
        fingerprint: str,
        server_page: "ServerPage[T]",
        get: Callable[[T, Identifier], object],
    ) -> PagedList[T]:
        start = cursor.get("offset", 0)
        if not isinstance(start, int) or start < 0:
            raise InvalidParameterError("page_token: invalid page token")
        expr = parse_filter(filter_string, schema)
        keys = parse_order_by(order_by, schema)
        matching = [i for i in self._everything(server_page) if evaluate(expr, lambda ident, i=i: get(i, ident))]  # type: ignore[misc]
        ordered = sort_entities(matching, keys, get)
        end = start + max_results
        token = encode_page_token({"offset": end}, fingerprint) if end < len(ordered) else None
        return PagedList(ordered[start:end], token)
