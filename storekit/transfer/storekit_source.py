"""A storekit tracking store (and registry) as the source of a transfer (``storekit migrate``)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

from ..entities import Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, ViewType
from ..interfaces import Capability, RegistryStore, TrackingStore
from .records import CHUNK_POINTS, RunRecord

__all__ = ["StorekitSource", "paged"]

T = TypeVar("T")
_PAGE = 1000


def paged(fetch: Callable[[Optional[str]], Any]) -> Iterator[Any]:
    """Every item of a paged search, one page in memory at a time."""
    token: Optional[str] = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


class StorekitSource:
    """Reads experiments, runs, histories, logged models and the registry through storekit's public API."""

    def __init__(self, tracking: TrackingStore, registry: Optional[RegistryStore], description: str) -> None:
        self.tracking = tracking
        self.registry = registry
        self.description = description
        self._deleted: set[str] = set()

    def experiments(self) -> Iterator[Experiment]:
        """Every experiment (active and deleted) in id order."""
        found = list(
            paged(lambda t: self.tracking.search_experiments(view_type=ViewType.ALL, max_results=_PAGE, page_token=t))
        )
        found.sort(key=lambda e: (0, int(e.experiment_id)) if e.experiment_id.isdigit() else (1, e.experiment_id))
        self._deleted = {e.experiment_id for e in found if str(e.lifecycle_stage) == "deleted"}
        return iter(found)

    def _runs(self, experiment_id: str) -> Iterator[Any]:
        return paged(
            lambda t: self.tracking.search_runs(
                [experiment_id],
                view_type=ViewType.ALL,
                max_results=_PAGE,
                order_by=["attributes.start_time ASC"],
                page_token=t,
            )
        )

    def count_runs(self, experiment_id: str) -> int:
        """How many runs the experiment has (counts ids page by page)."""
        return sum(1 for _ in self._runs(experiment_id))

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        """Every run of the experiment, oldest first (parents start before their children).

        A run of a deleted experiment reads as deleted through the public API
        and is copied as deleted (see docs/migration.md).
        """
        for run in self._runs(experiment_id):
            info = run.info
            yield RunRecord(
                info=info,
                params=dict(run.data.params),
                tags=dict(run.data.tags),
                inputs=tuple(run.inputs.dataset_inputs),
                outputs=tuple(run.outputs.model_ids),
                metric_keys=tuple(sorted(run.data.metrics)),
            )

    def metric_chunks(self, run: RunRecord) -> Iterator[Sequence[Metric]]:
        """Each key's history in pages of :data:`CHUNK_POINTS` points (the store's bulk read when it has one)."""
        run_id = run.info.run_id
        export = getattr(self.tracking, "export_metric_chunks", None)
        if export is not None and Capability.IMPORT in self.tracking.capabilities:
            yield from export(run_id, CHUNK_POINTS)
            return
        for key in run.metric_keys:
            token: Optional[str] = None
            while True:
                page = self.tracking.get_metric_history(run_id, key, max_results=CHUNK_POINTS, page_token=token)
                if page:
                    yield list(page)
                token = page.token
                if not token:
                    break

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        """Logged models of the experiment (none when the store lacks LOGGED_MODELS)."""
        if Capability.LOGGED_MODELS not in self.tracking.capabilities:
            return iter(())
        return paged(lambda t: self.tracking.search_logged_models([experiment_id], max_results=_PAGE, page_token=t))

    def registered_models(self) -> Iterator[tuple[RegisteredModel, list[ModelVersion]]]:
        """Registered models by name, each with every version."""
        registry = self.registry
        if registry is None:
            return
        for model in paged(lambda t: registry.search_registered_models(max_results=_PAGE, page_token=t)):
            versions = list(self._versions(registry, model.name))
            versions.sort(key=lambda v: int(v.version))
            yield registry.get_registered_model(model.name), versions

    @staticmethod
    def _versions(registry: RegistryStore, name: str) -> Iterator[ModelVersion]:
        def fetch(token: Optional[str]) -> Any:
            return registry.search_model_versions(
                filter_string=f"name = {_quoted(name)}", max_results=_PAGE, page_token=token
            )

        return paged(fetch)

    def close(self) -> None:
        """Close both stores."""
        self.tracking.close()
        if self.registry is not None:
            self.registry.close()
