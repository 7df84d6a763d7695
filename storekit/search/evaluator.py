"""In-process evaluation and ordering of search expressions.

This module is the reference for what a filter and an ``order_by`` mean; the
SQL compiler must give the same answers.  The rules (see also
:mod:`storekit.search.ast`):

* two-valued logic: a comparison on a missing value (``get`` returned None)
  is false, ``IS NULL`` is true exactly when the value is missing and
  ``NOT`` inverts;
* numbers compare as IEEE doubles (ints are converted with :func:`float`),
  so NaN satisfies only ``!=``;
* string ``=``, ``!=``, ``LIKE``, ``IN`` and ``NOT IN`` are case-sensitive;
  ``ILIKE`` compares after :meth:`str.lower` of both sides;
* dataset identifiers hold a tuple of strings (one per dataset input) and
  a comparison holds when it holds for **any** of them; an empty tuple is
  missing;
* ordering: missing values last in either direction; NaN after every number
  and before missing values in either direction; strings by code point
  (Python's ``str`` order, which equals the byte order of UTF-8 - SQL
  backends use a binary collation).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar, cast

from ..errors import InvalidParameterError
from .ast import COMPARATORS, And, Comparison, Expr, Identifier, Kind, Not, Op, Or, OrderKey, ValueType
from .like import like_match

__all__ = [
    "evaluate",
    "compile_filter",
    "sort_entities",
    "order_values",
    "is_after",
    "compare_order_values",
    "like_match",
]

T = TypeVar("T")

_NUMERIC_COMPARE = COMPARATORS

# Ordering classes: present values, then NaN, then missing - in either direction.
_PRESENT, _NAN, _MISSING = 0, 1, 2


def _as_number(raw: object) -> Optional[float]:
    """A stored value as a double, or None when missing or not a number."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, numbers.Real):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            return None
    return None


def _as_string(raw: object) -> Optional[str]:
    """A stored value as a string, or None when missing."""
    if raw is None or isinstance(raw, str):
        return raw
    return str(raw)


def _string_holds(op: Op, value: str, operand: object) -> bool:
    """Does ``value op operand`` hold for a present string value?"""
    if op is Op.EQ:
        return value == operand
    if op is Op.NE:
        return value != operand
    if op is Op.LIKE:
        return like_match(value, operand, False)  # type: ignore[arg-type]
    if op is Op.ILIKE:
        return like_match(value, operand, True)  # type: ignore[arg-type]
    if op is Op.IN:
        return value in operand  # type: ignore[operator]
    if op is Op.NOT_IN:
        return value not in operand  # type: ignore[operator]
    raise InvalidParameterError(f"comparator {op.value} does not apply to strings")


def _comparison_holds(cmp: Comparison, raw: object) -> bool:
    """Evaluate one comparison against the raw value ``get`` returned."""
    ident, op = cmp.ident, cmp.op
    if ident.kind is Kind.DATASET:
        values = (raw,) if isinstance(raw, str) else tuple(cast(Iterable[Any], raw or ()))
        if op is Op.IS_NULL:
            return not values
        if op is Op.IS_NOT_NULL:
            return bool(values)
        return any(_string_holds(op, _as_string(v) or "", cmp.value) for v in values if v is not None)
    if op is Op.IS_NULL:
        return raw is None
    if op is Op.IS_NOT_NULL:
        return raw is not None
    if ident.type is ValueType.NUMBER:
        number = _as_number(raw)
        if number is None or not isinstance(cmp.value, (int, float)):
            return False
        compare = _NUMERIC_COMPARE.get(op)
        if compare is None:
            raise InvalidParameterError(f"comparator {op.value} does not apply to numbers")
        return compare(number, float(cmp.value))
    text = _as_string(raw)
    return text is not None and _string_holds(op, text, cmp.value)


