"""storekit: experiment-tracking storage with pluggable backends (placeholder, being built)."""

__version__ = "0.1.0"
