"""SQL ``LIKE`` matching in process, with the pinned storekit rules.

``%`` matches any run of characters (also none), ``_`` matches exactly one
character, and every other character - including backslash - is literal:
there is no escape character.  ``ILIKE`` is case-insensitive by applying
:meth:`str.lower` to both sides (SQL backends use ``lower()`` too).

The matcher splits the pattern at ``%`` and places the pieces greedily from
the left, so its cost is bounded by ``len(value) * len(pattern)`` - no
regular-expression backtracking blow-up on patterns like ``%a%a%a%b``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Pattern

__all__ = ["like_match"]


def _piece_regex(piece: str) -> Pattern[str]:
    """A regex for one ``%``-free piece: ``_`` is any one character, the rest literal."""
    return re.compile("".join("." if c == "_" else re.escape(c) for c in piece), re.DOTALL)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> tuple[Pattern[str], ...]:
    """The pattern's ``%``-separated pieces as compiled regexes (cached)."""
    return tuple(_piece_regex(piece) for piece in pattern.split("%"))


@lru_cache(maxsize=512)
def _last_piece_length(pattern: str) -> int:
    """Characters matched by the piece after the last ``%`` (each char or ``_`` is one)."""
    return len(pattern.rsplit("%", 1)[1])


def like_match(value: str, pattern: str, case_insensitive: bool = False) -> bool:
    """Does ``value`` match the SQL ``LIKE`` ``pattern`` (``%`` and ``_`` the only wildcards)?

    With ``case_insensitive`` both sides are compared after :meth:`str.lower`.
    """
    if case_insensitive:
        value, pattern = value.lower(), pattern.lower()
    pieces = _compile(pattern)
    if len(pieces) == 1:
        return pieces[0].fullmatch(value) is not None
    first, middle, last = pieces[0], pieces[1:-1], pieces[-1]
    head = first.match(value)
    if head is None:
        return False
    pos = head.end()
    for piece in middle:
        found = piece.search(value, pos)
        if found is None:
            return False
        pos = found.end()
    # Every piece has a fixed length in characters: the last one must end the value.
    start = len(value) - _last_piece_length(pattern)
    return start >= pos and last.fullmatch(value, start) is not None
