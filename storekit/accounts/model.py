"""The records of the accounts layer: users, bearer tokens, grants, permissions.

All are frozen dataclasses.  Secrets never appear in a ``repr``: a
:class:`User` carries its password hash only in a field excluded from the
``repr`` (and from equality), a :class:`Token` never carries the token text
at all (it is shown once, when :meth:`AccountStore.create_token` returns it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["Permission", "ResourceKind", "User", "Token", "Grant", "Principal"]


class Permission(enum.IntEnum):
    """What a user may do with one experiment or registered model (ordered: a higher one implies the lower).

    ``READ`` sees it, ``EDIT`` changes its content (runs, metrics, tags,
    versions), ``MANAGE`` also deletes, renames it and grants permissions on
    it, like the permissions of MLflow's basic-auth app.
    """

    NO_PERMISSIONS = 0
    READ = 1
    EDIT = 2
    MANAGE = 3

    @property
    def can_read(self) -> bool:
        """Whether this permission allows reading."""
        return self >= Permission.READ

    @property
    def can_edit(self) -> bool:
        """Whether this permission allows changing content."""
        return self >= Permission.EDIT

    @property
    def can_manage(self) -> bool:
        """Whether this permission allows deleting, renaming and granting."""
        return self >= Permission.MANAGE


class ResourceKind(str, enum.Enum):
    """The kinds of resources permissions are granted on."""

    EXPERIMENT = "experiment"
    REGISTERED_MODEL = "registered_model"


@dataclass(frozen=True)
class User:
    """An account: its name, whether it is an administrator, when it was created (ms since the epoch)."""

    username: str
    is_admin: bool = False
    created_ms: int = 0
    password_hash: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True)
class Token:
    """A bearer token's record (never the token itself: the store keeps only its SHA-256).

    ``expires_ms`` is None for a token without expiry.
    """

    token_id: str
    username: str
    name: str
    created_ms: int
    expires_ms: Optional[int] = None

    def expired(self, now_ms: int) -> bool:
        """Whether the token is past its expiry at ``now_ms``."""
        return self.expires_ms is not None and now_ms >= self.expires_ms


@dataclass(frozen=True)
class Grant:
    """``username`` holds ``permission`` on the resource ``kind``/``resource_id``.

    ``resource_id`` is an experiment id or a registered model's name.
    """

    username: str
    kind: ResourceKind
    resource_id: str
    permission: Permission


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    username: str
    is_admin: bool = False
