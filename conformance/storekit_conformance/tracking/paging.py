"""Pagination: stable keyset paging while others write, token tampering (contract section 3)."""

from __future__ import annotations

import threading
from typing import Optional, Sequence

import pytest

from storekit.entities import Metric, Param, RunTag
from storekit.errors import InvalidParameterError
from storekit.interfaces import TrackingStore

from ..marks import contract

__all__ = ["PagingChecks"]

_T0 = 1_700_000_000_000


def _page_all(
    store: TrackingStore,
    experiment_id: str,
    page_size: int,
    order_by: Optional[Sequence[str]] = None,
    between_pages: Optional[object] = None,
    filter_string: Optional[str] = None,
    max_pages: int = 100,
) -> list[str]:
    """Page through a search, calling ``between_pages(page_number)`` after every page."""
    seen: list[str] = []
    token: Optional[str] = None
    for page_number in range(max_pages):
        page = store.search_runs(
            [experiment_id], filter_string=filter_string, max_results=page_size, order_by=order_by, page_token=token
        )
        assert len(page) <= page_size
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            return seen
        if between_pages is not None:
            between_pages(page_number)  # type: ignore[operator]
    raise AssertionError(f"paging did not end after {max_pages} pages (seen {len(seen)} runs)")


class PagingChecks:
    """Checks of ``page_token`` paging."""

    def _make_runs(self, store: TrackingStore, experiment_id: str, n: int) -> list[str]:
        ids = []
        for i in range(n):
            run = store.create_run(experiment_id, start_time=_T0 + (i // 2) * 1000)  # pairs share a start_time
            store.log_batch(run.info.run_id, metrics=[Metric("m", float(i % 3), 1, 0)], params=[Param("i", str(i))])
            ids.append(run.info.run_id)
        return ids

    @contract("3-paging", "paging returns every matching run exactly once, in the same order as one big page")
    def test_paging_matches_single_page(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        ids = self._make_runs(tracking_store, experiment_id, 9)
        for order_by in (None, ["metrics.m DESC"], ["params.i ASC"], ["attributes.start_time ASC"]):
            full = [r.info.run_id for r in tracking_store.search_runs([experiment_id], order_by=order_by)]
            assert sorted(full) == sorted(ids)
            for size in (1, 2, 4):
                assert _page_all(tracking_store, experiment_id, size, order_by) == full, (order_by, size)

    @contract("3-paging", "paging is stable while other runs are created and logged to between pages")
    def test_paging_stable_under_writes(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        ids = self._make_runs(tracking_store, experiment_id, 8)
        expected = [r.info.run_id for r in tracking_store.search_runs([experiment_id])]
        created: list[str] = []

        def writer(page_number: int) -> None:
            # another thread creates runs (inside and outside the paged range) and logs to existing runs
            def work() -> None:
                for offset in (-10_000, 1500, 10_000_000):
                    run = tracking_store.create_run(experiment_id, start_time=_T0 + offset + page_number)
                    tracking_store.log_batch(run.info.run_id, metrics=[Metric("m", 9.0, 1, 0)])
                    created.append(run.info.run_id)
                for run_id in ids[page_number::3]:
                    tracking_store.log_batch(
                        run_id, metrics=[Metric("m", 5.0, 2, page_number + 1)], tags=[RunTag(f"p{page_number}", "x")]
                    )

            thread = threading.Thread(target=work)
            thread.start()
            thread.join()

        seen = _page_all(tracking_store, experiment_id, 3, None, writer, max_pages=len(ids))
        assert created, "the writer never ran: the search returned a single page"
        old = [r for r in seen if r in set(ids)]
        assert old == expected, "every run that matched before the first page, exactly once, in order"
        assert not set(seen) & set(created), (
            "runs created after the first page must not be returned (docs/semantics.md)"
        )

    @contract("3-paging", "paging with a filter on immutable values is exact while matching runs are added")
    def test_paging_filtered_under_writes(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        ids = self._make_runs(tracking_store, experiment_id, 6)
        expected = [r.info.run_id for r in tracking_store.search_runs([experiment_id], filter_string="params.i != '3'")]

        def writer(page_number: int) -> None:
            run = tracking_store.create_run(experiment_id, start_time=_T0 + 1234)
            tracking_store.log_param(run.info.run_id, Param("i", f"new{page_number}"))

        seen = _page_all(tracking_store, experiment_id, 2, None, writer, "params.i != '3'", max_pages=len(ids))
        assert seen == expected
        assert len(expected) == len(ids) - 1

    @contract("3-paging", "an invalid or tampered page token raises InvalidParameterError")
    def test_invalid_page_token(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        self._make_runs(tracking_store, experiment_id, 3)
        page = tracking_store.search_runs([experiment_id], max_results=1)
        token = page.token
        assert token
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        for bad in ("garbage", "", tampered, token + "xyz", "eyJwIjoie30iLCJkIjoiMDAwMDAwIn0"):
            if not bad:
                continue
            with pytest.raises(InvalidParameterError):
                tracking_store.search_runs([experiment_id], max_results=1, page_token=bad)
        with pytest.raises(InvalidParameterError):
            # a token issued for another query
            tracking_store.search_runs([experiment_id], max_results=1, page_token=token, filter_string="params.i = '1'")
