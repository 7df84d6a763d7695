"""``FileTrackingStore``: experiments, runs, params, metrics and tags in a directory tree.

Layout and crash-safety are described in :mod:`.layout`, :mod:`.run_index`
and :mod:`.metric_log`.  In short: experiment records are JSON documents
replaced atomically; every change to a run is one line appended to its
experiment's run index while holding that experiment's lock; metric
history goes to a per-run JSON-lines file whose committed length is part
of the index line, so a ``log_batch`` is stored whole or not at all.
"""

from __future__ import annotations

import operator
import os
import threading
from collections import OrderedDict
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from ... import rules
from ...entities import (
    DatasetInput,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from ...errors import (
    AlreadyExistsError,
    ExperimentNotFound,
    InvalidParameterError,
    NotFoundError,
    RunNotFound,
)
from ...histories import MetricHistories, validate_history_request
from ...ids import default_artifact_root as configured_artifact_root
from ...ids import new_run_id, now_ms
from ...interfaces import DEFAULT_MAX_RESULTS, Capability, TrackingStore
from ...rules import (
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_run_id,
    validate_tags,
)
from ...search.inprocess import ResultCache, creation_bound, int_bound, offset_page, search_page
from ...uri import append_path, path_to_file_uri, redact_uri
from ..opening import refuse_mlflow_artifact_root
from .datasets import dataset_records
from .experiments import ExperimentCatalog
from .history_arrow import file_histories_arrow
from .importing import FileTrackingImportOps
from .layout import open_root
from .logged_models import LoggedModelCatalog
from .logged_models import to_entity as logged_model_entity
from .metric_log import append_committed, encode_metrics, latest_points, read_points
from .oserrors import translated
from .purge import FilePurgeOps
from .run_index import ExperimentIndex, RunState
from .secret import store_secret

__all__ = ["FileTrackingStore"]

_HISTORY_CACHE_ENTRIES = 256
_history_order = operator.attrgetter("step", "timestamp")


class FileTrackingStore(FileTrackingImportOps, FilePurgeOps, TrackingStore):
    """A tracking store on a plain directory tree (``file:`` URIs and bare paths).

    ``FileTrackingStore(uri, default_artifact_root=None, create=True)``: the
    directory is created if missing (with ``create=False`` a missing or empty
    one raises :class:`~storekit.errors.StoreNotFoundError`); a directory
    holding anything else, such as an MLflow ``mlruns/`` tree, raises
    :class:`~storekit.errors.ForeignStoreError` and is left untouched.  Artifacts go under ``default_artifact_root``, else
    ``STOREKIT_ARTIFACT_URI``, else ``<root>/artifacts``.  Set
    ``STOREKIT_FILE_FSYNC=1`` to fsync every write (survives power loss, slower).
    Several threads and processes may write to one store at once.
    """

    capabilities = frozenset(
        {
            Capability.ATOMIC_BATCH,
            Capability.SEARCH_OR,
            Capability.CONCURRENT_WRITERS,
            Capability.MULTIPROCESS_WRITERS,
            Capability.DURABLE,
            Capability.REGISTRY,
            Capability.DATASETS,
            Capability.LOGGED_MODELS,
            Capability.IMPORT,
            Capability.PURGE,
        }
    )

    def __init__(
        self, uri: "str | os.PathLike[str]", default_artifact_root: Optional[str] = None, create: bool = True
    ) -> None:
        self.uri = os.fspath(uri)
        configured = bool(default_artifact_root or os.environ.get("STOREKIT_ARTIFACT_URI"))
        if configured:  # checked before the store is opened (or created)
            refuse_mlflow_artifact_root(configured_artifact_root(default_artifact_root))
        self.root: Path = open_root(uri, create=create)
        self._token_key = store_secret(self.root, create=create)
        if configured:
            self.default_artifact_root = configured_artifact_root(default_artifact_root)
        else:
            self.default_artifact_root = path_to_file_uri(self.root / "artifacts")
        self._experiments = ExperimentCatalog(self.root)
        self._models = LoggedModelCatalog(self.root, self._experiments.ids)
        self._mutex = threading.RLock()
        self._indexes: dict[str, ExperimentIndex] = {}
        self._run_experiment: dict[str, str] = {}
        self._results = ResultCache()
        self._history: "OrderedDict[tuple[str, str], tuple[int, list[Metric]]]" = OrderedDict()

    def __repr__(self) -> str:
        return f"FileTrackingStore({redact_uri(self.uri)!r})"

    def close(self) -> None:
        """Close the index files this store holds open."""
        with self._mutex:
            for index in self._indexes.values():
                index.close()
            self._experiments.lock.close()
            self._indexes.clear()
            self._history.clear()

    @classmethod
    def check_integrity(cls, uri: str, repair: bool = False) -> Any:
        """Check the store at ``uri`` (with ``repair``, clean up after crashes): see :mod:`.check`."""
        from .check import check_file_store

        return check_file_store(uri, repair)

    # ------------------------------------------------------------------
    # experiments
    # ------------------------------------------------------------------
    def _experiment_doc(self, experiment_id: Any) -> dict[str, Any]:
        experiment_id = validate_experiment_id(experiment_id)
        doc = self._experiments.load(experiment_id) if experiment_id.isdigit() else None
        if doc is None:
            raise ExperimentNotFound(f"no experiment with id {experiment_id!r}")
        return doc

    def create_experiment(
        self,
        name: str,
        artifact_location: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Create an experiment and return its id (``"1"``, ``"2"``, ...)."""
        name = validate_experiment_name(name)
        tags = validate_tags(tags, "experiment tag")
        artifact_location = rules.validate_artifact_location(artifact_location)
        root = self.default_artifact_root
        with self._experiments.lock.hold():
            if self._experiments.find_by_name(name) is not None:
                raise AlreadyExistsError(f"experiment name {name!r} is already taken (active or deleted)")
            now = now_ms()
            return self._experiments.create(
                {
                    "name": name,
                    "artifact_location": artifact_location or (lambda eid: append_path(root, eid)),
                    "lifecycle_stage": LifecycleStage.ACTIVE.value,
                    "creation_time": now,
                    "last_update_time": now,
                    "tags": tags,
                }
            )

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment (active or deleted); raises ExperimentNotFound."""
        return ExperimentCatalog.to_entity(self._experiment_doc(experiment_id))

    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        """The experiment with that name (active or deleted), or None."""
        doc = self._experiments.find_by_name(rules.validate_lookup_name(name))
        return None if doc is None else ExperimentCatalog.to_entity(doc)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """Experiments matching the filter; default order ``creation_time DESC, experiment_id``."""
        from ...search import EXPERIMENT_SCHEMA, Kind

        view = rules.parse_view_type(view_type)
        experiments = [
            ExperimentCatalog.to_entity(d) for d in self._experiments.all() if view.admits(d["lifecycle_stage"])
        ]

        def accessor(ident: Any) -> Callable[[Experiment], object]:
            key = ident.key
            if ident.kind is Kind.TAG:
                return lambda exp: exp.tags.get(key)

            def attribute(exp: Experiment) -> object:
                value = getattr(exp, key, None)
                return value.value if isinstance(value, LifecycleStage) else value

            return attribute

        bound = max((int(e.experiment_id) for e in experiments), default=0)
        return search_page(
            experiments,
            accessor,
            schema=EXPERIMENT_SCHEMA,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            key=self._token_key,
            query=["experiments", int(view)],
            bound=bound,
            within_bound=creation_bound(lambda e: int(e.experiment_id)),
        )

    def _update_experiment(self, experiment_id: str, change: Callable[[dict[str, Any]], bool]) -> None:
        """Apply ``change`` to a copy of the record under the lock; save when it returns True."""
        with self._experiments.lock.hold():
            doc = dict(self._experiment_doc(experiment_id))
            doc["tags"] = dict(doc.get("tags") or {})
            if change(doc):
                doc["last_update_time"] = now_ms()
                self._experiments.save(doc)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name that no other experiment (active or deleted) has."""
        new_name = validate_experiment_name(new_name)

        def change(doc: dict[str, Any]) -> bool:
            if doc["name"] == new_name:
                return False
            other = self._experiments.find_by_name(new_name)
            if other is not None:
                raise AlreadyExistsError(f"experiment name {new_name!r} is already taken (active or deleted)")
            doc["name"] = new_name
            return True

        self._update_experiment(experiment_id, change)

    def _set_experiment_stage(self, experiment_id: str, stage: LifecycleStage) -> None:
        def change(doc: dict[str, Any]) -> bool:
            if doc["lifecycle_stage"] == stage.value:
                return False
            if stage is LifecycleStage.ACTIVE:
                rules.check_restorable("experiment", doc["experiment_id"], doc.get("purge_time"))
                doc.pop("deleted_time", None)
            else:
                doc["deleted_time"] = now_ms()
            doc["lifecycle_stage"] = stage.value
            return True

        self._update_experiment(experiment_id, change)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment; its runs are hidden from ACTIVE_ONLY and read-only until restored."""
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo :meth:`delete_experiment`."""
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set (or overwrite) a tag on an experiment."""
        rules.validate_experiment_tag(tag)

        def change(doc: dict[str, Any]) -> bool:
            doc["tags"][tag.key] = tag.value
            return True

        self._update_experiment(experiment_id, change)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment; NotFoundError if it is not set."""
        validate_key(key, "experiment tag key")

        def change(doc: dict[str, Any]) -> bool:
            if key not in doc["tags"]:
                raise NotFoundError(f"experiment {doc['experiment_id']} has no tag {key!r}")
            del doc["tags"][key]
            return True

        self._update_experiment(experiment_id, change)

    # ------------------------------------------------------------------
    # runs: locating and writing
    # ------------------------------------------------------------------
    def _index(self, experiment_id: str) -> ExperimentIndex:
        with self._mutex:
            index = self._indexes.get(experiment_id)
            if index is None:
                index = self._indexes[experiment_id] = ExperimentIndex(self._experiments.path(experiment_id))
            return index

    def _locate(self, run_id: Any, fresh: bool = True) -> tuple[ExperimentIndex, RunState]:
        """The index and state of a run; RunNotFound.  ``fresh=False`` (writers, which
        refresh under the lock anyway) skips re-reading the index for a run already known."""
        run_id = validate_run_id(run_id)
        experiment_id = self._run_experiment.get(run_id)
        if experiment_id and not fresh:
            index = self._index(experiment_id)
            state = index.runs.get(run_id)
            if state is not None:
                return index, state
        candidates = [experiment_id] if experiment_id else []
        if not candidates:
            with translated("searching", self.root):
                candidates = [e for e in self._experiments.ids() if os.path.isdir(self.root / e / run_id)]
        for eid in candidates:
            state = self._index(eid).get(run_id)
            if state is not None:
                self._run_experiment[run_id] = eid
                return self._index(eid), state
        raise RunNotFound(f"no run with id {run_id!r}")

    def _experiment_deleted(self, experiment_id: str) -> bool:
        doc = self._experiments.load(experiment_id)
        return doc is None or doc["lifecycle_stage"] == LifecycleStage.DELETED.value

    def _check_writable(self, state: RunState) -> None:
        experiment_stage = (
            LifecycleStage.DELETED if self._experiment_deleted(state.experiment_id) else LifecycleStage.ACTIVE
        )
        rules.check_run_writable(state.run_id, state.lifecycle_stage, experiment_stage, state.experiment_id)

    def create_run(
        self,
        experiment_id: str,
        user_id: Optional[str] = None,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, str]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        doc = self._experiment_doc(experiment_id)
        experiment_id = str(doc["experiment_id"])
        rules.check_experiment_active(experiment_id, doc["lifecycle_stage"])
        tags = rules.validate_run_tags(tags)
        run_name = rules.validate_run_name(run_name)
        user_id = rules.validate_user_id(user_id)
        start_time = rules.validate_millis(start_time, "start_time")
        run_id = new_run_id()
        index = self._index(experiment_id)
        with translated("creating run directory in", index.dir):
            (index.dir / run_id).mkdir()
        with index.writing():
            event = {
                "op": "create",
                "seq": index.next_seq,
                "run": {
                    "run_id": run_id,
                    "experiment_id": experiment_id,
                    "run_name": run_name,
                    "user_id": user_id,
                    "status": RunStatus.RUNNING.value,
                    "start_time": now_ms() if start_time is None else start_time,
                    "end_time": None,
                    "lifecycle_stage": LifecycleStage.ACTIVE.value,
                    "artifact_uri": append_path(doc["artifact_location"], run_id, "artifacts"),
                },
                "params": {},
                "tags": tags,
                "metrics": {},
                "mo": 0,
            }
            index.commit(event)
            state = index.runs[run_id]
            self._run_experiment[run_id] = experiment_id
            return state.to_run()

    def get_run(self, run_id: str) -> Run:
        """The run (active or deleted); raises RunNotFound."""
        index, state = self._locate(run_id)
        with index.mutex:
            return state.to_run(self._experiment_deleted(state.experiment_id))

    def update_run_info(
        self,
        run_id: str,
        status: Optional[RunStatus] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change status, end time and/or name; ``None`` leaves a field as it is."""
        changes = rules.validate_run_update(status, end_time, run_name).changes()
        index, state = self._locate(run_id, fresh=False)
        with index.writing():
            state = index.runs[state.run_id]
            self._check_writable(state)
            if changes:
                index.commit({"op": "info", "id": state.run_id, "set": changes})
            return state.to_info()

    def _set_run_stage(self, run_id: str, stage: LifecycleStage) -> None:
        index, state = self._locate(run_id, fresh=False)
        with index.writing():
            state = index.runs[state.run_id]
            if state.lifecycle_stage != stage.value:
                if stage is LifecycleStage.ACTIVE:
                    rules.check_restorable("run", state.run_id, state.purge_time)
                deleted_time = now_ms() if stage is LifecycleStage.DELETED else None
                change = {"lifecycle_stage": stage.value, "deleted_time": deleted_time}
                index.commit({"op": "info", "id": state.run_id, "set": change})

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (idempotent)."""
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Undo :meth:`delete_run` (idempotent)."""
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Store metrics, params and tags of a run: all of them or, with an error, none."""
        metrics, params, tags = rules.validate_batch_args(metrics, params, tags)
        index, state = self._locate(run_id, fresh=False)
        for model_id in {m.model_id for m in metrics if m.model_id is not None}:
            self._models.load(model_id)  # unknown model: raise before anything is written
        latest = latest_points(metrics)
        with index.writing():
            state = index.runs[state.run_id]
            self._check_writable(state)
            new_params = rules.new_params(state.params, params)
            if not metrics and not new_params and not tags:
                return
            event: dict[str, Any] = {"op": "data", "id": state.run_id}
            if metrics:
                path = index.dir / state.run_id / "metrics.jsonl"
                event["mo"] = append_committed(path, state.mo, encode_metrics(metrics))
                event["metrics"] = latest
            if new_params:
                event["params"] = new_params
            if tags:
                event["tags"] = {t.key: t.value for t in tags}
            index.commit(event)
        if any(m.model_id is not None for m in metrics):
            self._models.record_metrics(metrics)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point."""
        self.log_batch(run_id, metrics=[metric])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run; NotFoundError if it is not set."""
        validate_key(key, "tag key")
        index, state = self._locate(run_id, fresh=False)
        with index.writing():
            state = index.runs[state.run_id]
            self._check_writable(state)
            if key not in state.tags:
                raise NotFoundError(f"run {state.run_id} has no tag {key!r}")
            index.commit({"op": "deltag", "id": state.run_id, "key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record datasets a run consumed; the same name, digest and context only once."""
        datasets = rules.validate_dataset_inputs(datasets)  # validate before taking the lock
        index, state = self._locate(run_id, fresh=False)
        with index.writing():
            state = index.runs[state.run_id]
            self._check_writable(state)
            records = dataset_records(datasets, state.inputs)
            if records:
                index.commit({"op": "inputs", "id": state.run_id, "add": records})

    # ------------------------------------------------------------------
    # logged models
    # ------------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: Optional[str] = None,
        source_run_id: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, str]] = None,
        model_type: Optional[str] = None,
    ) -> LoggedModel:
        """Create a PENDING logged model at ``<experiment location>/models/<model_id>/artifacts``."""
        doc = self._experiment_doc(experiment_id)
        rules.check_experiment_active(doc["experiment_id"], doc["lifecycle_stage"], "a model")
        if source_run_id is not None:
            self._locate(source_run_id)
        return logged_model_entity(
            self._models.create(
                str(doc["experiment_id"]), doc["artifact_location"], name, source_run_id, tags, params, model_type
            )
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model (active or deleted); LoggedModelNotFound if there is none."""
        return logged_model_entity(self._models.load(model_id))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set a logged model's final status."""
        value = LoggedModelStatus.parse(status).value
        return logged_model_entity(self._models.change(model_id, lambda d: d.__setitem__("status", value)))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags on a logged model."""
        tags = validate_tags(tags, "logged model tag")
        self._models.change(model_id, lambda d: d["tags"].update(tags))

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params to a logged model (immutable: another value for a key raises)."""
        rules.new_logged_model_params({}, params)  # validate before taking the lock

        def add(doc: dict[str, Any]) -> None:
            stored = doc.setdefault("params", {})
            stored.update(rules.new_logged_model_params(stored, params))

        self._models.change(model_id, add)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model; NotFoundError if it is not set."""
        self._models.change(model_id, lambda d: self._models.delete_tag(d, key))

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete a logged model: hidden from searches, still readable."""
        self._models.change(model_id, lambda d: d.__setitem__("lifecycle_stage", LifecycleStage.DELETED.value))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        max_results: int = DEFAULT_MAX_RESULTS,
        page_token: Optional[str] = None,
    ) -> PagedList[LoggedModel]:
        """Active logged models of the experiments matching the filter."""
        from ...search import LOGGED_MODEL_SCHEMA, Kind

        ids = sorted(rules.validate_experiment_ids(experiment_ids))
        docs = [
            d
            for e in ids
            if e.isdigit() and self._experiments.load(e) is not None
            for d in self._models.all_in(e)
            if d.get("lifecycle_stage") != LifecycleStage.DELETED.value
        ]

        def accessor(ident: Any) -> Callable[[dict[str, Any]], object]:
            key = ident.key
            if ident.kind is Kind.METRIC:

                def metric(doc: dict[str, Any]) -> object:
                    point = (doc.get("metrics") or {}).get(key)
                    return None if point is None else point[0]

                return metric
            if ident.kind is Kind.PARAM:
                return lambda doc: doc["params"].get(key)
            if ident.kind is Kind.TAG:
                return lambda doc: doc["tags"].get(key)
            return lambda doc: doc.get(key)

        page = search_page(
            docs,
            accessor,
            schema=LOGGED_MODEL_SCHEMA,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            key=self._token_key,
            query=["logged-models", ids],
            bound=now_ms(),
            within_bound=creation_bound(lambda d: d["creation_timestamp"]),
        )
        return PagedList([logged_model_entity(d) for d in page], page.token)

    def log_outputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run produced (each once)."""
        model_ids = rules.validate_model_ids(model_ids)
        for model_id in model_ids:
            self._models.load(model_id)  # must exist
        index, state = self._locate(run_id, fresh=False)
        with index.writing():
            state = index.runs[state.run_id]
            self._check_writable(state)
            new = [m for m in model_ids if m not in state.outputs]
            if new:
                index.commit({"op": "outputs", "id": state.run_id, "add": new})

    # ------------------------------------------------------------------
    # metric history
    # ------------------------------------------------------------------
    def _key_points(self, index: ExperimentIndex, state: RunState, key: str) -> list[Metric]:
        """Every committed point of one key of a run, in logging order (cached, tailed).

        The cache holds, per (run, key), the points read up to a committed
        length of the history file; a later call only reads the bytes
        committed since.  The committed part of a history file never changes.
        """
        run_id, committed = state.run_id, state.mo
        cache_key = (run_id, key)
        with self._mutex:
            cached = self._history.get(cache_key)
            if cached is not None and cached[0] == committed:
                self._history.move_to_end(cache_key)
                return cached[1]
        start, points = (cached[0], cached[1]) if cached is not None and cached[0] < committed else (0, [])
        points = points + read_points(index.dir / run_id / "metrics.jsonl", start, committed, key)
        with self._mutex:
            self._history[cache_key] = (committed, points)
            self._history.move_to_end(cache_key)
            while len(self._history) > _HISTORY_CACHE_ENTRIES:
                self._history.popitem(last=False)
        return points

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_results: Optional[int] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Metric]:
        """Every point of a metric, ordered by ``(step, timestamp)``, then logging order."""
        validate_key(key, "metric key")
        index, state = self._locate(run_id)  # refreshed: state.mo is the committed length
        points = sorted(self._key_points(index, state, key), key=_history_order)
        return offset_page(points, max_results, page_token, "metric-history", state.run_id, key, key=self._token_key)

    def get_metric_histories(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> MetricHistories:
        """Histories of many runs and keys, reading each run's history file once."""
        runs, wanted = validate_history_request(run_ids, keys)
        out = MetricHistories()
        for run_id in runs:
            index, state = self._locate(run_id)
            by_key: dict[str, list[Metric]]
            if wanted is not None and len(wanted) == 1:
                by_key = {wanted[0]: self._key_points(index, state, wanted[0])}  # the cached path
            else:
                by_key = {}
                selected = set(wanted) if wanted is not None else None
                for m in read_points(index.dir / run_id / "metrics.jsonl", 0, state.mo):
                    if selected is None or m.key in selected:
                        by_key.setdefault(m.key, []).append(m)
            for key in wanted if wanted is not None else sorted(by_key):
                for m in sorted(by_key.get(key, ()), key=_history_order):
                    out.append(run_id, key, m.step, m.timestamp, m.value)
        return out

    def metric_histories_arrow(self, run_ids: Sequence[str], keys: Optional[Sequence[str]] = None) -> Optional[Any]:
        """:meth:`get_metric_histories` as a ``pyarrow.Table`` read without a Python object per point.

        None without pyarrow (the caller then reads :meth:`get_metric_histories`);
        see :mod:`.history_arrow`.  Same rows, order and errors.
        """

        def history_file(run_id: str) -> tuple[Path, int]:
            index, state = self._locate(run_id)
            return index.dir / state.run_id / "metrics.jsonl", state.mo

        return file_histories_arrow(run_ids, keys, history_file)

    # ------------------------------------------------------------------
    # search
    # ------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Runs of the given experiments matching the filter, paged by a stable keyset token."""
        from ...search import RUN_SCHEMA

        ids = sorted(rules.validate_experiment_ids(experiment_ids), key=lambda e: (len(e), e))
        view = rules.parse_view_type(view_type)
        deleted_experiments: set[str] = set()
        indexes = []
        for eid in ids:
            doc = self._experiments.load(eid) if eid.isdigit() else None
            if doc is None:
                continue
            if doc["lifecycle_stage"] == LifecycleStage.DELETED.value:
                deleted_experiments.add(eid)
            indexes.append(self._index(eid))
        with ExitStack() as stack:
            bound: dict[str, int] = {}
            for index in indexes:
                stack.enter_context(index.mutex)
                index.refresh()
                bound[index.dir.name] = index.next_seq - 1
            page = search_page(
                _visible_states(indexes, view, deleted_experiments),  # only walked when not cached
                _run_accessor(deleted_experiments),
                schema=RUN_SCHEMA,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
                key=self._token_key,
                query=[ids, int(view)],
                bound=bound,
                within_bound=_within_run_bound,
                cache=self._results,
                version=(tuple((i.dir.name, i.log.version()) for i in indexes), tuple(sorted(deleted_experiments))),
            )
            return PagedList([s.to_run(s.experiment_id in deleted_experiments) for s in page], page.token)


