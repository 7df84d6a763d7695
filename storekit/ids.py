"""Id and clock helpers shared by every backend."""

from __future__ import annotations

import os
import time

__all__ = ["new_run_id", "new_model_id", "now_ms", "default_artifact_root"]


def new_run_id() -> str:
    """A new run id: 32 lowercase hexadecimal characters."""
    import uuid  # on first use: importing it costs more than a store's first query

    return uuid.uuid4().hex


def new_model_id() -> str:
    """A new logged-model id: ``m-`` and 32 lowercase hexadecimal characters."""
    import uuid

    return "m-" + uuid.uuid4().hex


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def default_artifact_root(explicit: "str | None" = None) -> str:
    """Where experiments created without ``artifact_location`` keep artifacts.

    ``explicit`` (the store's ``default_artifact_root`` keyword), else
    ``STOREKIT_ARTIFACT_URI``, else ``./storekit-artifacts`` as an absolute
    ``file:`` URI (contract section 1).
    """
    from .uri import path_to_file_uri

    if explicit:
        return str(explicit).rstrip("/")
    env = os.environ.get("STOREKIT_ARTIFACT_URI")
    if env:
        return env.rstrip("/")
    return path_to_file_uri("storekit-artifacts")
