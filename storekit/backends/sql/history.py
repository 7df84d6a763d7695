"""Metric history of :class:`~storekit.backends.sql.SqlTrackingStore` (SQLAlchemy path): paged and bulk reads.

The raw-SQLite twin of ``get_metric_history`` is :func:`.raw_ops.metric_history`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from ...entities import Metric, PagedList
from ...errors import RunNotFound
from ...histories import MetricHistories, validate_history_request
from ...rules import validate_key, validate_max_results
from . import schema as s
from .arrow_histories import sqlite_file, sqlite_histories_arrow
from .engine import Database
from .fastpath import ServerFastPath, on_cursor
from .metrics import KIND_FINITE, decode_value, history_after, history_page, row_to_metric
from .paged import fingerprint
from .sqlutil import cursor_of, placeholder

__all__ = ["HistoryOps"]

_r = s.runs
#: runs per bulk-history query (bounded IN lists on every database)
_HISTORY_CHUNK = 1000


class HistoryOps:
    """The metric-history reads of :class:`~.tracking.SqlAlchemyTrackingStore` (a mix-in)."""

    _db: Database
    _token_key: bytes
    _fast: Optional[ServerFastPath]

    if TYPE_CHECKING:  # provided by RunOps

        def _run_row(self, conn: Connection, run_id: str, lock: bool = False) -> RowMapping: ...

    def get_metric_history(
        self, run_id: str, key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList[Metric]:
        """Every point of a metric by ``(step, timestamp)``, then logging order."""
        validate_key(key, "metric key")
        limit = validate_max_results(max_results) if max_results is not None else None
        m = s.metrics
        query = fingerprint("history", run_id, key)

        fast = self._fast
        if fast is not None:
            points, token = on_cursor(
                self._db,
                lambda cur: fast.metric_history(cur, run_id, key, limit, page_token, self._token_key),
                write=False,
            )
            return PagedList(points, token)

        def txn(conn: Connection) -> PagedList[Metric]:
            row_id = self._run_row(conn, run_id)["row_id"]
            stmt = (
                sa.select(m.c.id, m.c.key, m.c.value, m.c.kind, m.c.timestamp, m.c.step, m.c.model_id)
                .where(m.c.run_row == row_id, m.c.key == key)
                .order_by(m.c.step, m.c.timestamp, m.c.id)
            )
            if page_token:
                after = history_after(page_token, query, self._token_key)
                stmt = stmt.where(sa.tuple_(m.c.step, m.c.timestamp, m.c.id) > sa.tuple_(*after))
            if limit is not None:
                stmt = stmt.limit(limit + 1)
            page, token = history_page(conn.execute(stmt).all(), limit, query, self._token_key)
            return PagedList([row_to_metric(r._mapping) for r in page], token)

        return self._db.run(txn, write=False)

    def get_metric_histories(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> MetricHistories:
        """Histories of many runs and keys in one query per 1,000 runs (``keys=None``: every key).

        Rows come grouped by run and key (the groups in database order), each
        key's points by ``(step, timestamp)``, then logging order.  The rows are
        read on the driver's cursor and turned into columns without a Python
        object per point beyond the driver's own tuple.
        """
        runs, wanted = validate_history_request(run_ids, keys)
        out = MetricHistories()

        def txn(conn: Connection, chunk: list[str]) -> tuple[dict[str, int], list[Any]]:
            found = dict(conn.execute(sa.select(_r.c.run_uuid, _r.c.row_id).where(_r.c.run_uuid.in_(chunk))).all())
            missing = [run_id for run_id in chunk if run_id not in found]
            if missing:
                raise RunNotFound(f"run {missing[0]!r} does not exist")
            q = conn.dialect.identifier_preparer
            mark = placeholder(conn.dialect)
            cols = ", ".join(q.quote(c) for c in ("run_row", "key", "step", "timestamp", "value", "kind"))
            row_ids = sorted(found.values())
            sql = (
                f"SELECT {cols} FROM {q.format_table(s.metrics)} "
                f"WHERE {q.quote('run_row')} IN ({', '.join([mark] * len(row_ids))})"
            )
            params: list[Any] = list(row_ids)
            if wanted is not None:
                sql += f" AND {q.quote('key')} IN ({', '.join([mark] * len(wanted))})"
                params += wanted
            sql += " ORDER BY " + ", ".join(q.quote(c) for c in ("run_row", "key", "step", "timestamp", "id"))
            cur = cursor_of(conn)
            try:
                cur.execute(sql, tuple(params))
                return found, cur.fetchall()
            finally:
                cur.close()

        for start in range(0, len(runs), _HISTORY_CHUNK):
            chunk = runs[start : start + _HISTORY_CHUNK]
            found, rows = self._db.run(lambda conn: txn(conn, chunk), write=False)
            if not rows:
                continue
            run_rows, keys_, steps, stamps, values, kinds = (list(c) for c in zip(*rows))
            del rows
            by_row = sorted((row_id, run_id) for run_id, row_id in found.items())
            for row_id, run_id in by_row:  # run_rows is sorted: each run is one block
                lo, hi = bisect_left(run_rows, row_id), bisect_right(run_rows, row_id)
                out.run_id.extend([run_id] * (hi - lo))
            if kinds.count(KIND_FINITE) != len(kinds):
                for i, kind in enumerate(kinds):
                    if kind != KIND_FINITE:
                        values[i] = decode_value(values[i], kind)
            out.key.extend(keys_)
            out.step.extend(steps)
            out.timestamp.extend(stamps)
            out.value.extend(values)
        return out

    def metric_histories_arrow(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> Optional[Any]:
        """:meth:`get_metric_histories` as a ``pyarrow.Table``, read without a Python object per point.

        Only for a SQLite file with ``adbc-driver-sqlite`` installed (see
        :mod:`.arrow_histories`); None otherwise, and the caller reads through
        :meth:`get_metric_histories`.  Same rows, order, types and errors.
        """
        path = sqlite_file(self._db.engine.url)
        if path is None:
            return None

        def row_ids_of(chunk: list[str]) -> dict[str, int]:
            def txn(conn: Connection) -> dict[str, int]:
                found = dict(conn.execute(sa.select(_r.c.run_uuid, _r.c.row_id).where(_r.c.run_uuid.in_(chunk))).all())
                missing = [run_id for run_id in chunk if run_id not in found]
                if missing:
                    raise RunNotFound(f"run {missing[0]!r} does not exist")
                return found

            return self._db.run(txn, write=False)

        return sqlite_histories_arrow(path, run_ids, keys, row_ids_of)
