"""Typed expression tree of the search filter language (contract section 3).

The parser (:mod:`storekit.search.parser`) turns a filter string into these
nodes; the in-process evaluator (:mod:`storekit.search.evaluator`) and the
SQL compiler (in the SQL backend) consume them.  A :class:`SearchSchema`
says which identifiers an entity type has and of which type they are.

Semantics pinned for every backend (two-valued logic):

* a comparison on a missing value is false; ``IS NULL`` is true exactly
  when the value is missing; ``NOT`` inverts its operand;
* numbers compare as IEEE doubles: NaN satisfies only ``!=``;
* ``=``, ``!=``, ``LIKE``, ``IN`` on strings are case-sensitive, ``ILIKE`` is
  not; ``%`` and ``_`` are the only wildcards (no escape character);
* in ``order_by`` missing values sort last in either direction; NaN sorts
  after every number and before missing values, in either direction.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

__all__ = [
    "COMPARATORS",
    "Kind",
    "ValueType",
    "Identifier",
    "Op",
    "Comparison",
    "And",
    "Or",
    "Not",
    "Expr",
    "OrderKey",
    "SearchSchema",
    "RUN_SCHEMA",
    "EXPERIMENT_SCHEMA",
    "REGISTERED_MODEL_SCHEMA",
    "MODEL_VERSION_SCHEMA",
    "LOGGED_MODEL_SCHEMA",
]


class Kind(str, enum.Enum):
    """What an identifier names."""

    METRIC = "metrics"
    PARAM = "params"
    TAG = "tags"
    ATTRIBUTE = "attributes"
    DATASET = "datasets"


class ValueType(str, enum.Enum):
    """Value type of an identifier: decides which comparators apply."""

    NUMBER = "number"
    STRING = "string"


class Op(str, enum.Enum):
    """Comparators."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


#: The Python meaning of the six comparison operators, shared by the in-process evaluator and the SQL
#: planner (IEEE 754: every comparison with NaN is false except ``!=``).
COMPARATORS: Mapping[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}

NUMERIC_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IS_NULL, Op.IS_NOT_NULL})
STRING_OPS = frozenset({Op.EQ, Op.NE, Op.LIKE, Op.ILIKE, Op.IN, Op.NOT_IN, Op.IS_NULL, Op.IS_NOT_NULL})


@dataclass(frozen=True)
class Identifier:
    """``kind.key``, e.g. ``metrics.acc`` or ``attributes.start_time``.

    For ``Kind.DATASET`` the key is ``name``, ``digest`` or ``context``.
    """

    kind: Kind
    key: str
    type: ValueType

    def __str__(self) -> str:
        return f"{self.kind.value}.`{self.key}`"


#: A comparison's right-hand side: a number, a string, a tuple of strings (IN), or None (IS [NOT] NULL).
Value = Union[float, str, tuple, None]


@dataclass(frozen=True)
class Comparison:
    """``ident op value``."""

    ident: Identifier
    op: Op
    value: Value = None


@dataclass(frozen=True)
class And:
    """All operands hold."""

    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Or:
    """At least one operand holds."""

    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Not:
    """The operand does not hold."""

    item: "Expr"


Expr = Union[Comparison, And, Or, Not]


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` clause."""

    ident: Identifier
    ascending: bool = True


@dataclass(frozen=True)
class SearchSchema:
    """Which identifiers an entity type has.

    ``kinds`` are the prefixed kinds allowed besides attributes
    (``metrics``, ``params``, ``tags``, ``datasets``); ``attributes`` maps
    attribute names to their value type.  Bare names (no prefix) are
    attributes.  ``default_order`` is used when ``order_by`` is empty.
    """

    entity: str
    kinds: frozenset[Kind]
    attributes: Mapping[str, ValueType]
    default_order: tuple[OrderKey, ...] = field(default=())


def _attr(name: str, vtype: ValueType) -> Identifier:
    return Identifier(Kind.ATTRIBUTE, name, vtype)


_S, _N = ValueType.STRING, ValueType.NUMBER

RUN_SCHEMA = SearchSchema(
    entity="run",
    kinds=frozenset({Kind.METRIC, Kind.PARAM, Kind.TAG, Kind.DATASET}),
    attributes={
        "run_id": _S,
        "run_name": _S,
        "status": _S,
        "user_id": _S,
        "start_time": _N,
        "end_time": _N,
        "artifact_uri": _S,
        "experiment_id": _S,
        "lifecycle_stage": _S,
    },
    default_order=(OrderKey(_attr("start_time", _N), False), OrderKey(_attr("run_id", _S), True)),
)

EXPERIMENT_SCHEMA = SearchSchema(
    entity="experiment",
    kinds=frozenset({Kind.TAG}),
    attributes={
        "experiment_id": _S,
        "name": _S,
        "artifact_location": _S,
        "lifecycle_stage": _S,
        "creation_time": _N,
        "last_update_time": _N,
    },
    default_order=(
        OrderKey(_attr("creation_time", _N), False),
        OrderKey(_attr("experiment_id", _S), True),
    ),
)

REGISTERED_MODEL_SCHEMA = SearchSchema(
    entity="registered model",
    kinds=frozenset({Kind.TAG}),
    attributes={"name": _S, "creation_timestamp": _N, "last_updated_timestamp": _N, "description": _S},
    default_order=(OrderKey(_attr("name", _S), True),),
)

MODEL_VERSION_SCHEMA = SearchSchema(
    entity="model version",
    kinds=frozenset({Kind.TAG}),
    attributes={
        "name": _S,
        "version": _N,
        "run_id": _S,
        "source": _S,
        "current_stage": _S,
        "status": _S,
        "user_id": _S,
        "model_id": _S,
        "creation_timestamp": _N,
        "last_updated_timestamp": _N,
    },
    default_order=(OrderKey(_attr("name", _S), True), OrderKey(_attr("version", _N), False)),
)

LOGGED_MODEL_SCHEMA = SearchSchema(
    entity="logged model",
    kinds=frozenset({Kind.METRIC, Kind.PARAM, Kind.TAG}),
    attributes={
        "model_id": _S,
        "name": _S,
        "experiment_id": _S,
        "model_type": _S,
        "source_run_id": _S,
        "status": _S,
        "creation_timestamp": _N,
        "last_updated_timestamp": _N,
    },
    default_order=(
        OrderKey(_attr("creation_timestamp", _N), False),
        OrderKey(_attr("model_id", _S), True),
    ),
)
