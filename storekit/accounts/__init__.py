"""Accounts and permissions of ``storekit server``: users, bearer tokens, grants, and the access policy.

* :mod:`.model` — :class:`User`, :class:`Token`, :class:`Grant`,
  :class:`Principal`, :class:`Permission` (``NO_PERMISSIONS < READ < EDIT < MANAGE``).
* :mod:`.store` — :class:`AccountStore`, kept in the backend store itself
  (:mod:`.file_store`, :mod:`.sql_store`); :func:`open_account_store` picks
  one from the tracking URI.
* :mod:`.policy` — who may do what: :class:`AccessPolicy` authenticates
  ``Authorization`` headers and decides each route of the server's route
  table (:mod:`.routes`).
"""

from __future__ import annotations

from .model import Grant, Permission, Principal, ResourceKind, Token, User
from .opening import open_account_store
from .store import AccountStore

__all__ = [
    "AccountStore",
    "Grant",
    "Permission",
    "Principal",
    "ResourceKind",
    "Token",
    "User",
    "open_account_store",
]
