"""Accounts of a SQL store: the tables ``storekit_users``, ``storekit_tokens``, ``storekit_grants``.

The tables are part of the store's schema (revision ``0008``);
every primitive is one transaction through :meth:`Database.run`, which
retries transient failures and translates driver errors.
"""

from __future__ import annotations

from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from ..backends.sql import schema
from ..backends.sql.migrate import open_database
from .model import Grant, Permission, ResourceKind, Token, User
from .store import AccountStore, already_exists

__all__ = ["SqlAccountStore"]

_U, _T, _G = schema.users, schema.tokens, schema.grants


class SqlAccountStore(AccountStore):
    """Accounts kept in the SQL database at ``uri`` (SQLite, PostgreSQL, MySQL/MariaDB)."""

    def __init__(self, uri: str, create: bool = True, **engine_options: Any) -> None:
        self.uri = uri
        self._db = open_database(uri, create=create, **engine_options)

    def close(self) -> None:
        """Close the pooled connections."""
        self._db.dispose()

    @staticmethod
    def _user(row: Any) -> User:
        return User(row.username, bool(row.is_admin), int(row.created_ms), row.password_hash)

    @staticmethod
    def _token(row: Any) -> Token:
        return Token(row.token_id, row.username, row.name, int(row.created_ms), row.expires_ms)

    @staticmethod
    def _grant(row: Any) -> Grant:
        return Grant(row.username, ResourceKind(row.kind), row.resource_id, Permission[row.permission])

    def _add_user(self, user: User) -> None:
        def fn(conn: Connection) -> None:
            if conn.execute(sa.select(_U.c.username).where(_U.c.username == user.username)).first():
                raise already_exists(user.username)
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(_U).values(
                            username=user.username,
                            password_hash=user.password_hash,
                            is_admin=user.is_admin,
                            created_ms=user.created_ms,
                        )
                    )
            except sa_exc.IntegrityError:
                raise already_exists(user.username) from None

        self._db.run(fn)

    def _get_user(self, username: str) -> Optional[User]:
        row = self._db.run(lambda c: c.execute(sa.select(_U).where(_U.c.username == username)).first(), write=False)
        return None if row is None else self._user(row)

    def _list_users(self) -> list[User]:
        return [self._user(r) for r in self._db.run(lambda c: c.execute(sa.select(_U)).all(), write=False)]

    def _remove_user(self, username: str) -> bool:
        def fn(conn: Connection) -> bool:
            conn.execute(sa.delete(_T).where(_T.c.username == username))
            conn.execute(sa.delete(_G).where(_G.c.username == username))
            return bool(conn.execute(sa.delete(_U).where(_U.c.username == username)).rowcount)

        return self._db.run(fn)

    def _update_user(self, username: str, password_hash: Optional[str] = None, is_admin: Optional[bool] = None) -> bool:
        values: dict[str, Any] = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin

        def fn(conn: Connection) -> bool:
            if conn.execute(sa.select(_U.c.username).where(_U.c.username == username)).first() is None:
                return False
            conn.execute(sa.update(_U).where(_U.c.username == username).values(**values))
            return True  # rowcount is 0 on MySQL when nothing changed

        return self._db.run(fn)

    def _add_token(self, token: Token, digest: str) -> None:
        self._db.run(
            lambda c: c.execute(
                sa.insert(_T).values(
                    token_id=token.token_id,
                    sha256=digest,
                    username=token.username,
                    name=token.name,
                    created_ms=token.created_ms,
                    expires_ms=token.expires_ms,
                )
            )
        )

    def _token_by_digest(self, digest: str) -> Optional[tuple[Token, str]]:
        row = self._db.run(lambda c: c.execute(sa.select(_T).where(_T.c.sha256 == digest)).first(), write=False)
        return None if row is None else (self._token(row), row.sha256)

    def _list_tokens(self, username: Optional[str]) -> list[Token]:
        query = sa.select(_T)
        if username is not None:
            query = query.where(_T.c.username == username)
        return [self._token(r) for r in self._db.run(lambda c: c.execute(query).all(), write=False)]

    def _token_records(self) -> list[tuple[Token, str]]:
        rows = self._db.run(lambda c: c.execute(sa.select(_T)).all(), write=False)
        return [(self._token(r), r.sha256) for r in rows]

    def _remove_token(self, token_id: str) -> bool:
        return bool(self._db.run(lambda c: c.execute(sa.delete(_T).where(_T.c.token_id == token_id)).rowcount))

    def _grant_key(self, username: str, kind: ResourceKind, resource_id: str) -> Any:
        return sa.and_(_G.c.username == username, _G.c.kind == kind.value, _G.c.resource_id == resource_id)

    def _put_grant(self, grant: Grant) -> None:
        key = self._grant_key(grant.username, grant.kind, grant.resource_id)

        def fn(conn: Connection) -> None:
            conn.execute(sa.delete(_G).where(key))
            conn.execute(
                sa.insert(_G).values(
                    username=grant.username,
                    kind=grant.kind.value,
                    resource_id=grant.resource_id,
                    permission=grant.permission.name,
                )
            )

        self._db.run(fn)

    def _remove_grant(self, username: str, kind: ResourceKind, resource_id: str) -> bool:
        key = self._grant_key(username, kind, resource_id)
        return bool(self._db.run(lambda c: c.execute(sa.delete(_G).where(key)).rowcount))

    def _list_grants(
        self, username: Optional[str], kind: Optional[ResourceKind], resource_id: Optional[str]
    ) -> list[Grant]:
        query = sa.select(_G)
        if username is not None:
            query = query.where(_G.c.username == username)
        if kind is not None:
            query = query.where(_G.c.kind == kind.value)
        if resource_id is not None:
            query = query.where(_G.c.resource_id == resource_id)
        return [self._grant(r) for r in self._db.run(lambda c: c.execute(query).all(), write=False)]
