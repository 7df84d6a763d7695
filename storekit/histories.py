"""Bulk metric histories: many runs and keys as one long, columnar table.

:class:`MetricHistories` holds the points of several runs' metric histories
column by column (``run_id``, ``key``, ``step``, ``timestamp``, ``value``),
so millions of points cost a few lists rather than a
:class:`~storekit.entities.Metric` object each.  Points are grouped by run
and key, each (run, key) group in ``(step, timestamp)`` order, then logging
order -- the order of :meth:`~storekit.interfaces.TrackingStore.get_metric_history`.
The order of the groups themselves is the backend's (sort the table if it matters).

:func:`generic_metric_histories` is the fallback every store gets from
:meth:`TrackingStore.get_metric_histories <storekit.interfaces.TrackingStore.get_metric_histories>`:
one :meth:`get_metric_history` call per (run, key).  The file and SQL
backends override it (one read per run file; one query per 1,000 runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from .errors import InvalidParameterError
from .rules import validate_key, validate_run_id

if TYPE_CHECKING:  # pragma: no cover
    from .interfaces import TrackingStore

__all__ = [
    "MetricHistories",
    "HISTORY_COLUMNS",
    "MAX_HISTORY_RUNS",
    "MAX_HISTORY_KEYS",
    "validate_history_request",
    "generic_metric_histories",
]

#: The columns of a bulk history table, in order.
HISTORY_COLUMNS = ("run_id", "key", "step", "timestamp", "value")
#: The most runs one bulk history call accepts.
MAX_HISTORY_RUNS = 10_000
#: The most metric keys one bulk history call accepts.
MAX_HISTORY_KEYS = 1_000


@dataclass(frozen=True)
class MetricHistories:
    """Metric points of many runs as parallel columns (one list per column, equal lengths)."""

    run_id: list[str] = field(default_factory=list)
    key: list[str] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    timestamp: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.value)

    def append(self, run_id: str, key: str, step: int, timestamp: int, value: float) -> None:
        """Add one point at the end."""
        self.run_id.append(run_id)
        self.key.append(key)
        self.step.append(step)
        self.timestamp.append(timestamp)
        self.value.append(value)

    def columns(self) -> dict[str, list[Any]]:
        """The table as ``{column name: values}`` in :data:`HISTORY_COLUMNS` order."""
        return {name: getattr(self, name) for name in HISTORY_COLUMNS}


def validate_history_request(
    run_ids: Iterable[str], keys: Optional[Iterable[str]]
) -> tuple[list[str], Optional[list[str]]]:
    """Checked, de-duplicated ``(run_ids, keys)`` of a bulk history call (order kept).

    Raises :class:`InvalidParameterError` naming ``run_ids`` or ``keys`` and the limit.
    """
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    runs = list(dict.fromkeys(validate_run_id(r) for r in run_ids))
    if len(runs) > MAX_HISTORY_RUNS:
        raise InvalidParameterError(
            f"run_ids: {len(runs)} runs is more than the {MAX_HISTORY_RUNS} one bulk history call accepts"
        )
    if keys is None:
        return runs, None
    if isinstance(keys, str):
        keys = [keys]
    wanted = list(dict.fromkeys(keys))
    for key in wanted:
        validate_key(key, "metric key")
    if len(wanted) > MAX_HISTORY_KEYS:
        raise InvalidParameterError(
            f"keys: {len(wanted)} metric keys is more than the {MAX_HISTORY_KEYS} one bulk history call accepts"
        )
    return runs, wanted


def generic_metric_histories(
    store: "TrackingStore", run_ids: Sequence[str], keys: Optional[Sequence[str]] = None
) -> MetricHistories:
    """Bulk histories through :meth:`get_metric_history`, one call per (run, key).

    With ``keys=None`` every metric key a run has (from :meth:`get_run`) is read.
    """
    runs, wanted = validate_history_request(run_ids, keys)
    out = MetricHistories()
    for run_id in runs:
        run_keys = wanted if wanted is not None else sorted(store.get_run(run_id).data.metrics)
        if wanted is not None:
            store.get_run(run_id)  # an unknown run is RunNotFound even when it has no points
        for key in run_keys:
            for m in store.get_metric_history(run_id, key):
                out.append(run_id, m.key, m.step, m.timestamp, m.value)
    return out
