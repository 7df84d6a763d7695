"""The TrackingStore suite (contract sections 1, 3 and 3b)."""

from __future__ import annotations

from ..suite import SuiteBase
from .base import TrackingFixtures
from .capabilities import CapabilityChecks
from .concurrency import ConcurrencyChecks
from .datasets import DatasetChecks, LoggedModelChecks
from .experiments import ExperimentChecks
from .logging import LoggingChecks
from .paging import PagingChecks
from .purge import PurgeChecks
from .rules import RuleChecks
from .runs import RunChecks
from .search import SearchChecks

__all__ = ["TrackingStoreSuite"]


class TrackingStoreSuite(
    SuiteBase,
    TrackingFixtures,
    ExperimentChecks,
    RunChecks,
    LoggingChecks,
    SearchChecks,
    PagingChecks,
    ConcurrencyChecks,
    DatasetChecks,
    LoggedModelChecks,
    RuleChecks,
    CapabilityChecks,
    PurgeChecks,
):
    """Every tracking-store check.  Subclass it and supply a ``tracking_store`` fixture.

    Optionally override ``tracking_uri`` (a fixture returning the store's URI)
    so that the multi-process checks can open the same store in other
    processes through ``storekit.plugins.resolve_tracking_store``.
    """

    __test__ = False
    interface = "tracking"
    subject_fixture = "tracking_store"
