"""Dialect differences in one place: upserts, case-sensitive LIKE, IN-list batching."""

from __future__ import annotations

from typing import Any, Iterator, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from .basics import like_to_glob

__all__ = ["cursor_of", "placeholder", "rows_in", "upsert", "inserted_id", "like", "ilike", "chunks", "IN_CHUNK"]

T = TypeVar("T")

#: IN-list size per query (well under every database's bound-parameter limit)
IN_CHUNK = 900


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholder(dialect: sa.engine.Dialect) -> str:
    """The driver's positional parameter marker (``?`` for sqlite3, ``%s`` for psycopg and PyMySQL)."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def cursor_of(conn: Connection) -> Any:
    """A cursor of the connection's driver connection, inside its current transaction."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


_SELECT_IN: dict[tuple[str, tuple[sa.Column, ...]], str] = {}


def rows_in(
    conn: Connection, columns: Sequence[sa.Column], parent: sa.Column, ids: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Plain tuples of ``columns`` for rows whose ``parent`` is in ``ids``, in IN-list batches.

    Runs prebuilt SQL on the driver's cursor: loading thousands of child rows
    (params, tags, latest metrics of a page of runs) is the bulk of a search,
    and SQLAlchemy's per-row result processing would double its cost.
    """
    dialect = conn.dialect
    head = _SELECT_IN.get((dialect.name, (*columns, parent)))
    if head is None:
        q = dialect.identifier_preparer
        head = (
            f"SELECT {', '.join(q.quote(c.name) for c in columns)} FROM {q.format_table(parent.table)} "
            f"WHERE {q.quote(parent.name)} IN"
        )
        _SELECT_IN[(dialect.name, (*columns, parent))] = head
    mark = placeholder(dialect)
    out: list[tuple[Any, ...]] = []
    cur = cursor_of(conn)
    try:
        for part in chunks(list(ids)):
            cur.execute(f"{head} ({', '.join([mark] * len(part))})", tuple(part))
            out.extend(cur.fetchall())
    finally:
        cur.close()
    return out


def inserted_id(conn: Connection, stmt: sa.Insert) -> Any:
    """Execute the single-row INSERT ``stmt`` and return the primary key it generated."""
    key = conn.execute(stmt).inserted_primary_key
    assert key is not None, "a single-row INSERT always reports its primary key"
    return key[0]


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    update_columns: Sequence[str],
    where: Any = None,
) -> None:
    """Insert ``rows``; on a primary-key conflict overwrite ``update_columns``.

    ``where(existing_table, excluded)`` optionally restricts which conflicting
    rows are overwritten (SQLite and PostgreSQL; on MySQL the caller must
    only pass rows that should win, under a lock).  One statement per call.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        from sqlalchemy.dialects import postgresql, sqlite

        stmt: sqlite.Insert | postgresql.Insert = (
            sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
        )
        pk = [c.name for c in table.primary_key.columns]
        stmt = stmt.on_conflict_do_update(
            index_elements=pk,
            set_={c: stmt.excluded[c] for c in update_columns},
            where=where(table, stmt.excluded) if where is not None else None,
        )
        conn.execute(stmt, rows)
    else:
        from sqlalchemy.dialects import mysql

        mysql_stmt = mysql.insert(table)
        conn.execute(mysql_stmt.on_duplicate_key_update({c: mysql_stmt.inserted[c] for c in update_columns}), rows)


def _escaped(pattern: str, dialect: str) -> tuple[str, str]:
    """Pattern and ESCAPE character making every character but ``%``/``_`` literal.

    MySQL/MariaDB treat backslash as an escape even with ``ESCAPE ''``, so
    there ``|`` becomes the escape character and a literal ``|`` is doubled.
    """
    if dialect == "mysql":
        return pattern.replace("|", "||"), "|"
    return pattern, ""


def like(column: ColumnElement[Any], pattern: str, dialect: str) -> ColumnElement[bool]:
    """Case-sensitive ``LIKE`` with ``%`` and ``_`` as the only wildcards (backslash literal)."""
    if dialect == "sqlite":  # SQLite's LIKE ignores case; GLOB does not
        return column.op("GLOB")(sa.literal(like_to_glob(pattern)))
    pattern, escape = _escaped(pattern, dialect)
    return column.like(pattern, escape=escape)


def ilike(column: ColumnElement[Any], pattern: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive ``LIKE``: ``lower(x) LIKE lower(p)`` on every database."""
    lowered = sa.func.lower(column)
    if dialect == "sqlite":
        return lowered.op("GLOB")(sa.literal(like_to_glob(pattern.lower())))
    pattern, escape = _escaped(pattern, dialect)
    return lowered.like(sa.func.lower(sa.literal(pattern)), escape=escape)
