"""The one place where HTTP answers and transport failures become storekit's typed errors.

=======================================================  ==================================
server answer                                            storekit error
=======================================================  ==================================
``RESOURCE_DOES_NOT_EXIST`` (and ``NOT_FOUND``)           the caller's not-found class
                                                         (``RunNotFound``, ``ModelNotFound``...)
``RESOURCE_ALREADY_EXISTS``                               ``AlreadyExistsError``
``INVALID_PARAMETER_VALUE``, ``BAD_REQUEST``,             ``InvalidParameterError``
``INVALID_STATE``, ``MALFORMED_REQUEST``, other 4xx
401, 403, ``UNAUTHENTICATED``, ``PERMISSION_DENIED``      ``BackendUnavailableError``
                                                         (credentials refused)
``ENDPOINT_NOT_FOUND``, 404/405 without an error code,   ``UnsupportedOperationError``
501 ``NOT_IMPLEMENTED``
other 5xx, connection failures (after bounded retries)   ``BackendUnavailableError``
=======================================================  ==================================

Every message names the method and the server URL (credentials redacted)
and is scrubbed of the store's secrets.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from storekit.errors import (
    AlreadyExistsError,
    BackendUnavailableError,
    InvalidParameterError,
    NotFoundError,
    StorekitError,
)
from storekit.interfaces import UnsupportedOperationError
from storekit.uri import redact_text, redact_uri

__all__ = ["error_from_response", "transport_error", "scrub"]

_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}
_INVALID = {
    "INVALID_PARAMETER_VALUE",
    "BAD_REQUEST",
    "INVALID_STATE",
    "MALFORMED_REQUEST",
    "INVALID_REQUEST",
    "RESOURCE_LIMIT_EXCEEDED",
    "RESOURCE_EXHAUSTED",
}
_AUTH = {"UNAUTHENTICATED", "PERMISSION_DENIED", "UNAUTHORIZED"}
_UNSUPPORTED = {"ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "FEATURE_DISABLED"}


def scrub(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with URIs redacted and each of ``secrets`` replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return redact_text(text)


def _body(content: bytes) -> tuple[Optional[str], str]:
    """``(error_code, message)`` of an MLflow error body (or the start of any other body)."""
    try:
        data = json.loads(content)
    except ValueError:
        return None, content[:300].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        code = data.get("error_code")
        message = data.get("message") or data.get("detail") or ""
        return (str(code) if code else None), str(message)
    return None, str(data)[:300]


def error_from_response(
    status: int,
    content: bytes,
    method: str,
    url: str,
    not_found: type[NotFoundError] = NotFoundError,
    secrets: Sequence[str] = (),
) -> StorekitError:
    """The typed error for an unsuccessful HTTP answer."""
    code, message = _body(content)
    where = f"{method} {redact_uri(url)}"
    text = scrub(f"{where}: HTTP {status}{' ' + code if code else ''}: {message}".rstrip(": "), secrets)
    if code in _NOT_FOUND:
        return not_found(text)
    if code == "RESOURCE_ALREADY_EXISTS":
        return AlreadyExistsError(text)
    if status in (401, 403) or code in _AUTH:
        return BackendUnavailableError(f"the server refused the credentials: {text}")
    if code in _UNSUPPORTED or status == 501 or (status in (404, 405) and code is None):
        return UnsupportedOperationError(f"the server does not offer this operation: {text}")
    if code in _INVALID or 400 <= status < 500:
        return InvalidParameterError(text)
    if status >= 500:
        return BackendUnavailableError(text)
    return StorekitError(text)


def transport_error(
    exc: BaseException, method: str, url: str, attempts: int, secrets: Sequence[str] = ()
) -> BackendUnavailableError:
    """The typed error for a connection or timeout failure after ``attempts`` attempts."""
    detail = scrub(f"{type(exc).__name__}: {exc}", secrets)
    return BackendUnavailableError(
        f"{method} {redact_uri(url)}: the server did not answer after {attempts} "
        f"attempt{'s' if attempts != 1 else ''} ({detail})"
    )
