"""The search filter language: one parser, one evaluator, one typed tree.

* :func:`parse_filter` - filter string to :class:`~storekit.search.ast.Expr` (or None)
* :func:`parse_order_by` - ``order_by`` strings to :class:`~storekit.search.ast.OrderKey` list
* :func:`evaluate` - does an expression hold for one entity (in-process backends)
* :func:`sort_entities` - order entities by order keys with the pinned rules
"""

from __future__ import annotations

from .ast import (  # noqa: F401
    EXPERIMENT_SCHEMA,
    LOGGED_MODEL_SCHEMA,
    MODEL_VERSION_SCHEMA,
    REGISTERED_MODEL_SCHEMA,
    RUN_SCHEMA,
    And,
    Comparison,
    Expr,
    Identifier,
    Kind,
    Not,
    Op,
    Or,
    OrderKey,
    SearchSchema,
    ValueType,
)
from .evaluator import evaluate, sort_entities  # noqa: F401
from .parser import parse_filter, parse_order_by  # noqa: F401
