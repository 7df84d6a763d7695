"""The search semantics of the SQL backends, decided once for both SQL emitters.

:mod:`.search_sql` (SQLAlchemy, every database) and :mod:`.raw_search`
(SQLite text for the raw :mod:`sqlite3` hot path) only *spell* SQL; what a
filter means and how rows sort is decided here, without SQLAlchemy, so the
two can never drift apart:

* :func:`plan_filter` walks a parsed filter and hands each node to an
  emitter as a small plan: two-valued logic (a comparison on a missing value
  is false, ``NOT`` inverts, ``IS NULL`` is true exactly when missing);
  attribute comparisons on nullable columns test ``IS NOT NULL`` first; keyed
  values (metric, param, tag) are tested by the presence of a matching row
  (a semi-join or ``EXISTS``); metric comparisons in the (value, kind)
  encoding, with NaN and the infinities decided in Python so SQL only ever
  sees finite bounds.
* :func:`plan_order` expands the order keys into non-null sort terms
  (missing flag, NaN flag, kind, coalesced value), missing values last in
  either direction and NaN after every number; the unique tie-breaker is
  appended; :func:`keyset_steps` is the lexicographic "strictly after" of
  keyset paging.
* :func:`read_page_token` / :func:`next_page_token` read and write the
  tokens of both paths (the sort values and the creation bound), so a token
  from one path is valid on the other.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Optional, Protocol, Sequence, TypeVar, Union

from ...errors import InvalidParameterError
from ...paging import decode_page_token, encode_page_token, token_int, token_scalars
from ...search.ast import COMPARATORS, And, Comparison, Expr, Identifier, Kind, Not, Op, Or, OrderKey, ValueType
from .metrics import KIND_FINITE, KIND_NAN, KIND_NEG_INF, KIND_POS_INF

__all__ = [
    "NUMERIC_OPS",
    "Bound",
    "TextMatch",
    "MetricMatch",
    "AttributeTest",
    "KeyedTest",
    "DatasetTest",
    "FilterEmitter",
    "SpecShape",
    "number_bound",
    "metric_match",
    "value_match",
    "plan_filter",
    "SortTerm",
    "OrderPlan",
    "plan_order",
    "keyset_steps",
    "read_page_token",
    "next_page_token",
]

#: The numeric comparators and their Python meaning (IEEE: every comparison with NaN but != is false).
NUMERIC_OPS = COMPARATORS

T = TypeVar("T")


# --- one comparison's value test ----------------------------------------------------
class Bound(NamedTuple):
    """``column op value`` on a column that never holds NaN/inf.

    ``constant`` is the answer decided in Python when ``value`` is NaN or an
    infinity (a finite ``x`` compares to those the same way for every ``x``);
    otherwise it is None and SQL compares with the finite ``value``.
    """

    op: Op
    value: float
    constant: Optional[bool] = None


class TextMatch(NamedTuple):
    """A string comparison: ``=``, ``!=``, ``LIKE``, ``ILIKE`` (``value`` a str) or ``IN``/``NOT IN`` (a list)."""

    op: Op
    value: Any


class MetricMatch(NamedTuple):
    """A metric comparison in the (value, kind) encoding: finite rows meeting ``finite``, or any row of ``kinds``."""

    finite: Bound
    #: the special kinds (``KIND_NEG_INF``, ``KIND_POS_INF``, ``KIND_NAN``) whose value satisfies the comparison
    kinds: tuple[int, ...]


def number_bound(op: Op, value: Any) -> Bound:
    """The plan of ``column op value`` for a numeric column without NaN/inf."""
    value = float(value)
    if not math.isfinite(value):
        return Bound(op, value, NUMERIC_OPS[op](0.0, value))
    return Bound(op, value)


def metric_match(op: Op, value: Any) -> MetricMatch:
    """The plan of ``metric op value`` with IEEE semantics for NaN and the infinities."""
    value = float(value)
    fn = NUMERIC_OPS[op]
    kinds = tuple(
        kind
        for kind, special in ((KIND_NEG_INF, -math.inf), (KIND_POS_INF, math.inf), (KIND_NAN, math.nan))
        if fn(special, value)
    )
    return MetricMatch(number_bound(op, value), kinds)


def _text(op: Op, value: Any) -> TextMatch:
    if op in (Op.EQ, Op.NE, Op.LIKE, Op.ILIKE):
        return TextMatch(op, value)
    if op in (Op.IN, Op.NOT_IN):
        return TextMatch(op, list(value))
    raise InvalidParameterError(f"comparator {op.value} is not valid for strings")


def value_match(ident: Identifier, op: Op, value: Any) -> Union[Bound, TextMatch]:
    """The plan of a comparison of a stored value: numeric for NUMBER identifiers, text otherwise.

    A number compared with a string identifier is compared as its text.
    """
    if ident.type is ValueType.NUMBER:
        if op not in NUMERIC_OPS:
            raise InvalidParameterError(f"comparator {op.value} is not valid for {ident}")
        return number_bound(op, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _text(op, value)


# --- comparisons ----------------------------------------------------------------------
class AttributeTest(NamedTuple):
    """A comparison on an entity column.

    ``null`` True/False is ``IS NULL`` / ``IS NOT NULL`` (``match`` None);
    otherwise ``match`` is the value test and ``guard`` says the column may be
    NULL, so it is tested ``IS NOT NULL`` first (two-valued logic).
    """

    key: str
    match: Optional[Union[Bound, TextMatch]]
    null: Optional[bool] = None
    guard: bool = False


class KeyedTest(NamedTuple):
    """A comparison on a keyed value (metric, param, tag): the entity has a row of ``key`` meeting ``match``.

    ``present`` False (``IS NULL``) negates the presence; ``match`` None tests presence alone.
    """

    kind: Kind
    key: str
    present: bool
    match: Optional[Union[MetricMatch, TextMatch]]


class DatasetTest(NamedTuple):
    """A comparison on ``datasets.<key>``: any of the run's dataset inputs matches.

    ``present`` False (``IS NULL``) negates the presence; ``match`` None tests presence alone.
    """

    key: str
    present: bool
    match: Optional[Union[Bound, TextMatch]]


class SpecShape(Protocol):
    """What the planner reads of an emitter's entity spec (``EntitySpec`` and ``RawSpec`` both have it)."""

    @property
    def attributes(self) -> Mapping[str, Any]:
        """The searchable attributes by name (the values are the emitter's own)."""
        ...

    @property
    def keyed(self) -> Mapping[Kind, Any]:
        """The keyed tables by identifier kind; each value carries ``numeric: bool``."""
        ...

    @property
    def not_null(self) -> frozenset[str]:
        """The attributes that are never NULL."""
        ...

    @property
    def unique_attribute(self) -> Optional[str]:
        """The attribute that is the unique tie-breaker, if one is."""
        ...

    @property
    def dataset_exists(self) -> Optional[Any]:
        """The emitter's dataset condition builder, None where datasets are not searchable."""
        ...


