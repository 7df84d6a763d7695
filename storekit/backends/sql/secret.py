"""The SQL store's page-token secret: a row of ``storekit_settings``.

It is written when the store is created (``create_all`` or revision 0006);
a row missing for any other reason is created the first time it is needed
(two processes racing agree on the first row committed).
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from ...paging import new_store_secret
from . import schema
from .basics import SECRET_NAME
from .engine import Database

__all__ = ["SECRET_NAME", "read_or_create_secret", "store_key"]


def _read(conn: Connection) -> "str | None":
    t = schema.settings
    return conn.execute(sa.select(t.c.value).where(t.c.name == SECRET_NAME)).scalar()


def read_or_create_secret(conn: Connection) -> bytes:
    """The store's secret, inserted (in a savepoint) when missing."""
    found = _read(conn)
    if found is None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(schema.settings).values(name=SECRET_NAME, value=new_store_secret()))
        except sa_exc.IntegrityError:
            pass  # inserted by another process meanwhile
        found = _read(conn)
    return str(found).encode()


_KEYS: weakref.WeakKeyDictionary[Database, bytes] = weakref.WeakKeyDictionary()


def store_key(db: Database) -> bytes:
    """The page-token secret of the store ``db`` opens (read once per Database)."""
    key = _KEYS.get(db)
    if key is None:
        key = _KEYS[db] = db.run(read_or_create_secret)
    return key
