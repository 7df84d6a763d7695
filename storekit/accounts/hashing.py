"""Password hashes (argon2id, memory-hard) and bearer tokens (random, stored as SHA-256).

* :func:`hash_password` / :func:`verify_password` use argon2-cffi's
  ``PasswordHasher`` (argon2id with its RFC 9106 low-memory profile: 64 MiB,
  3 passes).  Verification is constant-time in the hash comparison.
  :func:`burn_verify` spends the same time for an unknown user, so a
  caller cannot tell unknown names from wrong passwords by timing.
* :func:`new_token` returns a token from :func:`secrets.token_urlsafe`
  (256 bits), :func:`token_digest` its SHA-256 (hex), the only form stored.
  :func:`digests_equal` compares digests in constant time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from typing import Any

from ..errors import MissingExtraError

__all__ = [
    "hash_password",
    "verify_password",
    "needs_rehash",
    "burn_verify",
    "new_token",
    "new_token_id",
    "token_digest",
    "digests_equal",
]


@functools.lru_cache(maxsize=1)
def _hasher() -> Any:
    try:
        from argon2 import PasswordHasher
    except ImportError:  # pragma: no cover - the server extra installs it
        raise MissingExtraError("password hashing needs argon2-cffi: pip install 'storekit[server]'") from None
    return PasswordHasher()  # argon2id, RFC 9106 low-memory parameters


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, salt included) of ``password``."""
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False, never an exception, for a mismatch or a bad hash)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return bool(_hasher().check_needs_rehash(password_hash))


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_verify(password: str) -> None:
    """Spend the time of one verification (for an unknown user)."""
    verify_password(_dummy_hash(), password)


def new_token() -> str:
    """A new bearer token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def new_token_id() -> str:
    """A short public id that names a token in listings and revocations (not a secret)."""
    return secrets.token_hex(8)


def token_digest(token: str) -> str:
    """The SHA-256 of ``token`` in hex: the only form of a token a store keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a.encode(), b.encode())
