"""The four storage interfaces of storekit (contract sections 1, 3-6, 8).

An implementation subclasses one of these ABCs, declares ``storekit_api``
(the contract major version it was built for) and ``capabilities`` (a
frozenset of :class:`Capability`), and is registered under an entry point
of the matching group, named after the URI scheme it serves.  It is then
constructed as ``Cls(uri, **options)``.

Only what the contract requires is abstract.  Convenience methods
(``log_metric``, ``log_param``, ``set_tag``, ``log_artifacts``...) have
correct default implementations on top of the abstract ones; backends may
override them for speed.  Methods for optional capabilities raise
:class:`UnsupportedOperationError` unless the backend declares and
implements them.
"""

from __future__ import annotations

import abc
import enum
import os
from typing import TYPE_CHECKING, ClassVar, Mapping, Optional, Sequence

from .entities import (
    DatasetInput,
    DeletedEntity,
    Experiment,
    ExperimentTag,
    FileInfo,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelVersion,
    PagedList,
    Param,
    RegisteredModel,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from .errors import StorekitError

if TYPE_CHECKING:  # pragma: no cover
    from .histories import MetricHistories

__all__ = [
    "STOREKIT_API",
    "Capability",
    "UnsupportedOperationError",
    "TrackingStore",
    "RegistryStore",
    "ArtifactRepository",
    "RunContextProvider",
    "DEFAULT_MAX_RESULTS",
    "MAX_RESULTS_CAP",
]

#: The contract major version this storekit speaks.
STOREKIT_API = 1

#: ``max_results`` when the caller gives none.
DEFAULT_MAX_RESULTS = 1000
#: The largest ``max_results`` a search accepts.
MAX_RESULTS_CAP = 50_000


class Capability(str, enum.Enum):
    """Optional behaviour a backend declares in its ``capabilities`` set.

    The conformance suite skips the checks of an undeclared capability
    (printing why) and fails a declared capability whose checks fail.
    """

    #: ``log_batch`` stores all of a batch or none of it.
    ATOMIC_BATCH = "atomic_batch"
    #: The filter grammar's ``OR`` and ``NOT`` (``AND`` is always required).
    SEARCH_OR = "search_or"
    #: Several threads of one process may write to one store instance at once.
    CONCURRENT_WRITERS = "concurrent_writers"
    #: Several processes may write to the same store (same URI) at once.
    MULTIPROCESS_WRITERS = "multiprocess_writers"
    #: Data survives closing and reopening the store from its URI.
    DURABLE = "durable"
    #: The tracking store's URI also serves a :class:`RegistryStore`.
    REGISTRY = "registry"
    #: ``ArtifactRepository.delete_artifacts`` is supported.
    DELETE_ARTIFACTS = "delete_artifacts"
    #: ``log_inputs`` and dataset search (contract section 3b).
    DATASETS = "datasets"
    #: Logged models (contract section 3b).
    LOGGED_MODELS = "logged_models"
    #: The import hook used by ``storekit migrate`` / ``import-mlflow``: whole records
    #: written with their own ids, idempotently (``import_experiment``, ``import_run``,
    #: ``import_logged_model``; ``import_registered_model`` on a registry).  See docs/migration.md.
    IMPORT = "import"
    #: The purge hook used by ``storekit gc``: ``list_deleted``, ``begin_purge`` and
    #: ``purge`` remove deleted runs and experiments for good.  See docs/writing-a-plugin.md.
    PURGE = "purge"

    def __str__(self) -> str:
        return self.value


class UnsupportedOperationError(StorekitError, NotImplementedError):
    """The backend does not declare the capability this operation needs."""


def _unsupported(obj: object, capability: Capability) -> UnsupportedOperationError:
    return UnsupportedOperationError(
        f"{type(obj).__name__} does not support {capability.name} (it is not in the backend's declared capabilities)"
    )


class _Declared:
    """Mixin with the declarations every implementation carries."""

    #: The contract major version the implementation was built for.
    storekit_api: ClassVar[int] = STOREKIT_API
    #: Optional behaviour the implementation supports.
    capabilities: ClassVar[frozenset[Capability]] = frozenset()


class TrackingStore(_Declared, abc.ABC):
    """Experiments, runs, params, metrics and tags (contract section 3).

    Constructed as ``Cls(uri, default_artifact_root=None, **options)``.
    """

    # --- experiments -------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self,
        name: str,
        artifact_location: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Create an experiment and return its id; raises AlreadyExistsError for a taken name."""

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment (active or deleted); raises ExperimentNotFound."""

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        """Return the experiment with that name (active or deleted), or None."""

    @abc.abstractmethod
    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """Search experiments; default order is ``creation_time DESC``, then ``experiment_id``."""

    @abc.abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new (unused) name."""

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment (and hide its runs from ACTIVE_ONLY searches)."""

    @abc.abstractmethod
    def restore_experiment(self, experiment_id: str) -> None:
        """Undo :meth:`delete_experiment`; the experiment comes back unchanged."""

    @abc.abstractmethod
    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set (or overwrite) a tag on an experiment."""

    @abc.abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment; raises NotFoundError if it is not set."""

    # --- runs --------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: Optional[str] = None,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, str]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment and return it."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Return the run (active or deleted); raises RunNotFound."""

    @abc.abstractmethod
    def update_run_info(
        self,
        run_id: str,
        status: Optional[RunStatus] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change status, end time and/or name; ``None`` leaves a field unchanged."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None:
        """Undo :meth:`delete_run`; the run comes back unchanged."""

    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Store metrics, params and tags of a run, all or nothing (atomic)."""

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run; raises NotFoundError if it is not set."""

    @abc.abstractmethod
    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_results: Optional[int] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Metric]:
        """Every point of a metric, ordered by ``(step, timestamp)``, then logging order."""

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Runs of the experiments that match the filter (contract section 3 grammar)."""

    # --- conveniences with default implementations --------------------
    def get_metric_histories(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> "MetricHistories":
        """The histories of many runs and keys as one columnar table (``keys=None``: every key).

        The default calls :meth:`get_metric_history` per (run, key); backends
        override it to read everything in one round trip.  An unknown run raises
        RunNotFound; a key a run never logged contributes no rows.
        """
        from .histories import generic_metric_histories

        return generic_metric_histories(self, run_ids, keys)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point (defaults to a one-item :meth:`log_batch`)."""
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param (defaults to a one-item :meth:`log_batch`)."""
        self.log_batch(run_id, params=[param])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set one tag (defaults to a one-item :meth:`log_batch`)."""
        self.log_batch(run_id, tags=[tag])

    def close(self) -> None:
        """Release connections, file handles and locks.  The default does nothing."""

    def __enter__(self) -> "TrackingStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- capability DATASETS -----------------------------------------
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets a run consumed, idempotently (capability DATASETS)."""
        raise _unsupported(self, Capability.DATASETS)

    # --- capability LOGGED_MODELS --------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, str]] = None,
        model_type: Optional[str] = None,
    ) -> LoggedModel:
        """Create a PENDING logged model (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Return a logged model; raises LoggedModelNotFound (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's final status (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Set tags on a logged model (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to an existing logged model (capability LOGGED_MODELS).

        Params are immutable, as a run's are: re-logging a key with the value it
        has is a no-op, another value raises InvalidParameterError naming the key
        (:func:`storekit.rules.new_logged_model_params`); all or nothing.
        """
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        page_token: Optional[str] = None,
    ) -> PagedList[LoggedModel]:
        """Search logged models (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    def log_outputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run produced (capability LOGGED_MODELS)."""
        raise _unsupported(self, Capability.LOGGED_MODELS)

    # --- capability PURGE (storekit gc) --------------------------------
    def list_deleted(self, experiment_ids: Optional[Sequence[str]] = None) -> list[DeletedEntity]:
        """Every deleted experiment and every deleted run (capability PURGE).

        A run is listed when *it* is deleted (a run that is only hidden because
        its experiment is deleted goes with the experiment).  ``experiment_ids``
        limits the listing to those experiments.  Entities gc has begun to
        purge are listed too, with ``purging=True``.
        """
        raise _unsupported(self, Capability.PURGE)

    def begin_purge(self, entity: DeletedEntity) -> None:
        """Mark a deleted run or experiment as being purged (capability PURGE).

        Idempotent.  From then on ``restore_run``/``restore_experiment`` raise
        InvalidParameterError; the entity stays readable until :meth:`purge`.
        An active (not deleted) entity raises InvalidParameterError; an unknown
        one RunNotFound/ExperimentNotFound.
        """
        raise _unsupported(self, Capability.PURGE)

    def purge(self, entity: DeletedEntity) -> None:
        """Remove a run, or an experiment with all its runs, for good (capability PURGE).

        All or nothing.  The entity must have been marked by :meth:`begin_purge`
        (InvalidParameterError otherwise); one that is already gone is a no-op,
        so an interrupted gc can simply be run again.  Artifacts are not touched:
        ``storekit gc`` removes them between the two calls.
        """
        raise _unsupported(self, Capability.PURGE)

    def owned_artifact_root(self) -> Optional[str]:
        """The artifact root this store assigns by itself (capability PURGE), or None.

        ``storekit gc`` removes artifacts that lie under it; artifacts anywhere
        else (an experiment created with its own artifact location, runs imported
        with their artifacts kept in place) may belong to someone else and are
        kept unless the user asks otherwise.
        """
        return None


class RegistryStore(_Declared, abc.ABC):
    """Registered models, versions, stages and aliases (contract section 5)."""

    @abc.abstractmethod
    def create_registered_model(
        self,
        name: str,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
    ) -> RegisteredModel:
        """Create a registered model; raises AlreadyExistsError for a taken name."""

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a registered model; raises ModelNotFound."""

    @abc.abstractmethod
    def update_registered_model(self, name: str, description: Optional[str]) -> RegisteredModel:
        """Change a registered model's description."""

    @abc.abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions and aliases follow."""

    @abc.abstractmethod
    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with all its versions (hard delete)."""

    @abc.abstractmethod
    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[RegisteredModel]:
        """Search registered models (fields ``name``, ``tags.<key>``...); default order by name."""

    @abc.abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on a registered model."""

    @abc.abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""

    @abc.abstractmethod
    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (all stages when None)."""

    @abc.abstractmethod
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> ModelVersion:
        """Create the next version (1, 2, ...; never reused, never duplicated)."""

    @abc.abstractmethod
    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """Return a model version; raises ModelVersionNotFound."""

    @abc.abstractmethod
    def update_model_version(self, name: str, version: str, description: Optional[str]) -> ModelVersion:
        """Change a version's description."""

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a version and the aliases that point at it; its number is never reused."""

    @abc.abstractmethod
    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[ModelVersion]:
        """Search versions (``name``, ``version``, ``run_id``, ``source``, ``tags.<key>``...)."""

    @abc.abstractmethod
    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage; optionally archive the others in that stage atomically."""

    @abc.abstractmethod
    def get_model_version_download_uri(self, name: str, version: str) -> str:
        """The artifact URI of a version's source."""

    @abc.abstractmethod
    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set a tag on a model version."""

    @abc.abstractmethod
    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a tag from a model version."""

    @abc.abstractmethod
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point an alias at a version (moving it if it pointed elsewhere)."""

    @abc.abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""

    @abc.abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; raises ModelVersionNotFound."""

    def close(self) -> None:
        """Release resources.  The default does nothing."""


class ArtifactRepository(_Declared, abc.ABC):
    """Files of a run or model under one root URI (contract section 4).

    Constructed as ``Cls(artifact_uri, **options)``.  Artifact paths are
    relative, ``/``-separated, and never escape the root.
    """

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    @abc.abstractmethod
    def log_artifact(self, local_file: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload one file into ``artifact_path`` (a directory under the root), atomically."""

    @abc.abstractmethod
    def log_artifacts(self, local_dir: "str | os.PathLike[str]", artifact_path: Optional[str] = None) -> None:
        """Upload the contents of a local directory tree into ``artifact_path``."""

    @abc.abstractmethod
    def list_artifacts(self, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path``, sorted by path, with sizes for files."""

    @abc.abstractmethod
    def download_artifacts(self, artifact_path: str, dst_path: "Optional[str | os.PathLike[str]]" = None) -> str:
        """Download a file or directory tree; returns the local path."""

    def delete_artifacts(self, artifact_path: Optional[str] = None) -> None:
        """Delete a file or tree (capability DELETE_ARTIFACTS)."""
        raise _unsupported(self, Capability.DELETE_ARTIFACTS)

    def __repr__(self) -> str:
        from .uri import redact_uri

        return f"{type(self).__name__}({redact_uri(self.artifact_uri)!r})"


class RunContextProvider(_Declared, abc.ABC):
    """Adds tags describing where a run was started (contract section 6).

    Providers are applied in ascending ``priority``; a later provider's tag
    wins over an earlier one's, and user-given tags win over all.
    """

    #: Order of application; ties are broken by entry-point name.
    priority: ClassVar[int] = 100

    @abc.abstractmethod
    def in_context(self) -> bool:
        """Whether this provider applies here (e.g. inside a git checkout)."""

    @abc.abstractmethod
    def tags(self) -> dict[str, str]:
        """The tags to add to a new run."""
