"""The bulk metric-history read straight into Arrow on SQLite (ADBC's SQLite driver).

:meth:`SqlTrackingStore.get_metric_histories` reads through the ``sqlite3``
module, which makes one Python tuple (and a Python object per value) for
every point: at 10 M points that is most of the time.  When the optional
``adbc-driver-sqlite`` package is installed (extras ``arrow`` and
``pandas``) and the store is a SQLite *file*, :func:`sqlite_histories_arrow`
reads through ADBC, which hands back Arrow columns built in C, and
:func:`storekit.history_table.history_table` orders them with numpy -- no
Python object per point.  Otherwise it returns None and the caller takes the
``sqlite3`` path.

Two query shapes, by the share of the store's runs asked for:

* **scan** (at least a quarter of the runs): one pass over the ``metrics``
  table in row-id order (logging order), every column read from the table
  pages in sequence, other runs and keys dropped in numpy.  Walking the
  history index instead costs one table lookup per point (the index does
  not hold ``value``/``kind``), several times the scan at 10 M points.
* **indexed** (a few runs of a large store): one query per 1,000 runs on
  the history index, ``ORDER BY run_row, key, step, timestamp, id``.

Either way the rows come grouped by run in ``runs.row_id`` order, then by
key (code-point order), each group by ``(step, timestamp)``, then logging
order; ``run_id`` and ``key`` are dictionary-encoded
(:func:`storekit.history_table.history_schema`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ...histories import validate_history_request

__all__ = ["sqlite_histories_arrow", "sqlite_file", "SCAN_SHARE"]

#: runs per query (an IN list of row ids) on the indexed shape
_CHUNK = 1000
#: the scan shape is used when len(runs) * SCAN_SHARE >= the store's run count
SCAN_SHARE = 4
_COLUMNS = '"run_row", "key", "step", "timestamp", "value", "kind"'


def sqlite_file(url: Any) -> Optional[str]:
    """The database file of a SQLAlchemy SQLite URL, or None (another database, in-memory, URL options)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query:
        return None
    return str(url.database)


def _fetch(cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    if params:
        cur.execute(sql, tuple(params))
    else:
        cur.execute(sql)
    return cur.fetch_arrow_table()


def sqlite_histories_arrow(
    path: str,
    run_ids: Sequence[str],
    keys: Optional[Sequence[str]],
    row_ids_of: Callable[[list[str]], dict[str, int]],
    scan: Optional[bool] = None,
) -> Optional[Any]:
    """The bulk history table of ``run_ids`` (and ``keys``) as a ``pyarrow.Table``, or None without ADBC.

    ``row_ids_of(chunk)`` maps run ids to ``runs.row_id`` (raising RunNotFound).
    ``scan`` forces the query shape (None: by :data:`SCAN_SHARE`).
    """
    try:
        import adbc_driver_sqlite.dbapi as adbc
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    from ...history_table import empty_history_table, history_table

    runs, wanted = validate_history_request(run_ids, keys)
    found: dict[str, int] = {}
    for start in range(0, len(runs), _CHUNK):
        found.update(row_ids_of(runs[start : start + _CHUNK]))
    if not found or wanted == []:
        return empty_history_table()
    by_row = sorted((row, run) for run, row in found.items())
    row_ids = [row for row, _ in by_row]
    with adbc.connect(path) as conn:
        cur = conn.cursor()
        try:
            if scan is None:
                total = _fetch(cur, 'SELECT count(*) FROM "runs"').column(0)[0].as_py()
                scan = len(row_ids) * SCAN_SHARE >= total
            if scan:  # logging order; NOT INDEXED keeps SQLite from walking the history index
                parts = [_fetch(cur, f'SELECT {_COLUMNS} FROM "metrics" NOT INDEXED ORDER BY "id"')]
            else:
                parts = []
                key_filter = f' AND "key" IN ({", ".join("?" * len(wanted))})' if wanted is not None else ""
                for start in range(0, len(row_ids), _CHUNK):
                    chunk = ", ".join(str(int(r)) for r in row_ids[start : start + _CHUNK])
                    sql = (
                        f'SELECT {_COLUMNS} FROM "metrics" WHERE "run_row" IN ({chunk}){key_filter} '
                        'ORDER BY "run_row", "key", "step", "timestamp", "id"'
                    )
                    parts.append(_fetch(cur, sql, wanted or ()))
        finally:
            cur.close()
    raw = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    if raw.num_rows == 0:
        return empty_history_table()
    # which run: a lookup table from row id to the run's position (-1: not asked for)
    run_row = raw.column("run_row").to_numpy().astype(np.int64, copy=False)
    lut = np.full(max(int(run_row.max()), row_ids[-1]) + 1, -1, dtype=np.int64)
    lut[np.asarray(row_ids, dtype=np.int64)] = np.arange(len(row_ids), dtype=np.int64)
    run_pos = lut[run_row]
    # which key: dictionary-encode the key strings, number the distinct keys in code-point order
    encoded = pc.dictionary_encode(raw.column("key")).combine_chunks()
    present = encoded.dictionary.to_pylist()
    names = sorted(present if wanted is None else set(present).intersection(wanted))
    code_of = {name: i for i, name in enumerate(names)}
    key_lut = np.asarray([code_of.get(name, -1) for name in present], dtype=np.int64)
    key_code = key_lut[encoded.indices.to_numpy()]
    columns = [raw.column(name).to_numpy() for name in ("step", "timestamp", "value", "kind")]
    keep = (run_pos >= 0) & (key_code >= 0)
    if not bool(keep.all()):
        run_pos, key_code = run_pos[keep], key_code[keep]
        columns = [c[keep] for c in columns]
    step, timestamp, value, kind = columns
    return history_table([run for _, run in by_row], run_pos, names, key_code, step, timestamp, value, kind)
