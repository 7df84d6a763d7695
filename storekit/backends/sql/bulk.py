"""Bulk copy of metric histories between SQL stores (the fast path of ``storekit migrate``).

A transfer from one storekit SQL store into another moves millions of metric
points.  Building a :class:`~storekit.entities.Metric` per point, encoding it
again and formatting it as text costs more CPU than the databases spend, so
between two SQL stores the points travel as the rows they already are:

* the source's :meth:`export_metric_chunks` yields :class:`EncodedMetrics` —
  a ``Sequence[Metric]`` (any consumer may iterate it as metrics) that also
  carries its rows in the SQL encoding ``(key, value, kind, timestamp, step,
  model_id)`` (see :mod:`.metrics`; a trailing ``id`` is ignored);
* :func:`write_histories` (the destination's ``import_runs``) checks those
  rows column-wise with the same rules as ``log_batch``
  (:func:`storekit.validation.plain_metric_columns_valid`, falling back to the
  per-point checks, which word the error) and writes them without converting
  them: binary ``COPY ... FROM STDIN`` on PostgreSQL, multi-row ``INSERT``
  statements of 5,000 rows on MySQL/MariaDB, ``executemany`` on SQLite.

Chunks of plain :class:`Metric` objects (other sources) take the same path
after one encoding step.  Everything runs inside the caller's transaction, so
a group of runs still commits as a whole.
"""

from __future__ import annotations

import math
from itertools import groupby
from operator import itemgetter
from typing import Any, Iterator, Sequence, overload

from ...entities import Metric, RunImport
from ...validation import plain_metric_columns_valid, validate_batch
from .metrics import KIND_FINITE, KIND_NAN, KIND_NEG_INF, KIND_POS_INF, TUPLE_COLUMNS, decode_value
from .writes import WriteStatements, metric_rows

__all__ = ["EncodedMetrics", "write_histories", "MetricRowWriter"]

_KEY, _VALUE, _KIND, _TS, _STEP, _MODEL = (itemgetter(i) for i in range(6))
#: (step, timestamp, kind, value) of an encoded row without ``run_row``; the same of a full row
_ORDER_ENCODED = itemgetter(4, 3, 2, 1)
_ORDER_FULL = itemgetter(5, 4, 3, 2)
_KINDS = frozenset({KIND_NEG_INF, KIND_FINITE, KIND_POS_INF, KIND_NAN})
#: points validated per-item at a time when the column-wise check declines (the ``log_batch`` limit)
_CHECK_CHUNK = 1000
#: rows per multi-row INSERT on MySQL/MariaDB (about 300 KB, far below ``max_allowed_packet``)
_MYSQL_ROWS = 5000
#: PostgreSQL binary COPY types of :data:`TUPLE_COLUMNS`
_COPY_TYPES = ["int8", "varchar", "float8", "int2", "int8", "int8", "varchar"]


def _metric(row: Sequence[Any]) -> Metric:
    kind = row[2]
    value = row[1] if kind == KIND_FINITE else decode_value(row[1], kind)
    return Metric(row[0], value, row[3], row[4], row[5])


