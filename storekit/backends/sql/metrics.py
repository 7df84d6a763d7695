"""Metric values in SQL: exact NaN/inf encoding and the latest-value rule.

MySQL's DOUBLE cannot hold NaN or infinities, so every database stores a
finite ``value`` plus a ``kind``: -inf (0) < finite (1) < +inf (2) < NaN (3).
``(step, timestamp, kind, value)`` then orders points exactly like
:func:`storekit.entities.metric_order_key`.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any, Iterable, Mapping, Optional, Sequence, TypeVar

from ...entities import Metric
from ...errors import InvalidParameterError
from ...paging import decode_page_token, encode_page_token, token_scalars

__all__ = [
    "latest_point",
    "history_after",
    "history_page",
    "KIND_NEG_INF",
    "KIND_FINITE",
    "KIND_POS_INF",
    "KIND_NAN",
    "encode_value",
    "decode_value",
    "row_to_metric",
    "metric_tuple",
    "latest_tuples",
    "TUPLE_COLUMNS",
]

KIND_NEG_INF = 0
KIND_FINITE = 1
KIND_POS_INF = 2
KIND_NAN = 3


def encode_value(value: float) -> tuple[float, int]:
    """``(finite value, kind)`` for a float."""
    value = float(value)
    if math.isnan(value):
        return 0.0, KIND_NAN
    if math.isinf(value):
        return 0.0, KIND_POS_INF if value > 0 else KIND_NEG_INF
    return value, KIND_FINITE


def decode_value(value: float, kind: int) -> float:
    """The float an encoded ``(value, kind)`` stands for."""
    if kind == KIND_FINITE:
        return float(value)
    if kind == KIND_NAN:
        return math.nan
    return math.inf if kind == KIND_POS_INF else -math.inf


def row_to_metric(row: Mapping[Any, Any]) -> Metric:
    """A :class:`Metric` from a metrics/latest_metrics row."""
    return Metric(
        key=row["key"],
        value=decode_value(row["value"], row["kind"]),
        timestamp=int(row["timestamp"]),
        step=int(row["step"]),
        model_id=row["model_id"],
    )


_Row = TypeVar("_Row", bound=Sequence[Any])


def latest_point(key: str, value: Any, kind: int, timestamp: Any, step: Any, model_id: Optional[str]) -> Metric:
    """A metric's latest point from its ``latest_metrics`` columns (``value`` and ``kind`` as stored)."""
    number = float(value) if kind == KIND_FINITE else decode_value(value, kind)
    return Metric(key, number, int(timestamp), int(step), model_id)


def history_after(page_token: str, query: str, token_key: Optional[bytes]) -> list[Any]:
    """The ``(step, timestamp, id)`` a metric-history page token continues after (InvalidParameterError if bad)."""
    payload = decode_page_token(page_token, query, key=token_key)
    after = token_scalars(payload.get("a"), 3, "a", [int, int, int], nullable=False)
    if any(isinstance(v, float) for v in after):
        raise InvalidParameterError("page_token: invalid page token (a must hold 3 integers)")
    return after


def history_page(
    rows: Sequence[_Row], limit: Optional[int], query: str, token_key: Optional[bytes]
) -> tuple[Sequence[_Row], Optional[str]]:
    """One page of ``(id, key, value, kind, timestamp, step, model_id)`` rows read with ``LIMIT limit + 1``,
    and the token of the next page (None when nothing follows)."""
    if limit is None or len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_page_token({"a": [last[5], last[4], last[0]]}, query, key=token_key)


#: a :func:`metric_tuple` row's key, and its key then (step, timestamp, kind, value)
_KEY = itemgetter(1)
_KEY_THEN_ORDER = itemgetter(1, 5, 4, 3, 2)
#: column order of :func:`metric_tuple`
TUPLE_COLUMNS = ("run_row", "key", "value", "kind", "timestamp", "step", "model_id")


def metric_tuple(run_row: int, metric: Metric) -> tuple[Any, ...]:
    """One metric point as a tuple in :data:`TUPLE_COLUMNS` order (for raw executemany)."""
    value = float(metric.value)
    if value != value:
        value, kind = 0.0, KIND_NAN
    elif value in (math.inf, -math.inf):
        value, kind = 0.0, (KIND_POS_INF if value > 0 else KIND_NEG_INF)
    else:
        kind = KIND_FINITE
    return (run_row, metric.key, value, kind, int(metric.timestamp), int(metric.step), metric.model_id)


def latest_tuples(rows: Iterable[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """The latest point per key among :func:`metric_tuple` rows (one sort, no per-row Python)."""
    ordered = sorted(rows, key=_KEY_THEN_ORDER)
    return dict(zip(map(_KEY, ordered), ordered))
