"""The storekit.search expression tree as SQLite SQL text, for the raw :mod:`sqlite3` path.

The SQLAlchemy compiler (:mod:`.search_sql`) serves every database; this one
emits the same SQL for SQLite as plain text with ``?`` parameters, so that a
search on an up-to-date SQLite store needs no SQLAlchemy (see :mod:`.raw`).
It follows :mod:`.search_sql` clause for clause — two-valued logic, keyed
values as semi-joins, metric values in the (value, kind) encoding, missing
values last, keyset paging over non-null sort columns — and the conformance
suite runs against both.  Page tokens carry the same values, so a token from
one path is valid on the other.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import operator
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from ...errors import InvalidParameterError
from ...paging import decode_page_token, encode_page_token, token_int, token_scalars
from ...search.ast import And, Comparison, Expr, Identifier, Kind, Not, Op, Or, OrderKey, ValueType
from ...validation import validate_max_results
from .basics import like_to_glob
from .metrics import KIND_FINITE, KIND_NAN, KIND_NEG_INF, KIND_POS_INF

__all__ = ["RawKeyed", "RawSpec", "Sql", "compile_filter", "paged_rows", "in_list"]

_NUMERIC: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}
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


def _number(column: str, op: Op, value: Any) -> Sql:
    value = float(value)
    if not math.isfinite(value):  # a finite x compares to NaN/inf the same way for every x
        return ("1" if _NUMERIC[op](0.0, value) else "0"), []
    return f"{column} {_SQL_OP[op]} ?", [value]


def _metric(alias: str, op: Op, value: Any, key: str) -> Sql:
    fn = _NUMERIC[op]
    value = float(value)
    cond, params = _number(f"{alias}.value", op, value)
    parts = [f"({alias}.key = ? AND {alias}.kind = {KIND_FINITE} AND {cond})"]
    args: list[Any] = [key, *params]
    for kind, special in ((KIND_NEG_INF, -math.inf), (KIND_POS_INF, math.inf), (KIND_NAN, math.nan)):
        if fn(special, value):
            parts.append(f"({alias}.key = ? AND {alias}.kind = {kind})")
            args.append(key)
    return "(" + " OR ".join(parts) + ")", args


def _string(column: str, op: Op, value: Any) -> Sql:
    if op is Op.EQ:
        return f"{column} = ?", [value]
    if op is Op.NE:
        return f"{column} != ?", [value]
    if op is Op.LIKE:
        return f"{column} GLOB ?", [like_to_glob(value)]
    if op is Op.ILIKE:
        return f"lower({column}) GLOB ?", [like_to_glob(value.lower())]
    if op is Op.IN:
        return in_list(column, list(value))
    if op is Op.NOT_IN:
        sql, params = in_list(column, list(value))
        return (f"NOT ({sql})" if params else "1"), params
    raise InvalidParameterError(f"comparator {op.value} is not valid for strings")


def _value(column: str, ident: Identifier, op: Op, value: Any) -> Sql:
    if ident.type is ValueType.NUMBER:
        if op not in _NUMERIC:
            raise InvalidParameterError(f"comparator {op.value} is not valid for {ident}")
        return _number(column, op, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _string(column, op, value)


def _keyed(spec: RawSpec, comp: Comparison) -> Sql:
    kt = spec.keyed.get(comp.ident.kind)
    if kt is None:
        raise InvalidParameterError(f"{comp.ident.kind.value} identifiers are not searchable here")
    t = f"k{next(spec.aliases)}"
    conds, params = [f"{t}.key = ?"], [comp.ident.key]
    if comp.op in (Op.IS_NULL, Op.IS_NOT_NULL):
        pass
    elif kt.numeric:
        if comp.op not in _NUMERIC:
            raise InvalidParameterError(f"comparator {comp.op.value} is not valid for {comp.ident}")
        sql, more = _metric(t, comp.op, comp.value, comp.ident.key)
        conds.append(sql)
        params += more
    else:
        ident = Identifier(comp.ident.kind, comp.ident.key, ValueType.STRING)
        sql, more = _value(f"{t}.value", ident, comp.op, comp.value)
        conds.append(sql)
        params += more
    where = " AND ".join(conds)
    if kt.semi_join:
        has = f"{kt.parent} IN (SELECT {t}.{kt.child} FROM {kt.table} {t} WHERE {where})"
    else:
        has = f"EXISTS (SELECT 1 FROM {kt.table} {t} WHERE {t}.{kt.child} = {kt.parent} AND {where})"
    return (f"NOT {has}" if comp.op is Op.IS_NULL else has), params


def _attribute(spec: RawSpec, comp: Comparison) -> Sql:
    found = spec.attributes.get(comp.ident.key)
    if found is None:
        raise InvalidParameterError(f"unknown attribute {comp.ident.key!r}")
    column = found[0]
    if comp.op is Op.IS_NULL:
        return f"{column} IS NULL", []
    if comp.op is Op.IS_NOT_NULL:
        return f"{column} IS NOT NULL", []
    sql, params = _value(column, comp.ident, comp.op, comp.value)
    if comp.ident.key in spec.not_null:
        return sql, params
    return f"({column} IS NOT NULL AND {sql})", params


def _dataset(spec: RawSpec, comp: Comparison) -> Sql:
    if spec.dataset_exists is None:
        raise InvalidParameterError("datasets identifiers are not searchable here")
    n = next(spec.aliases)
    body, column = spec.dataset_exists(comp.ident.key, f"d{n}")
    if comp.op is Op.IS_NULL:
        return f"NOT EXISTS (SELECT 1 {body})", []
    if comp.op is Op.IS_NOT_NULL:
        return f"EXISTS (SELECT 1 {body})", []
    ident = Identifier(Kind.DATASET, comp.ident.key, ValueType.STRING)
    sql, params = _value(column, ident, comp.op, comp.value)
    return f"EXISTS (SELECT 1 {body} AND {sql})", params


def compile_filter(expr: Optional[Expr], spec: RawSpec) -> Sql:
    """The SQL condition of a parsed filter (``1`` for None)."""
    if expr is None:
        return "1", []
    if isinstance(expr, (And, Or)):
        if len(expr.items) == 1:
            return compile_filter(expr.items[0], spec)
        parts = [compile_filter(e, spec) for e in expr.items]
        joiner = " AND " if isinstance(expr, And) else " OR "
        return "(" + joiner.join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]
    if isinstance(expr, Not):  # NOT NOT x is x (SQLite's parser stack is shallow)
        inner, negate = expr.item, True
        while isinstance(inner, Not):
            inner, negate = inner.item, not negate
        sql, params = compile_filter(inner, spec)
        return (f"NOT ({sql})" if negate else sql), params
    if isinstance(expr, Comparison):
        if expr.ident.kind is Kind.ATTRIBUTE:
            return _attribute(spec, expr)
        if expr.ident.kind is Kind.DATASET:
            return _dataset(spec, expr)
        return _keyed(spec, expr)
    raise InvalidParameterError(f"cannot compile filter node {type(expr).__name__}")


def _flag(cond: str) -> str:
    return f"CASE WHEN {cond} THEN 1 ELSE 0 END"


def _order(keys: Sequence[OrderKey], spec: RawSpec) -> tuple[Sql, list[tuple[str, type, bool]]]:
    """Outer joins (with their parameters) and the (SQL, kind, ascending) sort columns."""
    joins: list[str] = []
    params: list[Any] = []
    cols: list[tuple[str, type, bool]] = []
    has_unique = False
    for key in keys:
        ident, asc = key.ident, key.ascending
        if ident.kind is Kind.ATTRIBUTE:
            found = spec.attributes.get(ident.key)
            if found is None:
                raise InvalidParameterError(f"order_by: unknown attribute {ident.key!r}")
            column, kind = found
            has_unique = has_unique or ident.key == spec.unique_attribute
            if ident.key in spec.not_null:
                cols.append((column, kind, asc))
            else:
                zero = "0" if ident.type is ValueType.NUMBER else "''"
                cols.append((_flag(f"{column} IS NULL"), int, True))
                cols.append((f"coalesce({column}, {zero})", kind, asc))
            continue
        kt = spec.keyed.get(ident.kind)
        if kt is None:
            raise InvalidParameterError(f"order_by: cannot order by {ident.kind.value} identifiers")
        t = f"o{next(spec.aliases)}"
        joins.append(f"LEFT OUTER JOIN {kt.table} {t} ON {t}.{kt.child} = {kt.parent} AND {t}.key = ?")
        params.append(ident.key)
        cols.append((_flag(f"{t}.key IS NULL"), int, True))
        if kt.numeric:
            cols.append((_flag(f"{t}.kind = {KIND_NAN}"), int, True))
            cols.append((f"coalesce({t}.kind, {KIND_FINITE})", int, asc))
            cols.append((f"coalesce({t}.value, 0.0)", float, asc))
        else:
            cols.append((f"coalesce({t}.value, '')", str, asc))
    if not has_unique:
        cols.extend((column, kind, True) for column, kind in spec.unique)
    return (" ".join(joins), params), cols


def _after(cols: Sequence[tuple[str, type, bool]], values: Sequence[Any]) -> Sql:
    """Rows strictly after ``values`` in the order of ``cols``."""
    ors, params = [], []
    for i, (column, _kind, asc) in enumerate(cols):
        eqs = [f"{c} = ?" for c, _k, _a in cols[:i]]
        ors.append("(" + " AND ".join([*eqs, f"{column} {'>' if asc else '<'} ?"]) + ")")
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
        payload = decode_page_token(page_token, query, key=key)
        values = token_scalars(payload.get("v"), len(sort), "v", [k for _c, k, _a in sort], nullable=False)
        conds.append(_after(sort, values))
        bound = payload.get("b")
        if bound is not None:
            bound = token_int(bound, "b", minimum=-(2**63))
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
        token = encode_page_token({"v": list(rows[-1][width:]), "b": bound}, query, key=key)
    return rows, token
