"""Packed metric histories on SQLite: one Arrow blob per run, never served stale.

Reading 10 M points row by row costs seconds even in C (ADBC's per-value
fetch); reading them back as one contiguous blob per run costs a memory
copy.  The bulk history read (:mod:`.arrow_histories`) therefore keeps, in
the ``metric_history_packs`` table (revision 0010), each run's whole history
as an Arrow IPC stream -- columns ``key`` (dictionary-encoded), ``step``,
``timestamp``, ``value`` in the contract's order (key, then ``(step,
timestamp)``, then logging order) -- written lazily by the bulk read itself.

A pack is used only while it is provably complete:

* ``through_id``: the highest ``metrics.id`` of the whole table *before* the
  rows it packs were read.  Rows are only ever appended (SQLite gives a new
  row ``max(id) + 1``), so every row of the run with ``id <= through_id`` is
  in the pack; the pack is stale as soon as the run has a row with a larger
  id (one range query on the row id, in the same read transaction as the
  packs themselves).
* ``generation``: the store's pack generation (:data:`GENERATION_SETTING` in
  ``storekit_settings``) when the rows were read.  Anything that *deletes*
  metric rows (``storekit gc``, re-importing a run) calls
  :func:`invalidate_packs` in its own transaction, which removes those runs'
  packs and bumps the generation, so no pack read before it is ever used
  again -- also when freed row ids are handed out again.

A pack is written in one transaction (never half-visible), only when the
write lock is free within :data:`WRITE_WAIT_SECONDS` (a bulk read never
waits on a busy writer), and skipped on a read-only file.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Optional, Sequence

__all__ = [
    "GENERATION_SETTING",
    "WRITE_WAIT_SECONDS",
    "MAX_PACK_BYTES",
    "BUMP_GAP",
    "PackState",
    "read_pack_state",
    "decode_pack",
    "encode_pack",
    "write_packs",
    "invalidate_packs",
]

#: ``storekit_settings.name`` of the pack generation (absent: 0)
GENERATION_SETTING = "history_pack_generation"
#: the longest a bulk read waits for the write lock before it skips writing packs
WRITE_WAIT_SECONDS = 0.5
#: a run whose pack would be larger than this is never packed (SQLite's blob limit is 1 GB)
MAX_PACK_BYTES = 256 << 20
#: a current pack's ``through_id`` is moved up once it lags this many metric rows behind (bounds the check)
BUMP_GAP = 100_000
#: run row ids per ``IN`` list
_CHUNK = 1000
_TABLE = "metric_history_packs"


class PackState:
    """What one read transaction saw: the watermark, the generation and the usable packs' bytes."""

    def __init__(self, watermark: int, generation: int, packs: dict[int, bytes], through: dict[int, int]) -> None:
        #: ``max(metrics.id)`` when the state was read (0: no metric rows)
        self.watermark = watermark
        #: the store's pack generation when the state was read
        self.generation = generation
        #: run row id -> pack bytes, for every asked-for run whose pack is current
        self.packs = packs
        #: run row id -> the ``through_id`` of its current pack
        self.through = through


def _generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM storekit_settings WHERE name = ?", (GENERATION_SETTING,)).fetchone()
    return 0 if row is None else int(row[0])


def read_pack_state(conn: sqlite3.Connection, row_ids: Sequence[int]) -> PackState:
    """The current packs of ``row_ids``, read in one transaction on ``conn`` (a ``sqlite3`` connection).

    A pack of another generation, or of a run with a metric row above its
    ``through_id``, is left out (to be rebuilt).
    """
    conn.execute("BEGIN")
    try:
        highest = conn.execute('SELECT max("id") FROM "metrics"').fetchone()[0]  # a plain max: one index probe
        watermark = 0 if highest is None else int(highest)
        generation = _generation(conn)
        found: dict[int, tuple[int, bytes]] = {}
        for start in range(0, len(row_ids), _CHUNK):
            chunk = [int(r) for r in row_ids[start : start + _CHUNK]]
            sql = (
                f'SELECT "run_row", "through_id", "data" FROM "{_TABLE}" '
                f'WHERE "generation" = ? AND "run_row" IN ({", ".join("?" * len(chunk))})'
            )
            for row, through, data in conn.execute(sql, (generation, *chunk)):
                found[int(row)] = (int(through), data)
        if found:
            low = min(through for through, _ in found.values())
            # a row-id range (NOT INDEXED: else SQLite walks the whole covering index for the GROUP BY)
            newer = conn.execute(
                'SELECT "run_row", max("id") FROM "metrics" NOT INDEXED WHERE "id" > ? GROUP BY "run_row"', (low,)
            )
            for row, highest in newer:
                if row in found and int(highest) > found[row][0]:
                    del found[row]
    finally:
        conn.execute("COMMIT")
    packs = {row: data for row, (_, data) in found.items()}
    return PackState(watermark, generation, packs, {row: through for row, (through, _) in found.items()})


