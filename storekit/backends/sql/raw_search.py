"""The storekit.search expression tree as SQLite SQL text, for the raw :mod:`sqlite3` path.

The SQLAlchemy compiler (:mod:`.search_sql`) serves every database; this one
emits the same SQL for SQLite as plain text with ``?`` parameters, so that a
search on an up-to-date SQLite store needs no SQLAlchemy (see :mod:`.raw`).
What a filter means and how rows sort is decided once, in :mod:`.search_plan`
(two-valued logic, keyed values as semi-joins, metric values in the (value,
kind) encoding, missing values last, keyset paging over non-null sort
columns, the page tokens); this module and :mod:`.search_sql` only spell it,
and the conformance suite runs against both.  Page tokens are read and written
by the same functions, so a token from one path is valid on the other.
"""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from ...search.ast import Expr, Kind, Op, OrderKey
from ...validation import validate_max_results
from .basics import like_to_glob
from .metrics import KIND_FINITE, KIND_NAN
from .search_plan import (
    AttributeTest,
    Bound,
    DatasetTest,
    KeyedTest,
    MetricMatch,
    TextMatch,
    keyset_steps,
    next_page_token,
    plan_filter,
    plan_order,
    read_page_token,
)

__all__ = ["RawKeyed", "RawSpec", "Sql", "compile_filter", "paged_rows", "in_list"]

_SQL_OP = {Op.EQ: "=", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}

#: SQL text and its parameters
Sql = tuple[str, list[Any]]


@dataclass(frozen=True)
class RawKeyed:
    """A key/value child table: ``parent`` (outer SQL) is ``table.child`` of its rows.

    ``semi_join``: filters compile to ``parent IN (SELECT child ...)`` (runs),
    otherwise to a correlated ``EXISTS`` (experiments), as in :mod:`.search_sql`.
    """

    table: str
    parent: str
    child: str
    numeric: bool = False
    semi_join: bool = True


@dataclass(frozen=True)
class RawSpec:
    """How an entity's search identifiers map to SQLite SQL (the text twin of ``EntitySpec``)."""

    #: attribute name -> (SQL expression, Python kind of its values)
    attributes: Mapping[str, tuple[str, type]]
    keyed: Mapping[Kind, RawKeyed]
    #: unique, non-null (SQL, kind) columns appended ascending to every order
    unique: tuple[tuple[str, type], ...]
    not_null: frozenset[str] = frozenset()
    unique_attribute: Optional[str] = None
    #: ``datasets.<key>`` -> (FROM ... WHERE correlation SQL, value column), runs only
    dataset_exists: Optional[Callable[[str, str], tuple[str, str]]] = None
    aliases: Any = field(default_factory=itertools.count)


def in_list(column: str, values: Sequence[Any]) -> Sql:
    """``column IN (?, ...)``; false for no values."""
    if not values:
        return "0", []
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def _bound(column: str, bound: Bound) -> Sql:
    if bound.constant is not None:
        return ("1" if bound.constant else "0"), []
    return f"{column} {_SQL_OP[bound.op]} ?", [bound.value]


def _metric(alias: str, match: MetricMatch, key: str) -> Sql:
    cond, params = _bound(f"{alias}.value", match.finite)
    parts = [f"({alias}.key = ? AND {alias}.kind = {KIND_FINITE} AND {cond})"]
    args: list[Any] = [key, *params]
    for kind in match.kinds:
        parts.append(f"({alias}.key = ? AND {alias}.kind = {kind})")
        args.append(key)
    return "(" + " OR ".join(parts) + ")", args


def _text(column: str, match: TextMatch) -> Sql:
    op, value = match.op, match.value
    if op is Op.EQ:
        return f"{column} = ?", [value]
    if op is Op.NE:
        return f"{column} != ?", [value]
    if op is Op.LIKE:
        return f"{column} GLOB ?", [like_to_glob(value)]
    if op is Op.ILIKE:
        return f"lower({column}) GLOB ?", [like_to_glob(value.lower())]
    if op is Op.IN:
        return in_list(column, value)
    sql, params = in_list(column, value)  # NOT IN
    return (f"NOT ({sql})" if params else "1"), params


def _match(column: str, match: Union[Bound, TextMatch]) -> Sql:
    return _bound(column, match) if isinstance(match, Bound) else _text(column, match)


class _Emitter:
    """Spells :mod:`.search_plan`'s filter plans as SQLite text with ``?`` parameters."""

    def __init__(self, spec: RawSpec) -> None:
        self.spec = spec

    def constant(self, value: bool) -> Sql:
        return ("1" if value else "0"), []

    def all_of(self, parts: Sequence[Sql]) -> Sql:
        return "(" + " AND ".join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]

    def any_of(self, parts: Sequence[Sql]) -> Sql:
        return "(" + " OR ".join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]

    def negate(self, part: Sql) -> Sql:
        return f"NOT ({part[0]})", part[1]

    def attribute(self, test: AttributeTest) -> Sql:
        column = self.spec.attributes[test.key][0]
        if test.match is None:
            return f"{column} {'IS NULL' if test.null else 'IS NOT NULL'}", []
        sql, params = _match(column, test.match)
        return (f"({column} IS NOT NULL AND {sql})" if test.guard else sql), params

    def keyed(self, test: KeyedTest) -> Sql:
        kt = self.spec.keyed[test.kind]
        t = f"k{next(self.spec.aliases)}"
        conds, params = [f"{t}.key = ?"], [test.key]
        if test.match is not None:
            sql, more = (
                _metric(t, test.match, test.key)
                if isinstance(test.match, MetricMatch)
                else _text(f"{t}.value", test.match)
            )
            conds.append(sql)
            params += more
        where = " AND ".join(conds)
        if kt.semi_join:
            has = f"{kt.parent} IN (SELECT {t}.{kt.child} FROM {kt.table} {t} WHERE {where})"
        else:
            has = f"EXISTS (SELECT 1 FROM {kt.table} {t} WHERE {t}.{kt.child} = {kt.parent} AND {where})"
        return (has if test.present else f"NOT {has}"), params

    def dataset(self, test: DatasetTest) -> Sql:
        assert self.spec.dataset_exists is not None  # the planner refuses datasets identifiers otherwise
        body, column = self.spec.dataset_exists(test.key, f"d{next(self.spec.aliases)}")
        if test.match is None:
            return f"{'' if test.present else 'NOT '}EXISTS (SELECT 1 {body})", []
        sql, params = _match(column, test.match)
        return f"EXISTS (SELECT 1 {body} AND {sql})", params