def _compile_comparison(cmp: Comparison, value_of: Callable[[T], object]) -> Callable[[T], bool]:
    """A predicate equivalent to ``_comparison_holds(cmp, value_of(item))``, specialised once."""
    ident, op, operand = cmp.ident, cmp.op, cmp.value
    if ident.kind is Kind.DATASET:
        return lambda item: _comparison_holds(cmp, value_of(item))
    if op is Op.IS_NULL:
        return lambda item: value_of(item) is None
    if op is Op.IS_NOT_NULL:
        return lambda item: value_of(item) is not None
    if ident.type is ValueType.NUMBER:
        compare = _NUMERIC_COMPARE.get(op)
        if not isinstance(operand, (int, float)):
            return lambda item: False
        if compare is None:  # raises for a present value, like the reference
            return lambda item: _comparison_holds(cmp, value_of(item))
        number_operand = float(operand)

        def numeric(item: T) -> bool:
            raw = value_of(item)
            if type(raw) is float:
                return compare(raw, number_operand)
            number = _as_number(raw)
            return number is not None and compare(number, number_operand)

        return numeric
    holds: Callable[[str], bool]
    if op is Op.EQ:
        holds = lambda text: text == operand  # noqa: E731
    elif op is Op.NE:
        holds = lambda text: text != operand  # noqa: E731
    else:
        holds = lambda text: _string_holds(op, text, operand)  # noqa: E731

    def string(item: T) -> bool:
        raw = value_of(item)
        if raw is None:
            return False
        return holds(raw if type(raw) is str else _as_string(raw))  # type: ignore[arg-type]

    return string


def compile_filter(
    expr: Optional[Expr], accessor: Callable[[Identifier], Callable[[T], object]]
) -> Callable[[T], bool]:
    """A predicate over entities equivalent to :func:`evaluate`, built once per search.

    ``accessor(ident)`` returns a function from an entity to its value for
    ``ident`` (what ``get`` of :func:`evaluate` returns); it is called once
    per identifier, so backends can resolve each identifier to a direct
    lookup.  ``compile_filter(expr, acc)(item) == evaluate(expr, lambda i: acc(i)(item))``.
    """
    if expr is None:
        return lambda item: True
    if isinstance(expr, Comparison):
        return _compile_comparison(expr, accessor(expr.ident))
    if isinstance(expr, (And, Or)):
        parts = tuple(compile_filter(item, accessor) for item in expr.items)
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            a, b = parts
            return (lambda item: a(item) and b(item)) if isinstance(expr, And) else (lambda item: a(item) or b(item))
        if isinstance(expr, And):
            return lambda item: all(p(item) for p in parts)
        return lambda item: any(p(item) for p in parts)
    if isinstance(expr, Not):
        inner = compile_filter(expr.item, accessor)
        return lambda item: not inner(item)
    raise TypeError(f"not a search expression: {type(expr).__name__}")


def evaluate(expr: Optional[Expr], get: Callable[[Identifier], object]) -> bool:
    """Does ``expr`` hold for one entity?  ``None`` (no filter) always holds.

    ``get(ident)`` returns the entity's value for an identifier, or None when
    it is missing: a float for metrics, a str for params and tags, an int or
    str for attributes, a tuple of str for ``Kind.DATASET`` identifiers.
    """
    if expr is None:
        return True
    if isinstance(expr, Comparison):
        return _comparison_holds(expr, get(expr.ident))
    if isinstance(expr, And):
        return all(evaluate(item, get) for item in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(item, get) for item in expr.items)
    if isinstance(expr, Not):
        return not evaluate(expr.item, get)
    raise TypeError(f"not a search expression: {type(expr).__name__}")


# ---------------------------------------------------------------- ordering


def _sortable(raw: object, ident: Identifier) -> tuple[int, Any]:
    """(class, comparable value) of one raw value under the pinned order rules."""
    if ident.kind is Kind.DATASET and isinstance(raw, tuple):
        raw = min(raw) if raw else None
    if ident.type is ValueType.NUMBER:
        number = _as_number(raw)
        if number is None:
            return _MISSING, 0.0
        if math.isnan(number):
            return _NAN, 0.0
        return _PRESENT, number
    text = _as_string(raw)
    return (_MISSING, "") if text is None else (_PRESENT, text)


