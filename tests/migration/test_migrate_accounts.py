"""``storekit migrate`` copies ``storekit server`` accounts: users (password hashes), token hashes, grants.

file -> SQLite -> PostgreSQL: after each hop the same password and the same
bearer token authenticate, the grants are there, the verification counts
users, tokens and grants, a second run (resume) copies nothing twice, and a
destination that lost a token fails the verification.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storekit.accounts import Permission, open_account_store
from tests.migration.conftest import run_cli, tree_digest

PASSWORD = "correct horse battery staple"


def _store_with_accounts(root: Path) -> tuple[str, str, str]:
    """A file store with an experiment, a registered model, two users, a token and grants;
    returns the store URI, the experiment id and the token text."""
    from storekit import TrackingClient

    uri = str(root)
    client = TrackingClient(uri)
    try:
        exp = client.create_experiment("guarded")
        run = client.create_run(exp, run_name="r")
        client.log_metric(run.info.run_id, "loss", 0.5, step=0)
        client.create_registered_model("guarded model")
    finally:
        client.close()
    accounts = open_account_store(uri)
    try:
        accounts.create_user("alice", PASSWORD, is_admin=True)
        accounts.create_user("bob", PASSWORD + " 2")
        _, token = accounts.create_token("bob", "ci", expires_ms=None)
        accounts.grant("bob", "experiment", exp, Permission.EDIT)
        accounts.grant("bob", "registered_model", "guarded model", Permission.READ)
    finally:
        accounts.close()
    return uri, exp, token


def _assert_accounts(uri: str, exp: str, token: str) -> None:
    accounts = open_account_store(uri, create=False)
    try:
        assert [u.username for u in accounts.list_users()] == ["alice", "bob"]
        assert accounts.check_password("alice", PASSWORD) is not None
        assert accounts.check_password("bob", PASSWORD + " 2") is not None
        assert accounts.get_user("alice").is_admin and not accounts.get_user("bob").is_admin
        user = accounts.check_token(token)
        assert user is not None and user.username == "bob"
        assert accounts.get_permission("bob", "experiment", exp) == Permission.EDIT
        assert accounts.get_permission("bob", "registered_model", "guarded model") == Permission.READ
    finally:
        accounts.close()


def _migrate(src: str, dst: str, cwd: Path, state: str) -> dict[str, Any]:
    code, out = run_cli("migrate", src, dst, "--state", state, "--json", cwd=cwd)
    report = json.loads(out)
    assert code == 0 and report["verification"]["ok"], out
    counts = report["verification"]["counts"]
    assert counts["users"] == {"source": 2, "destination": 2}
    assert counts["tokens"] == {"source": 1, "destination": 1}
    assert counts["grants"] == {"source": 2, "destination": 2}
    return report


@pytest.mark.postgres
def test_accounts_file_to_sqlite_to_postgresql(tmp_path: Path, postgres_factory: Any) -> None:
    src, exp, token = _store_with_accounts(tmp_path / "store")
    before = tree_digest(tmp_path / "store")
    db = tmp_path / "copy.db"
    sqlite_uri = f"sqlite:///{db}"
    state = str(tmp_path / "s1.jsonl")
    report = _migrate(src, sqlite_uri, tmp_path, state)
    assert (report["transfer"]["users"], report["transfer"]["tokens"], report["transfer"]["grants"]) == (2, 1, 2)
    assert tree_digest(tmp_path / "store") == before  # the source is never written
    _assert_accounts(sqlite_uri, exp, token)
    # run again: resumed, nothing copied twice, still verified
    report = _migrate(src, sqlite_uri, tmp_path, state)
    assert report["transfer"]["users"] == 0
    # a token lost in the destination fails the verification and is named
    with sqlite3.connect(db) as conn:
        token_id = conn.execute("SELECT token_id FROM storekit_tokens").fetchone()[0]
        conn.execute("DELETE FROM storekit_tokens")
    code, out = run_cli("migrate", src, sqlite_uri, "--state", state, "--json", cwd=tmp_path)
    check = json.loads(out)["verification"]
    assert code == 1 and check["counts"]["tokens"] == {"source": 1, "destination": 0}
    assert any(token_id in d and "missing" in d for d in check["differences"])
    assert PASSWORD not in out and token not in out
    # a fresh state copies them again (idempotent: no duplicates), then on to PostgreSQL
    report = _migrate(src, sqlite_uri, tmp_path, str(tmp_path / "s2.jsonl"))
    pg = postgres_factory.create()
    _migrate(sqlite_uri, pg, tmp_path, str(tmp_path / "s3.jsonl"))
    _assert_accounts(pg, exp, token)


def test_destination_without_accounts_gets_a_note(tmp_path: Path) -> None:
    src, _, _ = _store_with_accounts(tmp_path / "store")
    code, out = run_cli(
        "migrate", src, "memory://accounts-note", "--json", "--state", str(tmp_path / "s.jsonl"), cwd=tmp_path
    )
    report = json.loads(out)
    assert code == 0, out
    assert any("accounts not copied" in n for n in report["transfer"]["notes"])