def _visible_states(
    indexes: Sequence[ExperimentIndex], view: ViewType, deleted_experiments: set[str]
) -> Iterator[RunState]:
    """The runs of ``indexes`` that ``view`` shows (a run of a deleted experiment counts as deleted)."""
    for index in indexes:
        runs = index.runs.values()
        if view is ViewType.ALL:
            yield from runs
        elif index.dir.name in deleted_experiments:
            if view is ViewType.DELETED_ONLY:
                yield from runs
        else:
            want = "active" if view is ViewType.ACTIVE_ONLY else "deleted"
            yield from (s for s in runs if s.lifecycle_stage == want)


def _within_run_bound(bound: Any) -> Callable[[RunState], bool]:
    """Validate a run-search bound ({experiment id: last run seq}) and return its predicate."""
    if not isinstance(bound, dict) or not all(isinstance(k, str) for k in bound):
        raise InvalidParameterError("page_token: invalid page token (bad bound)")
    limits = {k: int_bound(v) for k, v in bound.items()}
    return lambda state: state.seq <= limits.get(state.experiment_id, 0)


def _run_accessor(deleted_experiments: set[str]) -> Callable[[Any], Callable[[RunState], object]]:
    """Search values of runs: identifier -> (run state -> value), see :func:`storekit.search.compile_filter`."""
    from ...search import Kind

    def accessor(ident: Any) -> Callable[[RunState], object]:
        kind, key = ident.kind, ident.key
        if kind is Kind.METRIC:

            def metric(state: RunState) -> object:
                point = state.metrics.get(key)
                return None if point is None else point[0]

            return metric
        if kind is Kind.PARAM:
            return lambda state: state.params.get(key)
        if kind is Kind.TAG:
            return lambda state: state.tags.get(key)
        if kind is Kind.ATTRIBUTE:
            if key == "lifecycle_stage":
                return lambda state: state.effective_stage(state.experiment_id in deleted_experiments).value
            return operator.attrgetter(key) if key in RunState.__slots__ else (lambda state: None)
        # datasets: any-match over the run's inputs
        if key == "context":
            return lambda state: tuple(d["tags"]["context"] for d in state.inputs if "context" in (d.get("tags") or {}))
        return lambda state: tuple(d["dataset"].get(key) for d in state.inputs)

    return accessor
