"""Accounts of a file store: one JSON document, ``accounts.json``, at the store root.

Every change reads the document, changes it and writes it back atomically
(:func:`~storekit.backends.file.atomic.write_json_atomic`, mode 0600: it
holds password hashes) under the store's ``.accounts.lock``
(:class:`~storekit.backends.file.locking.StoreLock`), so concurrent
processes never lose each other's changes.  Reads take no lock: a reader
sees the previous document or the new one.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from ..backends.file.atomic import read_json_or_none, write_json_atomic
from ..backends.file.layout import open_root
from ..backends.file.locking import StoreLock
from ..errors import StoreCorruptionError
from .model import Grant, Permission, ResourceKind, Token, User
from .store import AccountStore, already_exists

__all__ = ["FileAccountStore", "ACCOUNTS_FILE"]

#: Name of the accounts document at the store root.
ACCOUNTS_FILE = "accounts.json"
_FORMAT = 1


def _empty() -> dict[str, Any]:
    return {"format": _FORMAT, "users": {}, "tokens": {}, "grants": []}


class FileAccountStore(AccountStore):
    """Accounts kept in ``<root>/accounts.json`` of the file store at ``uri``."""

    def __init__(self, uri: "str | os.PathLike[str]", create: bool = True) -> None:
        self.uri = os.fspath(uri)
        self.root: Path = open_root(uri, create=create)
        self.path = self.root / ACCOUNTS_FILE
        self._lock = StoreLock(self.root / ".accounts.lock")

    def _read(self) -> dict[str, Any]:
        doc = read_json_or_none(self.path)
        if doc is None:
            return _empty()
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise StoreCorruptionError(f"file store: {self.path} is not an accounts document of format {_FORMAT}")
        return doc

    @contextmanager
    def _change(self) -> Iterator[dict[str, Any]]:
        with self._lock.hold():
            doc = self._read()
            yield doc
            write_json_atomic(self.path, doc, mode=0o600)

    def close(self) -> None:
        """Close the lock file."""
        self._lock.close()

    # --- records -------------------------------------------------------
    @staticmethod
    def _user(name: str, rec: dict[str, Any]) -> User:
        return User(name, bool(rec["is_admin"]), int(rec["created_ms"]), str(rec["password_hash"]))

    @staticmethod
    def _token(token_id: str, rec: dict[str, Any]) -> Token:
        return Token(token_id, rec["username"], rec["name"], int(rec["created_ms"]), rec.get("expires_ms"))

    @staticmethod
    def _grant(rec: dict[str, Any]) -> Grant:
        return Grant(rec["username"], ResourceKind(rec["kind"]), rec["resource_id"], Permission[rec["permission"]])

    def _add_user(self, user: User) -> None:
        with self._change() as doc:
            if user.username in doc["users"]:
                raise already_exists(user.username)
            doc["users"][user.username] = {
                "password_hash": user.password_hash,
                "is_admin": user.is_admin,
                "created_ms": user.created_ms,
            }

    def _get_user(self, username: str) -> Optional[User]:
        rec = self._read()["users"].get(username)
        return None if rec is None else self._user(username, rec)

    def _list_users(self) -> list[User]:
        return [self._user(name, rec) for name, rec in self._read()["users"].items()]

    def _remove_user(self, username: str) -> bool:
        with self._change() as doc:
            if doc["users"].pop(username, None) is None:
                return False
            doc["tokens"] = {k: t for k, t in doc["tokens"].items() if t["username"] != username}
            doc["grants"] = [g for g in doc["grants"] if g["username"] != username]
            return True

    def _update_user(self, username: str, password_hash: Optional[str] = None, is_admin: Optional[bool] = None) -> bool:
        with self._change() as doc:
            rec = doc["users"].get(username)
            if rec is None:
                return False
            if password_hash is not None:
                rec["password_hash"] = password_hash
            if is_admin is not None:
                rec["is_admin"] = is_admin
            return True

    def _add_token(self, token: Token, digest: str) -> None:
        with self._change() as doc:
            doc["tokens"][token.token_id] = {
                "username": token.username,
                "name": token.name,
                "created_ms": token.created_ms,
                "expires_ms": token.expires_ms,
                "sha256": digest,
            }

    def _token_by_digest(self, digest: str) -> Optional[tuple[Token, str]]:
        for token_id, rec in self._read()["tokens"].items():
            if rec["sha256"] == digest:
                return self._token(token_id, rec), rec["sha256"]
        return None

    def _list_tokens(self, username: Optional[str]) -> list[Token]:
        tokens = self._read()["tokens"].items()
        return [self._token(k, t) for k, t in tokens if username is None or t["username"] == username]

    def _token_records(self) -> list[tuple[Token, str]]:
        return [(self._token(k, t), t["sha256"]) for k, t in self._read()["tokens"].items()]

    def _remove_token(self, token_id: str) -> bool:
        with self._change() as doc:
            return doc["tokens"].pop(token_id, None) is not None

    def _put_grant(self, grant: Grant) -> None:
        with self._change() as doc:
            doc["grants"] = [g for g in doc["grants"] if not _same(g, grant.username, grant.kind, grant.resource_id)]
            doc["grants"].append(
                {
                    "username": grant.username,
                    "kind": grant.kind.value,
                    "resource_id": grant.resource_id,
                    "permission": grant.permission.name,
                }
            )

    def _remove_grant(self, username: str, kind: ResourceKind, resource_id: str) -> bool:
        with self._change() as doc:
            before = len(doc["grants"])
            doc["grants"] = [g for g in doc["grants"] if not _same(g, username, kind, resource_id)]
            return len(doc["grants"]) != before

    def _list_grants(
        self, username: Optional[str], kind: Optional[ResourceKind], resource_id: Optional[str]
    ) -> list[Grant]:
        return [
            self._grant(g)
            for g in self._read()["grants"]
            if (username is None or g["username"] == username)
            and (kind is None or g["kind"] == kind.value)
            and (resource_id is None or g["resource_id"] == resource_id)
        ]


def _same(rec: dict[str, Any], username: str, kind: ResourceKind, resource_id: str) -> bool:
    return rec["username"] == username and rec["kind"] == kind.value and rec["resource_id"] == resource_id
