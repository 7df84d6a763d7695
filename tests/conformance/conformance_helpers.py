"""One helper to run the conformance suite against a store URI, for any backend's tests.

``check_conformance("tracking", "postgresql://...", capabilities=FULL_TRACKING)``
runs ``pytest --pyargs storekit_conformance --storekit-tracking-uri=...`` in a
subprocess - the same entry points a third party uses - prints the summary,
asserts that every required check passed, and pins what the backend declares:
its exact capability set and its exact set of skipped checks (none by
default).  A backend that stops declaring a capability then fails its run
instead of quietly turning that capability's checks into skips.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from storekit.interfaces import Capability
from storekit_conformance.runner import ConformanceResult, assert_conformance

__all__ = ["check_conformance", "FULL_TRACKING", "SQL_REGISTRY", "FILE_REGISTRY"]

#: Large-file size for the project's own runs (MiB): tens of MB stays the suite default for plugin authors.
LARGE_FILE_MB = 8

#: What the file and SQL tracking stores declare: every tracking capability.
FULL_TRACKING = frozenset(
    {
        Capability.ATOMIC_BATCH,
        Capability.SEARCH_OR,
        Capability.CONCURRENT_WRITERS,
        Capability.MULTIPROCESS_WRITERS,
        Capability.DURABLE,
        Capability.REGISTRY,
        Capability.DATASETS,
        Capability.LOGGED_MODELS,
        Capability.IMPORT,
        Capability.PURGE,
    }
)
#: What the file registry store declares.
FILE_REGISTRY = frozenset(
    {
        Capability.CONCURRENT_WRITERS,
        Capability.MULTIPROCESS_WRITERS,
        Capability.DURABLE,
        Capability.SEARCH_OR,
        Capability.IMPORT,
    }
)
#: What the SQL registry store declares.
SQL_REGISTRY = frozenset(
    {Capability.CONCURRENT_WRITERS, Capability.MULTIPROCESS_WRITERS, Capability.DURABLE, Capability.IMPORT}
)


def check_conformance(
    interface: Optional[str],
    uri: str,
    *,
    capabilities: Optional[Iterable[Capability]] = None,
    skips: Iterable[str] = (),
    **kwargs: Any,
) -> ConformanceResult:
    """Run the suite for ``interface`` (``tracking``, ``artifacts``, ``registry``, ``context``) against ``uri``.

    ``capabilities``: the exact set the implementation must declare (not checked when None).
    ``skips``: the exact names of the checks allowed to skip (``test_x`` or ``test_x[param]``).
    """
    kwargs.setdefault("large_file_mb", LARGE_FILE_MB)
    result = assert_conformance(interface, uri, **kwargs)
    report = result.report or {}
    skipped = sorted(c["nodeid"].rsplit("::", 1)[-1] for c in report.get("checks", []) if c["outcome"] == "skipped")
    assert skipped == sorted(skips), (
        f"checks skipped against {interface}: {skipped}; expected exactly {sorted(skips)}\n{result.summary}"
    )
    if capabilities is not None:
        declared = {frozenset(impl["capabilities"]) for impl in report.get("implementations", {}).values()}
        expected = frozenset(str(c) for c in capabilities)
        assert declared == {expected}, f"declared capabilities {declared}, expected {set(expected)}"
    return result
