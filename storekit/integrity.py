"""Integrity checks of a store: what ``storekit check URI [--repair]`` runs.

The engine resolves the tracking-store implementation that serves a URI
(without constructing it: a store that does not open cleanly is exactly
what a check must be able to look at) and calls its class-level hook::

    @classmethod
    def check_integrity(cls, uri: str, repair: bool = False) -> IntegrityReport

The built-in file and SQL backends have one (``storekit.backends.file.check``
and ``storekit.backends.sql.check``); a plugin without one raises
:class:`~storekit.interfaces.UnsupportedOperationError`.

A report lists :class:`Finding` objects (``error`` or ``warning``, each
with where it is and what is wrong, and whether ``--repair`` fixed it) and
how many items of each kind were examined.  It is *ok* when no error is
left unrepaired.  Locations and messages never contain credentials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from .interfaces import UnsupportedOperationError
from .uri import redact_uri

__all__ = ["ERROR", "WARNING", "Finding", "IntegrityReport", "check_store", "describe_error", "HOOK_NAME"]

#: Severity of a problem that makes the store inconsistent (non-zero exit).
ERROR = "error"
#: Severity of something harmless but worth knowing (e.g. leftover temp files).
WARNING = "warning"
#: Name of the class-level hook a tracking-store implementation provides.
HOOK_NAME = "check_integrity"


def describe_error(exc: BaseException) -> str:
    """A one-line description of an exception for a finding (credentials redacted)."""
    from .uri import redact_text as redact_message

    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact_message(text)


@dataclass(frozen=True)
class Finding:
    """One problem found by a check.

    ``location`` names the file, table or entity; ``repaired`` is True when
    ``--repair`` fixed it.
    """

    severity: str
    location: str
    message: str
    repaired: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict."""
        return {
            "severity": self.severity,
            "location": self.location,
            "message": self.message,
            "repaired": self.repaired,
        }


@dataclass
class IntegrityReport:
    """The result of checking one store."""

    uri: str
    backend: str
    repair: bool = False
    findings: list[Finding] = field(default_factory=list)
    #: kind of item -> how many were examined ("runs", "metric points", ...)
    checked: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.uri = redact_uri(self.uri)

    def add(
        self, severity: str, location: Union[str, "os.PathLike[str]"], message: str, repaired: bool = False
    ) -> Finding:
        """Record a finding and return it."""
        finding = Finding(severity, redact_uri(os.fspath(location)), message, repaired)
        self.findings.append(finding)
        return finding

    def count(self, kind: str, n: int = 1) -> None:
        """Add ``n`` to the number of ``kind`` items examined."""
        self.checked[kind] = self.checked.get(kind, 0) + n

    @property
    def problems(self) -> list[Finding]:
        """Errors that are still there (not repaired)."""
        return [f for f in self.findings if f.severity == ERROR and not f.repaired]

    @property
    def ok(self) -> bool:
        """True when no error is left unrepaired."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (what ``storekit check --json`` prints)."""
        return {
            "uri": self.uri,
            "backend": self.backend,
            "repair": self.repair,
            "ok": self.ok,
            "checked": dict(self.checked),
            "findings": [f.to_dict() for f in self.findings],
        }


def check_store(
    uri: "Union[str, os.PathLike[str]]",
    repair: bool = False,
    loader: Optional[Callable[[str, str], Any]] = None,
) -> IntegrityReport:
    """Check the store at ``uri`` (and with ``repair`` fix what can be fixed safely).

    ``loader(interface, uri)`` finds the implementation class; it defaults
    to :func:`storekit.plugins.load_implementation`.
    """
    text = os.fspath(uri)
    if loader is None:
        from .plugins import load_implementation

        loader = load_implementation
    impl = loader("tracking", text)
    hook = getattr(impl, HOOK_NAME, None)
    if hook is None:
        raise UnsupportedOperationError(
            f"{getattr(impl, '__name__', type(impl).__name__)} has no integrity check "
            f"(no {HOOK_NAME} hook); cannot check {redact_uri(text)}"
        )
    return hook(text, repair=repair)