def encode_pack(table: Any) -> bytes:
    """One run's history (``key``, ``step``, ``timestamp``, ``value``, in the contract's order) as pack bytes."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    part = table.select(["key", "step", "timestamp", "value"])
    with pa.ipc.new_stream(sink, part.schema) as writer:
        writer.write_table(part)
    return bytes(sink.getvalue())


def decode_pack(data: bytes) -> Optional[Any]:
    """The :data:`~storekit.history_table.RunPoints` of pack bytes (numpy arrays); None if unreadable."""
    import pyarrow as pa

    from ...history_table import run_points

    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowException, ValueError):
        return None
    if table.schema.names != ["key", "step", "timestamp", "value"]:
        return None
    return run_points(table)


def write_packs(conn: sqlite3.Connection, state: PackState, packs: dict[int, tuple[bytes, int]]) -> bool:
    """Store ``packs`` (run row id -> (pack bytes, points), read after ``state``) in one transaction.

    Returns False when nothing was written.

    Each pack gets ``state``'s watermark and generation.  Current packs
    of ``state`` whose ``through_id`` lags :data:`BUMP_GAP` rows behind the
    watermark are moved up to it (they held every row of their run up to it),
    which keeps the staleness check a short range read.  Skipped, writing
    nothing, when the write lock stays busy or the file is read-only.
    """
    packs = {row: pack for row, pack in packs.items() if len(pack[0]) <= MAX_PACK_BYTES}
    lag = BUMP_GAP if not packs else 1  # while writing anyway, move every lagging pack up
    behind = [(row, through) for row, through in state.through.items() if state.watermark - through >= lag]
    if not packs and not behind:
        return False
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(WRITE_WAIT_SECONDS * 1000)}")
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        return False
    try:
        conn.executemany(
            f'INSERT OR REPLACE INTO "{_TABLE}" ("run_row", "generation", "through_id", "points", "data") '
            'SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM "runs" WHERE "row_id" = ?)',
            [(row, state.generation, state.watermark, points, data, row) for row, (data, points) in packs.items()],
        )
        conn.executemany(
            f'UPDATE "{_TABLE}" SET "through_id" = ? WHERE "run_row" = ? AND "through_id" = ? AND "generation" = ?',
            [(state.watermark, row, through, state.generation) for row, through in behind],
        )
        conn.execute("COMMIT")
    except sqlite3.Error:
        conn.execute("ROLLBACK")
        return False
    return True


def invalidate_packs(conn: Any, run_rows: Sequence[int]) -> None:
    """Before metric rows of ``run_rows`` are deleted: drop their packs and retire every other pack.

    ``conn`` is a SQLAlchemy connection inside the deleting transaction.
    Bumping the generation makes every pack read before this transaction
    unusable, including one a concurrent bulk read is about to write.
    """
    import sqlalchemy as sa

    from . import schema as s
    from .sqlutil import upsert

    packs, settings = s.metric_history_packs, s.settings
    rows = [int(r) for r in run_rows]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(sa.delete(packs).where(packs.c.run_row.in_(rows[start : start + _CHUNK])))
    current = conn.execute(sa.select(settings.c.value).where(settings.c.name == GENERATION_SETTING)).scalar()
    upsert(conn, settings, [{"name": GENERATION_SETTING, "value": str(int(current or 0) + 1)}], ["value"])
