"""Output and error handling shared by the ``storekit`` commands.

* :func:`handle_errors` turns a :class:`~storekit.errors.StorekitError` into a
  one-line ``error: ...`` on stderr (credentials redacted) and exit code 1.
* :func:`client_from_context` builds the :class:`~storekit.client.TrackingClient`
  from the group's ``--tracking-uri``/``--registry-uri``.
* :func:`print_table`, :func:`print_fields` render rich tables;
  :func:`print_json` and :func:`to_jsonable` render entities as JSON (times in
  ms, non-finite floats as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``).

Values read from a store are other people's data: every string that reaches the
terminal or a JSON document passes :func:`display_text` or :func:`to_jsonable`,
which redact credentials (URIs' passwords and tokens, connection-string secrets)
and, for the terminal, show control characters as escapes instead of sending them
raw (a tag holding ``ESC [2J`` cannot clear the screen of whoever lists runs).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import functools
import json
import math
import re
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence, TypeVar

import click

from ..errors import StorekitError

if TYPE_CHECKING:  # pragma: no cover
    from ..client import TrackingClient

__all__ = [
    "handle_errors",
    "client_from_context",
    "redact_message",
    "display_text",
    "to_jsonable",
    "print_json",
    "print_table",
    "print_fields",
    "format_time",
    "format_value",
    "collect_pages",
]

F = TypeVar("F", bound=Callable[..., Any])


def redact_message(text: str) -> str:
    """``text`` with every URI's password and every connection-string secret replaced by ``***``."""
    from storekit.uri import redact_text

    return redact_text(text)


#: C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_char(match: "re.Match[str]") -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def display_text(text: str) -> str:
    """``text`` safe to print on a terminal: credentials redacted, control characters as ``\\xNN`` escapes."""
    return _UNSAFE_CHARS.sub(_escape_char, redact_message(text))


def handle_errors(func: F) -> F:
    """Decorate a command: storekit errors become ``error: <message>`` on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StorekitError as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"error: {display_text(message)}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def client_from_context(ctx: click.Context, create_stores: bool = False) -> "TrackingClient":
    """A client for the URIs given to the ``storekit`` group (environment and defaults otherwise).

    The commands only read, so by default the stores must exist: a mistyped
    URI is an error (:class:`~storekit.errors.StoreNotFoundError`), never a new store.
    """
    from ..client import TrackingClient

    obj = ctx.find_root().obj or {}
    return TrackingClient(obj.get("tracking_uri"), obj.get("registry_uri"), create_stores=create_stores)


def _json_float(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def to_jsonable(value: Any) -> Any:
    """Entities, enums, mappings and sequences as plain JSON-compatible values, credentials redacted.

    Control characters need no escaping here: JSON encodes them as ``\\uNNNN``.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value if not isinstance(value, int) else value.name
    if isinstance(value, str):
        return redact_message(value)
    if isinstance(value, dict):
        return {redact_message(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return _json_float(value)
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    click.echo(json.dumps(to_jsonable(value), indent=2, sort_keys=False))


def format_time(ms: Optional[int]) -> str:
    """Milliseconds since the epoch as local ``YYYY-MM-DD HH:MM:SS``; empty for None."""
    if ms is None:
        return ""
    return _dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_value(value: Any) -> str:
    """A cell's text: floats compactly (``%.6g``), None as empty, the rest through :func:`display_text`."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".6g")
    return display_text(str(value))


#: Width of tables when stdout is not a terminal (pipes, files): wide enough for ids and URIs.
PIPE_WIDTH = 200


def console() -> Any:
    """A rich console: the terminal's width, or :data:`PIPE_WIDTH` columns when piped."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: Optional[str] = None,
    empty: str = "(none)",
    row_styles: Optional[Sequence[Optional[str]]] = None,
) -> None:
    """Print rows as a rich table with ``columns`` headers; ``empty`` when there are none.

    ``row_styles`` optionally gives each row a rich style (e.g. ``"bold yellow"`` to highlight it).
    """
    from rich.table import Table
    from rich.text import Text

    rows = list(rows)
    title = display_text(title) if title else title
    out = console()
    if not rows:
        out.print(f"{title}: {empty}" if title else empty, markup=False, highlight=False)
        return
    table = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for i, row in enumerate(rows):
        style = row_styles[i] if row_styles is not None and i < len(row_styles) else None
        table.add_row(*(Text(format_value(v)) for v in row), style=style)  # Text: no markup
    out.print(table)


def print_fields(pairs: Iterable[tuple[str, Any]], title: Optional[str] = None) -> None:
    """Print ``(field, value)`` pairs as a two-column table."""
    print_table(("Field", "Value"), pairs, title=title)


def collect_pages(fetch: Callable[[Optional[str]], Any], limit: Optional[int] = None) -> list[Any]:
    """Call ``fetch(page_token)`` until the token runs out (or ``limit`` items are collected)."""
    items: list[Any] = []
    token: Optional[str] = None
    while True:
        page = fetch(token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token or (limit is not None and len(items) >= limit):
            return items if limit is None else items[:limit]
