"""AccountStore on the file store, SQLite, PostgreSQL and MariaDB: users, hashes, tokens, grants."""

from __future__ import annotations

import hashlib
import os
import stat
import time

import pytest
import sqlalchemy as sa

from storekit.accounts import Permission, ResourceKind, open_account_store
from storekit.accounts.file_store import ACCOUNTS_FILE, FileAccountStore
from storekit.errors import AlreadyExistsError, InvalidParameterError, NotFoundError, UnknownSchemeError
from storekit.ids import now_ms
from tests.accounts.conftest import BACKENDS

ON_EVERY_BACKEND = pytest.mark.parametrize("store_uri", BACKENDS, indirect=True)

PASSWORD = "correct horse battery"


def _raw_text(store, uri: str) -> str:
    """Everything the store persisted, as text (to prove secrets are not in it)."""
    if isinstance(store, FileAccountStore):
        return (store.root / ACCOUNTS_FILE).read_text()
    engine = store._db.engine
    out = []
    with engine.connect() as conn:
        for table in ("storekit_users", "storekit_tokens", "storekit_grants"):
            out.extend(repr(tuple(r)) for r in conn.execute(sa.text(f"SELECT * FROM {table}")))
    return "\n".join(out)


@ON_EVERY_BACKEND
def test_users_round_trip(accounts):
    alice = accounts.create_user("alice", PASSWORD, is_admin=True)
    accounts.create_user("bob", PASSWORD)
    assert alice.is_admin and alice.password_hash.startswith("$argon2id$")
    assert [u.username for u in accounts.list_users()] == ["alice", "bob"]
    assert accounts.get_user("bob").is_admin is False
    accounts.set_admin("bob", True)
    assert accounts.get_user("bob").is_admin is True
    with pytest.raises(AlreadyExistsError, match="alice"):
        accounts.create_user("alice", PASSWORD)
    accounts.delete_user("alice")
    with pytest.raises(NotFoundError, match="alice"):
        accounts.get_user("alice")
    with pytest.raises(NotFoundError):
        accounts.delete_user("alice")


@ON_EVERY_BACKEND
def test_password_checks_and_secrets_never_stored_or_shown(accounts, store_uri):
    user = accounts.create_user("carol", PASSWORD)
    assert accounts.check_password("carol", PASSWORD).username == "carol"
    assert accounts.check_password("carol", PASSWORD + "x") is None
    assert accounts.check_password("nobody", PASSWORD) is None
    assert accounts.check_password("carol", "") is None  # invalid input is a failed login, not an error
    accounts.set_password("carol", "another secret value")
    assert accounts.check_password("carol", PASSWORD) is None
    assert accounts.check_password("carol", "another secret value") is not None
    assert PASSWORD not in repr(user) and user.password_hash not in repr(user)
    raw = _raw_text(accounts, store_uri)
    assert "another secret value" not in raw and PASSWORD not in raw
    assert "$argon2id$" in raw


@ON_EVERY_BACKEND
def test_invalid_arguments_name_field_and_limit(accounts):
    with pytest.raises(InvalidParameterError, match="username"):
        accounts.create_user("bad name", PASSWORD)
    with pytest.raises(InvalidParameterError, match=r"username: length 65 is outside 1\.\.64"):
        accounts.create_user("a" * 65, PASSWORD)
    with pytest.raises(InvalidParameterError, match=r"password: length 5 is outside 8\.\.1024") as info:
        accounts.create_user("dave", "short")
    assert "short" not in str(info.value)
    accounts.create_user("dave", PASSWORD)
    with pytest.raises(InvalidParameterError, match="permission 'OWNER'"):
        accounts.grant("dave", "experiment", "1", "OWNER")
    with pytest.raises(InvalidParameterError, match="resource kind"):
        accounts.grant("dave", "run", "1", "READ")
    with pytest.raises(InvalidParameterError, match="registered model name"):
        accounts.grant("dave", "registered_model", "a/b", "READ")
    with pytest.raises(InvalidParameterError, match="token expiry: must lie in the future"):
        accounts.create_token("dave", "ci", expires_ms=now_ms() - 1)
    with pytest.raises(InvalidParameterError, match="token name"):
        accounts.create_token("dave", "")


