"""Parser of the search filter language (contract section 3).

:func:`parse_filter` turns a filter string into the typed tree of
:mod:`storekit.search.ast`; :func:`parse_order_by` turns ``order_by``
clauses into :class:`~storekit.search.ast.OrderKey` lists; :func:`format_expr`
writes a tree back as canonical filter text (``parse_filter(format_expr(e)) == e``
for every tree the parser produces).

Grammar (keywords case-insensitive)::

    expr       := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" expr ")" | comparison
    comparison := ident ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
                | ident ("LIKE" | "ILIKE") string
                | ident ["NOT"] "IN" "(" string ("," string)* ")"
                | ident "IS" ["NOT"] "NULL"
    ident      := prefix "." key | attribute-name
    prefix     := metrics | metric | params | param | tags | tag | datasets | dataset
                | attributes | attribute | attr | run
    key        := word-characters | `back-quoted` | "double-quoted" | 'single-quoted'

Strings are single- or double-quoted; a doubled quote or a backslash-escaped
quote stands for the quote, ``\\\\`` for one backslash; any other backslash
is literal.  Numbers are decimal with optional sign, fraction and exponent;
``NaN``, ``Infinity``/``inf`` and ``-Infinity``/``-inf`` compare with metrics
only.  Every parsed number is a ``float`` (NaN is always the one object
:data:`math.nan`, so parsed trees compare equal).  ``And``/``Or`` are
flattened and one-element groups unwrapped.

Any input raises nothing but :class:`~storekit.errors.InvalidParameterError`,
with the 0-based character position of the problem and a short excerpt.
The tree is plain data: no part of a filter string is ever executed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, cast

from ..errors import InvalidParameterError
from ..validation import refuse_surrogates
from .ast import (
    NUMERIC_OPS,
    RUN_SCHEMA,
    STRING_OPS,
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
from .limits import SearchLimits, current_limits

__all__ = [
    "parse_filter",
    "parse_order_by",
    "format_expr",
    "tie_breakers",
    "MAX_FILTER_LENGTH",
    "MAX_NESTING",
    "MAX_ORDER_BY_CLAUSE_LENGTH",
]

#: Longest filter string accepted, in characters.
MAX_FILTER_LENGTH = 100_000
#: Deepest nesting of parentheses and ``NOT`` accepted by default (see :mod:`storekit.search.limits`).
MAX_NESTING = SearchLimits.max_nesting
#: Longest single ``order_by`` clause accepted, in characters.
MAX_ORDER_BY_CLAUSE_LENGTH = 1_000

_PREFIXES: dict[str, Kind] = {
    "metrics": Kind.METRIC,
    "metric": Kind.METRIC,
    "params": Kind.PARAM,
    "param": Kind.PARAM,
    "tags": Kind.TAG,
    "tag": Kind.TAG,
    "attributes": Kind.ATTRIBUTE,
    "attribute": Kind.ATTRIBUTE,
    "attr": Kind.ATTRIBUTE,
    "run": Kind.ATTRIBUTE,
    "datasets": Kind.DATASET,
    "dataset": Kind.DATASET,
}
_KIND_TYPES = {
    Kind.METRIC: ValueType.NUMBER,
    Kind.PARAM: ValueType.STRING,
    Kind.TAG: ValueType.STRING,
    Kind.DATASET: ValueType.STRING,
}
_DATASET_FIELDS = ("name", "digest", "context")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC"})
_COMPARATOR_SYMBOLS = {
    "=": Op.EQ,
    "==": Op.EQ,
    "!=": Op.NE,
    "<>": Op.NE,
    "<": Op.LT,
    "<=": Op.LE,
    ">": Op.GT,
    ">=": Op.GE,
}
_OP_ORDER: list[Op] = list(Op)

_WS = re.compile(r"\s+")
_SYMBOL = re.compile(r"<=|>=|<>|!=|==|=|<|>")
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?(?!\w)|nan(?!\w))",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d]\w*")
_KEY = re.compile(r"\w+")
_PLAIN_KEY = re.compile(r"\w+")
_QUOTED = {
    "'": re.compile(r"'((?:[^'\\]|\\.|'')*)'", re.DOTALL),
    '"': re.compile(r'"((?:[^"\\]|\\.|"")*)"', re.DOTALL),
    "`": re.compile(r"`((?:[^`]|``)*)`", re.DOTALL),
}
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")


# ------------------------------------------------------------------- lexer


@dataclass(frozen=True)
class _Token:
    """One lexical token: ``kind`` is ``( ) , op str num word ident end``."""

    kind: str
    text: str
    pos: int
    value: object = None


class _Source:
    """The text being parsed, its field name for messages, and error reporting."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field

    def error(self, message: str, pos: int) -> InvalidParameterError:
        """An InvalidParameterError naming the field, the position and an excerpt."""
        excerpt = self.text[pos : pos + 24]
        near = f"near {excerpt!r}" if excerpt else "at the end"
        return InvalidParameterError(f"{self.field}: {message} at position {pos} ({near})")


