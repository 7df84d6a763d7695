"""The tracking suite against ``--storekit-tracking-uri`` (or ``--storekit-uri``)."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest

from storekit_conformance import TrackingStoreSuite
from storekit_conformance.cleanup import record_created, remove_created


class TestTrackingStore(TrackingStoreSuite):
    """Resolves the store through ``storekit.plugins.resolve_tracking_store``."""

    @pytest.fixture(scope="class")
    @classmethod
    def tracking_store(cls, storekit_targets: Any) -> Iterator[Any]:
        store = storekit_targets.tracking_store()
        created = record_created(store)  # a live store is left as it was found
        yield store
        try:
            remove_created(store, created)
        finally:
            store.close()

    @pytest.fixture
    def store_is_new(self, storekit_targets: Any, tracking_store: Any) -> bool:
        return bool(storekit_targets.is_new("tracking"))

    @pytest.fixture
    def tracking_uri(self, storekit_targets: Any) -> Optional[str]:
        return storekit_targets.uri("tracking")
