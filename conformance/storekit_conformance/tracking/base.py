"""Fixtures every tracking check uses: a fresh experiment and fresh runs in it."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest

from storekit.entities import Run
from storekit.interfaces import TrackingStore

from ..helpers import unique

__all__ = ["TrackingFixtures"]


class TrackingFixtures:
    """Fixtures shared by the tracking checks.  Every check works in experiments it creates."""

    @pytest.fixture
    def tracking_uri(self) -> Optional[str]:
        """The URI of the store under test, for checks that open it again (other processes).

        Override it in your suite subclass when your fixture builds the store from a URI;
        ``None`` skips the multi-process checks.
        """
        return None

    @pytest.fixture
    def experiment_id(self, tracking_store: TrackingStore) -> Iterator[str]:
        """A new, empty experiment with a unique name; soft-deleted afterwards."""
        exp_id = tracking_store.create_experiment(unique("exp"))
        yield exp_id
        try:
            tracking_store.delete_experiment(exp_id)
        except Exception:  # cleanup is best effort; the check already has its verdict
            pass

    @pytest.fixture
    def run(self, tracking_store: TrackingStore, experiment_id: str) -> Run:
        """A new RUNNING run in a fresh experiment."""
        return tracking_store.create_run(experiment_id, user_id="conformance", start_time=None, tags={}, run_name=None)

    @staticmethod
    def new_run(store: TrackingStore, experiment_id: str, **kwargs: Any) -> Run:
        """Create a run with keyword arguments (``start_time``, ``tags``, ``run_name``, ``user_id``)."""
        kwargs.setdefault("user_id", "conformance")
        return store.create_run(experiment_id, **kwargs)
