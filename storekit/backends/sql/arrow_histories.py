"""The bulk metric-history read straight into Arrow on SQLite (ADBC's SQLite driver).

:meth:`SqlTrackingStore.get_metric_histories` reads through the ``sqlite3``
module, which makes one Python tuple (and a Python object per value) for
every point: at 10 M points that is most of the time.  When the optional
``adbc-driver-sqlite`` package is installed (extras ``arrow`` and
``pandas``) and the store is a SQLite *file*, :func:`sqlite_histories_arrow`
runs the same query through ADBC, which hands back Arrow columns built in
C, and assembles the table with Arrow compute -- no Python object per point.
Otherwise it returns None and the caller takes the ``sqlite3`` path.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ...histories import HISTORY_COLUMNS, validate_history_request

__all__ = ["sqlite_histories_arrow", "sqlite_file"]

#: runs per query (an IN list of row ids)
_CHUNK = 1000


def sqlite_file(url: Any) -> Optional[str]:
    """The database file of a SQLAlchemy SQLite URL, or None (another database, in-memory, URL options)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query:
        return None
    return str(url.database)


def sqlite_histories_arrow(
    path: str,
    run_ids: Sequence[str],
    keys: Optional[Sequence[str]],
    row_ids_of: Callable[[list[str]], dict[str, int]],
) -> Optional[Any]:
    """The bulk history table of ``run_ids`` (and ``keys``) as a ``pyarrow.Table``, or None without ADBC.

    ``row_ids_of(chunk)`` maps run ids to ``runs.row_id`` (raising RunNotFound);
    rows come in the order of :meth:`SqlTrackingStore.get_metric_histories`.
    """
    try:
        import adbc_driver_sqlite.dbapi as adbc
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    runs, wanted = validate_history_request(run_ids, keys)
    types = {"run_id": pa.string(), "key": pa.string(), "step": pa.int64(), "timestamp": pa.int64()}
    types["value"] = pa.float64()
    schema = pa.schema([(name, types[name]) for name in HISTORY_COLUMNS])
    tables = []
    with adbc.connect(path) as conn:
        cur = conn.cursor()
        try:
            for start in range(0, len(runs), _CHUNK):
                found = row_ids_of(runs[start : start + _CHUNK])
                row_ids = sorted(found.values())
                run_of = {row: run for run, row in found.items()}
                sql = (
                    'SELECT "run_row", "key", "step", "timestamp", "value", "kind" FROM "metrics" '
                    f'WHERE "run_row" IN ({", ".join(str(int(r)) for r in row_ids)})'
                )
                params: tuple[str, ...] = ()
                if wanted is not None:
                    sql += f' AND "key" IN ({", ".join("?" * len(wanted))})'
                    params = tuple(wanted)
                sql += ' ORDER BY "run_row", "key", "step", "timestamp", "id"'
                cur.execute(sql, params) if params else cur.execute(sql)
                raw = cur.fetch_arrow_table()
                if raw.num_rows == 0:
                    continue
                index = pc.index_in(raw["run_row"].cast(pa.int64()), value_set=pa.array(row_ids, pa.int64()))
                names = pa.array([run_of[r] for r in row_ids], pa.string())
                value = raw["value"].cast(pa.float64())
                kind = raw["kind"].cast(pa.int64())
                if pc.any(pc.not_equal(kind, 1)).as_py():  # -inf 0, finite 1, +inf 2, NaN 3 (see .metrics)
                    for code, special in ((0, float("-inf")), (2, float("inf")), (3, float("nan"))):
                        value = pc.if_else(pc.equal(kind, code), pa.scalar(special, pa.float64()), value)
                tables.append(
                    pa.table(
                        [
                            names.take(index),
                            raw["key"].cast(pa.string()),
                            raw["step"].cast(pa.int64()),
                            raw["timestamp"].cast(pa.int64()),
                            value,
                        ],
                        schema=schema,
                    )
                )
        finally:
            cur.close()
    return pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()
