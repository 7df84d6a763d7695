"""Opaque, tamper-evident page tokens shared by every backend.

A token is URL-safe base64 of a small JSON payload plus a digest over the
payload and the query it belongs to (filter, order, experiments, view).
A token that does not decode, whose digest does not match, or that was
issued for another query raises :class:`InvalidParameterError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from .errors import InvalidParameterError

__all__ = ["encode_page_token", "decode_page_token", "query_fingerprint"]

_KEY = b"storekit-page-token-v1"


def query_fingerprint(*parts: Any) -> str:
    """A short stable digest of the query a token belongs to."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _digest(payload: bytes, query: str) -> str:
    return hmac.new(_KEY, payload + b"|" + query.encode(), hashlib.sha256).hexdigest()[:24]


def encode_page_token(payload: dict[str, Any], query: str = "") -> str:
    """Encode ``payload`` (JSON-serialisable) into a token bound to ``query``."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    wrapped = json.dumps({"p": body.decode(), "d": _digest(body, query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(wrapped.encode()).decode().rstrip("=")


def decode_page_token(token: str, query: str = "") -> dict[str, Any]:
    """Decode a token from :func:`encode_page_token`; raises InvalidParameterError if it is invalid."""
    if not isinstance(token, str) or not token or len(token) > 16384:
        raise InvalidParameterError("page_token: invalid page token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        wrapped = json.loads(raw)
        body = wrapped["p"].encode()
        digest = wrapped["d"]
    except Exception:
        raise InvalidParameterError("page_token: invalid page token (it does not decode)") from None
    if not isinstance(digest, str) or not hmac.compare_digest(digest, _digest(body, query)):
        raise InvalidParameterError(
            "page_token: invalid page token (tampered, or issued for a different query)"
        )
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise InvalidParameterError("page_token: invalid page token")
    return payload
