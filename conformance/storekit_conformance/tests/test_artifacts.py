"""The artifact suite: every check gets a fresh root under ``--storekit-artifact-uri`` (or ``--storekit-uri``)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from storekit_conformance import ArtifactRepositorySuite


class TestArtifactRepository(ArtifactRepositorySuite):
    """Resolves repositories through ``storekit.plugins.resolve_artifact_repository``."""

    @pytest.fixture(scope="class")
    @classmethod
    def artifact_repository(cls, storekit_targets: Any) -> Callable[[], Any]:
        return storekit_targets.artifact_factory()
