"""The ``user`` context provider: who started the run."""

from __future__ import annotations

import getpass
import os
from typing import ClassVar, Mapping, Optional

from . import BuiltinContextProvider

__all__ = ["UserContextProvider", "current_user", "USER_TAG"]

USER_TAG = "storekit.user"


def current_user() -> Optional[str]:
    """The login name of the current user, or None when it cannot be determined.

    ``STOREKIT_USER`` overrides it (useful in containers where the login
    name is meaningless); otherwise :func:`getpass.getuser`.
    """
    override = os.environ.get("STOREKIT_USER")
    if override:
        return override
    try:
        return getpass.getuser() or None
    except Exception:  # no passwd entry and no LOGNAME/USER: unknown, not an error
        return None


class UserContextProvider(BuiltinContextProvider):
    """Tags a run with ``storekit.user``: the current user's login name."""

    priority: ClassVar[int] = 10

    def raw_tags(self) -> Mapping[str, Optional[str]]:
        """``{"storekit.user": <login name>}``."""
        return {USER_TAG: current_user()}
