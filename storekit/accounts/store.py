"""``AccountStore``: users, bearer tokens and grants kept in the backend store.

The public methods validate every argument (:mod:`.rules`), hash passwords
and tokens (:mod:`.hashing`) and then call a handful of record primitives
that each backend implements (:class:`~.file_store.FileAccountStore`,
:class:`~.sql_store.SqlAccountStore`): the rules live here once, the
backends only store records.
"""

from __future__ import annotations

import abc
from typing import Optional

from ..errors import AlreadyExistsError, InvalidParameterError, NotFoundError
from ..ids import now_ms
from . import hashing, rules
from .model import Grant, Permission, ResourceKind, Token, User

__all__ = ["AccountStore", "already_exists"]


class AccountStore(abc.ABC):
    """Accounts of one backend store: create users, tokens and grants; check credentials.

    Never logs, reprs or raises a password, a password hash or a token.
    """

    uri: str

    def __repr__(self) -> str:
        from ..uri import redact_uri

        return f"{type(self).__name__}({redact_uri(self.uri)!r})"

    # --- users ---------------------------------------------------------
    def create_user(self, username: str, password: str, is_admin: bool = False) -> User:
        """Create a user with ``password`` (argon2id-hashed); AlreadyExistsError if the name is taken."""
        username = rules.validate_username(username)
        rules.validate_password(password)
        if not isinstance(is_admin, bool):
            raise InvalidParameterError("is_admin: must be a boolean")
        user = User(username, is_admin, now_ms(), hashing.hash_password(password))
        self._add_user(user)
        return user

    def get_user(self, username: str) -> User:
        """The user named ``username``; NotFoundError if there is none."""
        username = rules.validate_username(username)
        user = self._get_user(username)
        if user is None:
            raise NotFoundError(f"no user named {username!r}")
        return user

    def list_users(self) -> list[User]:
        """Every user, by name."""
        return sorted(self._list_users(), key=lambda u: u.username)

    def delete_user(self, username: str) -> None:
        """Delete a user with their tokens and grants; NotFoundError if there is none."""
        username = rules.validate_username(username)
        if not self._remove_user(username):
            raise NotFoundError(f"no user named {username!r}")

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password."""
        username = rules.validate_username(username)
        rules.validate_password(password)
        if not self._update_user(username, password_hash=hashing.hash_password(password)):
            raise NotFoundError(f"no user named {username!r}")

    def set_admin(self, username: str, is_admin: bool) -> None:
        """Make a user an administrator (or not)."""
        username = rules.validate_username(username)
        if not isinstance(is_admin, bool):
            raise InvalidParameterError("is_admin: must be a boolean")
        if not self._update_user(username, is_admin=is_admin):
            raise NotFoundError(f"no user named {username!r}")

    def check_password(self, username: str, password: str) -> Optional[User]:
        """The user if ``password`` is theirs, else None (same time for unknown users and wrong passwords)."""
        try:
            username = rules.validate_username(username)
            rules.validate_password(password)
        except InvalidParameterError:
            return None
        user = self._get_user(username)
        if user is None:
            hashing.burn_verify(password)
            return None
        if not hashing.verify_password(user.password_hash, password):
            return None
        return user

    # --- tokens --------------------------------------------------------
    def create_token(self, username: str, name: str, expires_ms: Optional[int] = None) -> tuple[Token, str]:
        """A new bearer token for ``username``: its record and the token text, which is never shown again."""
        username = rules.validate_username(username)
        name = rules.validate_token_name(name)
        now = now_ms()
        expires_ms = rules.validate_expiry(expires_ms, now)
        if self._get_user(username) is None:
            raise NotFoundError(f"no user named {username!r}")
        text = hashing.new_token()
        token = Token(hashing.new_token_id(), username, name, now, expires_ms)
        self._add_token(token, hashing.token_digest(text))
        return token, text

    def list_tokens(self, username: Optional[str] = None) -> list[Token]:
        """The tokens of ``username`` (every user's when None), oldest first."""
        if username is not None:
            username = rules.validate_username(username)
        return sorted(self._list_tokens(username), key=lambda t: (t.created_ms, t.token_id))

    def revoke_token(self, token_id: str) -> None:
        """Delete a token by its id; NotFoundError if there is none."""
        if not isinstance(token_id, str) or not 1 <= len(token_id) <= 32:
            raise InvalidParameterError("token id: must be a string of 1..32 characters")
        if not self._remove_token(token_id):
            raise NotFoundError(f"no token with id {token_id!r}")

    def check_token(self, token: str) -> Optional[User]:
        """The user a valid, unexpired bearer token belongs to, else None."""
        if not isinstance(token, str) or not 1 <= len(token) <= rules.MAX_TOKEN_LENGTH:
            return None
        digest = hashing.token_digest(token)
        found = self._token_by_digest(digest)
        if found is None:
            return None
        record, stored = found
        if not hashing.digests_equal(stored, digest) or record.expired(now_ms()):
            return None
        return self._get_user(record.username)

    # --- grants --------------------------------------------------------
    def grant(
        self, username: str, kind: "ResourceKind | str", resource_id: str, permission: "Permission | str"
    ) -> Grant:
        """Give ``username`` ``permission`` on a resource (replacing what they had there)."""
        username = rules.validate_username(username)
        kind = rules.parse_kind(kind)
        resource_id = rules.validate_resource_id(kind, resource_id)
        permission = rules.parse_permission(permission)
        if self._get_user(username) is None:
            raise NotFoundError(f"no user named {username!r}")
        grant = Grant(username, kind, resource_id, permission)
        self._put_grant(grant)
        return grant

    def revoke(self, username: str, kind: "ResourceKind | str", resource_id: str) -> None:
        """Remove ``username``'s grant on a resource; NotFoundError if they hold none."""
        username = rules.validate_username(username)
        kind = rules.parse_kind(kind)
        resource_id = rules.validate_resource_id(kind, resource_id)
        if not self._remove_grant(username, kind, resource_id):
            raise NotFoundError(f"user {username!r} holds no grant on {kind.value} {resource_id!r}")

    def get_permission(self, username: str, kind: "ResourceKind | str", resource_id: str) -> Optional[Permission]:
        """``username``'s granted permission on a resource, None without a grant."""
        kind = rules.parse_kind(kind)
        for grant in self._list_grants(username, kind, resource_id):
            return grant.permission
        return None

    def list_grants(
        self,
        username: Optional[str] = None,
        kind: "ResourceKind | str | None" = None,
        resource_id: Optional[str] = None,
    ) -> list[Grant]:
        """Grants, optionally only of one user, one kind, one resource."""
        if username is not None:
            username = rules.validate_username(username)
        kind = rules.parse_kind(kind) if kind is not None else None
        grants = self._list_grants(username, kind, resource_id)
        return sorted(grants, key=lambda g: (g.kind.value, g.resource_id, g.username))

    def set_owner(self, kind: "ResourceKind | str", resource_id: str, username: str) -> None:
        """A resource was just created by ``username``: drop earlier grants on that id, give them MANAGE.

        Dropping matters for registered models, whose names can be reused
        after a deletion: nobody inherits the grants of a deleted model.
        """
        kind = rules.parse_kind(kind)
        resource_id = rules.validate_resource_id(kind, resource_id)
        username = rules.validate_username(username)
        for grant in self._list_grants(None, kind, resource_id):
            self._remove_grant(grant.username, kind, resource_id)
        if self._get_user(username) is not None:
            self._put_grant(Grant(username, kind, resource_id, Permission.MANAGE))

    def rename_resource(self, kind: "ResourceKind | str", old_id: str, new_id: str) -> None:
        """Move the grants of a renamed resource (registered models are named by their name)."""
        kind = rules.parse_kind(kind)
        old_id = rules.validate_resource_id(kind, old_id)
        new_id = rules.validate_resource_id(kind, new_id)
        if new_id == old_id:
            return
        for stale in self._list_grants(None, kind, new_id):  # left by a deleted resource of that name
            self._remove_grant(stale.username, kind, new_id)
        for grant in self._list_grants(None, kind, old_id):
            self._remove_grant(grant.username, kind, old_id)
            self._put_grant(Grant(grant.username, kind, new_id, grant.permission))

    # --- transfer (``storekit migrate``) --------------------------------
    def export_tokens(self) -> list[tuple[Token, str]]:
        """Every token record with its stored SHA-256, oldest first (what ``storekit migrate`` copies;
        the token text itself is never stored)."""
        return sorted(self._token_records(), key=lambda pair: (pair[0].created_ms, pair[0].token_id))

    def import_user(self, user: User) -> None:
        """Write a user as given — name, admin flag, creation time, password hash — or, when a user of
        that name exists (an interrupted transfer), set their hash and admin flag (idempotent)."""
        username = rules.validate_username(user.username)
        if not isinstance(user.password_hash, str) or not user.password_hash:
            raise InvalidParameterError(f"user {username!r}: an imported user needs a password hash")
        if self._get_user(username) is None:
            self._add_user(User(username, bool(user.is_admin), int(user.created_ms), user.password_hash))
        else:
            self._update_user(username, password_hash=user.password_hash, is_admin=bool(user.is_admin))

    def import_token(self, token: Token, digest: str) -> None:
        """Write a token record with its stored SHA-256 (replacing a token with that id: idempotent)."""
        if not isinstance(token.token_id, str) or not 1 <= len(token.token_id) <= 32:
            raise InvalidParameterError("token id: must be a string of 1..32 characters")
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise InvalidParameterError(f"token {token.token_id!r}: the stored digest must be 64 lower-case hex digits")
        username = rules.validate_username(token.username)
        name = rules.validate_token_name(token.name)
        if self._get_user(username) is None:
            raise NotFoundError(f"no user named {username!r}")
        self._remove_token(token.token_id)
        self._add_token(Token(token.token_id, username, name, int(token.created_ms), token.expires_ms), digest)

    def _token_records(self) -> list[tuple[Token, str]]:
        """Every token record with its stored digest (backends that can be migrated implement it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot export its tokens")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or file handles."""

    # --- record primitives (per backend) -------------------------------
    @abc.abstractmethod
    def _add_user(self, user: User) -> None:
        """Insert a user; AlreadyExistsError when the name is taken."""

    @abc.abstractmethod
    def _get_user(self, username: str) -> Optional[User]:
        """The user record, or None."""

    @abc.abstractmethod
    def _list_users(self) -> list[User]:
        """Every user record."""

    @abc.abstractmethod
    def _remove_user(self, username: str) -> bool:
        """Delete a user with their tokens and grants; False if there was none."""

    @abc.abstractmethod
    def _update_user(self, username: str, password_hash: Optional[str] = None, is_admin: Optional[bool] = None) -> bool:
        """Change the given fields; False if there is no such user."""

    @abc.abstractmethod
    def _add_token(self, token: Token, digest: str) -> None:
        """Insert a token record with the token's digest."""

    @abc.abstractmethod
    def _token_by_digest(self, digest: str) -> Optional[tuple[Token, str]]:
        """The token record and stored digest for ``digest``, or None."""

    @abc.abstractmethod
    def _list_tokens(self, username: Optional[str]) -> list[Token]:
        """Token records (of one user when given)."""

    @abc.abstractmethod
    def _remove_token(self, token_id: str) -> bool:
        """Delete a token; False if there was none."""

    @abc.abstractmethod
    def _put_grant(self, grant: Grant) -> None:
        """Insert or replace the grant of (username, kind, resource_id)."""

    @abc.abstractmethod
    def _remove_grant(self, username: str, kind: ResourceKind, resource_id: str) -> bool:
        """Delete a grant; False if there was none."""

    @abc.abstractmethod
    def _list_grants(
        self, username: Optional[str], kind: Optional[ResourceKind], resource_id: Optional[str]
    ) -> list[Grant]:
        """Grants matching the given fields (None matches anything)."""


def already_exists(username: str) -> AlreadyExistsError:
    """The error for a username that is taken."""
    return AlreadyExistsError(f"a user named {username!r} exists already")