def compile_filter(expr: Optional[Expr], spec: RawSpec) -> Sql:
    """The SQL condition of a parsed filter (``1`` for None)."""
    return plan_filter(expr, spec, _Emitter(spec))


def _flag(cond: str) -> str:
    return f"CASE WHEN {cond} THEN 1 ELSE 0 END"


def _order(keys: Sequence[OrderKey], spec: RawSpec) -> tuple[Sql, list[tuple[str, type, bool]]]:
    """Outer joins (with their parameters) and the (SQL, kind, ascending) sort columns."""
    plan = plan_order(keys, spec, len(spec.unique))
    joins: list[str] = []
    params: list[Any] = []
    aliases: list[str] = []
    for ident_kind, key in plan.joins:
        kt = spec.keyed[ident_kind]
        t = f"o{next(spec.aliases)}"
        aliases.append(t)
        joins.append(f"LEFT OUTER JOIN {kt.table} {t} ON {t}.{kt.child} = {kt.parent} AND {t}.key = ?")
        params.append(key)
    cols: list[tuple[str, type, bool]] = []
    for term in plan.terms:
        what = term.what
        if what == "unique":
            column, kind = spec.unique[term.join]
            cols.append((column, kind, term.ascending))
        elif what in ("column", "attribute_missing", "attribute_value"):
            column, kind = spec.attributes[str(term.key)]
            if what == "column":
                cols.append((column, kind, term.ascending))
            elif what == "attribute_missing":
                cols.append((_flag(f"{column} IS NULL"), int, True))
            else:
                cols.append((f"coalesce({column}, {_literal(term.zero)})", kind, term.ascending))
        else:
            t = aliases[term.join]
            if what == "keyed_missing":
                sql = _flag(f"{t}.key IS NULL")
            elif what == "keyed_nan":
                sql = _flag(f"{t}.kind = {KIND_NAN}")
            else:  # keyed_kind, keyed_value
                sql = f"coalesce({t}.{'kind' if what == 'keyed_kind' else 'value'}, {_literal(term.zero)})"
            assert term.kind is not None
            cols.append((sql, term.kind, term.ascending))
    return (" ".join(joins), params), cols


def _literal(value: Any) -> str:
    """A constant of a sort term as SQLite text (``0``, ``0.0``, ``''``)."""
    return "''" if value == "" else repr(value)


def _after(cols: Sequence[tuple[str, type, bool]], values: Sequence[Any]) -> Sql:
    """Rows strictly after ``values`` in the order of ``cols``."""
    ors, params = [], []
    for i, greater in keyset_steps([asc for _c, _k, asc in cols]):
        eqs = [f"{c} = ?" for c, _k, _a in cols[:i]]
        ors.append("(" + " AND ".join([*eqs, f"{cols[i][0]} {'>' if greater else '<'} ?"]) + ")")
        params += [*values[:i], values[i]]
    return "(" + " OR ".join(ors) + ")", params


def paged_rows(
    cur: sqlite3.Cursor,
    *,
    columns: Sequence[str],
    base: str,
    where: Sql,
    expr: Optional[Expr],
    keys: Sequence[OrderKey],
    spec: RawSpec,
    max_results: Optional[int],
    page_token: Optional[str],
    query: str,
    bound_column: str,
    bound_table: str,
    key: bytes,
) -> tuple[list[tuple[Any, ...]], Optional[str]]:
    """Rows (``columns`` first, then the sort values) of one page and the next page's token."""
    limit = validate_max_results(max_results)
    spec = dataclasses.replace(spec, aliases=itertools.count())
    (joins, join_params), sort = _order(keys, spec)
    conds = [where, compile_filter(expr, spec)]
    bound = None
    if page_token:
        values, bound = read_page_token(page_token, query, key, [k for _c, k, _a in sort])
        conds.append(_after(sort, values))
    else:
        bound = cur.execute(f"SELECT max({bound_column.split('.')[-1]}) FROM {bound_table}").fetchone()[0]
    if bound is not None:
        conds.append((f"{bound_column} <= ?", [bound]))
    width = len(columns)
    order = ", ".join(f"{width + i + 1} {'ASC' if asc else 'DESC'}" for i, (_c, _k, asc) in enumerate(sort))
    sql = (
        f"SELECT {', '.join([*columns, *(c for c, _k, _a in sort)])} FROM {base} {joins} "
        f"WHERE {' AND '.join(c for c, _p in conds)} ORDER BY {order} LIMIT {limit + 1}"
    )
    rows = cur.execute(sql, [*join_params, *(v for _c, p in conds for v in p)]).fetchall()
    token = None
    if len(rows) > limit:
        rows = rows[:limit]
        token = next_page_token(rows[-1][width:], bound, query, key)
    return rows, token
