"""The write hot path of ``log_batch``: prebuilt SQL per dialect on the DBAPI cursor.

``log_batch`` and ``log_metric`` are called millions of times, so they skip
SQLAlchemy's statement construction and compilation: the SQL strings are
built once per dialect (:func:`statements_for`) and run on the driver's
cursor inside the transaction :meth:`Database.run` opened.

* Metric points go in with one ``executemany`` (SQLite; PyMySQL rewrites it
  into multi-row INSERTs) or one ``COPY`` (PostgreSQL).
* The latest value per key is computed in Python for the whole batch and
  written with one upsert; on SQLite and PostgreSQL its ``WHERE`` keeps a
  later stored point, on MySQL/MariaDB the stored values are read first
  (the run row is locked, so nobody changes them meanwhile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from ...entities import Metric
from ...rules import new_params
from .metrics import KIND_FINITE, TUPLE_COLUMNS, latest_tuples, metric_tuple

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = [
    "Insert",
    "WriteStatements",
    "statements_for",
    "sqlite_statements",
    "metric_rows",
    "lock_run",
    "write_params",
    "write_tags",
    "write_metrics",
    "copy_text",
    "advance_latest",
]

#: fields of a :data:`TUPLE_COLUMNS` row, and its metric order (step, timestamp, kind, value)
_VALUE, _TIMESTAMP, _STEP, _MODEL_ID = itemgetter(2), itemgetter(4), itemgetter(5), itemgetter(6)
_ORDER = itemgetter(5, 4, 3, 2)
_LATEST_UPDATE = ("value", "kind", "timestamp", "step", "model_id")


@dataclass(frozen=True)
class Insert:
    """An INSERT split so that it can carry one row (``executemany``) or many (multi-row VALUES)."""

    head: str
    row: str
    suffix: str = ""

    @property
    def one(self) -> str:
        """The statement for one row of parameters."""
        return self.head + self.row + self.suffix

    def many(self, count: int) -> str:
        """The statement for ``count`` rows of parameters in one VALUES list."""
        return self.head + ", ".join([self.row] * count) + self.suffix


@dataclass(frozen=True)
class WriteStatements:
    """The SQL of the write hot path for one dialect (``mark`` is the driver's placeholder).

    ``multirow``: send several rows as one multi-row statement (PostgreSQL,
    where a round trip costs more than parsing); otherwise ``executemany``
    (in-process SQLite; PyMySQL rewrites it into multi-row INSERTs itself).
    """

    dialect: str
    mark: str
    multirow: bool
    lock_run: str
    select_params: str
    insert_params: Insert
    upsert_tags: Insert
    insert_metrics: Insert
    copy_metrics: Optional[str]
    select_latest: str
    upsert_latest: Insert

    def in_list(self, sql: str, count: int) -> str:
        """``sql`` ending in ``IN`` completed with ``count`` placeholders."""
        return f"{sql} ({', '.join([self.mark] * count)})"

    def insert(self, cur: Any, statement: Insert, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``statement`` for every row, in one round trip."""
        if self.multirow and len(rows) > 1:
            cur.execute(statement.many(len(rows)), list(chain.from_iterable(rows)))
        else:
            cur.executemany(statement.one, rows)


def _upsert_suffix(
    dialect: str, q: Any, table: str, pk: Sequence[str], columns: Sequence[str], guard: bool = False
) -> str:
    if dialect == "mysql":
        return " ON DUPLICATE KEY UPDATE " + ", ".join(f"{q(c)} = VALUES({q(c)})" for c in columns)
    sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns)
    sql = f" ON CONFLICT ({', '.join(q(c) for c in pk)}) DO UPDATE SET {sets}"
    if guard:  # keep the stored point when it is later: (step, timestamp, kind, value)
        order = ("step", "timestamp", "kind", "value")
        sql += (
            f" WHERE ({', '.join('excluded.' + q(c) for c in order)}) > ({', '.join(f'{table}.{q(c)}' for c in order)})"
        )
    return sql


def _build(dialect: str, mark: str, quote: Any) -> WriteStatements:
    q = quote
    lock = " FOR UPDATE" if dialect != "sqlite" else ""  # SQLite: BEGIN IMMEDIATE locks the database

    def insert(table: str, columns: Sequence[str], suffix: str = "") -> Insert:
        return Insert(
            f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES ",
            f"({', '.join([mark] * len(columns))})",
            suffix,
        )

    kv = ("run_row", "key", "value")
    return WriteStatements(
        dialect=dialect,
        mark=mark,
        multirow=dialect == "postgresql",
        lock_run=(
            "SELECT r.row_id, r.lifecycle_stage, r.experiment_id, (SELECT e.lifecycle_stage FROM experiments e "
            f"WHERE e.experiment_id = r.experiment_id) FROM runs r WHERE r.run_uuid = {mark}{lock}"
        ),
        select_params=f"SELECT {q('key')}, {q('value')} FROM params WHERE run_row = {mark} AND {q('key')} IN",
        insert_params=insert("params", kv),
        upsert_tags=insert("tags", kv, _upsert_suffix(dialect, q, "tags", ("run_row", "key"), ("value",))),
        insert_metrics=insert("metrics", TUPLE_COLUMNS),
        copy_metrics=(
            f"COPY metrics ({', '.join(q(c) for c in TUPLE_COLUMNS)}) FROM STDIN" if dialect == "postgresql" else None
        ),
        select_latest=(
            f"SELECT {q('key')}, step, {q('timestamp')}, kind, {q('value')} FROM latest_metrics "
            f"WHERE run_row = {mark} AND {q('key')} IN"
        ),
        upsert_latest=insert(
            "latest_metrics",
            TUPLE_COLUMNS,
            _upsert_suffix(dialect, q, "latest_metrics", ("run_row", "key"), _LATEST_UPDATE, guard=True),
        ),
    )


