"""Where a transfer writes: storekit stores, through their import hook or their public API.

:class:`HookDestination` uses the optional import hook (capability
``IMPORT``, see docs/migration.md): ids, times, statuses and lifecycle
stages are written as they are, each run in one transaction, idempotently.

:class:`ApiDestination` is the fallback for stores without the hook: it
creates experiments, runs and models through the public API, so they get
new ids (recorded in the resume state's id map) and creation times of now;
run start/end times, statuses and stages are set through the API.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Mapping, Optional, Sequence

from ..entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    RunImport,
    RunInfo,
    RunTag,
)
from ..interfaces import Capability, RegistryStore, TrackingStore
from ..validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH

__all__ = ["Destination", "HookDestination", "ApiDestination", "destination_for"]

MetricChunks = Callable[[], Iterable[Sequence[Metric]]]


class Destination:
    """The write side of a transfer (the base class states the operations)."""

    #: Whether ids come over unchanged.
    preserves_ids: bool = False

    def __init__(self, tracking: TrackingStore, registry: Optional[RegistryStore]) -> None:
        self.tracking = tracking
        self.registry = registry

    def experiment(
        self, experiment: Experiment, artifact_location: Optional[str], destination_id: Optional[str] = None
    ) -> Experiment:
        """Write an experiment (``artifact_location`` None: the store's default); return it as stored.

        ``destination_id`` is the id an earlier, interrupted attempt gave it.
        """
        raise NotImplementedError

    def run(
        self,
        info: RunInfo,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        chunks: MetricChunks,
        inputs: Sequence[DatasetInput],
        outputs: Sequence[str],
    ) -> str:
        """Write a whole run; return its id in the destination."""
        raise NotImplementedError

    def runs(self, items: Sequence[RunImport]) -> list[str]:
        """Write several whole runs; return their ids in the destination (in order)."""
        return [self.run(i.info, i.params, i.tags, i.metric_chunks, i.inputs, i.outputs) for i in items]

    def begin_bulk_load(self) -> list[str]:
        """Before the runs: let the store defer indexes it builds faster afterwards; the names deferred."""
        return []

    def finish_bulk_load(self) -> list[str]:
        """After the runs (and on every attempt): build whatever deferred index is missing; the names built."""
        return []

    def finish_experiment(self, experiment: Experiment, destination_id: str) -> None:
        """Called after an experiment's runs are written (the fallback deletes a deleted experiment here)."""

    def logged_model(self, model: LoggedModel) -> str:
        """Write a logged model; return its id in the destination."""
        raise NotImplementedError

    def registered_model(self, model: RegisteredModel, versions: Sequence[ModelVersion]) -> None:
        """Write a registered model with its versions, stages, tags and aliases."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the stores."""
        self.tracking.close()
        if self.registry is not None:
            self.registry.close()


class HookDestination(Destination):
    """Writes through the stores' import hook: ids preserved, one transaction per record."""

    preserves_ids = True

    def experiment(
        self, experiment: Experiment, artifact_location: Optional[str], destination_id: Optional[str] = None
    ) -> Experiment:
        """Write the experiment with its id — or, when the store cannot keep that id, with a new one."""
        target = destination_id or experiment.experiment_id
        limit = getattr(self.tracking, "import_max_experiment_id", None)
        if destination_id is None and limit is not None and (not target.isdigit() or int(target) > limit):
            found = self.tracking.get_experiment_by_name(experiment.name)
            target = (
                found.experiment_id
                if found is not None
                else self.tracking.create_experiment(experiment.name, artifact_location)
            )
        return self.tracking.import_experiment(  # type: ignore[attr-defined]
            replace(experiment, experiment_id=target), artifact_location
        )

    def run(
        self,
        info: RunInfo,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        chunks: MetricChunks,
        inputs: Sequence[DatasetInput],
        outputs: Sequence[str],
    ) -> str:
        """Write the run with its id in one transaction."""
        self.tracking.import_run(info, params, tags, chunks, inputs, outputs)  # type: ignore[attr-defined]
        return info.run_id

    def runs(self, items: Sequence[RunImport]) -> list[str]:
        """Write the runs with their ids, all in one transaction where the store offers ``import_runs``."""
        import_runs = getattr(self.tracking, "import_runs", None)
        if import_runs is None:
            return super().runs(items)
        import_runs(list(items))
        return [i.info.run_id for i in items]

    def begin_bulk_load(self) -> list[str]:
        """The store's ``begin_bulk_load`` (SQL: drop the metric indexes of an empty store), if it has one."""
        begin = getattr(self.tracking, "begin_bulk_load", None)
        return list(begin()) if begin is not None else []

    def finish_bulk_load(self) -> list[str]:
        """The store's ``finish_bulk_load`` (SQL: build any missing metric index), if it has one."""
        finish = getattr(self.tracking, "finish_bulk_load", None)
        return list(finish()) if finish is not None else []

    def logged_model(self, model: LoggedModel) -> str:
        """Write the logged model with its id."""
        self.tracking.import_logged_model(model)  # type: ignore[attr-defined]
        return model.model_id

    def registered_model(self, model: RegisteredModel, versions: Sequence[ModelVersion]) -> None:
        """Write the registered model through the registry's hook, or its public API without one."""
        assert self.registry is not None
        if Capability.IMPORT in self.registry.capabilities:
            self.registry.import_registered_model(model, versions)  # type: ignore[attr-defined]
        else:
            api_registered_model(self.registry, model, versions)


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ApiDestination(Destination):
    """Writes through the public API (new ids; see the module docstring)."""

    def experiment(
        self, experiment: Experiment, artifact_location: Optional[str], destination_id: Optional[str] = None
    ) -> Experiment:
        """Create the experiment (or reuse one of that name created by an interrupted transfer)."""
        found = self.tracking.get_experiment_by_name(experiment.name)
        if found is None:
            new_id = self.tracking.create_experiment(experiment.name, artifact_location, experiment.tags)
            found = self.tracking.get_experiment(new_id)
        return found

    def run(
        self,
        info: RunInfo,
        params: Mapping[str, str],
        tags: Mapping[str, str],
        chunks: MetricChunks,
        inputs: Sequence[DatasetInput],
        outputs: Sequence[str],
    ) -> str:
        """Create the run, log its data in batches, then set its status, end time and stage."""
        store = self.tracking
        run = store.create_run(
            info.experiment_id, user_id=info.user_id, start_time=info.start_time, tags=None, run_name=info.run_name
        )
        run_id = run.info.run_id
        for batch in _batches([Param(k, v) for k, v in params.items()], MAX_PARAMS_PER_BATCH):
            store.log_batch(run_id, params=batch)
        for batch in _batches([RunTag(k, v) for k, v in tags.items()], MAX_TAGS_PER_BATCH):
            store.log_batch(run_id, tags=batch)
        for chunk in chunks():
            for batch in _batches(list(chunk), MAX_METRICS_PER_BATCH):
                store.log_batch(run_id, metrics=batch)
        if inputs and Capability.DATASETS in store.capabilities:
            store.log_inputs(run_id, inputs)
        if outputs and Capability.LOGGED_MODELS in store.capabilities:
            store.log_outputs(run_id, outputs)
        store.update_run_info(run_id, status=info.status, end_time=info.end_time)
        if str(info.lifecycle_stage) == "deleted":
            store.delete_run(run_id)
        return run_id

    def finish_experiment(self, experiment: Experiment, destination_id: str) -> None:
        """Delete the copy of a deleted experiment once its runs are in."""
        if str(experiment.lifecycle_stage) == "deleted":
            self.tracking.delete_experiment(destination_id)

    def logged_model(self, model: LoggedModel) -> str:
        """Create the logged model (new id) and set its status."""
        store = self.tracking
        created = store.create_logged_model(
            model.experiment_id,
            name=model.name,
            source_run_id=model.source_run_id,
            tags=model.tags,
            params=model.params,
            model_type=model.model_type,
        )
        if str(model.status) != "PENDING":
            store.finalize_logged_model(created.model_id, model.status)
        return created.model_id

    def registered_model(self, model: RegisteredModel, versions: Sequence[ModelVersion]) -> None:
        """Recreate the model version by version through the public API."""
        assert self.registry is not None
        api_registered_model(self.registry, model, versions)


def api_registered_model(registry: RegistryStore, model: RegisteredModel, versions: Sequence[ModelVersion]) -> None:
    """Create a registered model and its versions through the public API.

    Version numbers are kept when they are 1, 2, 3...; a gap (a deleted
    version) is filled by creating and deleting a placeholder version.
    """
    from ..errors import ModelNotFound

    try:
        registry.get_registered_model(model.name)
        registry.delete_registered_model(model.name)  # an interrupted earlier attempt: start over
    except ModelNotFound:
        pass
    registry.create_registered_model(model.name, tags=model.tags, description=model.description)
    number = 0
    for v in sorted(versions, key=lambda v: int(v.version)):
        while number + 1 < int(v.version):
            gap = registry.create_model_version(model.name, source=v.source or "none")
            registry.delete_model_version(model.name, gap.version)
            number = int(gap.version)
        created = registry.create_model_version(
            model.name,
            source=v.source or "none",
            run_id=v.run_id,
            tags=v.tags,
            description=v.description,
            model_id=v.model_id,
        )
        number = int(created.version)
        if v.current_stage and v.current_stage != "None":
            registry.transition_model_version_stage(model.name, created.version, v.current_stage)
    for alias, version in model.aliases.items():
        registry.set_registered_model_alias(model.name, alias, version)


def destination_for(tracking: TrackingStore, registry: Optional[RegistryStore]) -> Destination:
    """The hook destination when the tracking store declares IMPORT, else the public-API fallback."""
    if Capability.IMPORT in tracking.capabilities and hasattr(tracking, "import_run"):
        return HookDestination(tracking, registry)
    return ApiDestination(tracking, registry)
