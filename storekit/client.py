"""``TrackingClient``: the explicit, object-oriented user API (contract section 9).

A client talks to one tracking store and one registry store, both resolved
lazily from their URIs through :mod:`storekit.plugins` (the registry store
only when a registry method is first called).  It exposes the store
methods under their contract names, with the friendlier signatures MLflow
users expect (``log_metric(run_id, key, value)`` rather than entities), and
the artifact methods of a run, whose repository is resolved from the run's
``artifact_uri``.

URIs: an explicit argument wins; otherwise the tracking URI is
:func:`storekit.config.get_tracking_uri` (``set_tracking_uri``, then
``STOREKIT_TRACKING_URI``, then the embedded default) and the registry URI
is ``set_registry_uri``/``STOREKIT_REGISTRY_URI`` if either is set, else the
client's own tracking URI.
"""

from __future__ import annotations

import numbers
import os
import threading
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Optional, Sequence, Union, overload

from .config import get_tracking_uri, registry_uri_for
from .entities import (
    DatasetInput,
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
from .errors import InvalidParameterError
from .ids import now_ms
from .interfaces import DEFAULT_MAX_RESULTS, MAX_RESULTS_CAP, ArtifactRepository, RegistryStore, TrackingStore
from .rules import parse_run_status  # the one status rule; re-exported for fluent
from .uri import redact_uri
from .validation import coerce_metric_value

if TYPE_CHECKING:  # pragma: no cover
    from .async_logging import AsyncBatchingLogger

__all__ = ["TrackingClient", "parse_run_status"]

PathLike = Union[str, "os.PathLike[str]"]


def _to_int(value: Any) -> Any:
    """``value`` as a Python int when it is an integral number, else unchanged (validation refuses it)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


class TrackingClient:
    """Client of a tracking store and a model registry.

    >>> client = TrackingClient("./mlruns")                  # doctest: +SKIP
    >>> exp_id = client.create_experiment("demo")               # doctest: +SKIP
    >>> run = client.create_run(exp_id)                         # doctest: +SKIP
    >>> client.log_metric(run.info.run_id, "acc", 0.9, step=1)  # doctest: +SKIP
    """

    def __init__(
        self, tracking_uri: Optional[str] = None, registry_uri: Optional[str] = None, *, create_stores: bool = True
    ) -> None:
        """``create_stores=False`` opens only existing stores (:class:`~storekit.errors.StoreNotFoundError`
        otherwise), as the read-only CLI commands do."""
        self._tracking_uri = os.fspath(tracking_uri) if tracking_uri is not None else get_tracking_uri()
        self._registry_uri = (
            os.fspath(registry_uri) if registry_uri is not None else registry_uri_for(self._tracking_uri)
        )
        self._create_stores = create_stores
        self._lock = threading.Lock()
        self._tracking_store: Optional[TrackingStore] = None
        self._registry_store: Optional[RegistryStore] = None
        self._async_logger: "Optional[AsyncBatchingLogger]" = None

    # --- plumbing ------------------------------------------------------------
    @property
    def tracking_uri(self) -> str:
        """The tracking store URI this client uses."""
        return self._tracking_uri

    @property
    def registry_uri(self) -> str:
        """The registry store URI this client uses."""
        return self._registry_uri

    @property
    def store(self) -> TrackingStore:
        """The tracking store, resolved on first use."""
        if self._tracking_store is None:
            with self._lock:
                if self._tracking_store is None:
                    from .plugins import resolve_tracking_store

                    self._tracking_store = resolve_tracking_store(self._tracking_uri, create=self._create_stores)
        return self._tracking_store

    @property
    def registry(self) -> RegistryStore:
        """The registry store, resolved when a registry method is first called."""
        if self._registry_store is None:
            with self._lock:
                if self._registry_store is None:
                    from .plugins import resolve_registry_store

                    self._registry_store = resolve_registry_store(self._registry_uri, create=self._create_stores)
        return self._registry_store

    def async_logger(self) -> "AsyncBatchingLogger":
        """This client's asynchronous, batching logger (created on first use).

        ``log_metric``, ``log_param``, ``set_tag`` and ``log_batch`` with
        ``synchronous=False`` go through it; see :mod:`storekit.async_logging`
        for its ordering, error and exit guarantees.
        """
        if self._async_logger is None:
            store = self.store
            with self._lock:
                if self._async_logger is None:
                    from .async_logging import AsyncBatchingLogger

                    self._async_logger = AsyncBatchingLogger(store)
        return self._async_logger

    def flush(self, timeout: Optional[float] = None) -> None:
        """Store everything logged with ``synchronous=False`` so far; re-raise any background error."""
        if self._async_logger is not None:
            self._async_logger.flush(timeout)

    def close(self) -> None:
        """Close the stores this client opened (a later call opens them again).

        The asynchronous logger, if any, is flushed and closed first.
        """
        with self._lock:
            logger, self._async_logger = self._async_logger, None
        try:
            if logger is not None:
                logger.close()
        finally:
            with self._lock:
                stores = [s for s in (self._tracking_store, self._registry_store) if s is not None]
                self._tracking_store = self._registry_store = None
            for store in {id(s): s for s in stores}.values():
                store.close()

    def __enter__(self) -> "TrackingClient":
        """Use the client in a ``with`` block; its stores are closed at the end."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the stores."""
        self.close()

    def __repr__(self) -> str:
        """The client's URIs, with credentials redacted."""
        return (
            f"TrackingClient(tracking_uri={redact_uri(self._tracking_uri)!r}, "
            f"registry_uri={redact_uri(self._registry_uri)!r})"
        )

    # --- experiments ------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: Optional[str] = None, tags: Optional[Mapping[str, str]] = None
    ) -> str:
        """Create an experiment and return its id; AlreadyExistsError if the name is taken."""
        return self.store.create_experiment(name, artifact_location=artifact_location, tags=tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with that id (active or deleted); ExperimentNotFound otherwise."""
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        """The experiment with that name (active or deleted), or None."""
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """One page of experiments matching ``filter_string``; pass ``.token`` for the next."""
        return self.store.search_experiments(
            view_type=view_type,
            max_results=max_results,
            filter_string=filter_string,
            order_by=order_by,
            page_token=page_token,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new, unused name."""
        self.store.rename_experiment(str(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment."""
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Bring back a deleted experiment unchanged."""
        self.store.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment (``value`` converted with ``str``)."""
        self.store.set_experiment_tag(str(experiment_id), ExperimentTag(key, str(value)))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment; NotFoundError if it is not set."""
        self.store.delete_experiment_tag(str(experiment_id), key)

    # --- runs ---------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, Any]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run owned by the current user (see :func:`storekit.context.user.current_user`)."""
        from .context.user import current_user

        return self.store.create_run(
            str(experiment_id),
            user_id=current_user(),
            start_time=start_time,
            tags={k: str(v) for k, v in (tags or {}).items()},
            run_name=run_name,
        )

    def get_run(self, run_id: str) -> Run:
        """The run with that id (active or deleted); RunNotFound otherwise."""
        return self.store.get_run(run_id)

    def update_run_info(
        self,
        run_id: str,
        status: Optional[Union[str, RunStatus]] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change a run's status, end time and/or name; ``None`` leaves a field as it is."""
        self.flush()  # queued asynchronous writes first: the store sees them in the order made
        return self.store.update_run_info(
            run_id,
            status=None if status is None else parse_run_status(status),
            end_time=end_time,
            run_name=run_name,
        )

    def set_terminated(
        self, run_id: str, status: Union[str, RunStatus] = "FINISHED", end_time: Optional[int] = None
    ) -> RunInfo:
        """End a run with ``status`` (FINISHED, FAILED or KILLED) at ``end_time`` (default now)."""
        parsed = parse_run_status(status)
        if not parsed.is_terminated:
            raise InvalidParameterError(f"status: {parsed.value} is not a terminal status (FINISHED, FAILED or KILLED)")
        error: Optional[BaseException] = None
        try:
            self.flush()  # asynchronously logged data is stored before the run ends
        except Exception as exc:
            error = exc
        info = self.store.update_run_info(run_id, status=parsed, end_time=now_ms() if end_time is None else end_time)
        if error is not None:
            raise error
        return info

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (after storing what was queued for it asynchronously)."""
        self.flush()
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Bring back a deleted run unchanged."""
        self.flush()
        self.store.restore_run(run_id)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: Optional[int] = None,
        step: Optional[int] = None,
        model_id: Optional[str] = None,
        synchronous: bool = True,
    ) -> None:
        """Log one metric point; ``timestamp`` defaults to now (ms), ``step`` to 0.

        With ``synchronous=False`` the point is queued on :meth:`async_logger`
        and stored in the background (see :meth:`flush`).
        """
        metric = Metric(
            key,
            coerce_metric_value(value, key),
            now_ms() if timestamp is None else _to_int(timestamp),
            0 if step is None else _to_int(step),
            model_id,
        )
        if synchronous:
            self.flush()
            self.store.log_metric(run_id, metric)
        else:
            self.async_logger().log_batch(run_id, metrics=(metric,))

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool = True) -> None:
        """Log a param (``value`` converted with ``str``); re-logging a different value raises.

        With ``synchronous=False`` it is queued and a conflict is raised by a later call or :meth:`flush`.
        """
        if synchronous:
            self.flush()
            self.store.log_param(run_id, Param(key, str(value)))
        else:
            self.async_logger().log_param(run_id, key, value)

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool = True) -> None:
        """Set (or overwrite) a run tag (``value`` converted with ``str``); ``synchronous=False`` queues it."""
        if synchronous:
            self.flush()
            self.store.set_tag(run_id, RunTag(key, str(value)))
        else:
            self.async_logger().set_tag(run_id, key, value)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run tag; NotFoundError if it is not set."""
        self.flush()
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
        synchronous: bool = True,
    ) -> None:
        """Log metrics, params and tags at once, atomically (contract batch limits apply).

        With ``synchronous=False`` they are queued instead (no size limit, re-batched, not atomic).
        """
        if synchronous:
            self.flush()
            self.store.log_batch(run_id, metrics=list(metrics), params=list(params), tags=list(tags))
        else:
            self.async_logger().log_batch(run_id, metrics=metrics, params=params, tags=tags)

    def get_metric_history(
        self, run_id: str, key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList[Metric]:
        """Every point of a metric in ``(step, timestamp)`` order (paged when ``max_results`` is given)."""
        return self.store.get_metric_history(run_id, key, max_results=max_results, page_token=page_token)

    @overload
    def search_runs(
        self,
        experiment_ids: Union[str, Sequence[str]],
        filter_string: Optional[str] = ...,
        view_type: ViewType = ...,
        max_results: Optional[int] = ...,
        order_by: Optional[Sequence[str]] = ...,
        page_token: Optional[str] = ...,
        output_format: Literal["list"] = ...,
    ) -> PagedList[Run]: ...

    @overload
    def search_runs(
        self,
        experiment_ids: Union[str, Sequence[str]],
        filter_string: Optional[str] = ...,
        view_type: ViewType = ...,
        max_results: Optional[int] = ...,
        order_by: Optional[Sequence[str]] = ...,
        page_token: Optional[str] = ...,
        *,
        output_format: Literal["pandas", "arrow"],
    ) -> Any: ...

    def search_runs(
        self,
        experiment_ids: Union[str, Sequence[str]],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: Optional[int] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
        output_format: str = "list",
    ) -> Any:
        """Runs of the experiments that match ``filter_string``.

        ``output_format="list"`` (default): one page (``max_results``, default
        1,000) as a :class:`PagedList`; pass ``.token`` for the next.
        ``"pandas"`` / ``"arrow"``: every matching run (at most ``max_results``
        when given), fetched page by page, as one DataFrame / pyarrow Table with a
        row per run -- see :mod:`storekit.frames` for the columns.  pandas and
        pyarrow are optional: a missing one raises MissingExtraError naming the extra.
        """
        from .frames import check_output_format

        fmt = check_output_format(output_format)
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids)

        def page(limit: int, token: Optional[str]) -> PagedList[Run]:
            return self.store.search_runs(
                [str(i) for i in ids],
                filter_string=filter_string or None,
                view_type=view_type,
                max_results=limit,
                order_by=list(order_by) if order_by else None,
                page_token=token,
            )

        if fmt == "list":
            return page(DEFAULT_MAX_RESULTS if max_results is None else max_results, page_token)
        from .frames import require, runs_table
        from .rules import validate_max_results

        require("pandas" if fmt == "pandas" else "pyarrow")  # fail before reading anything
        remaining = None if max_results is None else validate_max_results(max_results, cap=2**62)
        runs: list[Run] = []
        token = page_token
        while True:
            limit = MAX_RESULTS_CAP if remaining is None else min(remaining, MAX_RESULTS_CAP)
            got = page(limit, token)
            runs.extend(got)
            if remaining is not None:
                remaining -= len(got)
            token = got.token
            if not token or not got or (remaining is not None and remaining <= 0):
                break
        return runs_table(runs, fmt)

    def get_metric_histories(
        self,
        run_ids: Union[str, Sequence[str]],
        keys: Union[None, str, Sequence[str]] = None,
        output_format: str = "pandas",
        max_points: Optional[int] = None,
    ) -> Any:
        """The histories of many runs and metric keys as one long table.

        Columns ``run_id, key, step, timestamp, value``; rows grouped by run and
        key, each group in ``(step, timestamp)`` order (groups in the backend's order).
        ``keys=None`` reads every metric of each run.  ``output_format``:
        ``"pandas"`` (default), ``"arrow"``, or ``"list"`` for a columnar
        :class:`~storekit.histories.MetricHistories`.  One round trip per backend
        where it can (file: one read per run; SQL: one query per 1,000 runs).
        ``max_points`` (``"arrow"``/``"pandas"`` only) keeps at most that many
        evenly spaced points per (run, key), first and last included
        (:func:`storekit.history_table.downsample`).
        """
        from .frames import arrow_histories_table, check_output_format, histories_table, require

        fmt = check_output_format(output_format)
        if fmt != "list":
            require("pandas" if fmt == "pandas" else "pyarrow")
        elif max_points is not None:
            raise InvalidParameterError("max_points: only with output_format 'arrow' or 'pandas'")
        self.flush()
        run_list = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        key_list = [keys] if isinstance(keys, str) else (None if keys is None else list(keys))
        if fmt != "list":  # a store that reads straight into Arrow (SQLite with ADBC) skips the Python lists
            fast = getattr(self.store, "metric_histories_arrow", None)
            table = fast(run_list, key_list) if callable(fast) else None
            if table is None and max_points is None:
                return histories_table(self.store.get_metric_histories(run_list, key_list), fmt)
            if table is None:
                table = histories_table(self.store.get_metric_histories(run_list, key_list), "arrow")
            if max_points is not None:
                from .history_table import downsample

                table = downsample(table, max_points)
            return arrow_histories_table(table, fmt)
        return histories_table(self.store.get_metric_histories(run_list, key_list), fmt)

    # --- datasets and logged models (capabilities DATASETS, LOGGED_MODELS) ------------
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record the datasets a run consumed, idempotently."""
        self.store.log_inputs(run_id, list(datasets))

    def log_outputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record the logged models a run produced."""
        self.store.log_outputs(run_id, list(model_ids))

    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, str]] = None,
        model_type: Optional[str] = None,
    ) -> LoggedModel:
        """Create a PENDING logged model in an experiment."""
        return self.store.create_logged_model(
            str(experiment_id),
            name=name,
            source_run_id=source_run_id,
            tags=tags,
            params=params,
            model_type=model_type,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model; LoggedModelNotFound otherwise."""
        return self.store.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: Union[str, LoggedModelStatus]) -> LoggedModel:
        """Set a logged model's final status (READY or FAILED)."""
        return self.store.finalize_logged_model(model_id, LoggedModelStatus.parse(status))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a logged model (values converted with ``str``)."""
        self.store.set_logged_model_tags(model_id, {k: str(v) for k, v in tags.items()})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model."""
        self.store.delete_logged_model_tag(model_id, key)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model."""
        self.store.delete_logged_model(model_id)

    def search_logged_models(
        self,
        experiment_ids: Union[str, Sequence[str]],
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        page_token: Optional[str] = None,
    ) -> PagedList[LoggedModel]:
        """One page of logged models of the experiments that match ``filter_string``."""
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids)
        return self.store.search_logged_models(
            [str(i) for i in ids],
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )

    # --- artifacts --------------------------------------------------------------------
    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        """The artifact repository of a run, resolved from its ``artifact_uri``."""
        from .plugins import resolve_artifact_repository

        return resolve_artifact_repository(self.get_run(run_id).info.artifact_uri)

    def log_artifact(self, run_id: str, local_path: PathLike, artifact_path: Optional[str] = None) -> None:
        """Upload one local file into the run's artifacts (under ``artifact_path`` if given)."""
        self.artifact_repository(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: PathLike, artifact_path: Optional[str] = None) -> None:
        """Upload the contents of a local directory into the run's artifacts."""
        self.artifact_repository(run_id).log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: Optional[str] = None) -> list[FileInfo]:
        """Direct children of ``path`` (the root when None) in the run's artifacts, sorted by path."""
        return self.artifact_repository(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: Optional[PathLike] = None) -> str:
        """Download a file or directory of the run's artifacts; returns the local path."""
        return self.artifact_repository(run_id).download_artifacts(path, dst_path)

    # --- registered models -----------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Optional[Mapping[str, str]] = None, description: Optional[str] = None
    ) -> RegisteredModel:
        """Create a registered model; AlreadyExistsError if the name is taken."""
        return self.registry.create_registered_model(name, tags=tags, description=description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model; ModelNotFound otherwise."""
        return self.registry.get_registered_model(name)

    def update_registered_model(self, name: str, description: Optional[str]) -> RegisteredModel:
        """Change a registered model's description."""
        return self.registry.update_registered_model(name, description)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions and aliases follow."""
        return self.registry.rename_registered_model(name, new_name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with all its versions and aliases."""
        self.registry.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models matching ``filter_string``."""
        return self.registry.search_registered_models(
            filter_string=filter_string or None,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model (``value`` converted with ``str``)."""
        self.registry.set_registered_model_tag(name, key, str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self.registry.delete_registered_model_tag(name, key)

    def get_latest_versions(self, name: str, stages: Optional[Sequence[str]] = None) -> list[ModelVersion]:
        """The newest version of each stage in ``stages`` (every stage when None)."""
        return self.registry.get_latest_versions(name, stages=stages)

    # --- model versions ------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        model_id: Optional[str] = None,
    ) -> ModelVersion:
        """Create the next version of a registered model from ``source`` (an artifact URI)."""
        return self.registry.create_model_version(
            name, source, run_id=run_id, tags=tags, description=description, model_id=model_id
        )

    def get_model_version(self, name: str, version: Union[str, int]) -> ModelVersion:
        """A model version; ModelVersionNotFound otherwise."""
        return self.registry.get_model_version(name, str(version))

    def update_model_version(self, name: str, version: Union[str, int], description: Optional[str]) -> ModelVersion:
        """Change a version's description."""
        return self.registry.update_model_version(name, str(version), description)

    def delete_model_version(self, name: str, version: Union[str, int]) -> None:
        """Delete a version and its aliases (its number is never reused)."""
        self.registry.delete_model_version(name, str(version))

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[ModelVersion]:
        """One page of model versions matching ``filter_string`` (e.g. ``"name = 'm'"``)."""
        return self.registry.search_model_versions(
            filter_string=filter_string or None,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def transition_model_version_stage(
        self, name: str, version: Union[str, int], stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage (None, Staging, Production, Archived; case-insensitive)."""
        return self.registry.transition_model_version_stage(
            name, str(version), stage, archive_existing_versions=archive_existing_versions
        )

    def get_model_version_download_uri(self, name: str, version: Union[str, int]) -> str:
        """The artifact URI of a version's source."""
        return self.registry.get_model_version_download_uri(name, str(version))

    def set_model_version_tag(self, name: str, version: Union[str, int], key: str, value: Any) -> None:
        """Set a tag on a model version (``value`` converted with ``str``)."""
        self.registry.set_model_version_tag(name, str(version), key, str(value))

    def delete_model_version_tag(self, name: str, version: Union[str, int], key: str) -> None:
        """Remove a tag from a model version."""
        self.registry.delete_model_version_tag(name, str(version), key)

    # --- aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: Union[str, int]) -> None:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        self.registry.set_registered_model_alias(name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self.registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; ModelVersionNotFound otherwise."""
        return self.registry.get_model_version_by_alias(name, alias)
