"""Finding the experiment a request touches: runs, logged models and names resolved through the stores."""

from __future__ import annotations

from typing import Optional, Protocol

from ..errors import InvalidParameterError, NotFoundError

__all__ = ["ResourceLookup", "StoreLookup"]


class ResourceLookup(Protocol):
    """What access control asks the stores (None: no such resource)."""

    def experiment_exists(self, experiment_id: str) -> bool:
        """Whether the experiment exists (deleted ones included)."""
        ...

    def experiment_id_by_name(self, name: str) -> Optional[str]:
        """The id of the experiment named ``name``."""
        ...

    def experiment_of_run(self, run_id: str) -> Optional[str]:
        """The experiment id of a run."""
        ...

    def experiment_of_logged_model(self, model_id: str) -> Optional[str]:
        """The experiment id of a logged model."""
        ...

    def registered_model_exists(self, name: str) -> bool:
        """Whether a registered model of that name exists."""
        ...


class StoreLookup:
    """A :class:`ResourceLookup` over a storekit tracking store and registry store."""

    def __init__(self, tracking_store: object, registry_store: object = None) -> None:
        self.tracking = tracking_store
        self.registry = registry_store

    def experiment_exists(self, experiment_id: str) -> bool:
        """Whether the experiment exists (deleted ones included)."""
        try:
            self.tracking.get_experiment(experiment_id)  # type: ignore[attr-defined]
        except (NotFoundError, InvalidParameterError):
            return False
        return True

    def experiment_id_by_name(self, name: str) -> Optional[str]:
        """The id of the experiment named ``name``."""
        try:
            found = self.tracking.get_experiment_by_name(name)  # type: ignore[attr-defined]
        except (NotFoundError, InvalidParameterError):
            return None
        return None if found is None else str(found.experiment_id)

    def experiment_of_run(self, run_id: str) -> Optional[str]:
        """The experiment id of a run."""
        try:
            return str(self.tracking.get_run(run_id).info.experiment_id)  # type: ignore[attr-defined]
        except (NotFoundError, InvalidParameterError):
            return None

    def experiment_of_logged_model(self, model_id: str) -> Optional[str]:
        """The experiment id of a logged model."""
        try:
            return str(self.tracking.get_logged_model(model_id).experiment_id)  # type: ignore[attr-defined]
        except (NotFoundError, InvalidParameterError, AttributeError):
            return None

    def registered_model_exists(self, name: str) -> bool:
        """Whether a registered model of that name exists."""
        if self.registry is None:
            return False
        try:
            self.registry.get_registered_model(name)  # type: ignore[attr-defined]
        except (NotFoundError, InvalidParameterError):
            return False
        return True
