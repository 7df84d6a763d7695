"""The registry suite against ``--storekit-registry-uri`` (or ``--storekit-uri``)."""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest

from storekit_conformance import RegistryStoreSuite
from storekit_conformance.cleanup import record_created, remove_created


class TestRegistryStore(RegistryStoreSuite):
    """Resolves the store through ``storekit.plugins.resolve_registry_store``."""

    @pytest.fixture(scope="class")
    @classmethod
    def registry_store(cls, storekit_targets: Any) -> Iterator[Any]:
        store = storekit_targets.registry_store()
        created = record_created(store)  # a live store is left as it was found
        yield store
        try:
            remove_created(store, created)
        finally:
            store.close()

    @pytest.fixture
    def store_is_new(self, storekit_targets: Any, registry_store: Any) -> bool:
        return bool(storekit_targets.is_new("registry"))

    @pytest.fixture
    def registry_uri(self, storekit_targets: Any) -> Optional[str]:
        return storekit_targets.uri("registry")
