"""The one place where exceptions become MLflow's error JSON and HTTP statuses.

=========================================  =============================  ======
exception                                  ``error_code``                 status
=========================================  =============================  ======
:class:`RequestError` (malformed request)  its own code                   its own
``NotFoundError``                          ``RESOURCE_DOES_NOT_EXIST``    404
``AlreadyExistsError``                     ``RESOURCE_ALREADY_EXISTS``    400
``InvalidParameterError``                  ``INVALID_PARAMETER_VALUE``    400
``AuthenticationError``                    ``UNAUTHENTICATED``            401
``PermissionDeniedError``                  ``PERMISSION_DENIED``          403
``UnsupportedOperationError``              ``NOT_IMPLEMENTED``            501
``BackendUnavailableError``                ``TEMPORARILY_UNAVAILABLE``    503 + ``Retry-After`` (detail logged only)
any other ``StorekitError``                ``INTERNAL_ERROR``             500
anything else                              ``INTERNAL_ERROR``             500 (no detail)
=========================================  =============================  ======

Messages of storekit's own errors are written to be shown (they name the
field and the limit and never hold credentials); they are redacted once more
here. Unexpected exceptions are logged on the server and answered with a
generic message, so no internals (stack traces, SQL, paths) reach a client.
"""

from __future__ import annotations

import json
import logging
from typing import Optional

from starlette.responses import Response

from ..errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    StorekitError,
)
from ..interfaces import UnsupportedOperationError
from ..uri import redact_text

__all__ = ["RequestError", "error_response", "error_body", "status_and_code"]

_log = logging.getLogger("storekit.server")


class RequestError(Exception):
    """A request the server refuses before it reaches a store (malformed JSON, too large, unknown route)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def status_and_code(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and MLflow error code of an exception."""
    if isinstance(exc, RequestError):
        return exc.status, exc.code
    if isinstance(exc, NotFoundError):
        return 404, "RESOURCE_DOES_NOT_EXIST"
    if isinstance(exc, AlreadyExistsError):
        return 400, "RESOURCE_ALREADY_EXISTS"
    if isinstance(exc, InvalidParameterError):
        return 400, "INVALID_PARAMETER_VALUE"
    if isinstance(exc, AuthenticationError):
        return 401, "UNAUTHENTICATED"
    if isinstance(exc, PermissionDeniedError):
        return 403, "PERMISSION_DENIED"
    if isinstance(exc, UnsupportedOperationError):
        return 501, "NOT_IMPLEMENTED"
    if isinstance(exc, BackendUnavailableError):
        return 503, "TEMPORARILY_UNAVAILABLE"
    return 500, "INTERNAL_ERROR"


def error_body(code: str, message: str) -> bytes:
    """MLflow's error JSON."""
    return json.dumps({"error_code": code, "message": message}).encode("utf-8")


def error_response(exc: BaseException, retry_after: int = 2, route: Optional[str] = None) -> Response:
    """The JSON error response for ``exc`` (unexpected exceptions logged, their detail withheld)."""
    status, code = status_and_code(exc)
    if status == 503:
        # where the backend lives (host, port, database) is the server's business: logged, not answered
        _log.warning("%s: backend unavailable: %s", route or "request", redact_text(str(exc)))
        message = f"the backend store is unavailable; retry after {retry_after} s"
    elif isinstance(exc, (RequestError, StorekitError)) and status != 500:
        message = redact_text(str(exc))
    elif isinstance(exc, StorekitError):
        _log.error("%s: %s: %s", route or "request", type(exc).__name__, redact_text(str(exc)))
        message = f"internal error ({type(exc).__name__}); see the server log"
    else:
        _log.exception("%s failed", route or "request")
        message = "internal server error; see the server log"
    headers = {"Retry-After": str(retry_after)} if status == 503 else None
    return Response(error_body(code, message), status_code=status, media_type="application/json", headers=headers)
