"""The file backend: tracking and registry stores on a plain directory tree.

Entry points ``file = storekit.backends.file:FileTrackingStore`` and
``file = storekit.backends.file:FileRegistryStore``.  See :mod:`.layout`
for what is stored where.
"""

from __future__ import annotations

from .registry import FileRegistryStore
from .tracking import FileTrackingStore

__all__ = ["FileTrackingStore", "FileRegistryStore"]
