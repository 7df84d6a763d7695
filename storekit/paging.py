"""Opaque, tamper-evident page tokens shared by every backend.

A token is URL-safe base64 of a small JSON payload plus a digest over the
payload and the query it belongs to (filter, order, experiments, view).
A token that does not decode, whose digest does not match, or that was
issued for another query raises :class:`InvalidParameterError`.

The digest is an HMAC keyed by a secret of the store that issued the token
(``key``: the file store keeps it in ``.storekit-secret`` at its root, the
SQL stores in their ``storekit_settings`` table).  ``STOREKIT_PAGE_TOKEN_SECRET``,
when set, is the key of every store of the process (several servers in front
of one store set the same value).  Without either, a random key of the process
is used, so its tokens are valid in that process only.  A signed payload is
still checked field by field (:func:`token_int`, :func:`token_scalars`) before
any of it reaches a query.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Optional, Union

from .errors import InvalidParameterError

__all__ = [
    "encode_page_token",
    "decode_page_token",
    "query_fingerprint",
    "new_store_secret",
    "SECRET_ENV",
    "token_int",
    "token_scalars",
]

#: Environment variable whose value, when set, signs the page tokens of every store.
SECRET_ENV = "STOREKIT_PAGE_TOKEN_SECRET"
#: Key of the stores that have no secret of their own (tokens valid in this process only).
_PROCESS_KEY = os.urandom(32)  # what secrets.token_bytes(32) returns, without importing secrets
#: Largest integer a token field may hold (signed 64-bit, as every database stores).
_INT_MAX = 2**63 - 1
#: Longest string a token cursor may hold (longer than any stored value that can be sorted on).
_STR_MAX = 65536

Key = Union[bytes, str, None]


def new_store_secret() -> str:
    """A new random page-token secret for a store (64 hex characters)."""
    return os.urandom(32).hex()  # secrets.token_hex(32)


def _key(key: Key) -> bytes:
    configured = os.environ.get(SECRET_ENV)
    if configured:
        return configured.encode("utf-8", "surrogatepass")
    if key is None:
        return _PROCESS_KEY
    return key.encode() if isinstance(key, str) else key


def _sha256() -> Callable[[bytes], Any]:
    """SHA-256 without importing :mod:`hashlib` when the interpreter has its built-in one.

    :mod:`hashlib` loads OpenSSL on import, which costs more than opening a
    SQLite store; every search computes a fingerprint, so the built-in
    ``_sha256`` module (``_sha2`` from Python 3.12) is used where there is one.
    The digest is the same.
    """
    try:
        from _sha256 import sha256
    except ImportError:
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256


_SHA256 = _sha256()


def query_fingerprint(*parts: Any) -> str:
    """A short stable digest of the query a token belongs to."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return str(_SHA256(raw.encode()).hexdigest()[:16])


def _digest(payload: bytes, query: str, key: Key) -> str:
    import hashlib
    import hmac

    message = payload + b"|" + query.encode("utf-8", "surrogatepass")
    return hmac.new(_key(key), message, hashlib.sha256).hexdigest()[:32]


def encode_page_token(payload: dict[str, Any], query: str = "", *, key: Key = None) -> str:
    """Encode ``payload`` (JSON-serialisable) into a token bound to ``query``, signed with ``key``.

    ``key`` is the issuing store's secret (None: the process key, see the module docstring).
    """
    import base64

    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    wrapped = json.dumps({"p": body.decode(), "d": _digest(body, query, key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(wrapped.encode()).decode().rstrip("=")


def decode_page_token(token: str, query: str = "", *, key: Key = None) -> dict[str, Any]:
    """Decode a token from :func:`encode_page_token`; raises InvalidParameterError if it is invalid.

    The token must have been signed with ``key`` for the same ``query``.
    """
    if not isinstance(token, str) or not token or len(token) > 16384:
        raise InvalidParameterError("page_token: invalid page token (empty, or longer than 16384 characters)")
    import base64
    import hmac

    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        wrapped = json.loads(raw)
        body = wrapped["p"].encode()
        digest = wrapped["d"]
    except (Exception, RecursionError):
        raise InvalidParameterError("page_token: invalid page token (it does not decode)") from None
    if not isinstance(digest, str) or not hmac.compare_digest(digest, _digest(body, query, key)):
        raise InvalidParameterError(
            "page_token: invalid page token (tampered, issued by another store, or for a different query)"
        )
    try:
        payload = json.loads(body)
    except (Exception, RecursionError):
        raise InvalidParameterError("page_token: invalid page token (it does not decode)") from None
    if not isinstance(payload, dict):
        raise InvalidParameterError("page_token: invalid page token")
    return payload


def token_int(value: Any, field: str, *, minimum: int = 0, maximum: int = _INT_MAX) -> int:
    """``value`` read from a token as an int in ``[minimum, maximum]``, else InvalidParameterError."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidParameterError(
            f"page_token: invalid page token ({field} must be an integer in [{minimum}, {maximum}])"
        )
    return value


def token_scalars(
    values: Any, count: int, field: str = "cursor", kinds: Optional[list[Optional[type]]] = None, nullable: bool = True
) -> list[Any]:
    """``values`` read from a token as a list of ``count`` JSON scalars, else InvalidParameterError.

    Each element must be None, a bool, an int within signed 64 bits, a float or
    a string of at most 65536 characters; ``kinds[i]`` (``int``/``float`` for
    a number, ``str``), when given and not None, is the kind element ``i`` must have.
    With ``nullable`` false, None and bools are refused too (only numbers and strings).
    """
    if not isinstance(values, list) or len(values) != count:
        raise InvalidParameterError(f"page_token: invalid page token ({field} must be a list of {count} values)")
    for i, v in enumerate(values):
        if v is None and nullable:
            continue
        if v is None or isinstance(v, bool):
            ok = nullable and (kinds is None or kinds[i] is None)
        elif isinstance(v, int):
            ok = -_INT_MAX - 1 <= v <= _INT_MAX and (kinds is None or kinds[i] in (None, int, float))
        elif isinstance(v, float):
            ok = (kinds is None or kinds[i] in (None, float, int)) and (
                math.isfinite(v) or kinds is None or kinds[i] in (None, float)
            )
        elif isinstance(v, str):
            ok = len(v) <= _STR_MAX and (kinds is None or kinds[i] in (None, str))
        else:
            ok = False
        if not ok:
            raise InvalidParameterError(
                f"page_token: invalid page token ({field} value {i} has the wrong type or range)"
            )
    return values