class FilterEmitter(Protocol[T]):
    """Spells the plans of :func:`plan_filter` as one dialect's SQL."""

    def constant(self, value: bool) -> T:
        """The condition that is always ``value`` (an absent filter is ``True``)."""
        ...

    def all_of(self, parts: Sequence[T]) -> T:
        """``AND`` of at least two parts."""
        ...

    def any_of(self, parts: Sequence[T]) -> T:
        """``OR`` of at least two parts."""
        ...

    def negate(self, part: T) -> T:
        """``NOT part``."""
        ...

    def attribute(self, test: AttributeTest) -> T:
        """A comparison on an entity column."""
        ...

    def keyed(self, test: KeyedTest) -> T:
        """A comparison on a keyed value."""
        ...

    def dataset(self, test: DatasetTest) -> T:
        """A comparison on the run's dataset inputs."""
        ...


def _attribute(spec: SpecShape, comp: Comparison) -> AttributeTest:
    if comp.ident.key not in spec.attributes:
        raise InvalidParameterError(f"unknown attribute {comp.ident.key!r}")
    if comp.op is Op.IS_NULL:
        return AttributeTest(comp.ident.key, None, null=True)
    if comp.op is Op.IS_NOT_NULL:
        return AttributeTest(comp.ident.key, None, null=False)
    match = value_match(comp.ident, comp.op, comp.value)
    return AttributeTest(comp.ident.key, match, guard=comp.ident.key not in spec.not_null)


