"""The storekit.search expression tree as SQLAlchemy (every database), and keyset paging.

What a filter means and how rows sort is decided in :mod:`.search_plan`,
shared with the raw SQLite path (:mod:`.raw_search`): two-valued logic
(every comparison on a keyed value - metric, param, tag, dataset - tests
for a row of that key meeting the condition, so a missing value is false and
``NOT`` inverts cleanly; nullable attributes are tested ``IS NOT NULL``
first), metric values in the (value, kind) encoding of :mod:`.metrics` with
NaN/inf decided in Python, non-null sort columns (missing flag, NaN flag,
value...) so that the keyset predicate of the next page is a plain
lexicographic comparison of bound values.  This module spells those plans
with SQLAlchemy, and keeps what only a server database needs (the
PostgreSQL subquery fence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping, Optional, Sequence, Union, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from ...errors import InvalidParameterError
from ...search.ast import And, Comparison, Expr, Kind, Not, Op, Or, OrderKey
from .metrics import KIND_FINITE, KIND_NAN
from .search_plan import (
    NUMERIC_OPS,
    AttributeTest,
    Bound,
    DatasetTest,
    KeyedTest,
    MetricMatch,
    SortTerm,
    TextMatch,
    keyset_steps,
    plan_filter,
    plan_order,
)
from .sqlutil import ilike, like

__all__ = ["KeyedTable", "EntitySpec", "compile_filter", "SortColumn", "build_order", "keyset_after", "plain_value"]


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


def _bound(column: ColumnElement[Any], bound: Bound) -> ColumnElement[bool]:
    """``column op value`` for a column that never holds NaN/inf."""
    if bound.constant is not None:
        return _const(bound.constant)
    return cast("ColumnElement[bool]", NUMERIC_OPS[bound.op](column, bound.value))


def _metric_cond(t: FromClause, match: MetricMatch, key: Optional[str] = None) -> ColumnElement[bool]:
    """A metric comparison in the (value, kind) encoding.

    With ``key``, every branch of the OR repeats ``key = ?`` so that each is
    one range of the ``(key, kind, value)`` index.
    """
    same_key = [t.c.key == key] if key is not None else []
    parts = [sa.and_(*same_key, t.c.kind == KIND_FINITE, _bound(t.c.value, match.finite))]
    parts.extend(sa.and_(*same_key, t.c.kind == kind) for kind in match.kinds)
    return sa.or_(*parts)


def _text(column: ColumnElement[Any], match: TextMatch, dialect: str) -> ColumnElement[bool]:
    op, value = match.op, match.value
    if op is Op.EQ:
        return column == value
    if op is Op.NE:
        return column != value
    if op is Op.LIKE:
        return like(column, value, dialect)
    if op is Op.ILIKE:
        return ilike(column, value, dialect)
    if op is Op.IN:
        return column.in_(value)
    return column.not_in(value)


def _match(column: ColumnElement[Any], match: Union[Bound, TextMatch], dialect: str) -> ColumnElement[bool]:
    return _bound(column, match) if isinstance(match, Bound) else _text(column, match, dialect)


class _Emitter:
    """Spells :mod:`.search_plan`'s filter plans with SQLAlchemy for ``dialect``."""

    def __init__(self, spec: EntitySpec, dialect: str, fence: bool) -> None:
        self.spec, self.dialect, self.fence = spec, dialect, fence

    def constant(self, value: bool) -> ColumnElement[bool]:
        return _const(value)

    def all_of(self, parts: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        return sa.and_(*parts)

    def any_of(self, parts: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        return sa.or_(*parts)

    def negate(self, part: ColumnElement[bool]) -> ColumnElement[bool]:
        return sa.not_(part)

    def attribute(self, test: AttributeTest) -> ColumnElement[bool]:
        column = self.spec.attributes[test.key]
        if test.match is None:
            return column.is_(None) if test.null else column.is_not(None)
        cond = _match(column, test.match, self.dialect)
        return sa.and_(column.is_not(None), cond) if test.guard else cond

    def keyed(self, test: KeyedTest) -> ColumnElement[bool]:
        kt = self.spec.keyed[test.kind]
        t = kt.table.alias()
        conds = [t.c.key == test.key]
        if isinstance(test.match, MetricMatch):
            conds.append(_metric_cond(t, test.match, test.key))
        elif test.match is not None:
            conds.append(_text(t.c.value, test.match, self.dialect))
        has = _has_row(kt, t, conds, self.fence)
        return has if test.present else ~has

    def dataset(self, test: DatasetTest) -> ColumnElement[bool]:
        exists = self.spec.dataset_exists
        assert exists is not None  # the planner refuses datasets identifiers otherwise
        match = test.match
        if match is None:
            has = exists(test.key, lambda col: sa.true())
            return has if test.present else ~has
        return exists(test.key, lambda col: _match(col, match, self.dialect))


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


def compile_filter(expr: Optional[Expr], spec: EntitySpec, dialect: str) -> ColumnElement[bool]:
    """The SQL condition of a parsed filter (``true`` for None)."""
    fence = dialect == "postgresql" and _keyed_comparisons(expr) > PG_FENCE_AFTER
    return plan_filter(expr, spec, _Emitter(spec, dialect, fence))


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
    plan = plan_order(keys, spec, len(spec.unique))
    from_ = base
    aliases: list[FromClause] = []
    for kind, key in plan.joins:
        kt = spec.keyed[kind]
        t = kt.table.alias()
        aliases.append(t)
        from_ = from_.outerjoin(t, sa.and_(kt.correlate(t), t.c.key == key))
    cols: list[SortColumn] = []
    for term in plan.terms:
        cols.append(SortColumn(_sort_expr(term, spec, aliases), term.ascending))
    return from_, cols


def _sort_expr(term: SortTerm, spec: EntitySpec, aliases: Sequence[FromClause]) -> ColumnElement[Any]:
    what = term.what
    if what == "unique":
        return spec.unique[term.join]
    if what in ("column", "attribute_missing", "attribute_value"):
        column = spec.attributes[str(term.key)]
        if what == "column":
            return column
        if what == "attribute_missing":
            return _flag(column.is_(None))
        return sa.func.coalesce(column, term.zero)
    t = aliases[term.join]
    if what == "keyed_missing":
        return _flag(t.c.key.is_(None))
    if what == "keyed_nan":
        return _flag(t.c.kind == KIND_NAN)
    if what == "keyed_kind":
        return sa.func.coalesce(t.c.kind, term.zero)
    return sa.func.coalesce(t.c.value, term.zero)  # keyed_value


def keyset_after(cols: Sequence[SortColumn], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``cols``."""
    if len(values) != len(cols):
        raise InvalidParameterError("page_token: invalid page token (order mismatch)")
    ors = []
    for i, greater in keyset_steps([c.ascending for c in cols]):
        eqs = [c.expr == v for c, v in zip(cols[:i], values[:i])]
        step = cols[i].expr > values[i] if greater else cols[i].expr < values[i]
        ors.append(sa.and_(*eqs, step))
    return sa.or_(*ors)


def plain_value(value: Any) -> Any:
    """A sort value as a JSON-safe Python scalar."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
