"""Limits and name rules of accounts, written once: both account stores call these.

Every check raises :class:`~storekit.errors.InvalidParameterError` whose
message names the field and the limit.  A message never contains a
password or a token (only their lengths).
"""

from __future__ import annotations

import re
from typing import Optional

from ..errors import InvalidParameterError
from ..validation import validate_experiment_id, validate_model_name
from .model import Permission, ResourceKind

__all__ = [
    "MAX_USERNAME_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MAX_TOKEN_NAME_LENGTH",
    "MAX_TOKEN_LENGTH",
    "validate_username",
    "validate_password",
    "validate_token_name",
    "validate_expiry",
    "parse_permission",
    "parse_default_permission",
    "parse_kind",
    "validate_resource_id",
]

MAX_USERNAME_LENGTH = 64
MIN_PASSWORD_LENGTH = 8
#: argon2 hashes any length, but a bound keeps a request from making the server hash megabytes.
MAX_PASSWORD_LENGTH = 1024
MAX_TOKEN_NAME_LENGTH = 100
#: Tokens storekit issues are 43 characters; anything much longer is not one of them.
MAX_TOKEN_LENGTH = 256
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")


def validate_username(username: object) -> str:
    """A username: 1 to 64 characters, letters, digits and ``._@+-``, starting with a letter or digit."""
    if not isinstance(username, str):
        raise InvalidParameterError(f"username: must be a string, not {type(username).__name__}")
    if not 1 <= len(username) <= MAX_USERNAME_LENGTH:
        raise InvalidParameterError(f"username: length {len(username)} is outside 1..{MAX_USERNAME_LENGTH} characters")
    if not _USERNAME_RE.match(username):
        raise InvalidParameterError(
            f"username {username!r}: may contain only letters, digits and '._@+-', and must start "
            "with a letter or digit"
        )
    return username


def validate_password(password: object) -> str:
    """A password: a string of 8 to 1024 characters without control characters (never echoed)."""
    if not isinstance(password, str):
        raise InvalidParameterError(f"password: must be a string, not {type(password).__name__}")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidParameterError(
            f"password: length {len(password)} is outside {MIN_PASSWORD_LENGTH}..{MAX_PASSWORD_LENGTH} characters"
        )
    if _CONTROL_RE.search(password):
        raise InvalidParameterError("password: must not contain control characters")
    return password


def validate_token_name(name: object) -> str:
    """A token's label: 1 to 100 characters without control characters."""
    if not isinstance(name, str):
        raise InvalidParameterError(f"token name: must be a string, not {type(name).__name__}")
    if not 1 <= len(name) <= MAX_TOKEN_NAME_LENGTH or _CONTROL_RE.search(name):
        raise InvalidParameterError(
            f"token name: must be 1..{MAX_TOKEN_NAME_LENGTH} characters without control characters"
        )
    return name


def validate_expiry(expires_ms: object, now_ms: int) -> Optional[int]:
    """A token's expiry (ms since the epoch) in the future, or None for no expiry."""
    if expires_ms is None:
        return None
    if not isinstance(expires_ms, int) or isinstance(expires_ms, bool):
        raise InvalidParameterError(
            f"token expiry: must be an integer of milliseconds, not {type(expires_ms).__name__}"
        )
    if expires_ms <= now_ms:
        raise InvalidParameterError("token expiry: must lie in the future")
    if expires_ms >= 2**63:
        raise InvalidParameterError("token expiry: must be below 2**63 milliseconds")
    return expires_ms


def parse_permission(value: object) -> Permission:
    """A :class:`Permission` from itself or its name (``READ``, ``EDIT``, ``MANAGE``, ``NO_PERMISSIONS``)."""
    if isinstance(value, Permission):
        return value
    if isinstance(value, str):
        try:
            return Permission[value.strip().upper()]
        except KeyError:
            pass
    names = ", ".join(p.name for p in Permission)
    raise InvalidParameterError(f"permission {str(value)[:40]!r}: must be one of {names}")


def parse_default_permission(value: object) -> Permission:
    """The permission users have where they hold no grant: a permission name, or ``private`` (none)."""
    if isinstance(value, str) and value.strip().lower() == "private":
        return Permission.NO_PERMISSIONS
    try:
        return parse_permission(value)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"default permission {str(value)[:40]!r}: must be 'private' or one of "
            + ", ".join(p.name for p in Permission)
        ) from None


def parse_kind(value: object) -> ResourceKind:
    """A :class:`ResourceKind` from itself or its value (``experiment``, ``registered_model``)."""
    if isinstance(value, ResourceKind):
        return value
    try:
        return ResourceKind(value)
    except ValueError:
        raise InvalidParameterError(
            f"resource kind {str(value)[:40]!r}: must be 'experiment' or 'registered_model'"
        ) from None


def validate_resource_id(kind: ResourceKind, resource_id: object) -> str:
    """An experiment id or a registered model name, by the contract's own rules."""
    if kind is ResourceKind.EXPERIMENT:
        return validate_experiment_id(resource_id)
    return validate_model_name(resource_id)
