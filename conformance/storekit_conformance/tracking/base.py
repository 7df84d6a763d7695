"""Fixtures every tracking check uses: a fresh experiment and fresh runs in it."""

from __future__ import annotations

from typing import Any, ClassVar, Iterator, Optional

import pytest

from storekit.entities import Run, ViewType
from storekit.interfaces import TrackingStore

from ..helpers import unique

__all__ = ["TrackingFixtures"]


class TrackingFixtures:
    """Fixtures shared by the tracking checks.  Every check works in experiments it creates."""

    #: id(store) -> (store, names of the experiments it held when the first check began), new stores only
    _held_at_first_use: ClassVar[dict[int, tuple[Any, list[str]]]] = {}

    @pytest.fixture(autouse=True)
    def _storekit_experiments_at_first_use(self, tracking_store: TrackingStore, store_is_new: bool) -> None:
        """On a new store, note what it holds before the first check creates anything (autouse: runs first)."""
        if store_is_new and id(tracking_store) not in self._held_at_first_use:
            held = [e.name for e in tracking_store.search_experiments(view_type=ViewType.ALL, max_results=1000)]
            self._held_at_first_use[id(tracking_store)] = (tracking_store, held)

    @classmethod
    def experiments_at_first_use(cls, store: TrackingStore) -> Optional[list[str]]:
        """Names of the experiments a new ``store`` held before the suite's first check (None: not noted)."""
        noted = cls._held_at_first_use.get(id(store))
        return None if noted is None or noted[0] is not store else noted[1]

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
