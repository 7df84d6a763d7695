"""``storekit:`` URIs: the MLflow-facing wrapper around any storekit URI.

A bridge URI is ``storekit:`` followed by a storekit URI:

* ``storekit:sqlite:////abs/x.db``, ``storekit:postgresql://user@host/db``,
  ``storekit:mysql://...``: SQL backends;
* ``storekit:/abs/dir`` and ``storekit:///abs/dir`` (both: MLflow rewrites the
  second into the first when it appends paths), ``storekit:file:///abs/dir``,
  ``storekit:./relative``: the file backend or local artifacts;
* ``storekit:s3://bucket/prefix`` (and every other artifact scheme a storekit
  plugin serves): artifacts;
* ``storekit:`` alone: storekit's own default (``STOREKIT_TRACKING_URI``, else
  the embedded ``./storekit.db``).

Artifact URIs handed to MLflow are wrapped (``storekit:`` + the storekit URI)
when storekit serves their scheme, so MLflow comes back through this bridge;
MLflow-only schemes (``mlflow-artifacts:``, ``http(s):``, ``runs:``, ``models:``...)
are passed through untouched.
"""

from __future__ import annotations

import functools
import os
from typing import Optional, overload

from storekit import InvalidParameterError, UnknownSchemeError
from storekit.plugins import load_implementation
from storekit.uri import get_scheme, redact_uri

__all__ = [
    "SCHEME",
    "PREFIX",
    "is_bridge_uri",
    "unwrap",
    "unwrap_optional",
    "unwrap_location",
    "wrap_artifact_uri",
]

#: The URI scheme the bridge registers with MLflow.
SCHEME = "storekit"
#: What a bridge URI starts with.
PREFIX = SCHEME + ":"

# storekit serves these schemes too, but through its own tracking URI, not MLflow's:
# MLflow resolves runs:/ and models:/ itself.
_NEVER_WRAPPED = frozenset({"runs", "models"})


def is_bridge_uri(uri: object) -> bool:
    """True for a string starting with ``storekit:`` (case-insensitive)."""
    return isinstance(uri, str) and uri[: len(PREFIX)].lower() == PREFIX


def unwrap(uri: str) -> Optional[str]:
    """The storekit URI inside a bridge URI; ``None`` for ``storekit:`` alone (storekit's default).

    ``storekit:///abs`` and ``storekit:/abs`` both give ``/abs``.  A bridge URI
    with an authority (``storekit://host/...``) is refused: the part after
    ``storekit:`` must itself be a storekit URI or a path.
    """
    if not is_bridge_uri(uri):
        raise InvalidParameterError(
            f"uri: {redact_uri(uri)!r} is not a storekit bridge URI (it must start with {PREFIX!r})"
        )
    rest = uri[len(PREFIX) :]
    if not rest:
        return None
    if rest.startswith("///"):
        return rest[2:]
    if rest.startswith("//"):
        raise InvalidParameterError(
            f"uri: {redact_uri(uri)!r} has an authority after {PREFIX!r}; write "
            f"{PREFIX}<storekit URI>, e.g. {PREFIX}sqlite:////abs/x.db or {PREFIX}/abs/dir"
        )
    return rest


def unwrap_optional(uri: Optional[str]) -> Optional[str]:
    """:func:`unwrap` for bridge URIs; any other URI (or ``None``) is returned unchanged."""
    if uri is None or not is_bridge_uri(uri):
        return uri
    return unwrap(uri)


def unwrap_location(uri: Optional[str]) -> Optional[str]:
    """An artifact location as storekit keeps it: unwrapped, and a relative local path made absolute.

    MLflow resolves relative local artifact roots against the current directory
    when it stores them; so does the bridge, so that a location means the same
    to a client started elsewhere.
    """
    native = unwrap_optional(uri)
    if not native:
        return None
    if get_scheme(native) == "file" and not native.lower().startswith("file:"):
        return os.path.abspath(native)
    return native


@functools.lru_cache(maxsize=64)
def _storekit_serves(scheme: str) -> bool:
    """Whether an installed storekit artifact repository serves ``scheme``."""
    if scheme in _NEVER_WRAPPED:
        return False
    try:
        load_implementation("artifacts", "/probe" if scheme == "file" else f"{scheme}://probe/")
    except (UnknownSchemeError, InvalidParameterError):
        return False
    return True


@overload
def wrap_artifact_uri(uri: str) -> str: ...


@overload
def wrap_artifact_uri(uri: None) -> None: ...


def wrap_artifact_uri(uri: Optional[str]) -> Optional[str]:
    """The URI MLflow should use for a storekit artifact location.

    ``storekit:`` + ``uri`` when a storekit artifact repository serves its
    scheme (so MLflow reads and writes the files through storekit); ``uri``
    unchanged otherwise, and for URIs that are already bridge URIs.
    """
    if uri is None or is_bridge_uri(uri):
        return uri
    if _storekit_serves(get_scheme(uri)):
        return PREFIX + uri
    return uri
