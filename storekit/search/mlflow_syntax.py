"""MLflow's search syntax mapped onto storekit's filter and ``order_by`` grammar (shared by
``storekit server`` and the storekit-mlflow bridge; no MLflow import).

The two grammars are close; what differs is rewritten here, lexically, before
storekit's parser (the one place that validates a filter) sees the text:

* unquoted keys with dots (``tags.mlflow.runName``): storekit wants them
  back-quoted, so they become ``tags.`mlflow.runName```;
* MLflow's prefix spellings ``parameter``/``parameters`` become ``params``;
* attribute aliases per entity: runs ``created``/``Created`` -> ``start_time`` and
  ``Run name`` (any case) -> ``run_name``; model versions ``version_number`` ->
  ``version`` and ``source_path`` -> ``source``; registered models ``timestamp``
  -> ``creation_timestamp``; logged models ``creation_time`` ->
  ``creation_timestamp`` and ``last_updated_time`` -> ``last_updated_timestamp``;
* registry searches: MLflow's client appends ``tag.`mlflow.prompt.is_prompt` != 'true'``
  and means "models without that tag too"; storekit's two-valued ``!=`` is false on a
  missing tag, so exactly that clause becomes ``NOT tags.`mlflow.prompt.is_prompt` = 'true'``.

Everything else (``=``, ``!=``, ``LIKE``, ``ILIKE``, ``IN``, ``NOT IN``, ``IS [NOT] NULL``,
``AND``, ``OR``, back-quoted and double-quoted keys, ``datasets.name|digest|context``,
``ASC``/``DESC``) means the same in both and passes through unchanged.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from storekit.search import (
    MODEL_VERSION_SCHEMA,
    REGISTERED_MODEL_SCHEMA,
    And,
    Comparison,
    Identifier,
    Kind,
    Not,
    Op,
    Or,
    format_expr,
    parse_filter,
)

__all__ = [
    "RUN_ALIASES",
    "EXPERIMENT_ALIASES",
    "REGISTERED_MODEL_ALIASES",
    "MODEL_VERSION_ALIASES",
    "LOGGED_MODEL_ALIASES",
    "PROMPT_TAG",
    "rewrite",
    "rewrite_order_by",
    "registry_filter",
    "logged_model_order_by",
]

#: MLflow attribute spelling (lower-cased) -> storekit attribute, per entity.
RUN_ALIASES: Mapping[str, str] = {"created": "start_time", "run name": "run_name"}
EXPERIMENT_ALIASES: Mapping[str, str] = {}
REGISTERED_MODEL_ALIASES: Mapping[str, str] = {"timestamp": "creation_timestamp"}
MODEL_VERSION_ALIASES: Mapping[str, str] = {
    "version_number": "version",
    "source_path": "source",
    "timestamp": "creation_timestamp",
}
LOGGED_MODEL_ALIASES: Mapping[str, str] = {
    "creation_time": "creation_timestamp",
    "last_updated_time": "last_updated_timestamp",
}

#: The tag MLflow marks prompts with in the model registry.
PROMPT_TAG = "mlflow.prompt.is_prompt"

_ATTRIBUTE_PREFIXES = frozenset({"attributes", "attribute", "attr", "run"})
_PREFIX_SPELLINGS = {"parameter": "params", "parameters": "params"}
_KNOWN_PREFIXES = (
    frozenset({"metrics", "metric", "params", "param", "tags", "tag", "datasets", "dataset"})
    | _ATTRIBUTE_PREFIXES
    | frozenset(_PREFIX_SPELLINGS)
)

_IDENT = re.compile(
    r"""(?P<prefix>[^\W\d]\w*)
        (?:\.(?P<key>`(?:[^`]|``)*`|"(?:[^"\\]|\\.|"")*"|[\w.]+))?""",
    re.VERBOSE,
)
_STRING = {"'": re.compile(r"'(?:[^'\\]|\\.|'')*'?", re.DOTALL), '"': re.compile(r'"(?:[^"\\]|\\.|"")*"?', re.DOTALL)}
_NUMBER = re.compile(r"\d[\w.]*")
_PLAIN = re.compile(r"\w+")


def _unquote_key(key: str) -> str:
    if key[:1] == "`" and key[-1:] == "`" and len(key) >= 2:
        return key[1:-1].replace("``", "`")
    if key[:1] == '"' and key[-1:] == '"' and len(key) >= 2:
        return re.sub(r'\\(["\\])|""', lambda m: m.group(1) or '"', key[1:-1])
    return key


