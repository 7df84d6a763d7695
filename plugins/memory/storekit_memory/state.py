"""Process-global named state: ``memory://<name>`` always means the same object in one process."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from storekit.errors import InvalidParameterError

__all__ = ["SCHEME", "parse_memory_uri", "shared"]

SCHEME = "memory"
T = TypeVar("T")

_registry: dict[tuple[str, str], object] = {}
_registry_lock = threading.Lock()


def parse_memory_uri(uri: str) -> tuple[str, str]:
    """``memory://<name>/<path>`` -> ``(name, path)``; the name defaults to ``default``."""
    parts = urlsplit(str(uri))
    if parts.scheme.lower() != SCHEME:
        raise InvalidParameterError(f"uri: expected a {SCHEME}:// URI, got scheme {parts.scheme!r}")
    return parts.netloc or "default", parts.path.strip("/")


def shared(kind: str, name: str, factory: Callable[[], T]) -> T:
    """The process-global object of ``kind`` named ``name``, created by ``factory`` on first use."""
    with _registry_lock:
        if (kind, name) not in _registry:
            _registry[(kind, name)] = factory()
        return _registry[(kind, name)]  # type: ignore[return-value]
