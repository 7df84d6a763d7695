"""Secondary indexes of the metric tables deferred during a bulk load (``storekit migrate`` into a new store).

Loading a million points into ``metrics`` costs PostgreSQL about three times
as much with the history index in place as without it; building the index
once, after the load, costs a fraction of that.  So when a transfer starts
and the destination's ``metrics`` and ``latest_metrics`` are both empty, the
import hook drops their non-unique secondary indexes (the primary keys stay)
and builds them again at the end of the transfer:

* :func:`defer_indexes` drops them — only on PostgreSQL (where it pays; see
  ``_DIALECTS``), only when both tables are empty (a store holding points keeps its
  indexes), in one transaction;
* :func:`build_missing_indexes` creates every deferrable index that is
  missing (``CREATE INDEX IF NOT EXISTS``), one transaction per index; it is
  called at the end of every transfer into a SQL store, so a transfer killed
  during the load or during the build leaves the index to the next attempt,
  which builds it before it finishes;
* :func:`missing_indexes` names the deferrable indexes a store lacks (what
  ``storekit check`` reports).

The index definitions come from :mod:`.schema` (one place).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as s
from .engine import Database

__all__ = ["DEFERRABLE_INDEXES", "defer_indexes", "build_missing_indexes", "missing_indexes", "missing_on"]

#: The secondary indexes a bulk load may defer: the non-unique ones of ``metrics`` and ``latest_metrics``.
DEFERRABLE_INDEXES: tuple[sa.Index, ...] = tuple(
    ix
    for table in (s.metrics, s.latest_metrics)
    for ix in sorted(table.indexes, key=lambda i: str(i.name))
    if not ix.unique
)
#: Dialects whose load gains from deferring.  Measured (M1, 1,000,000 points, alternating rounds):
#: PostgreSQL's copy took about half the time; MariaDB's did not gain (its index build took the saving
#: back), and SQLite's ``executemany`` path is CPU-bound in the client.
_DIALECTS = frozenset({"postgresql"})
#: PostgreSQL: memory for sorting one index build (the session's own; the server default is 64MB).
_PG_BUILD_MEMORY = "256MB"


def _present(conn: Connection) -> set[str]:
    inspector = sa.inspect(conn)
    names: set[str] = set()
    for table in {ix.table.name for ix in DEFERRABLE_INDEXES if ix.table is not None}:
        names.update(str(found["name"]) for found in inspector.get_indexes(table))
    return names


def missing_on(conn: Connection) -> list[str]:
    """Names of the deferrable indexes the database of ``conn`` lacks (empty on a healthy store)."""
    present = _present(conn)
    return [str(ix.name) for ix in DEFERRABLE_INDEXES if ix.name not in present]


def missing_indexes(db: Database) -> list[str]:
    """Names of the deferrable indexes the store lacks (empty on a healthy store)."""
    return db.run(missing_on, write=False)


def defer_indexes(db: Database) -> list[str]:
    """Drop the deferrable indexes when ``metrics`` and ``latest_metrics`` are empty; return the names dropped.

    Returns ``[]`` (and drops nothing) on SQLite or when either table holds a row.
    """
    if db.engine.dialect.name not in _DIALECTS:
        return []

    def txn(conn: Connection) -> list[str]:
        for table in (s.metrics, s.latest_metrics):
            if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
                return []
        present = _present(conn)
        dropped = []
        for ix in DEFERRABLE_INDEXES:
            if ix.name in present:
                conn.execute(sa.schema.DropIndex(ix, if_exists=True))
                dropped.append(str(ix.name))
        return dropped

    return db.run(txn)


def build_missing_indexes(db: Database) -> list[str]:
    """Create every deferrable index the store lacks (each in its own transaction); return the names built."""
    built = []
    for name in missing_indexes(db):
        ix = next(i for i in DEFERRABLE_INDEXES if i.name == name)

        def txn(conn: Connection, ix: sa.Index = ix) -> None:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{_PG_BUILD_MEMORY}'")
            conn.execute(sa.schema.CreateIndex(ix, if_not_exists=True))

        db.run(txn)
        built.append(name)
    return built
