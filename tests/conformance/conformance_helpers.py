"""One helper to run the conformance suite against a store URI, for any backend's tests.

``check_conformance("tracking", "postgresql://...")`` runs
``pytest --pyargs storekit_conformance --storekit-tracking-uri=...`` in a
subprocess - the same entry points a third party uses - prints the
summary and asserts that every required check passed.
"""

from __future__ import annotations

from typing import Any, Optional

from storekit_conformance.runner import ConformanceResult, assert_conformance

__all__ = ["check_conformance"]

#: Large-file size for the project's own runs (MiB): tens of MB stays the suite default for plugin authors.
LARGE_FILE_MB = 8


def check_conformance(interface: Optional[str], uri: str, **kwargs: Any) -> ConformanceResult:
    """Run the suite for ``interface`` (``tracking``, ``artifacts``, ``registry``, ``context``) against ``uri``."""
    kwargs.setdefault("large_file_mb", LARGE_FILE_MB)
    return assert_conformance(interface, uri, **kwargs)
