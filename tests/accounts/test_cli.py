"""``storekit accounts``: users, tokens and grants through the command line, on a file and a SQLite store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from storekit.accounts import Permission, open_account_store
from storekit.cli import cli

PASSWORD = "s3cret-passw0rd"


@pytest.fixture(params=["file", "sqlite"])
def uri(request, tmp_path) -> str:
    return str(tmp_path / "store") if request.param == "file" else f"sqlite:///{tmp_path}/store.db"


def run(*args: str, input: str | None = None, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_users_tokens_grants_end_to_end(uri):
    out = run("accounts", "users", "create", "admin", "--admin", "--password-stdin", "--tracking-uri", uri,
              input=PASSWORD + "\n").output  # fmt: skip
    assert "Created user admin (administrator)" in out and PASSWORD not in out
    run("accounts", "users", "create", "bob", "--tracking-uri", uri, input=f"{PASSWORD}\n{PASSWORD}\n")  # prompt twice
    listed = json.loads(run("accounts", "users", "list", "--json", "--tracking-uri", uri).output)
    assert [(u["username"], u["is_admin"]) for u in listed] == [("admin", True), ("bob", False)]
    assert all("password_hash" not in u for u in listed)
    table = run("accounts", "users", "list", "--tracking-uri", uri).output
    assert "admin" in table and "bob" in table and "$argon2" not in table

    store = open_account_store(uri)
    assert store.check_password("bob", PASSWORD) is not None
    run("accounts", "users", "set-password", "bob", "--password-stdin", "--tracking-uri", uri, input="new-password-1\n")
    assert store.check_password("bob", PASSWORD) is None and store.check_password("bob", "new-password-1")
    run("accounts", "users", "set-admin", "bob", "true", "--tracking-uri", uri)
    assert store.get_user("bob").is_admin

    created = json.loads(run("accounts", "tokens", "create", "bob", "--name", "ci", "--expires-days", "30",
                             "--json", "--tracking-uri", uri).output)  # fmt: skip
    assert store.check_token(created["token"]).username == "bob"
    tokens = run("accounts", "tokens", "list", "--tracking-uri", uri).output
    assert created["token_id"] in tokens and created["token"] not in tokens
    tokens_json = run("accounts", "tokens", "list", "--json", "--tracking-uri", uri).output
    assert created["token"] not in tokens_json
    run("accounts", "tokens", "revoke", created["token_id"], "--tracking-uri", uri)
    assert store.check_token(created["token"]) is None

    run("accounts", "grant", "bob", "--experiment", "3", "--permission", "EDIT", "--tracking-uri", uri)
    run("accounts", "grant", "bob", "--model", "churn", "--permission", "read", "--tracking-uri", uri)
    assert store.get_permission("bob", "experiment", "3") is Permission.EDIT
    assert store.get_permission("bob", "registered_model", "churn") is Permission.READ
    grants = json.loads(run("accounts", "grants", "--json", "--tracking-uri", uri).output)
    assert {(g["kind"], g["resource_id"], g["permission"]) for g in grants} == {
        ("experiment", "3", "EDIT"),
        ("registered_model", "churn", "READ"),
    }
    run("accounts", "revoke", "bob", "--experiment", "3", "--tracking-uri", uri)
    assert store.get_permission("bob", "experiment", "3") is None
    run("accounts", "users", "delete", "bob", "--tracking-uri", uri)
    assert [u.username for u in store.list_users()] == ["admin"]
    store.close()


def test_errors_are_one_line_and_never_echo_the_password(uri):
    bad = run(
        "accounts", "users", "create", "eve", "--password-stdin", "--tracking-uri", uri, input="short\n", ok=False
    )
    assert bad.exit_code == 1
    assert "password: length 5 is outside 8..1024 characters" in bad.output and "short\n" not in bad.output
    missing = run("accounts", "users", "delete", "nobody", "--tracking-uri", uri, ok=False)
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output
    both = run("accounts", "grant", "eve", "--experiment", "1", "--model", "m", "--permission", "READ",
               "--tracking-uri", uri, ok=False)  # fmt: skip
    assert both.exit_code == 2 and "exactly one of --experiment" in both.output


def test_read_only_commands_do_not_create_a_store(tmp_path):
    missing = tmp_path / "nothing-here"
    result = run("accounts", "users", "list", "--tracking-uri", str(missing), ok=False)
    assert result.exit_code == 1 and "no storekit store" in result.output
    assert not missing.exists()
