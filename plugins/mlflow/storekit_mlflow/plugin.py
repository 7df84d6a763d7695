"""The entry points MLflow loads: light factories that import the adapters on first call.

MLflow registers its plugins while ``mlflow.tracking`` is being imported.
Pointing the entry points at the adapter classes would make a program that
imports :mod:`storekit_mlflow.tracking` before MLflow re-enter that module
half-initialised (a circular import MLflow reports as a failed plugin).
This module imports nothing from MLflow, so loading an entry point never does.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["tracking_store", "registry_store", "artifact_repository"]


def tracking_store(store_uri: Optional[str] = None, artifact_uri: Optional[str] = None) -> Any:
    """``mlflow.tracking_store`` entry point: a :class:`~storekit_mlflow.tracking.StorekitTrackingStore`."""
    from .tracking import StorekitTrackingStore

    return StorekitTrackingStore(store_uri=store_uri, artifact_uri=artifact_uri)


def registry_store(store_uri: Optional[str] = None, tracking_uri: Optional[str] = None) -> Any:
    """``mlflow.model_registry_store`` entry point: a :class:`~storekit_mlflow.registry.StorekitRegistryStore`."""
    from .registry import StorekitRegistryStore

    return StorekitRegistryStore(store_uri=store_uri, tracking_uri=tracking_uri)


def artifact_repository(
    artifact_uri: str, tracking_uri: Optional[str] = None, registry_uri: Optional[str] = None
) -> Any:
    """``mlflow.artifact_repository`` entry point: a :class:`~storekit_mlflow.artifacts.StorekitArtifactRepository`."""
    from .artifacts import StorekitArtifactRepository

    return StorekitArtifactRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
