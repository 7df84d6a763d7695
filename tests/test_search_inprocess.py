"""storekit.search.inprocess: the one in-process search and paging (file backend and memory template)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from storekit.errors import InvalidParameterError
from storekit.search import EXPERIMENT_SCHEMA, Identifier, Kind
from storekit.search.inprocess import ResultCache, creation_bound, offset_page, search_page

Row = dict[str, Any]


def accessor(ident: Identifier) -> Callable[[Row], object]:
    key = ident.key
    if ident.kind is Kind.TAG:
        return lambda row: row["tags"].get(key)
    return lambda row: row.get(key)


def _rows(n: int) -> list[Row]:
    return [
        {"experiment_id": str(i), "name": f"e{i:02d}", "creation_time": i, "tags": {"t": "odd" if i % 2 else "even"}}
        for i in range(n)
    ]


def _search(rows: Any, token: Any = None, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "schema": EXPERIMENT_SCHEMA,
        "filter_string": "tags.t = 'odd'",
        "order_by": ["name DESC"],
        "max_results": 3,
        "page_token": token,
        "query": ["test"],
        "bound": 9,
        "within_bound": creation_bound(lambda r: r["creation_time"]),
        "key": b"k" * 32,
    }
    args.update(kw)
    return search_page(rows, accessor, **args)


def test_filter_order_and_keyset_pages() -> None:
    rows = _rows(10)
    first = _search(rows)
    assert [r["name"] for r in first] == ["e09", "e07", "e05"] and first.token
    second = _search(rows, first.token)
    assert [r["name"] for r in second] == ["e03", "e01"] and second.token is None


def test_rows_created_after_the_first_page_stay_out() -> None:
    rows = _rows(10)
    first = _search(rows)
    rows.append({"experiment_id": "99", "name": "e00x", "creation_time": 99, "tags": {"t": "odd"}})
    assert [r["name"] for r in _search(rows, first.token)] == ["e03", "e01"]


def test_token_of_another_query_or_key_is_refused() -> None:
    rows = _rows(10)
    token = _search(rows).token
    with pytest.raises(InvalidParameterError, match="page_token"):
        _search(rows, token, filter_string="tags.t = 'even'")
    with pytest.raises(InvalidParameterError, match="page_token"):
        _search(rows, token, key=b"x" * 32)


def test_cache_reuses_ordered_rows_while_version_is_unchanged() -> None:
    cache = ResultCache()
    rows = _rows(10)
    first = _search(rows, cache=cache, version=1)

    def never() -> Any:
        raise AssertionError("items walked although the result is cached")
        yield  # pragma: no cover

    assert [r["name"] for r in _search(never(), first.token, cache=cache, version=1)] == ["e03", "e01"]


def test_offset_pages() -> None:
    items = list(range(7))
    assert list(offset_page(items, None, None, "q")) == items
    page = offset_page(items, 3, None, "q", key=b"k")
    assert list(page) == [0, 1, 2]
    page = offset_page(items, 3, page.token, "q", key=b"k")
    assert list(page) == [3, 4, 5]
    last = offset_page(items, 3, page.token, "q", key=b"k")
    assert list(last) == [6] and last.token is None
    with pytest.raises(InvalidParameterError, match="page_token"):
        offset_page(items, 4, page.token, "q", key=b"k")  # another page size