class EncodedMetrics(Sequence[Metric]):
    """Metric points held as SQL-encoded rows ``(key, value, kind, timestamp, step, model_id[, ...])``.

    Reads as a sequence of :class:`Metric` (built on access); :attr:`rows`
    gives the rows themselves to a SQL destination.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Metric: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Metric]: ...

    def __getitem__(self, index: "int | slice") -> "Metric | Sequence[Metric]":
        if isinstance(index, slice):
            return EncodedMetrics(self.rows[index])
        return _metric(self.rows[index])

    def __iter__(self) -> Iterator[Metric]:
        return map(_metric, self.rows)

    def __repr__(self) -> str:
        return f"EncodedMetrics({len(self.rows)} points)"


def _check_encoded(rows: list[tuple[Any, ...]]) -> None:
    """Validate encoded rows like ``log_batch`` validates metrics (column-wise; per point on doubt)."""
    if (
        {*map(_KIND, rows)} <= _KINDS
        and {*map(type, map(_KIND, rows))} == {int}
        and plain_metric_columns_valid(
            map(_KEY, rows), map(_VALUE, rows), list(map(_TS, rows)), list(map(_STEP, rows)), map(_MODEL, rows)
        )
    ):
        return
    for start in range(0, len(rows), _CHECK_CHUNK):
        validate_batch(metrics=[_metric(r) for r in rows[start : start + _CHECK_CHUNK]])


def _encoded(chunk: Sequence[Metric], row_id: int) -> list[tuple[Any, ...]]:
    """Full :data:`TUPLE_COLUMNS` rows of a chunk, validated."""
    if isinstance(chunk, EncodedMetrics):
        rows = chunk.rows
        _check_encoded(rows)
        head = (row_id,)
        return [head + r[:6] for r in rows]
    points = list(chunk)
    for start in range(0, len(points), _CHECK_CHUNK):
        validate_batch(metrics=points[start : start + _CHECK_CHUNK])
    return metric_rows(row_id, points)


class MetricRowWriter:
    """Appends :data:`TUPLE_COLUMNS` rows to ``metrics`` in the dialect's fastest way."""

    def __init__(self, cur: Any, st: WriteStatements) -> None:
        self.cur = cur
        self.st = st
        q = '"' if st.dialect == "postgresql" else "`"
        self._columns = ", ".join(f"{q}{c}{q}" for c in TUPLE_COLUMNS)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Append ``rows`` (inside the caller's transaction)."""
        if not rows:
            return
        dialect = self.st.dialect
        if dialect == "postgresql":
            # the queued writer sends from a thread: the server parses while this thread encodes the next rows
            from psycopg.copy import QueuedLibpqWriter  # PostgreSQL's driver, only here

            writer = QueuedLibpqWriter(self.cur)
            with self.cur.copy(f"COPY metrics ({self._columns}) FROM STDIN (FORMAT BINARY)", writer=writer) as copy:
                copy.set_types(_COPY_TYPES)
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        elif dialect == "mysql":
            for start in range(0, len(rows), _MYSQL_ROWS):
                self._mysql_insert(rows[start : start + _MYSQL_ROWS])
        else:
            self.cur.executemany(self.st.insert_metrics.one, rows)

    def _mysql_insert(self, rows: list[tuple[Any, ...]]) -> None:
        """One multi-row INSERT; literal text when nothing needs quoting, else the driver's escaping.

        Keys are validated to ``[\\w.\\- /:]`` (no quote or backslash) and
        finite floats have a ``repr`` that is an exact literal.
        """
        plain = (
            {*map(itemgetter(6), rows)} == {None}
            and {*map(type, map(itemgetter(2), rows))} == {float}
            and math.isfinite(sum(map(itemgetter(2), rows)))
            and not any("'" in k or "\\" in k for k in {*map(itemgetter(1), rows)})  # validated; made sure
        )
        if plain:
            values = ",".join(["(%d,'%s',%r,%d,%d,%d,NULL)" % row[:6] for row in rows])
            self.cur.execute(f"INSERT INTO metrics ({self._columns}) VALUES {values}")
        else:
            self.cur.executemany(self.st.insert_metrics.one, rows)


def write_histories(cur: Any, st: WriteStatements, runs: Sequence[tuple[int, RunImport]], buffer_points: int) -> None:
    """Every run's metric points (buffered across runs up to ``buffer_points``), then the latest value
    per run and key (one upsert per thousand keys)."""
    writer = MetricRowWriter(cur, st)
    buffer: list[tuple[Any, ...]] = []
    latest: dict[tuple[int, str], tuple[Any, ...]] = {}
    for row_id, item in runs:
        for chunk in item.metric_chunks():
            rows = _encoded(chunk, row_id)
            for key, group in groupby(rows, _KEY1):
                best = max(group, key=_ORDER_FULL)
                old = latest.get((row_id, key))
                if old is None or _ORDER_FULL(best) > _ORDER_FULL(old):
                    latest[(row_id, key)] = best
            buffer.extend(rows)
            if len(buffer) >= buffer_points:
                writer.write(buffer)
                buffer = []
    writer.write(buffer)
    winners = list(latest.values())
    for start in range(0, len(winners), 1000):
        st.insert(cur, st.upsert_latest, winners[start : start + 1000])


_KEY1 = itemgetter(1)
