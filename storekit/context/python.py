"""The ``python`` context provider: which interpreter ran the run."""

from __future__ import annotations

import platform
from typing import ClassVar, Mapping, Optional

from . import BuiltinContextProvider

__all__ = ["PythonContextProvider"]


class PythonContextProvider(BuiltinContextProvider):
    """Tags ``storekit.python.version`` (e.g. ``3.11.4``) and ``storekit.python.implementation`` (e.g. ``CPython``)."""

    priority: ClassVar[int] = 50

    def raw_tags(self) -> Mapping[str, Optional[str]]:
        """The interpreter's version and implementation."""
        return {
            "storekit.python.version": platform.python_version(),
            "storekit.python.implementation": platform.python_implementation(),
        }
