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
  per-point checks, which word the error) once per chunk, transposed into
  columns, and writes them without converting them: one binary ``COPY ...
  FROM STDIN`` per group of runs on PostgreSQL, its bytes built column-wise
  by :mod:`.copy_binary` (:class:`PostgresCopy`), multi-row ``INSERT``
  statements of 5,000 rows on MySQL/MariaDB, ``executemany`` on SQLite;
  the latest point per key is found column-wise too (:func:`_latest_at`).

Chunks of plain :class:`Metric` objects (other sources) take the same path
after one encoding step.  Everything runs inside the caller's transaction, so
a group of runs still commits as a whole.
"""

from __future__ import annotations

import math
from itertools import groupby, repeat
from operator import itemgetter, neg
from typing import Any, Iterator, Optional, Sequence, overload

from ...entities import Metric, RunImport
from ...validation import plain_metric_columns_valid, validate_batch
from .copy_binary import COPY_HEADER, COPY_TRAILER, metric_copy_data
from .metrics import KIND_FINITE, KIND_NAN, KIND_NEG_INF, KIND_POS_INF, TUPLE_COLUMNS, decode_value
from .writes import WriteStatements, metric_rows

__all__ = ["EncodedMetrics", "write_histories", "MetricRowWriter", "PostgresCopy"]

#: (step, timestamp, kind, value) of a full :data:`TUPLE_COLUMNS` row
_ORDER_FULL = itemgetter(5, 4, 3, 2)
_KINDS = frozenset({KIND_NEG_INF, KIND_FINITE, KIND_POS_INF, KIND_NAN})
#: points validated per-item at a time when the column-wise check declines (the ``log_batch`` limit)
_CHECK_CHUNK = 1000
#: rows per multi-row INSERT on MySQL/MariaDB (about 300 KB, far below ``max_allowed_packet``)
_MYSQL_ROWS = 5000
_RUN_ROW = itemgetter(0)
#: PostgreSQL: bytes per block handed to psycopg's queued writer (its queue holds 1,024 blocks)
_QUEUED_BYTES = 32 * 1024
#: A chunk's points as columns: keys, values, kinds, timestamps, steps, model ids
Columns = tuple[Sequence[str], Sequence[float], Sequence[int], Sequence[int], Sequence[int], Sequence[Optional[str]]]


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


def _check_columns(columns: Columns) -> bool:
    """The column-wise form of the ``log_batch`` checks on encoded points (True: all pass)."""
    keys, values, kinds, timestamps, steps, model_ids = columns
    return (
        {*kinds} <= _KINDS
        and {*map(type, kinds)} == {int}
        and plain_metric_columns_valid(keys, values, timestamps, steps, model_ids)
    )


def _encoded_columns(chunk: Sequence[Metric]) -> Columns:
    """A chunk's points as validated columns ``(keys, values, kinds, timestamps, steps, model_ids)``.

    SQL-encoded rows (:class:`EncodedMetrics`) are transposed as they are and
    checked column-wise, falling back to the per-point checks (which word the
    error); :class:`Metric` objects are validated like ``log_batch`` and encoded.
    """
    if isinstance(chunk, EncodedMetrics):
        rows = chunk.rows
        if not rows:
            return ((), (), (), (), (), ())
        columns: Columns = tuple(zip(*rows))[:6]  # type: ignore[assignment]
        if not _check_columns(columns):
            for start in range(0, len(rows), _CHECK_CHUNK):
                validate_batch(metrics=[_metric(r) for r in rows[start : start + _CHECK_CHUNK]])
        return columns
    points = list(chunk)
    for start in range(0, len(points), _CHECK_CHUNK):
        validate_batch(metrics=points[start : start + _CHECK_CHUNK])
    if not points:
        return ((), (), (), (), (), ())
    return tuple(zip(*metric_rows(0, points)))[1:]  # type: ignore[return-value]


def _encoded(chunk: Sequence[Metric], row_id: int) -> list[tuple[Any, ...]]:
    """Full :data:`TUPLE_COLUMNS` rows of a chunk, validated."""
    return list(zip(repeat(row_id), *_encoded_columns(chunk)))


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
            with PostgresCopy(self.cur) as copy:
                for run_row, group in groupby(rows, _RUN_ROW):
                    copy.write(run_row, tuple(zip(*group))[1:])  # type: ignore[arg-type]
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


class PostgresCopy:
    """One binary ``COPY metrics ... FROM STDIN`` kept open while points are appended run by run.

    The data of each run's chunk is built by
    :func:`.copy_binary.metric_copy_data` and handed to psycopg's queued
    writer, whose thread sends it while this one reads and encodes the next
    chunk (the server parses meanwhile).  Its queue holds at most 1,024
    blocks; handing it blocks of at most :data:`_QUEUED_BYTES` bounds what
    waits in memory to 32 MiB however fast the source is (measured: one
    round at a load of 19, 8.6 s of process CPU and 48.6 s wall against
    10.1 s and 65.8 s with psycopg's unqueued writer).
    """

    def __init__(self, cur: Any) -> None:
        self.cur = cur
        self.encoding = cur.connection.info.encoding
        self._cm: Any = None
        self._copy: Any = None

    def __enter__(self) -> "PostgresCopy":
        columns = ", ".join(f'"{c}"' for c in TUPLE_COLUMNS)
        from psycopg.copy import QueuedLibpqWriter  # PostgreSQL's driver, only here

        writer = QueuedLibpqWriter(self.cur)
        self._cm = self.cur.copy(f"COPY metrics ({columns}) FROM STDIN (FORMAT BINARY)", writer=writer)
        self._copy = self._cm.__enter__()
        self._copy.write(COPY_HEADER)
        return self

    def write(self, run_row: int, columns: Columns) -> None:
        """Append one run's points (validated columns, see :func:`_encoded_columns`)."""
        if columns[0]:
            data = metric_copy_data(run_row, *columns, encoding=self.encoding)
            for start in range(0, len(data), _QUEUED_BYTES):
                self._copy.write(data[start : start + _QUEUED_BYTES])

    def __exit__(self, *exc: Any) -> Any:
        if exc[0] is None:
            self._copy.write(COPY_TRAILER)
        return self._cm.__exit__(*exc)


class _RowBuffer:
    """Rows for MySQL/MariaDB and SQLite, written ``buffer_points`` at a time by :class:`MetricRowWriter`."""

    def __init__(self, cur: Any, st: WriteStatements, buffer_points: int) -> None:
        self.writer = MetricRowWriter(cur, st)
        self.buffer_points = buffer_points
        self.rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> "_RowBuffer":
        return self

    def write(self, run_row: int, columns: Columns) -> None:
        """Append one run's points (validated columns)."""
        self.rows.extend(zip(repeat(run_row), *columns))
        if len(self.rows) >= self.buffer_points:
            self.writer.write(self.rows)
            self.rows = []

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.writer.write(self.rows)
        self.rows = []


def _latest_at(columns: Columns, start: int, end: int) -> int:
    """Index of the latest of the points ``start:end``: the largest ``(step, timestamp, kind, value)``,
    the first of equals (found in C: one pass over the steps, a second one only on a tie)."""
    _, values, kinds, timestamps, steps, _ = columns
    span = steps[start:end]
    top = max(span)
    if span.count(top) == 1:
        return start + span.index(top)
    order = zip(span, timestamps[start:end], kinds[start:end], values[start:end], map(neg, range(start, end)))
    return -max(order)[4]  # the first of equal points has the largest -index


def _track_latest(latest: dict[tuple[int, str], tuple[Any, ...]], run_row: int, columns: Columns) -> None:
    """Keep the latest point per ``(run_row, key)`` of a chunk (an earlier chunk's point on a tie), as a
    full :data:`TUPLE_COLUMNS` row."""
    keys, values, kinds, timestamps, steps, model_ids = columns
    start = 0
    for key, group in groupby(keys):
        end = start + len(list(group))
        best = _latest_at(columns, start, end)
        row = (run_row, key, values[best], kinds[best], timestamps[best], steps[best], model_ids[best])
        old = latest.get((run_row, key))
        if old is None or _ORDER_FULL(row) > _ORDER_FULL(old):
            latest[(run_row, key)] = row
        start = end


def write_histories(cur: Any, st: WriteStatements, runs: Sequence[tuple[int, RunImport]], buffer_points: int) -> None:
    """Every run's metric points, then the latest value per run and key (one upsert per thousand keys).

    PostgreSQL: one binary ``COPY`` for the whole group (:class:`PostgresCopy`);
    MySQL/MariaDB and SQLite: rows buffered across runs up to ``buffer_points``.
    """
    latest: dict[tuple[int, str], tuple[Any, ...]] = {}
    sink: Any = PostgresCopy(cur) if st.dialect == "postgresql" else _RowBuffer(cur, st, buffer_points)
    with sink:
        for row_id, item in runs:
            for chunk in item.metric_chunks():
                columns = _encoded_columns(chunk)
                _track_latest(latest, row_id, columns)
                sink.write(row_id, columns)
    winners = list(latest.values())
    for start in range(0, len(winners), 1000):
        st.insert(cur, st.upsert_latest, winners[start : start + 1000])