def _keyed(spec: SpecShape, comp: Comparison) -> KeyedTest:
    table = spec.keyed.get(comp.ident.kind)
    if table is None:
        raise InvalidParameterError(f"{comp.ident.kind.value} identifiers are not searchable here")
    kind, key = comp.ident.kind, comp.ident.key
    if comp.op in (Op.IS_NULL, Op.IS_NOT_NULL):
        return KeyedTest(kind, key, comp.op is Op.IS_NOT_NULL, None)
    if table.numeric:
        if comp.op not in NUMERIC_OPS:
            raise InvalidParameterError(f"comparator {comp.op.value} is not valid for {comp.ident}")
        return KeyedTest(kind, key, True, metric_match(comp.op, comp.value))
    match = value_match(Identifier(kind, key, ValueType.STRING), comp.op, comp.value)
    assert isinstance(match, TextMatch)  # a STRING identifier is compared as text
    return KeyedTest(kind, key, True, match)


def _dataset(spec: SpecShape, comp: Comparison) -> DatasetTest:
    if spec.dataset_exists is None:
        raise InvalidParameterError("datasets identifiers are not searchable here")
    if comp.op in (Op.IS_NULL, Op.IS_NOT_NULL):
        return DatasetTest(comp.ident.key, comp.op is Op.IS_NOT_NULL, None)
    ident = Identifier(Kind.DATASET, comp.ident.key, ValueType.STRING)
    return DatasetTest(comp.ident.key, True, value_match(ident, comp.op, comp.value))


def plan_filter(expr: Optional[Expr], spec: SpecShape, emit: FilterEmitter[T]) -> T:
    """The condition of a parsed filter, spelled by ``emit`` (``emit.constant(True)`` for None).

    An ``AND``/``OR`` of one item is that item; ``NOT NOT x`` is ``x`` (SQLite's
    parser stack is shallow, and two-valued logic makes them equal).
    """
    if expr is None:
        return emit.constant(True)
    if isinstance(expr, (And, Or)):
        if len(expr.items) == 1:
            return plan_filter(expr.items[0], spec, emit)
        parts = [plan_filter(e, spec, emit) for e in expr.items]
        return emit.all_of(parts) if isinstance(expr, And) else emit.any_of(parts)
    if isinstance(expr, Not):
        inner, negate = expr.item, True
        while isinstance(inner, Not):
            inner, negate = inner.item, not negate
        cond = plan_filter(inner, spec, emit)
        return emit.negate(cond) if negate else cond
    if isinstance(expr, Comparison):
        if expr.ident.kind is Kind.ATTRIBUTE:
            return emit.attribute(_attribute(spec, expr))
        if expr.ident.kind is Kind.DATASET:
            return emit.dataset(_dataset(spec, expr))
        return emit.keyed(_keyed(spec, expr))
    raise InvalidParameterError(f"cannot compile filter node {type(expr).__name__}")


# --- ordering and keyset paging ----------------------------------------------------------
class SortTerm(NamedTuple):
    """One non-null scalar of the total order, and what it is made of.

    ``what``:

    * ``"column"`` - the attribute ``key`` itself (never NULL);
    * ``"attribute_missing"`` - 1 when the attribute ``key`` is NULL, else 0;
    * ``"attribute_value"`` - the attribute ``key``, NULL read as ``zero``;
    * ``"keyed_missing"`` - 1 when joined row ``join`` is missing, else 0;
    * ``"keyed_nan"`` - 1 when joined metric ``join`` is NaN, else 0;
    * ``"keyed_kind"`` - joined metric ``join``'s kind, missing read as finite;
    * ``"keyed_value"`` - joined row ``join``'s value, missing read as ``zero``;
    * ``"unique"`` - the spec's ``unique[join]`` tie-breaker column.

    ``kind`` is the Python type of the values (None: the emitter's column decides).
    """

    what: str
    ascending: bool
    key: Optional[str] = None
    join: int = -1
    zero: Any = None
    kind: Optional[type] = None