@ON_EVERY_BACKEND
def test_tokens_are_stored_as_sha256_and_shown_once(accounts, store_uri):
    accounts.create_user("erin", PASSWORD)
    token, text = accounts.create_token("erin", "ci")
    assert len(text) >= 43 and token.username == "erin"
    assert accounts.check_token(text).username == "erin"
    assert accounts.check_token(text + "x") is None
    assert accounts.check_token("") is None
    raw = _raw_text(accounts, store_uri)
    assert text not in raw
    assert hashlib.sha256(text.encode()).hexdigest() in raw
    assert text not in repr(token) and text not in repr(accounts.list_tokens())
    assert [t.token_id for t in accounts.list_tokens("erin")] == [token.token_id]
    accounts.revoke_token(token.token_id)
    assert accounts.check_token(text) is None
    with pytest.raises(NotFoundError):
        accounts.revoke_token(token.token_id)
    with pytest.raises(NotFoundError, match="nobody"):
        accounts.create_token("nobody", "ci")


@ON_EVERY_BACKEND
def test_token_expiry(accounts):
    accounts.create_user("frank", PASSWORD)
    _, text = accounts.create_token("frank", "short-lived", expires_ms=now_ms() + 1500)
    assert accounts.check_token(text) is not None
    time.sleep(1.6)
    assert accounts.check_token(text) is None


@ON_EVERY_BACKEND
def test_grants(accounts):
    accounts.create_user("gina", PASSWORD)
    accounts.create_user("hank", PASSWORD)
    accounts.grant("gina", ResourceKind.EXPERIMENT, "7", Permission.READ)
    accounts.grant("gina", "experiment", "7", "edit")  # replaces
    accounts.grant("hank", "registered_model", "churn", "MANAGE")
    assert accounts.get_permission("gina", "experiment", "7") is Permission.EDIT
    assert accounts.get_permission("gina", "experiment", "8") is None
    assert [(g.username, g.resource_id, g.permission) for g in accounts.list_grants()] == [
        ("gina", "7", Permission.EDIT),
        ("hank", "churn", Permission.MANAGE),
    ]
    assert len(accounts.list_grants(kind="registered_model")) == 1
    accounts.rename_resource("registered_model", "churn", "churn-v2")
    assert accounts.get_permission("hank", "registered_model", "churn-v2") is Permission.MANAGE
    assert accounts.get_permission("hank", "registered_model", "churn") is None
    accounts.set_owner("experiment", "7", "hank")  # a new resource with a reused id: old grants go
    assert accounts.get_permission("gina", "experiment", "7") is None
    assert accounts.get_permission("hank", "experiment", "7") is Permission.MANAGE
    accounts.revoke("hank", "experiment", "7")
    with pytest.raises(NotFoundError):
        accounts.revoke("hank", "experiment", "7")
    with pytest.raises(NotFoundError, match="nobody"):
        accounts.grant("nobody", "experiment", "7", "READ")


@ON_EVERY_BACKEND
def test_deleting_a_user_deletes_tokens_and_grants(accounts):
    accounts.create_user("ivan", PASSWORD)
    _, text = accounts.create_token("ivan", "ci")
    accounts.grant("ivan", "experiment", "1", "READ")
    accounts.delete_user("ivan")
    accounts.create_user("ivan", PASSWORD)  # same name again: nothing inherited
    assert accounts.check_token(text) is None
    assert accounts.list_grants("ivan") == [] and accounts.list_tokens("ivan") == []


@ON_EVERY_BACKEND
def test_reopened_store_sees_accounts(accounts, store_uri):
    accounts.create_user("judy", PASSWORD)
    again = open_account_store(store_uri, create=False)
    try:
        assert again.check_password("judy", PASSWORD) is not None
    finally:
        again.close()
    if isinstance(accounts, FileAccountStore):
        mode = stat.S_IMODE(os.stat(accounts.root / ACCOUNTS_FILE).st_mode)
        assert mode == 0o600  # holds password hashes


def test_unknown_scheme_is_refused():
    with pytest.raises(UnknownSchemeError, match="file or SQL"):
        open_account_store("http://127.0.0.1:1/")
