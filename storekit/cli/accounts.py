"""``storekit accounts``: users, bearer tokens and grants of ``storekit server``.

Passwords come from a hidden prompt (asked twice) or, for scripts, from the
first line of standard input with ``--password-stdin``; never from the
command line, where other users could read them.  A new token is printed
once and never again: the store keeps only its SHA-256.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import click

from ._output import format_time, handle_errors, print_json, print_table

__all__ = ["accounts"]

_URI_HELP = "Tracking store URI whose accounts to change (default: the storekit group's, else the embedded store)."


def _store(ctx: click.Context, uri: Optional[str], create: bool = False) -> Any:
    from ..accounts import open_account_store

    root = (ctx.find_root().obj or {}).get("tracking_uri")
    return open_account_store(uri or root, create=create)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _uri_option(f: Any) -> Any:
    return click.option("--tracking-uri", "uri", default=None, help=_URI_HELP)(f)


def _json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def _password_option(f: Any) -> Any:
    return click.option(
        "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
    )(f)


@click.group()
def accounts() -> None:
    """Users, bearer tokens and permissions of `storekit server`."""


@accounts.group()
def users() -> None:
    """Create, list and delete users; set passwords and administrators."""


@users.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@_password_option
@_uri_option
@_json_option
@click.pass_context
@handle_errors
def create_user(
    ctx: click.Context, username: str, admin: bool, password_stdin: bool, uri: Optional[str], as_json: bool
) -> None:
    """Create USERNAME (the store is created if it does not exist yet)."""
    store = _store(ctx, uri, create=True)
    user = store.create_user(username, _read_password(password_stdin), is_admin=admin)
    if as_json:
        print_json({"username": user.username, "is_admin": user.is_admin, "created_ms": user.created_ms})
    else:
        click.echo(f"Created user {user.username}" + (" (administrator)" if user.is_admin else ""))


@users.command("list")
@_uri_option
@_json_option
@click.pass_context
@handle_errors
def list_users(ctx: click.Context, uri: Optional[str], as_json: bool) -> None:
    """List the users."""
    found = _store(ctx, uri).list_users()
    if as_json:
        print_json([{"username": u.username, "is_admin": u.is_admin, "created_ms": u.created_ms} for u in found])
        return
    print_table(
        ("User", "Admin", "Created"),
        ((u.username, "yes" if u.is_admin else "", format_time(u.created_ms)) for u in found),
        title="Users",
    )


@users.command("delete")
@click.argument("username")
@_uri_option
@click.pass_context
@handle_errors
def delete_user(ctx: click.Context, username: str, uri: Optional[str]) -> None:
    """Delete USERNAME with their tokens and grants."""
    _store(ctx, uri).delete_user(username)
    click.echo(f"Deleted user {username}")


@users.command("set-password")
@click.argument("username")
@_password_option
@_uri_option
@click.pass_context
@handle_errors
def set_password(ctx: click.Context, username: str, password_stdin: bool, uri: Optional[str]) -> None:
    """Replace USERNAME's password."""
    _store(ctx, uri).set_password(username, _read_password(password_stdin))
    click.echo(f"Changed the password of {username}")


@users.command("set-admin")
@click.argument("username")
@click.argument("value", type=click.BOOL)
@_uri_option
@click.pass_context
@handle_errors
def set_admin(ctx: click.Context, username: str, value: bool, uri: Optional[str]) -> None:
    """Make USERNAME an administrator (VALUE true) or not (false)."""
    _store(ctx, uri).set_admin(username, value)
    click.echo(f"{username} is {'now' if value else 'no longer'} an administrator")


