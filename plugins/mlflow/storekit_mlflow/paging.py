"""MLflow's ``max_results`` over storekit's capped pages.

MLflow's handlers ask for more than storekit's per-call cap of 50,000
(``search_model_versions`` defaults to 200,000 through ``mlflow server``, and
the UI's run page uses that default).  :func:`collect` reads consecutive
storekit pages until ``max_results`` items are in hand or the results end;
the token returned is storekit's token after the last item returned, so
paging on from it is exact.
"""

from __future__ import annotations

from typing import Callable, Optional, TypeVar

from storekit.interfaces import DEFAULT_MAX_RESULTS, MAX_RESULTS_CAP
from storekit.validation import validate_max_results

__all__ = ["collect", "MAX_COLLECTED"]

T = TypeVar("T")

#: The most items one MLflow call may ask for through the bridge.
MAX_COLLECTED = 1_000_000


def collect(
    search: Callable[[int, Optional[str]], "list[T]"],
    max_results: object,
    page_token: Optional[str],
    default: int = DEFAULT_MAX_RESULTS,
) -> tuple[list[T], Optional[str]]:
    """Up to ``max_results`` items (``default`` when None) from ``search(limit, token)``, and the next token."""
    wanted = default if max_results is None else validate_max_results(max_results, cap=MAX_COLLECTED)
    items: list[T] = []
    token = page_token or None
    while True:
        page = search(min(wanted - len(items), MAX_RESULTS_CAP), token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token or len(items) >= wanted:
            return items, token