def _quote_key(key: str) -> str:
    return key if _PLAIN.fullmatch(key) else "`" + key.replace("`", "``") + "`"


def _identifier(prefix: str, key: Optional[str], aliases: Mapping[str, str]) -> str:
    """The storekit spelling of one MLflow identifier."""
    low = prefix.lower()
    if key is None:
        return aliases.get(low, prefix)
    if low not in _KNOWN_PREFIXES:
        return f"{prefix}.{key}"  # not an identifier we know: let storekit's parser say why
    name = _unquote_key(key)
    if low in _ATTRIBUTE_PREFIXES:
        name = aliases.get(name.lower(), name)
        return f"attributes.{_quote_key(name)}"
    return f"{_PREFIX_SPELLINGS.get(low, prefix)}.{_quote_key(name)}"


def rewrite(text: Optional[str], aliases: Mapping[str, str] = RUN_ALIASES) -> Optional[str]:
    """An MLflow filter (or one ``order_by`` clause) in storekit's spelling.

    String literals are copied unchanged; only identifiers are rewritten.
    ``None`` and blank text give ``None``.
    """
    if text is None or not str(text).strip():
        return None
    text = str(text)
    out: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in _STRING:
            match = _STRING[char].match(text, pos)
            assert match is not None  # the pattern matches at least the opening quote
            out.append(match.group())
            pos = match.end()
        elif (match := _NUMBER.match(text, pos)) is not None:  # not str.isdigit(): '²' is no \d
            out.append(match.group())
            pos = match.end()
        elif (match := _IDENT.match(text, pos)) is not None:
            out.append(_identifier(match.group("prefix"), match.group("key"), aliases))
            pos = match.end()
        else:
            out.append(char)
            pos += 1
    return "".join(out)


def rewrite_order_by(
    order_by: Optional[Sequence[str]], aliases: Mapping[str, str] = RUN_ALIASES
) -> Optional[list[str]]:
    """MLflow ``order_by`` clauses in storekit's spelling (``None`` when there are none)."""
    if not order_by:
        return None
    clauses = [rewrite(clause, aliases) for clause in order_by]
    return [c for c in clauses if c] or None


def registry_filter(text: Optional[str], aliases: Mapping[str, str]) -> Optional[str]:
    """A registry search filter, with MLflow's prompt-exclusion clause made explicit."""
    rewritten = rewrite(text, aliases)
    if rewritten is None or PROMPT_TAG not in rewritten:
        return rewritten
    schema = REGISTERED_MODEL_SCHEMA if aliases is REGISTERED_MODEL_ALIASES else MODEL_VERSION_SCHEMA
    expr = parse_filter(rewritten, schema)

    def fix(node: Any) -> Any:
        if isinstance(node, Comparison):
            ident = node.ident
            if ident.kind is Kind.TAG and ident.key == PROMPT_TAG and node.op is Op.NE:
                return Not(Comparison(Identifier(Kind.TAG, PROMPT_TAG, ident.type), Op.EQ, node.value))
            return node
        if isinstance(node, (And, Or)):
            return type(node)(tuple(fix(i) for i in node.items))
        if isinstance(node, Not):
            return Not(fix(node.item))
        return node

    return format_expr(fix(expr)) if expr is not None else None


def logged_model_order_by(order_by: Optional[Sequence[Any]]) -> Optional[list[str]]:
    """MLflow's logged-model ``order_by`` (dicts ``{field_name, ascending, dataset_*}``) as storekit strings.

    storekit's metrics are not per dataset, so ``dataset_name``/``dataset_digest`` do
    not narrow the order.  Plain strings are accepted too.
    """
    if not order_by:
        return None
    clauses = []
    for item in order_by:
        if isinstance(item, str):
            clause = item
        else:
            field = item.get("field_name") if isinstance(item, Mapping) else getattr(item, "field_name", None)
            ascending = item.get("ascending", True) if isinstance(item, Mapping) else getattr(item, "ascending", True)
            clause = f"{field} {'ASC' if ascending in (True, None) else 'DESC'}"
        rewritten = rewrite(clause, LOGGED_MODEL_ALIASES)
        if rewritten:
            clauses.append(rewritten)
    return clauses or None
