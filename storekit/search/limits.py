"""The cost limits of a search: how large a filter or an ordering may be.

Every backend receives filters and orderings through the one parser, which
enforces these limits with an :class:`~storekit.errors.InvalidParameterError`
naming the limit, so no backend ever sees a query that its database cannot
plan or run in bounded time and memory (PostgreSQL's join search, SQLite's
expression depth and 64-table joins, MariaDB's 61-table joins, a LIKE
pattern of thousands of wildcards).

Each limit has a default and an environment variable that overrides it:

=======================  ======================================  =======
limit                    environment variable                    default
=======================  ======================================  =======
comparisons per filter   ``STOREKIT_SEARCH_MAX_COMPARISONS``     50
nesting depth            ``STOREKIT_SEARCH_MAX_NESTING``         50
values in one IN list    ``STOREKIT_SEARCH_MAX_IN_VALUES``       1000
LIKE pattern length      ``STOREKIT_SEARCH_MAX_PATTERN_LENGTH``  500
LIKE wildcards           ``STOREKIT_SEARCH_MAX_PATTERN_WILDCARDS``  50
order_by clauses         ``STOREKIT_SEARCH_MAX_ORDER_BY_KEYS``   10
=======================  ======================================  =======

A configured value may lower a limit freely; raising one above its default
is at the operator's risk (the defaults are what every built-in backend was
tested at).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..envvars import env_int

__all__ = ["SearchLimits", "current_limits"]


@dataclass(frozen=True)
class SearchLimits:
    """Upper bounds on the size of one search's filter and ordering."""

    #: Comparisons (``a = 1``, ``b IN (...)``, ``c IS NULL``...) in one filter.
    max_comparisons: int = 50
    #: Nesting of parentheses and ``NOT``.
    max_nesting: int = 50
    #: Values in one ``IN`` / ``NOT IN`` list.
    max_in_values: int = 1000
    #: Characters of one ``LIKE`` / ``ILIKE`` pattern.
    max_pattern_length: int = 500
    #: ``%`` and ``_`` wildcards in one ``LIKE`` / ``ILIKE`` pattern.
    max_pattern_wildcards: int = 50
    #: Clauses of one ``order_by`` list.
    max_order_by_keys: int = 10


_ENV = {
    "max_comparisons": "STOREKIT_SEARCH_MAX_COMPARISONS",
    "max_nesting": "STOREKIT_SEARCH_MAX_NESTING",
    "max_in_values": "STOREKIT_SEARCH_MAX_IN_VALUES",
    "max_pattern_length": "STOREKIT_SEARCH_MAX_PATTERN_LENGTH",
    "max_pattern_wildcards": "STOREKIT_SEARCH_MAX_PATTERN_WILDCARDS",
    "max_order_by_keys": "STOREKIT_SEARCH_MAX_ORDER_BY_KEYS",
}
_DEFAULTS = SearchLimits()


def current_limits() -> SearchLimits:
    """The limits in force: the defaults, overridden by positive integers in the environment.

    A malformed or non-positive value is ignored (the default stays): a typo
    in a configuration must not turn a limit off.
    """
    overrides: dict[str, int] = {}
    for name, variable in _ENV.items():
        default = getattr(_DEFAULTS, name)
        value = env_int(variable, default, minimum=1, fallback=True)
        if value != default:
            overrides[name] = value
    return dataclasses.replace(_DEFAULTS, **overrides) if overrides else _DEFAULTS
