"""Where the stores are: the tracking, registry and default URIs of this process.

One low module (it imports nothing else from storekit but :mod:`storekit.errors`
and :mod:`storekit.uri`) that the client, the fluent API, the plugin resolver
and the indirect artifact repositories all read, so none of them has to import
another to learn the URI in effect.

The tracking URI in effect is :func:`set_tracking_uri` if it was called, else
``$STOREKIT_TRACKING_URI``, else the embedded SQLite store ``./storekit.db``.
The registry URI is :func:`set_registry_uri`, else ``$STOREKIT_REGISTRY_URI``,
else the tracking URI.  ``storekit.set_tracking_uri`` (the fluent API) also
forgets the active experiment; this module only holds the URIs.
"""

from __future__ import annotations

import os
import threading
from typing import Optional, Union

from .errors import InvalidParameterError
from .uri import get_scheme

__all__ = [
    "TRACKING_URI_ENV",
    "REGISTRY_URI_ENV",
    "normalise_uri",
    "set_tracking_uri",
    "get_tracking_uri",
    "set_registry_uri",
    "get_registry_uri",
    "registry_uri_for",
    "default_tracking_uri",
    "default_registry_uri",
    "reset",
]

#: Environment variable naming the tracking store when none was set in the process.
TRACKING_URI_ENV = "STOREKIT_TRACKING_URI"
#: Environment variable naming the model registry when none was set in the process.
REGISTRY_URI_ENV = "STOREKIT_REGISTRY_URI"

_lock = threading.RLock()
_tracking_uri: Optional[str] = None
_registry_uri: Optional[str] = None


def normalise_uri(uri: Union[str, "os.PathLike[str]"]) -> str:
    """``uri`` as stored by the setters: a bare path becomes absolute (it keeps meaning the same
    directory after ``chdir``); an empty URI is refused with :class:`InvalidParameterError`."""
    text = os.fspath(uri)
    if not text:
        raise InvalidParameterError("tracking URI: must not be empty")
    if get_scheme(text) == "file" and not text.lower().startswith("file:"):
        return os.path.abspath(text)
    return text


def default_tracking_uri() -> str:
    """``$STOREKIT_TRACKING_URI``, else the embedded SQLite store ``./storekit.db`` (absolute)."""
    env = os.environ.get(TRACKING_URI_ENV)
    if env:
        return env
    return "sqlite:///" + os.path.join(os.getcwd(), "storekit.db")


def default_registry_uri(tracking_uri: Optional[str] = None) -> str:
    """``$STOREKIT_REGISTRY_URI``, else ``tracking_uri``, else :func:`default_tracking_uri`."""
    env = os.environ.get(REGISTRY_URI_ENV)
    if env:
        return env
    return tracking_uri or default_tracking_uri()


def set_tracking_uri(uri: Union[str, "os.PathLike[str]"]) -> None:
    """Use ``uri`` as the tracking store of this process (wins over ``STOREKIT_TRACKING_URI``)."""
    global _tracking_uri
    with _lock:
        _tracking_uri = normalise_uri(uri)


def get_tracking_uri() -> str:
    """The tracking URI in effect: ``set_tracking_uri``, else ``STOREKIT_TRACKING_URI``, else the embedded default."""
    uri = _tracking_uri
    return uri if uri is not None else default_tracking_uri()


def set_registry_uri(uri: Union[str, "os.PathLike[str]"]) -> None:
    """Use ``uri`` as the model registry of this process (wins over ``STOREKIT_REGISTRY_URI``)."""
    global _registry_uri
    with _lock:
        _registry_uri = normalise_uri(uri)


def registry_uri_for(tracking_uri: str) -> str:
    """The registry URI to pair with ``tracking_uri``.

    ``set_registry_uri``, else ``STOREKIT_REGISTRY_URI``, else ``tracking_uri`` itself.
    """
    uri = _registry_uri
    return uri if uri is not None else default_registry_uri(tracking_uri)


def get_registry_uri() -> str:
    """The registry URI in effect: ``set_registry_uri``, else ``STOREKIT_REGISTRY_URI``, else the tracking URI."""
    return registry_uri_for(get_tracking_uri())


def reset() -> None:
    """Forget the URIs set in this process, so the environment and the default apply again."""
    global _tracking_uri, _registry_uri
    with _lock:
        _tracking_uri = _registry_uri = None
