"""The search filter language: one parser, one evaluator, one typed tree.

* :func:`parse_filter` - filter string to :class:`~storekit.search.ast.Expr` (or None)
* :func:`parse_order_by` - ``order_by`` strings to :class:`~storekit.search.ast.OrderKey` list
* :func:`evaluate` - does an expression hold for one entity (in-process backends)
* :func:`compile_filter` - the same as a predicate built once per search (faster over many entities)
* :func:`sort_entities` - order entities by order keys with the pinned rules
* :func:`order_values` / :func:`is_after` - keyset-pagination cursors in the same order
* :func:`format_expr` - canonical filter text of a tree; :func:`like_match` - SQL LIKE in process
* :mod:`storekit.search.inprocess` - filter, order and page entities held in process (one accessor protocol)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .evaluator import (  # noqa: F401
        compare_order_values,
        compile_filter,
        evaluate,
        is_after,
        like_match,
        order_values,
        sort_entities,
    )
    from .parser import format_expr, parse_filter, parse_order_by  # noqa: F401

#: names served lazily, by module: the SQL backend needs the tree and the parser, not the evaluator
_LAZY = {
    **dict.fromkeys(
        (
            "compare_order_values",
            "compile_filter",
            "evaluate",
            "is_after",
            "like_match",
            "order_values",
            "sort_entities",
        ),
        "evaluator",
    ),
    **dict.fromkeys(("format_expr", "parse_filter", "parse_order_by"), "parser"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
