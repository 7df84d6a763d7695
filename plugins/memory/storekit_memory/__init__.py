"""storekit-memory: in-memory storekit backends, the template for writing a plugin.

``memory://<name>`` is a process-global named store: the same URI gives the
same data anywhere in this process, and nothing survives the process.
"""

from __future__ import annotations

from .artifacts import MemoryArtifactRepository
from .registry import MemoryRegistryStore
from .tracking import MemoryTrackingStore

__version__ = "0.1.0"

__all__ = ["MemoryTrackingStore", "MemoryRegistryStore", "MemoryArtifactRepository", "__version__"]
