"""Metric history of :class:`~storekit.backends.file.FileTrackingStore`: paged and bulk reads.

A run's history file is read through a per-(run, key) cache that only reads
the bytes committed since the last call (see :mod:`.metric_log`).
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ...entities import Metric, PagedList
from ...histories import MetricHistories, validate_history_request
from ...rules import validate_key
from ...search.inprocess import offset_page
from .history_arrow import file_histories_arrow
from .metric_log import read_points
from .run_index import ExperimentIndex, RunState

__all__ = ["FileHistoryOps"]

_HISTORY_CACHE_ENTRIES = 256
_history_order = operator.attrgetter("step", "timestamp")


class FileHistoryOps:
    """The metric-history reads of :class:`~storekit.backends.file.FileTrackingStore` (a mix-in)."""

    _mutex: threading.RLock
    _history: "OrderedDict[tuple[str, str], tuple[int, list[Metric]]]"
    _token_key: Optional[bytes]

    if TYPE_CHECKING:  # provided by FileRunOps

        def _locate(self, run_id: Any, fresh: bool = True) -> tuple[ExperimentIndex, RunState]: ...

    def _key_points(self, index: ExperimentIndex, state: RunState, key: str) -> list[Metric]:
        """Every committed point of one key of a run, in logging order (cached, tailed).

        The cache holds, per (run, key), the points read up to a committed
        length of the history file; a later call only reads the bytes
        committed since.  The committed part of a history file never changes.
        """
        run_id, committed = state.run_id, state.mo
        cache_key = (run_id, key)
        with self._mutex:
            cached = self._history.get(cache_key)
            if cached is not None and cached[0] == committed:
                self._history.move_to_end(cache_key)
                return cached[1]
        start, points = (cached[0], cached[1]) if cached is not None and cached[0] < committed else (0, [])
        points = points + read_points(index.dir / run_id / "metrics.jsonl", start, committed, key)
        with self._mutex:
            self._history[cache_key] = (committed, points)
            self._history.move_to_end(cache_key)
            while len(self._history) > _HISTORY_CACHE_ENTRIES:
                self._history.popitem(last=False)
        return points

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_results: Optional[int] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Metric]:
        """Every point of a metric, ordered by ``(step, timestamp)``, then logging order."""
        validate_key(key, "metric key")
        index, state = self._locate(run_id)  # refreshed: state.mo is the committed length
        points = sorted(self._key_points(index, state, key), key=_history_order)
        return offset_page(points, max_results, page_token, "metric-history", state.run_id, key, key=self._token_key)

    def get_metric_histories(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> MetricHistories:
        """Histories of many runs and keys, reading each run's history file once."""
        runs, wanted = validate_history_request(run_ids, keys)
        out = MetricHistories()
        for run_id in runs:
            index, state = self._locate(run_id)
            by_key: dict[str, list[Metric]]
            if wanted is not None and len(wanted) == 1:
                by_key = {wanted[0]: self._key_points(index, state, wanted[0])}  # the cached path
            else:
                by_key = {}
                selected = set(wanted) if wanted is not None else None
                for m in read_points(index.dir / run_id / "metrics.jsonl", 0, state.mo):
                    if selected is None or m.key in selected:
                        by_key.setdefault(m.key, []).append(m)
            for key in wanted if wanted is not None else sorted(by_key):
                for m in sorted(by_key.get(key, ()), key=_history_order):
                    out.append(run_id, key, m.step, m.timestamp, m.value)
        return out

    def metric_histories_arrow(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> Optional[Any]:
        """:meth:`get_metric_histories` as a ``pyarrow.Table`` read without a Python object per point.

        None without pyarrow (the caller then reads :meth:`get_metric_histories`);
        see :mod:`.history_arrow`.  Same rows, order and errors.
        """

        def history_file(run_id: str) -> tuple[Path, int]:
            index, state = self._locate(run_id)
            return index.dir / state.run_id / "metrics.jsonl", state.mo

        return file_histories_arrow(run_ids, keys, history_file)