def _unquote(body: str, quote: str) -> str:
    """The value of a quoted string's body: doubled quotes and ``\\<quote>``/``\\\\`` escapes."""
    if quote == "`":
        return body.replace("``", "`")

    def replace(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped is None:
            return quote
        return escaped if escaped in (quote, "\\") else match.group(0)

    return re.sub(r"\\(.)|" + quote * 2, replace, body, flags=re.DOTALL)


def _quoted(source: _Source, pos: int) -> tuple[str, int]:
    """Lex a quoted string or key starting at ``pos``; returns (value, end)."""
    quote = source.text[pos]
    match = _QUOTED[quote].match(source.text, pos)
    if match is None:
        raise source.error(f"unterminated quoted text (no closing {quote})", pos)
    return _unquote(match.group(1), quote), match.end()


def _number_value(text: str) -> float:
    """The float of a number literal; NaN is always :data:`math.nan` so trees compare equal."""
    value = float(text)
    return math.nan if math.isnan(value) else value


def _tokenize(source: _Source) -> list[_Token]:
    """Split the source text into tokens, ending with an ``end`` token."""
    text, tokens, pos = source.text, [], 0
    while True:
        space = _WS.match(text, pos)
        if space:
            pos = space.end()
        if pos >= len(text):
            tokens.append(_Token("end", "", len(text)))
            return tokens
        char = text[pos]
        if char in "(),":
            tokens.append(_Token(char, char, pos))
            pos += 1
        elif char in "'\"":
            value, end = _quoted(source, pos)
            tokens.append(_Token("str", text[pos:end], pos, value))
            pos = end
        elif (match := _SYMBOL.match(text, pos)) is not None:
            tokens.append(_Token("op", match.group(), pos, _COMPARATOR_SYMBOLS[match.group()]))
            pos = match.end()
        elif (match := _NUMBER.match(text, pos)) is not None:
            tokens.append(_Token("num", match.group(), pos, _number_value(match.group())))
            pos = match.end()
        elif (match := _WORD.match(text, pos)) is not None:
            pos = match.end()
            if text.startswith(".", pos):
                key, pos = _lex_key(source, pos + 1, match.group())
                tokens.append(_Token("ident", text[match.start() : pos], match.start(), (match.group(), key)))
            else:
                tokens.append(_Token("word", match.group(), match.start()))
        elif char == "`":
            raise source.error("a back-quoted key needs a prefix such as metrics.`my key`", pos)
        elif char == "." and tokens and tokens[-1].kind == "ident":
            raise source.error("a key with dots must be back-quoted, e.g. tags.`a.b`", pos)
        else:
            raise source.error(f"unexpected character {char!r}", pos)


def _lex_key(source: _Source, pos: int, prefix: str) -> tuple[str, int]:
    """Lex the key after ``prefix.``: word characters or a quoted key."""
    if pos < len(source.text) and source.text[pos] in "`'\"":
        key, end = _quoted(source, pos)
    else:
        match = _KEY.match(source.text, pos)
        if match is None:
            raise source.error(
                f"expected a key after {prefix + '.'!r} (quote keys with spaces or dots in back-quotes)", pos
            )
        key, end = match.group(), match.end()
    if not key:
        raise source.error(f"empty key after {prefix + '.'!r}", pos)
    return key, end


# ------------------------------------------------------------------ parser


def _describe(token: _Token) -> str:
    """A token as shown in messages."""
    return "the end of the input" if token.kind == "end" else repr(token.text[:40])


def _allowed_identifiers(schema: SearchSchema) -> str:
    """Human list of the identifiers a schema allows, for messages."""
    kinds = [f"{kind.value}.<key>" for kind in (Kind.METRIC, Kind.PARAM, Kind.TAG) if kind in schema.kinds]
    if Kind.DATASET in schema.kinds:
        kinds.append("datasets.name|digest|context")
    return ", ".join(kinds + ["attributes: " + ", ".join(sorted(schema.attributes))])


def _join(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    """``cls(items)`` flattened (nested nodes of the same class merged), a single item unwrapped."""
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


class _Parser:
    """Recursive-descent parser over the token list, with a nesting guard."""

    def __init__(self, source: _Source, schema: SearchSchema) -> None:
        self.source = source
        self.schema = schema
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0
        self.comparisons = 0
        self.limits = current_limits()

    # -- token helpers
    def peek(self) -> _Token:
        """The current token."""
        return self.tokens[self.index]

    def advance(self) -> _Token:
        """Consume and return the current token (``end`` is never consumed)."""
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        """Is the current token one of these keywords (case-insensitive)?"""
        token = self.peek()
        return token.kind == "word" and token.text.upper() in words

    def error(self, message: str, token: Optional[_Token] = None) -> InvalidParameterError:
        """An error at ``token`` (default: the current one)."""
        return self.source.error(message, (token or self.peek()).pos)

    def expect_end(self, expected: str) -> None:
        """Fail unless all input is consumed."""
        if self.peek().kind != "end":
            raise self.error(f"unexpected {_describe(self.peek())}; expected {expected}")

    def nested(self, token: _Token, parse: Callable[[], Expr]) -> Expr:
        """Run ``parse`` one nesting level deeper, refusing more than ``max_nesting`` levels."""
        self.depth += 1
        if self.depth > self.limits.max_nesting:
            raise self.error(
                f"filter nests deeper than the limit of {self.limits.max_nesting} levels (STOREKIT_SEARCH_MAX_NESTING)",
                token,
            )
        try:
            return parse()
        finally:
            self.depth -= 1

    # -- grammar
    def parse_expression(self) -> Expr:
        """``expr := and_expr (OR and_expr)*``."""
        items = [self.parse_and()]
        while self.at_keyword("OR"):
            self.advance()
            items.append(self.parse_and())
        return _join(Or, items)

    def parse_and(self) -> Expr:
        """``and_expr := not_expr (AND not_expr)*``."""
        items = [self.parse_not()]
        while self.at_keyword("AND"):
            self.advance()
            items.append(self.parse_not())
        return _join(And, items)

    def parse_not(self) -> Expr:
        """``not_expr := NOT not_expr | ( expr ) | comparison``."""
        token = self.peek()
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.nested(token, self.parse_not))
        if token.kind == "(":
            self.advance()
            inner = self.nested(token, self.parse_expression)
            if self.peek().kind != ")":
                raise self.error(
                    f"expected ')' to close the '(' opened at character {token.pos}, got {_describe(self.peek())}"
                )
            self.advance()
            return inner
        return self.parse_comparison()

    def parse_identifier(self) -> Identifier:
        """An identifier: ``prefix.key`` or a bare attribute name of the schema."""
        token = self.advance()
        if token.kind == "ident":
            prefix, key = cast(tuple[str, str], token.value)
            kind = _PREFIXES.get(prefix.lower())
            if kind is None:
                raise self.error(
                    f"unknown identifier prefix {prefix!r}; allowed: {_allowed_identifiers(self.schema)}", token
                )
        elif token.kind == "word" and token.text.upper() not in _KEYWORDS:
            kind, key = Kind.ATTRIBUTE, token.text
        else:
            raise self.error(
                f"expected an identifier, got {_describe(token)}; allowed: {_allowed_identifiers(self.schema)}", token
            )
        return self.resolve(kind, key, token)

    def resolve(self, kind: Kind, key: str, token: _Token) -> Identifier:
        """Check ``kind.key`` against the schema and give it its value type."""
        schema = self.schema
        if kind is Kind.ATTRIBUTE:
            name = key if key in schema.attributes else key.lower()
            if name not in schema.attributes:
                raise self.error(
                    f"unknown {schema.entity} attribute {key!r}; allowed: {_allowed_identifiers(schema)}", token
                )
            return Identifier(kind, name, schema.attributes[name])
        if kind not in schema.kinds:
            raise self.error(
                f"{schema.entity} search has no {kind.value}; allowed: {_allowed_identifiers(schema)}", token
            )
        if kind is Kind.DATASET:
            if key.lower() not in _DATASET_FIELDS:
                raise self.error(f"unknown dataset field {key!r}; allowed: {', '.join(_DATASET_FIELDS)}", token)
            key = key.lower()
        return Identifier(kind, key, _KIND_TYPES[kind])

    def parse_comparator(self, ident: Identifier) -> Op:
        """The comparator after an identifier, checked against the identifier's type."""
        token = self.advance()
        word = token.text.upper() if token.kind == "word" else None
        if token.kind == "op":
            op = cast(Op, token.value)
        elif word in ("LIKE", "ILIKE", "IN"):
            op = Op(word)
        elif word == "NOT" and self.at_keyword("IN"):
            self.advance()
            op = Op.NOT_IN
        elif word == "IS":
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not self.at_keyword("NULL"):
                raise self.error(f"expected NULL after {'IS NOT' if negated else 'IS'}, got {_describe(self.peek())}")
            self.advance()
            op = Op.IS_NOT_NULL if negated else Op.IS_NULL
        else:
            raise self.error(
                f"expected a comparator after {ident} (=, !=, <, <=, >, >=, LIKE, ILIKE, "
                f"IN, NOT IN, IS NULL, IS NOT NULL), got {_describe(token)}",
                token,
            )
        allowed = NUMERIC_OPS if ident.type is ValueType.NUMBER else STRING_OPS
        if op not in allowed:
            names = ", ".join(o.value for o in _OP_ORDER if o in allowed)
            raise self.error(f"{op.value} does not apply to {ident} ({ident.type.value}); allowed: {names}", token)
        return op

    def parse_number(self, ident: Identifier) -> float:
        """A number for a numeric identifier (NaN/infinities for metrics only)."""
        token = self.advance()
        if token.kind == "num":
            value = float(token.value)  # type: ignore[arg-type]
            if not math.isfinite(value) and ident.kind is not Kind.METRIC:
                raise self.error(
                    f"{token.text!r} is not a finite number; only metrics compare with NaN or infinities", token
                )
            return token.value  # type: ignore[return-value]
        if (
            token.kind == "str"
            and ident.kind is Kind.ATTRIBUTE
            and ident.key == "version"
            and _INTEGER_TEXT.fullmatch(cast(str, token.value))
        ):
            return float(int(cast(str, token.value)))
        raise self.error(f"{ident} is numeric: expected a number, got {_describe(token)}", token)

    def parse_string(self, ident: Identifier) -> str:
        """A quoted string for a string identifier."""
        token = self.advance()
        if token.kind == "str":
            return token.value  # type: ignore[return-value]
        hint = f" (quote it: '{token.text}')" if token.kind in ("num", "word") else ""
        raise self.error(f"{ident} is a string: expected a quoted string, got {_describe(token)}{hint}", token)

    def parse_string_list(self, ident: Identifier) -> tuple[str, ...]:
        """``( 'a', "b", ... )``: a non-empty tuple of strings."""
        if self.peek().kind != "(":
            raise self.error(f"expected '(' and a list of strings after IN, got {_describe(self.peek())}")
        self.advance()
        if self.peek().kind == ")":
            raise self.error("IN needs at least one value")
        values = [self.parse_string(ident)]
        while self.peek().kind == ",":
            comma = self.advance()
            if len(values) >= self.limits.max_in_values:
                raise self.error(
                    f"the IN list has more than the limit of {self.limits.max_in_values} values "
                    "(STOREKIT_SEARCH_MAX_IN_VALUES)",
                    comma,
                )
            values.append(self.parse_string(ident))
        if self.peek().kind != ")":
            raise self.error(f"expected ',' or ')' in the IN list, got {_describe(self.peek())}")
        self.advance()
        return tuple(values)

    def parse_comparison(self) -> Comparison:
        """``ident comparator value``."""
        start = self.peek()
        self.comparisons += 1
        if self.comparisons > self.limits.max_comparisons:
            raise self.error(
                f"the filter has more than the limit of {self.limits.max_comparisons} comparisons "
                "(STOREKIT_SEARCH_MAX_COMPARISONS)",
                start,
            )
        ident = self.parse_identifier()
        op = self.parse_comparator(ident)
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            return Comparison(ident, op)
        if op in (Op.IN, Op.NOT_IN):
            return Comparison(ident, op, self.parse_string_list(ident))
        if ident.type is ValueType.NUMBER:
            return Comparison(ident, op, self.parse_number(ident))
        value_token = self.peek()
        value = self.parse_string(ident)
        if op in (Op.LIKE, Op.ILIKE):
            self.check_pattern(value, value_token)
        return Comparison(ident, op, value)

    def check_pattern(self, pattern: str, token: _Token) -> None:
        """A LIKE pattern within the length and wildcard limits."""
        limits = self.limits
        if len(pattern) > limits.max_pattern_length:
            raise self.error(
                f"the LIKE pattern is {len(pattern)} characters, over the limit of "
                f"{limits.max_pattern_length} (STOREKIT_SEARCH_MAX_PATTERN_LENGTH)",
                token,
            )
        wildcards = pattern.count("%") + pattern.count("_")
        if wildcards > limits.max_pattern_wildcards:
            raise self.error(
                f"the LIKE pattern has {wildcards} wildcards, over the limit of "
                f"{limits.max_pattern_wildcards} (STOREKIT_SEARCH_MAX_PATTERN_WILDCARDS)",
                token,
            )


def _check_text(text: object, field: str, limit: int) -> str:
    """The input must be a string of at most ``limit`` characters."""
    if not isinstance(text, str):
        raise InvalidParameterError(f"{field}: expected a string, got {type(text).__name__}")
    if len(text) > limit:
        raise InvalidParameterError(f"{field}: length {len(text)} exceeds the limit of {limit} characters")
    nul = text.find("\x00")
    if nul >= 0:
        # No stored key or value can contain NUL, and some databases refuse it in a
        # bound parameter: refuse it here so every backend answers the same.
        raise InvalidParameterError(f"{field}: NUL character at position {nul} is not allowed")
    return refuse_surrogates(text, field)


def parse_filter(filter_string: Optional[str], schema: SearchSchema = RUN_SCHEMA) -> Optional[Expr]:
    """Parse a filter string for ``schema``'s entity into an expression tree.

    None, an empty or an all-whitespace string gives None (no filter).  Any
    malformed input raises InvalidParameterError naming the position.
    """
    if filter_string is None:
        return None
    text = _check_text(filter_string, "filter_string", MAX_FILTER_LENGTH)
    if not text.strip():
        return None
    try:
        parser = _Parser(_Source(text, "filter_string"), schema)
        expr = parser.parse_expression()
        parser.expect_end("AND, OR or the end of the filter")
        return expr
    except RecursionError:  # defence in depth; MAX_NESTING keeps well below the limit
        raise InvalidParameterError("filter_string: nested too deeply") from None


# ---------------------------------------------------------------- order_by


def tie_breakers(schema: SearchSchema) -> tuple[OrderKey, ...]:
    """The keys that make an order total for ``schema``'s entity.

    The last key of the default order, except for model versions, where the
    unique key is (name, version): both of them.
    """
    if len(schema.default_order) > 1 and schema.entity == "model version":
        return schema.default_order
    return schema.default_order[-1:]


def _parse_order_clause(clause: object, index: int, schema: SearchSchema) -> OrderKey:
    """One ``"<identifier> [ASC|DESC]"`` clause."""
    field = f"order_by[{index}]"
    text = _check_text(clause, field, MAX_ORDER_BY_CLAUSE_LENGTH)
    parser = _Parser(_Source(text, field), schema)
    if parser.peek().kind == "end":
        raise InvalidParameterError(f"{field}: empty order_by clause")
    start = parser.peek()
    ident = parser.parse_identifier()
    if ident.kind is Kind.DATASET:
        raise parser.error("datasets.* fields cannot be used in order_by", start)
    ascending = True
    if parser.at_keyword("ASC", "DESC"):
        ascending = parser.advance().text.upper() == "ASC"
    parser.expect_end("ASC, DESC or the end of the clause")
    return OrderKey(ident, ascending)


def parse_order_by(order_by: Optional[Sequence[str]], schema: SearchSchema = RUN_SCHEMA) -> list[OrderKey]:
    """Parse ``order_by`` clauses such as ``["metrics.acc DESC", "params.lr"]``.

    None or empty gives the schema's default order.  The schema's unique
    tie-breaker (:func:`tie_breakers`) is appended unless already present,
    so the order is total.  A single string is taken as one clause.
    """
    if order_by is None:
        return list(schema.default_order)
    if isinstance(order_by, str):
        order_by = [order_by]
    try:
        clauses = list(order_by)
    except TypeError:
        raise InvalidParameterError(f"order_by: expected a list of strings, got {type(order_by).__name__}") from None
    limit = current_limits().max_order_by_keys
    if len(clauses) > limit:
        raise InvalidParameterError(
            f"order_by: {len(clauses)} clauses exceed the limit of {limit} (STOREKIT_SEARCH_MAX_ORDER_BY_KEYS)"
        )
    keys = [_parse_order_clause(clause, i, schema) for i, clause in enumerate(clauses)]
    if not keys:
        return list(schema.default_order)
    present = {key.ident for key in keys}
    keys.extend(key for key in tie_breakers(schema) if key.ident not in present)
    return keys


# -------------------------------------------------------------- formatting


def _format_identifier(ident: Identifier) -> str:
    """``kind.key``, back-quoting keys that are not plain word characters."""
    key = ident.key if _PLAIN_KEY.fullmatch(ident.key) else "`" + ident.key.replace("`", "``") + "`"
    return f"{ident.kind.value}.{key}"


def _format_value(value: object) -> str:
    """A value literal: number, quoted string or parenthesised list."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_format_value(item) for item in value) + ")"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)


def _format_operand(expr: Expr, parent: type) -> str:
    """Format an operand, parenthesised where precedence requires it."""
    text = format_expr(expr)
    needs_parens = isinstance(expr, Or) or (isinstance(expr, And) and parent is not Or)
    return f"({text})" if needs_parens else text


def format_expr(expr: Optional[Expr]) -> str:
    """Canonical filter text of ``expr`` ("" for None); ``parse_filter`` reads it back to ``expr``."""
    if expr is None:
        return ""
    if isinstance(expr, Comparison):
        head = f"{_format_identifier(expr.ident)} {expr.op.value}"
        if expr.op in (Op.IS_NULL, Op.IS_NOT_NULL):
            return head
        return f"{head} {_format_value(expr.value)}"
    if isinstance(expr, Not):
        return "NOT " + _format_operand(expr.item, Not)
    if isinstance(expr, (And, Or)):
        joiner = " AND " if isinstance(expr, And) else " OR "
        return joiner.join(_format_operand(item, type(expr)) for item in expr.items)
    raise TypeError(f"not a search expression: {type(expr).__name__}")