@accounts.group()
def tokens() -> None:
    """Create, list and revoke bearer tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", required=True, help="A label to recognise the token by (e.g. 'ci').")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), default=None, help="Expire after N days.")
@_uri_option
@_json_option
@click.pass_context
@handle_errors
def create_token(
    ctx: click.Context, username: str, name: str, expires_days: Optional[float], uri: Optional[str], as_json: bool
) -> None:
    """Create a bearer token for USERNAME; it is shown once."""
    from ..ids import now_ms

    expires = None if expires_days is None else now_ms() + int(expires_days * 86_400_000)
    token, text = _store(ctx, uri).create_token(username, name, expires_ms=expires)
    if as_json:
        print_json({"token_id": token.token_id, "username": token.username, "name": token.name,
                    "expires_ms": token.expires_ms, "token": text})  # fmt: skip
        return
    click.echo(f"Token {token.token_id} for {token.username} (shown once, store it now):")
    click.echo(text)


@tokens.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@_uri_option
@_json_option
@click.pass_context
@handle_errors
def list_tokens(ctx: click.Context, username: Optional[str], uri: Optional[str], as_json: bool) -> None:
    """List tokens (ids and labels; never the tokens themselves)."""
    found = _store(ctx, uri).list_tokens(username)
    if as_json:
        print_json(found)
        return
    print_table(
        ("ID", "User", "Name", "Created", "Expires"),
        ((t.token_id, t.username, t.name, format_time(t.created_ms), format_time(t.expires_ms)) for t in found),
        title="Tokens",
    )


@tokens.command("revoke")
@click.argument("token_id")
@_uri_option
@click.pass_context
@handle_errors
def revoke_token(ctx: click.Context, token_id: str, uri: Optional[str]) -> None:
    """Revoke the token with id TOKEN_ID."""
    _store(ctx, uri).revoke_token(token_id)
    click.echo(f"Revoked token {token_id}")


def _resource(experiment: Optional[str], model: Optional[str]) -> tuple[str, str]:
    if (experiment is None) == (model is None):
        raise click.UsageError("give exactly one of --experiment ID and --model NAME")
    return ("experiment", str(experiment)) if experiment is not None else ("registered_model", str(model))


_PERMISSIONS = click.Choice(["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"], case_sensitive=False)


@accounts.command("grant")
@click.argument("username")
@click.option("--experiment", default=None, help="Experiment id.")
@click.option("--model", default=None, help="Registered model name.")
@click.option("--permission", type=_PERMISSIONS, required=True, help="The permission to give.")
@_uri_option
@click.pass_context
@handle_errors
def grant(
    ctx: click.Context,
    username: str,
    experiment: Optional[str],
    model: Optional[str],
    permission: str,
    uri: Optional[str],
) -> None:
    """Give USERNAME a permission on an experiment or registered model."""
    kind, resource_id = _resource(experiment, model)
    made = _store(ctx, uri).grant(username, kind, resource_id, permission)
    click.echo(f"{made.username} has {made.permission.name} on {kind.replace('_', ' ')} {made.resource_id}")


@accounts.command("revoke")
@click.argument("username")
@click.option("--experiment", default=None, help="Experiment id.")
@click.option("--model", default=None, help="Registered model name.")
@_uri_option
@click.pass_context
@handle_errors
def revoke(
    ctx: click.Context, username: str, experiment: Optional[str], model: Optional[str], uri: Optional[str]
) -> None:
    """Remove USERNAME's grant on an experiment or registered model."""
    kind, resource_id = _resource(experiment, model)
    _store(ctx, uri).revoke(username, kind, resource_id)
    click.echo(f"Removed the grant of {username} on {kind.replace('_', ' ')} {resource_id}")


@accounts.command("grants")
@click.option("--user", "username", default=None, help="Only this user's grants.")
@_uri_option
@_json_option
@click.pass_context
@handle_errors
def list_grants(ctx: click.Context, username: Optional[str], uri: Optional[str], as_json: bool) -> None:
    """List grants."""
    found = _store(ctx, uri).list_grants(username)
    if as_json:
        print_json([{"username": g.username, "kind": g.kind.value, "resource_id": g.resource_id,
                     "permission": g.permission.name} for g in found])  # fmt: skip
        return
    print_table(
        ("User", "Kind", "Resource", "Permission"),
        ((g.username, g.kind.value, g.resource_id, g.permission.name) for g in found),
        title="Grants",
    )
