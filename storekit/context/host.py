"""The ``host`` context provider: which machine and platform ran the run."""

from __future__ import annotations

import platform
from typing import ClassVar, Mapping, Optional

from . import BuiltinContextProvider

__all__ = ["HostContextProvider"]


class HostContextProvider(BuiltinContextProvider):
    """Tags ``storekit.host.name`` (network name) and ``storekit.host.platform``."""

    priority: ClassVar[int] = 40

    def raw_tags(self) -> Mapping[str, Optional[str]]:
        """The host name and a platform description such as ``Linux-6.1-x86_64-with-glibc2.36``."""
        return {
            "storekit.host.name": platform.node() or None,
            "storekit.host.platform": platform.platform() or None,
        }
