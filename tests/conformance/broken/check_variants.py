"""The conformance suite against every broken variant (run by test_broken_variants.py, not collected directly).

One suite subclass per variant, named ``TestBroken<Variant>``; every variant
gets its own ``memory://`` store so they cannot see each other's data.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Optional

import pytest

from storekit_conformance import ArtifactRepositorySuite, RegistryStoreSuite, TrackingStoreSuite

from .variants import VARIANTS


def _suite_for(variant: type, interface: str) -> type:
    name = f"memory://broken-{variant.__name__.lower()}"
    if interface == "tracking":

        class Suite(TrackingStoreSuite):
            @pytest.fixture(scope="class")
            @classmethod
            def tracking_store(cls) -> Any:
                return variant(name)

            @pytest.fixture
            def tracking_uri(self) -> Optional[str]:
                return name  # other processes (DURABLE check) open the same URI

            @pytest.fixture
            def store_is_new(self) -> bool:
                return True  # every variant has a memory store of its own name, new in this process
    elif interface == "registry":

        class Suite(RegistryStoreSuite):  # type: ignore[no-redef]
            @pytest.fixture(scope="class")
            @classmethod
            def registry_store(cls) -> Any:
                return variant(name)

            @pytest.fixture
            def registry_uri(self) -> Optional[str]:
                return name  # other processes (DURABLE check) open the same URI
    else:

        class Suite(ArtifactRepositorySuite):  # type: ignore[no-redef]
            @pytest.fixture
            def artifact_repository(self) -> Callable[[], Any]:
                return lambda: variant(f"{name}/{uuid.uuid4().hex}")

    Suite.__name__ = Suite.__qualname__ = f"TestBroken{variant.__name__}"
    Suite.broken_section = VARIANTS[variant][1]  # conftest.py keeps only the checks of this section
    return Suite


for _variant, (_interface, _section) in VARIANTS.items():
    globals()[f"TestBroken{_variant.__name__}"] = _suite_for(_variant, _interface)