def _sortable_function(ident: Identifier) -> Callable[[object], tuple[int, Any]]:
    """:func:`_sortable` for one identifier, with fast paths for plain floats, ints and strings."""
    if ident.kind is Kind.DATASET:
        return lambda raw: _sortable(raw, ident)
    if ident.type is ValueType.NUMBER:

        def number(raw: object) -> tuple[int, Any]:
            kind = type(raw)
            if kind is float:
                return (_NAN, 0.0) if raw != raw else (_PRESENT, raw)
            if kind is int:
                return _PRESENT, float(raw)  # type: ignore[arg-type]
            return _sortable(raw, ident)

        return number

    def text(raw: object) -> tuple[int, Any]:
        if type(raw) is str:
            return _PRESENT, raw
        return _sortable(raw, ident)

    return text


def sort_entities(
    items: Iterable[T],
    keys: Sequence[OrderKey],
    get: Callable[[T, Identifier], object],
    accessor: Optional[Callable[[Identifier], Callable[[T], object]]] = None,
) -> list[T]:
    """Return ``items`` sorted by ``keys`` (stable; missing last, NaN before missing, either direction).

    ``accessor(ident)``, when given, returns a function from an item to its
    value for ``ident`` (equivalent to ``get``, resolved once per key).
    """
    items = list(items)
    order = list(range(len(items)))
    # Least significant key first; each key is two stable passes: the value
    # (reversed for DESC, non-present rows share a placeholder so they keep
    # their relative order), then the class, which is never reversed.
    for key in reversed(keys):
        ident = key.ident
        value_of = accessor(ident) if accessor is not None else (lambda item, ident=ident: get(item, ident))
        pairs = list(map(_sortable_function(ident), map(value_of, items)))
        values = [pair[1] for pair in pairs]
        order.sort(key=values.__getitem__, reverse=not key.ascending)
        classes = [pair[0] for pair in pairs]
        if any(classes):  # some rows are NaN or missing
            order.sort(key=classes.__getitem__)
    return [items[i] for i in order]


def _encode(raw: object, ident: Identifier) -> object:
    """One order value as JSON data: numbers (ints kept exact), "NaN"/"Infinity"/"-Infinity", str or None."""
    if ident.kind is Kind.DATASET and isinstance(raw, tuple):
        raw = min(raw) if raw else None
    if ident.type is ValueType.NUMBER:
        number = _as_number(raw)
        if number is None:
            return None
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return int(raw) if isinstance(raw, numbers.Integral) else number
    text = _as_string(raw)
    return text if text is None or type(text) is str else str.__str__(text)  # plain str for str enums


def order_values(item: T, keys: Sequence[OrderKey], get: Callable[[T, Identifier], object]) -> list:
    """The item's sort values for ``keys`` as JSON-serialisable data (for page-token cursors)."""
    return [_encode(get(item, key.ident), key.ident) for key in keys]


_SPECIAL_NUMBERS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _decode(value: object, ident: Identifier) -> tuple[int, Any]:
    """Inverse of :func:`_encode`, straight to the sortable form; bad data raises InvalidParameterError."""
    if value is None:
        return _sortable(None, ident)
    if ident.type is ValueType.NUMBER:
        if isinstance(value, str) and value in _SPECIAL_NUMBERS:
            return _sortable(_SPECIAL_NUMBERS[value], ident)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _sortable(value, ident)
    elif isinstance(value, str):
        return _sortable(value, ident)
    raise InvalidParameterError(f"page_token: invalid page token (bad sort value for {ident})")


def compare_order_values(values: list, cursor: list, keys: Sequence[OrderKey]) -> int:
    """-1, 0 or 1 as ``values`` sorts before, with or after ``cursor`` (both from :func:`order_values`)."""
    if (
        not isinstance(values, list)
        or not isinstance(cursor, list)
        or len(values) != len(keys)
        or len(cursor) != len(keys)
    ):
        raise InvalidParameterError("page_token: invalid page token (it does not match the order_by)")
    for a, b, key in zip(values, cursor, keys):
        (class_a, value_a), (class_b, value_b) = _decode(a, key.ident), _decode(b, key.ident)
        if class_a != class_b:
            return -1 if class_a < class_b else 1
        if value_a != value_b:
            result = -1 if value_a < value_b else 1
            return result if key.ascending else -result
    return 0


def is_after(values: list, cursor: list, keys: Sequence[OrderKey]) -> bool:
    """True when ``values`` sorts strictly after ``cursor`` in the order of ``keys`` (as :func:`sort_entities`)."""
    return compare_order_values(values, cursor, keys) > 0
