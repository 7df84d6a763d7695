"""The file store's page-token secret: ``.storekit-secret`` at the store root.

It is written when the store is created (or, for a store created by an older
storekit, the first time the store is opened for writing): the secret goes to
a temporary file created with mode 0600, which is then hard-linked to its
final name, so a secret is never seen half written and two processes racing
to create it agree on the first one.  A store that cannot be written (a
read-only copy) and has no secret signs with the process key of
:mod:`storekit.paging` (its tokens are then valid in that process only).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Optional

from ...paging import new_store_secret

__all__ = ["SECRET_FILE", "store_secret"]

#: Name of the secret file at the store root.
SECRET_FILE = ".storekit-secret"


def _read(path: Path) -> Optional[bytes]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(4096).strip()
    except OSError:
        return None
    return data or None


def store_secret(root: Path, create: bool = True) -> Optional[bytes]:
    """The secret of the store at ``root``, created when missing and ``create``; None when unavailable."""
    path = root / SECRET_FILE
    found = _read(path)
    if found is not None or not create:
        return found
    tmp = root / f".tmp-secret-{uuid.uuid4().hex[:12]}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, new_store_secret().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first: its secret is the store's
        finally:
            os.unlink(tmp)
    except OSError:
        return _read(path)
    return _read(path)
