"""Compile the storekit.search expression tree to SQLAlchemy, and keyset paging.

Two-valued logic, as pinned in :mod:`storekit.search.ast`: every comparison
on a keyed value (metric, param, tag, dataset) is an ``EXISTS`` over that
key's row with the condition inside, so a missing value is false and
``NOT`` inverts cleanly; attribute comparisons test ``IS NOT NULL`` first
for nullable columns.  Metric values use the (value, kind) encoding of
:mod:`.metrics`, and comparisons against NaN/inf are decided in Python, so
the SQL only ever sees finite bound parameters.

Ordering expands every order key into non-null scalar sort columns
(missing flag, NaN flag, value...) so that the keyset predicate of the next
page is a plain lexicographic comparison of bound values.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from ...errors import InvalidParameterError
from ...search.ast import And, Comparison, Expr, Identifier, Kind, Not, Op, Or, OrderKey, ValueType
from .metrics import KIND_FINITE, KIND_NAN, KIND_NEG_INF, KIND_POS_INF
from .sqlutil import ilike, like

__all__ = ["KeyedTable", "EntitySpec", "compile_filter", "SortColumn", "build_order", "keyset_after", "plain_value"]

_NUMERIC = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


@dataclass(frozen=True)
class KeyedTable:
    """A key/value child table (params, tags, latest metrics...) of an entity.

    ``correlate(alias)`` is the condition tying a row of the alias to the
    entity row of the outer query.  With ``parent`` (the entity's key column)
    and ``child`` (the name of the column referencing it), filters compile to
    an uncorrelated ``parent IN (SELECT child ... WHERE key = ? AND ...)``
    instead of a correlated ``EXISTS``, so that a selective condition can
    drive the query through the table's ``(key, value, parent)`` search index
    instead of probing every entity row.
    """

    table: sa.Table
    correlate: Callable[[FromClause], ColumnElement[bool]]
    numeric: bool = False
    parent: Optional[ColumnElement[Any]] = None
    child: Optional[str] = None


@dataclass(frozen=True)
class EntitySpec:
    """How an entity type's search identifiers map to SQL."""

    attributes: Mapping[str, ColumnElement[Any]]
    keyed: Mapping[Kind, KeyedTable]
    #: unique, non-null columns appended (ascending) to every order
    unique: tuple[ColumnElement[Any], ...]
    #: attribute names that are never NULL
    not_null: frozenset[str] = frozenset()
    #: attribute name of the unique tie-breaker the parser may append
    unique_attribute: Optional[str] = None
    #: ``datasets.<key>`` condition builder: (key, condition on the value column) -> EXISTS
    dataset_exists: Optional[
        Callable[[str, Callable[[ColumnElement[Any]], ColumnElement[bool]]], ColumnElement[bool]]
    ] = None
    numeric_attributes: frozenset[str] = field(default=frozenset())


# --- conditions -------------------------------------------------------------
def _const(value: bool) -> ColumnElement[bool]:
    return sa.true() if value else sa.false()


def _number_cond(column: ColumnElement[Any], op: Op, value: float) -> ColumnElement[bool]:
    """``column op value`` for a column that never holds NaN/inf."""
    fn = _NUMERIC[op]
    value = float(value)
    if not math.isfinite(value):  # a finite x compares to NaN/inf the same way for every x
        return _const(fn(0.0, value))
    return fn(column, value)


def _metric_cond(t: FromClause, op: Op, value: float, key: Optional[str] = None) -> ColumnElement[bool]:
    """``metric op value`` with the (value, kind) encoding and IEEE semantics.

    With ``key``, every branch of the OR repeats ``key = ?`` so that each is
    one range of the ``(key, kind, value)`` index.
    """
    fn = _NUMERIC[op]
    value = float(value)
    same_key = [t.c.key == key] if key is not None else []
    parts = [sa.and_(*same_key, t.c.kind == KIND_FINITE, _number_cond(t.c.value, op, value))]
    for kind, special in ((KIND_NEG_INF, -math.inf), (KIND_POS_INF, math.inf), (KIND_NAN, math.nan)):
        if fn(special, value):
            parts.append(sa.and_(*same_key, t.c.kind == kind))
    return sa.or_(*parts)


def _string_cond(column: ColumnElement[Any], op: Op, value: Any, dialect: str) -> ColumnElement[bool]:
    if op is Op.EQ:
        return column == value
    if op is Op.NE:
        return column != value
    if op is Op.LIKE:
        return like(column, value, dialect)
    if op is Op.ILIKE:
        return ilike(column, value, dialect)
    if op is Op.IN:
        return column.in_(list(value))
    if op is Op.NOT_IN:
        return column.not_in(list(value))
    raise InvalidParameterError(f"comparator {op.value} is not valid for strings")


def _value_cond(column: ColumnElement[Any], ident: Identifier, op: Op, value: Any, dialect: str) -> ColumnElement[bool]:
    if ident.type is ValueType.NUMBER:
        if op not in _NUMERIC:
            raise InvalidParameterError(f"comparator {op.value} is not valid for {ident}")
        return _number_cond(column, op, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _string_cond(column, op, value, dialect)


def _keyed(spec: EntitySpec, comp: Comparison, dialect: str, fence: bool) -> ColumnElement[bool]:
    kt = spec.keyed.get(comp.ident.kind)
    if kt is None:
        raise InvalidParameterError(f"{comp.ident.kind.value} identifiers are not searchable here")
    t = kt.table.alias()
    conds = [t.c.key == comp.ident.key]
    if comp.op is Op.IS_NULL:
        return ~_has_row(kt, t, conds, fence)
    if comp.op is Op.IS_NOT_NULL:
        return _has_row(kt, t, conds, fence)
    if kt.numeric:
        if comp.op not in _NUMERIC:
            raise InvalidParameterError(f"comparator {comp.op.value} is not valid for {comp.ident}")
        conds.append(_metric_cond(t, comp.op, comp.value, comp.ident.key))  # type: ignore[arg-type]
    else:
        conds.append(
            _value_cond(
                t.c.value, Identifier(comp.ident.kind, comp.ident.key, ValueType.STRING), comp.op, comp.value, dialect
            )
        )
    return _has_row(kt, t, conds, fence)


def _has_row(kt: KeyedTable, t: FromClause, conds: Sequence[ColumnElement[bool]], fence: bool) -> ColumnElement[bool]:
    """Whether the entity has a row in ``t`` meeting ``conds`` (semi-join or correlated EXISTS).

    ``fence`` adds ``OFFSET 0`` to the ``IN`` subquery (PostgreSQL only, see
    :data:`PG_FENCE_AFTER`): the planner then keeps it as a hashed subplan
    computed once instead of pulling it up into the join.
    """
    if kt.parent is not None and kt.child is not None:
        subquery = sa.select(t.c[kt.child]).where(*conds)
        if fence:
            subquery = subquery.offset(0)
        return kt.parent.in_(subquery)
    return sa.exists().where(kt.correlate(t), *conds)


#: On PostgreSQL, a filter with more keyed comparisons than this has its
#: subqueries fenced.  Pulled-up semi-joins let the planner choose the best
#: join order (3x faster on the common two- or three-comparison search), but
#: its join-order search grows exponentially with their number: 80 ANDed
#: comparisons planned for 3.4 s and 200 for 151 s; fenced, 0.25 s and 0.85 s.
#: MySQL/MariaDB refuse ``LIMIT``/``OFFSET`` in ``IN`` subqueries and do not
#: have the problem; SQLite neither.
PG_FENCE_AFTER = 6


def _keyed_comparisons(expr: Optional[Expr]) -> int:
    """How many comparisons of ``expr`` test a keyed value (metric, param, tag)."""
    if isinstance(expr, (And, Or)):
        return sum(_keyed_comparisons(e) for e in expr.items)
    if isinstance(expr, Not):
        return _keyed_comparisons(expr.item)
    if isinstance(expr, Comparison):
        return int(expr.ident.kind not in (Kind.ATTRIBUTE, Kind.DATASET))
    return 0


def _attribute(spec: EntitySpec, comp: Comparison, dialect: str) -> ColumnElement[bool]:
    column = spec.attributes.get(comp.ident.key)
    if column is None:
        raise InvalidParameterError(f"unknown attribute {comp.ident.key!r}")
    if comp.op is Op.IS_NULL:
        return column.is_(None)
    if comp.op is Op.IS_NOT_NULL:
        return column.is_not(None)
    cond = _value_cond(column, comp.ident, comp.op, comp.value, dialect)
    if comp.ident.key in spec.not_null:
        return cond
    return sa.and_(column.is_not(None), cond)


def _dataset(spec: EntitySpec, comp: Comparison, dialect: str) -> ColumnElement[bool]:
    if spec.dataset_exists is None:
        raise InvalidParameterError("datasets identifiers are not searchable here")
    if comp.op is Op.IS_NULL:
        return ~spec.dataset_exists(comp.ident.key, lambda col: sa.true())
    if comp.op is Op.IS_NOT_NULL:
        return spec.dataset_exists(comp.ident.key, lambda col: sa.true())
    ident = Identifier(Kind.DATASET, comp.ident.key, ValueType.STRING)
    return spec.dataset_exists(comp.ident.key, lambda col: _value_cond(col, ident, comp.op, comp.value, dialect))


def compile_filter(expr: Optional[Expr], spec: EntitySpec, dialect: str) -> ColumnElement[bool]:
    """The SQL condition of a parsed filter (``true`` for None)."""
    fence = dialect == "postgresql" and _keyed_comparisons(expr) > PG_FENCE_AFTER
    return _compile(expr, spec, dialect, fence)


def _compile(expr: Optional[Expr], spec: EntitySpec, dialect: str, fence: bool) -> ColumnElement[bool]:
    if expr is None:
        return sa.true()
    if isinstance(expr, And):
        return sa.and_(*(_compile(e, spec, dialect, fence) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(_compile(e, spec, dialect, fence) for e in expr.items))
    if isinstance(expr, Not):
        return sa.not_(_compile(expr.item, spec, dialect, fence))
    if isinstance(expr, Comparison):
        if expr.ident.kind is Kind.ATTRIBUTE:
            return _attribute(spec, expr, dialect)
        if expr.ident.kind is Kind.DATASET:
            return _dataset(spec, expr, dialect)
        return _keyed(spec, expr, dialect, fence)
    raise InvalidParameterError(f"cannot compile filter node {type(expr).__name__}")


# --- ordering and keyset paging ----------------------------------------------
@dataclass(frozen=True)
class SortColumn:
    """One non-null scalar of the total order."""

    expr: ColumnElement[Any]
    ascending: bool


def _flag(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((cond, 1), else_=0)


def build_order(keys: Sequence[OrderKey], spec: EntitySpec, base: FromClause) -> tuple[FromClause, list[SortColumn]]:
    """The FROM clause (with outer joins for keyed sort keys) and the sort columns.

    Missing values sort last in either direction; NaN after every number
    and before missing values.  ``spec.unique`` is always appended.
    """
    cols: list[SortColumn] = []
    from_ = base
    has_unique = False
    for key in keys:
        ident, asc = key.ident, key.ascending
        if ident.kind is Kind.ATTRIBUTE:
            column = spec.attributes.get(ident.key)
            if column is None:
                raise InvalidParameterError(f"order_by: unknown attribute {ident.key!r}")
            if ident.key == spec.unique_attribute:
                has_unique = True
            if ident.key in spec.not_null:
                cols.append(SortColumn(column, asc))
            else:
                zero: Any = 0 if ident.type is ValueType.NUMBER else ""
                cols.append(SortColumn(_flag(column.is_(None)), True))
                cols.append(SortColumn(sa.func.coalesce(column, zero), asc))
            continue
        kt = spec.keyed.get(ident.kind)
        if kt is None:
            raise InvalidParameterError(f"order_by: cannot order by {ident.kind.value} identifiers")
        t = kt.table.alias()
        from_ = from_.outerjoin(t, sa.and_(kt.correlate(t), t.c.key == ident.key))
        cols.append(SortColumn(_flag(t.c.key.is_(None)), True))
        if kt.numeric:
            cols.append(SortColumn(_flag(t.c.kind == KIND_NAN), True))
            cols.append(SortColumn(sa.func.coalesce(t.c.kind, KIND_FINITE), asc))
            cols.append(SortColumn(sa.func.coalesce(t.c.value, 0.0), asc))
        else:
            cols.append(SortColumn(sa.func.coalesce(t.c.value, ""), asc))
    if not has_unique:
        cols.extend(SortColumn(c, True) for c in spec.unique)
    return from_, cols


def keyset_after(cols: Sequence[SortColumn], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``cols``."""
    if len(values) != len(cols):
        raise InvalidParameterError("page_token: invalid page token (order mismatch)")
    ors = []
    for i, (col, value) in enumerate(zip(cols, values)):
        eqs = [c.expr == v for c, v in zip(cols[:i], values[:i])]
        step = col.expr > value if col.ascending else col.expr < value
        ors.append(sa.and_(*eqs, step))
    return sa.or_(*ors)


def plain_value(value: Any) -> Any:
    """A sort value as a JSON-safe Python scalar."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