_BUILT: dict[tuple[str, str], WriteStatements] = {}


def statements_for(dialect: Dialect) -> WriteStatements:
    """The hot-path statements of a SQLAlchemy dialect (built once per dialect and placeholder)."""
    from .sqlutil import placeholder

    mark = placeholder(dialect)
    key = (dialect.name, mark)
    built = _BUILT.get(key)
    if built is None:
        built = _BUILT[key] = _build(dialect.name, mark, dialect.identifier_preparer.quote)
    return built


def sqlite_statements() -> WriteStatements:
    """The hot-path statements for a raw :mod:`sqlite3` connection (no SQLAlchemy dialect needed)."""
    built = _BUILT.get(("sqlite3", "?"))
    if built is None:
        built = _BUILT["sqlite3", "?"] = _build("sqlite", "?", lambda name: f'"{name}"')
    return built


# --- rows -----------------------------------------------------------------------
def metric_rows(run_row: int, metrics: Sequence[Metric]) -> list[tuple[Any, ...]]:
    """Metric points as :data:`TUPLE_COLUMNS` tuples, NaN/inf encoded (see :mod:`.metrics`)."""
    rows = [(run_row, m.key, m.value, KIND_FINITE, m.timestamp, m.step, m.model_id) for m in metrics]
    values = list(map(_VALUE, rows))
    # plain finite floats and ints (the common case) pass as they are; anything else is converted
    if (
        {*map(type, values)} == {float}
        and math.isfinite(sum(values))
        and {*map(type, map(_TIMESTAMP, rows))} == {int}
        and {*map(type, map(_STEP, rows))} == {int}
    ):
        return rows
    return [metric_tuple(run_row, m) for m in metrics]


def _copy_text(rows: Sequence[tuple[Any, ...]]) -> Optional[str]:
    """Rows in COPY text format, or None when a model id would need escaping.

    Keys are validated to ``[\\w.\\- /:]``, so they never need escaping; values
    are floats, whose ``repr`` round-trips exactly.
    """
    if {*map(_MODEL_ID, rows)} != {None}:
        return None
    return "".join(["%d\t%s\t%r\t%d\t%d\t%d\t\\N\n" % row[:6] for row in rows])


#: the COPY text of metric rows (PostgreSQL; None when a row needs escaping), for other write paths
copy_text = _copy_text


# --- operations -------------------------------------------------------------------
def lock_run(cur: Any, st: WriteStatements, run_id: str) -> Optional[tuple[Any, ...]]:
    """``(row_id, lifecycle_stage, experiment_id, experiment stage)`` of a run, row-locked; None if absent."""
    cur.execute(st.lock_run, (run_id,))
    return cur.fetchone()


def write_params(cur: Any, st: WriteStatements, run_row: int, params: Mapping[str, str]) -> None:
    """Insert new params; re-logging a value is a no-op, a different value raises InvalidParameterError."""
    keys = list(params)
    cur.execute(st.in_list(st.select_params, len(keys)), (run_row, *keys))
    new = [(run_row, k, v) for k, v in new_params(dict(cur.fetchall()), params).items()]
    if new:
        st.insert(cur, st.insert_params, new)


def write_tags(cur: Any, st: WriteStatements, run_row: int, tags: Mapping[str, str]) -> None:
    """Set (or overwrite) tags."""
    st.insert(cur, st.upsert_tags, [(run_row, k, v) for k, v in tags.items()])


def write_metrics(cur: Any, st: WriteStatements, run_row: int, metrics: Sequence[Metric]) -> None:
    """Append metric points to the history and advance the latest value of each key."""
    rows = metric_rows(run_row, metrics)
    text = _copy_text(rows) if st.copy_metrics is not None else None
    if text is not None:
        with cur.copy(st.copy_metrics) as copy:
            copy.write(text)
    else:
        st.insert(cur, st.insert_metrics, rows)
    advance_latest(cur, st, run_row, rows)


def advance_latest(cur: Any, st: WriteStatements, run_row: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """Advance the latest value of each key of the metric ``rows`` just appended (a later stored point stays)."""
    best = latest_tuples(rows)
    winners = list(best.values())
    if st.dialect == "mysql":  # no conditional upsert: compare with the stored points (run row is locked)
        keys = list(best)
        cur.execute(st.in_list(st.select_latest, len(keys)), (run_row, *keys))
        current = {key: (step, ts, kind, value) for key, step, ts, kind, value in cur.fetchall()}
        winners = [r for k, r in best.items() if k not in current or _ORDER(r) > current[k]]
        if not winners:
            return
    st.insert(cur, st.upsert_latest, winners)