class OrderPlan(NamedTuple):
    """The outer joins (``(identifier kind, key)`` each, joined by position) and the sort terms."""

    joins: tuple[tuple[Kind, str], ...]
    terms: tuple[SortTerm, ...]


def plan_order(keys: Sequence[OrderKey], spec: SpecShape, unique_count: int) -> OrderPlan:
    """The sort terms of ``keys``: missing values last in either direction, NaN after every number.

    The ``unique_count`` tie-breaker columns of the spec are appended
    (ascending) unless the keys already order by the unique attribute.
    """
    joins: list[tuple[Kind, str]] = []
    terms: list[SortTerm] = []
    has_unique = False
    for order_key in keys:
        ident, asc = order_key.ident, order_key.ascending
        if ident.kind is Kind.ATTRIBUTE:
            if ident.key not in spec.attributes:
                raise InvalidParameterError(f"order_by: unknown attribute {ident.key!r}")
            has_unique = has_unique or ident.key == spec.unique_attribute
            if ident.key in spec.not_null:
                terms.append(SortTerm("column", asc, key=ident.key))
            else:
                zero: Any = 0 if ident.type is ValueType.NUMBER else ""
                terms.append(SortTerm("attribute_missing", True, key=ident.key, kind=int))
                terms.append(SortTerm("attribute_value", asc, key=ident.key, zero=zero))
            continue
        table = spec.keyed.get(ident.kind)
        if table is None:
            raise InvalidParameterError(f"order_by: cannot order by {ident.kind.value} identifiers")
        join = len(joins)
        joins.append((ident.kind, ident.key))
        terms.append(SortTerm("keyed_missing", True, join=join, kind=int))
        if table.numeric:
            terms.append(SortTerm("keyed_nan", True, join=join, kind=int))
            terms.append(SortTerm("keyed_kind", asc, join=join, zero=KIND_FINITE, kind=int))
            terms.append(SortTerm("keyed_value", asc, join=join, zero=0.0, kind=float))
        else:
            terms.append(SortTerm("keyed_value", asc, join=join, zero="", kind=str))
    if not has_unique:
        terms.extend(SortTerm("unique", True, join=i) for i in range(unique_count))
    return OrderPlan(tuple(joins), tuple(terms))


def keyset_steps(ascending: Sequence[bool]) -> list[tuple[int, bool]]:
    """Rows strictly after a row's sort values, as ``OR`` of steps ``(i, greater)``.

    Step ``(i, greater)`` is: terms ``0..i-1`` equal the row's values and term
    ``i`` is greater (``greater`` True, an ascending term) or less than its value.
    """
    return [(i, asc) for i, asc in enumerate(ascending)]


def read_page_token(
    page_token: str, query: str, key: Optional[bytes], kinds: Sequence[Optional[type]]
) -> tuple[list[Any], Optional[int]]:
    """The sort values (checked against ``kinds``, never NULL) and the creation bound of a page token."""
    payload = decode_page_token(page_token, query, key=key)
    values = token_scalars(payload.get("v"), len(kinds), "v", list(kinds), nullable=False)
    bound = payload.get("b")
    if bound is not None:
        bound = token_int(bound, "b", minimum=-(2**63))
    return values, bound


def next_page_token(values: Sequence[Any], bound: Optional[int], query: str, key: Optional[bytes]) -> str:
    """The token of the page after the row whose sort values are ``values``."""
    return encode_page_token({"v": list(values), "b": bound}, query, key=key)
