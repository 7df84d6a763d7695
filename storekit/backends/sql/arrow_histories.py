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

Runs whose pack is current (:mod:`.history_packs`) are taken from it -- a
memory copy instead of a row fetch -- and the others are read from the
``metrics`` table and packed for the next read (:data:`USE_PACKS`).  ADBC
opens the file read-only: it is a second SQLite library in this process, and
a read/write connection of it would, on closing, checkpoint and delete the
WAL under storekit's own connections.

Two query shapes for the rows, by the share of the store's runs asked for:

* **scan** (at least a quarter of the runs): one pass over the ``metrics``
  table in row-id order (logging order), every column read from the table
  pages in sequence, other runs and keys dropped in numpy.
* **indexed** (a few runs of a large store): one query per 1,000 runs on
  the history index, ``ORDER BY run_row, key, step, timestamp, id``.

Either way the rows come grouped by run in ``runs.row_id`` order, then by
key (code-point order), each group by ``(step, timestamp)``, then logging
order; ``run_id`` and ``key`` are dictionary-encoded
(:func:`storekit.history_table.history_schema`).
"""

from __future__ import annotations

from contextlib import closing
from typing import Any, Callable, Optional, Sequence

from ...histories import validate_history_request

__all__ = ["sqlite_histories_arrow", "sqlite_file", "SCAN_SHARE", "USE_PACKS"]

#: runs per query (an IN list of row ids) on the indexed shape
_CHUNK = 1000
#: the scan shape is used when len(runs) * SCAN_SHARE >= the store's run count
SCAN_SHARE = 4
#: whether the bulk read uses and writes the runs' packs (:mod:`.history_packs`)
USE_PACKS = True
_COLUMNS = '"run_row", "key", "step", "timestamp", "value", "kind"'


def sqlite_file(url: Any) -> Optional[str]:
    """The database file of a SQLAlchemy SQLite URL, or None (another database, in-memory, URL options)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query:
        return None
    return str(url.database)


def _read_only_uri(path: str) -> str:
    """A read-only SQLite URI of ``path`` for ADBC's own SQLite library in this process.

    A read/write connection of that second library, when it closes, thinks it
    is the file's last user (POSIX locks of one process do not see each
    other) and checkpoints and deletes the WAL under storekit's own
    connections ("disk I/O error" on their next statement).  A read-only one
    never checkpoints.
    """
    import os
    from urllib.parse import quote

    return f"file:{quote(os.path.abspath(path))}?mode=ro"


def _fetch(cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    if params:
        cur.execute(sql, tuple(params))
    else:
        cur.execute(sql)
    return cur.fetch_arrow_table()


def _read_rows(path: str, row_ids: list[int], wanted: Optional[list[str]], scan: Optional[bool]) -> Any:
    """The raw ``metrics`` rows of ``row_ids`` (sorted) through ADBC, in one of the two query shapes."""
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    with adbc.connect(_read_only_uri(path)) as conn:
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
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _table_of_rows(raw: Any, by_row: list[tuple[int, str]], wanted: Optional[list[str]]) -> Any:
    """The ordered bulk history table of raw ``metrics`` rows, runs ``by_row`` (row id, run id) only."""
    import numpy as np
    import pyarrow.compute as pc

    from ...history_table import empty_history_table, history_table

    if raw.num_rows == 0:
        return empty_history_table()
    row_ids = [row for row, _ in by_row]
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


#: bytes of the file the packs' connection maps: a pack spans overflow pages, read by memory copy, not pread
_PACK_MMAP_BYTES = 1 << 30


def _pack_connection(path: str) -> Any:
    import sqlite3

    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute(f"PRAGMA mmap_size = {_PACK_MMAP_BYTES}")
    return conn


def _with_packs(path: str, by_row: list[tuple[int, str]], wanted: Optional[list[str]], scan: Optional[bool]) -> Any:
    """The bulk history table from the runs' current packs, reading (and packing) only the other runs.

    The ``sqlite3`` connection of the packs is closed while ADBC (another
    SQLite library in this process) reads: one library closing the file
    drops the other's POSIX locks on it.
    """
    from ...history_table import RunPoints, assemble_runs, split_by_run
    from .history_packs import decode_pack, encode_pack, read_pack_state, write_packs

    with closing(_pack_connection(path)) as conn:
        state = read_pack_state(conn, [row for row, _ in by_row])
    parts: dict[int, RunPoints] = {}
    for row, data in state.packs.items():
        decoded = decode_pack(data)
        if decoded is not None:
            parts[row] = decoded
    missing = [(row, run) for row, run in by_row if row not in parts]
    fresh: dict[int, tuple[bytes, int]] = {}
    if missing:  # every key of these runs: a pack holds the whole history
        whole = _table_of_rows(_read_rows(path, [row for row, _ in missing], None, scan), missing, None)
        for (row, _), (piece, part) in zip(missing, split_by_run(whole, len(missing))):
            parts[row] = part
            fresh[row] = (encode_pack(piece), piece.num_rows)
    with closing(_pack_connection(path)) as conn:
        write_packs(conn, state, fresh)
    present = sorted({name for part in parts.values() for name in part[0]})
    names = present if wanted is None else sorted(set(present).intersection(wanted))
    return assemble_runs([run for _, run in by_row], [parts[row] for row, _ in by_row], names)


def sqlite_histories_arrow(
    path: str,
    run_ids: Sequence[str],
    keys: Optional[Sequence[str]],
    row_ids_of: Callable[[list[str]], dict[str, int]],
    scan: Optional[bool] = None,
    packs: Optional[bool] = None,
) -> Optional[Any]:
    """The bulk history table of ``run_ids`` (and ``keys``) as a ``pyarrow.Table``, or None without ADBC.

    ``row_ids_of(chunk)`` maps run ids to ``runs.row_id`` (raising RunNotFound).
    ``scan`` forces the query shape (None: by :data:`SCAN_SHARE`); ``packs``
    whether runs' packs are used and written (None: :data:`USE_PACKS`).
    """
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401  (checked here: None without it)
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    from ...history_table import empty_history_table

    runs, wanted = validate_history_request(run_ids, keys)
    found: dict[str, int] = {}
    for start in range(0, len(runs), _CHUNK):
        found.update(row_ids_of(runs[start : start + _CHUNK]))
    if not found or wanted == []:
        return empty_history_table()
    by_row = sorted((row, run) for run, row in found.items())
    if USE_PACKS if packs is None else packs:
        return _with_packs(path, by_row, wanted, scan)
    return _table_of_rows(_read_rows(path, [row for row, _ in by_row], wanted, scan), by_row, wanted)
