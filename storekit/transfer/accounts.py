"""``storekit server`` accounts copied by ``storekit migrate``: users, token hashes and grants.

Accounts live in the backend store they protect (:mod:`storekit.accounts`):
a file store's ``accounts.json``, a SQL store's ``storekit_*`` tables.  When
the source holds any user, ``storekit migrate`` copies every user (with its
password hash and admin flag), every token record (with the SHA-256 the store
keeps; token texts are never stored anywhere) and every grant (experiment ids
mapped like the experiments' own) after the runs, through the account
stores' idempotent ``import_*`` methods, and marks them done in the resume
state.  The verification compares the counts and each record (hashes compared,
never shown).  A destination that cannot hold accounts (a plugin's store,
``http(s)://``) gets none, and a note says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from ..accounts import AccountStore, Grant, open_account_store
from ..accounts.opening import SQL_SCHEMES
from ..uri import get_scheme

if TYPE_CHECKING:
    from .verify import Verification

__all__ = ["AccountCounts", "holds_accounts", "open_accounts", "copy_accounts", "verify_accounts"]


@dataclass
class AccountCounts:
    """Users, tokens and grants copied by one transfer."""

    users: int = 0
    tokens: int = 0
    grants: int = 0


def holds_accounts(uri: str) -> bool:
    """Whether the store at ``uri`` keeps accounts (a file or SQL store)."""
    scheme = get_scheme(uri).partition("+")[0]
    return scheme == "file" or scheme in SQL_SCHEMES


def open_accounts(uri: str, create: bool) -> Optional[AccountStore]:
    """The account store of ``uri``, or None for a store that keeps none."""
    return open_account_store(uri, create=create) if holds_accounts(uri) else None


def _mapped(grant: Grant, experiment_id: Callable[[str], str]) -> Grant:
    if grant.kind.value == "experiment":
        return Grant(grant.username, grant.kind, experiment_id(grant.resource_id), grant.permission)
    return grant


def copy_accounts(
    source: AccountStore, destination: AccountStore, experiment_id: Callable[[str], str]
) -> AccountCounts:
    """Copy every user, token record and grant of ``source`` into ``destination`` (idempotent)."""
    counts = AccountCounts()
    for user in source.list_users():
        destination.import_user(user)
        counts.users += 1
    for token, digest in source.export_tokens():
        destination.import_token(token, digest)
        counts.tokens += 1
    for grant in source.list_grants():
        g = _mapped(grant, experiment_id)
        destination.grant(g.username, g.kind, g.resource_id, g.permission)
        counts.grants += 1
    return counts


def verify_accounts(
    source: AccountStore, destination: AccountStore, experiment_id: Callable[[str], str], out: "Verification"
) -> None:
    """Add the account counts to ``out`` and a difference per user, token or grant that does not match."""
    src_users = {u.username: u for u in source.list_users()}
    dst_users = {u.username: u for u in destination.list_users()}
    out.add("users", len(src_users), len(dst_users))
    for name, user in src_users.items():
        other = dst_users.get(name)
        if other is None:
            out.differ(f"user {name!r}: missing in the destination")
        elif (user.is_admin, user.password_hash) != (other.is_admin, other.password_hash):
            out.differ(f"user {name!r}: admin flag or password hash differs")
    src_tokens = {t.token_id: (t, d) for t, d in source.export_tokens()}
    dst_tokens = {t.token_id: (t, d) for t, d in destination.export_tokens()}
    out.add("tokens", len(src_tokens), len(dst_tokens))
    for token_id, pair in src_tokens.items():
        if token_id not in dst_tokens:
            out.differ(f"token {token_id!r} of {pair[0].username!r}: missing in the destination")
        elif dst_tokens[token_id] != pair:
            out.differ(f"token {token_id!r} of {pair[0].username!r}: record or stored hash differs")
    src_grants = {_mapped(g, experiment_id) for g in source.list_grants()}
    dst_grants = set(destination.list_grants())
    out.add("grants", len(src_grants), len(dst_grants))
    for g in sorted(src_grants - dst_grants, key=lambda g: (g.username, g.kind.value, g.resource_id)):
        out.differ(f"grant of {g.username!r} on {g.kind.value} {g.resource_id!r}: missing or different")
