"""The account store of a tracking URI: accounts live in the backend store they protect."""

from __future__ import annotations

import os

from ..errors import UnknownSchemeError
from ..uri import get_scheme, redact_uri
from .store import AccountStore

__all__ = ["open_account_store", "SQL_SCHEMES"]

#: URI schemes (before any ``+driver``) whose accounts are kept in SQL tables.
SQL_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb"})


def open_account_store(tracking_uri: "str | os.PathLike[str] | None" = None, create: bool = True) -> AccountStore:
    """The :class:`AccountStore` of the store at ``tracking_uri`` (default: the default tracking URI).

    File stores keep accounts in ``accounts.json``, SQL stores in their own
    tables; any other scheme raises :class:`~storekit.errors.UnknownSchemeError`.
    With ``create=False`` a missing store is an error, never created.
    """
    from ..config import default_tracking_uri

    uri = os.fspath(tracking_uri) if tracking_uri is not None else default_tracking_uri()
    scheme = get_scheme(uri).partition("+")[0]
    if scheme == "file":
        from .file_store import FileAccountStore

        return FileAccountStore(uri, create=create)
    if scheme in SQL_SCHEMES:
        from .sql_store import SqlAccountStore

        return SqlAccountStore(uri, create=create)
    raise UnknownSchemeError(
        f"accounts are kept in a file or SQL backend store; {redact_uri(uri)} ({scheme!r}) is neither"
    )
