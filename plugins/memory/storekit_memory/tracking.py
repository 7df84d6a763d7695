"""MemoryTrackingStore: experiments, runs, metrics, params and tags in memory.

A template: every rule of the contract is enforced with storekit's shared
helpers (``storekit.rules`` for arguments, limits, writable runs, param
conflicts and enums, ``storekit.search`` for filters and ordering,
``storekit.paging`` for page tokens), and one lock per named store makes
every method atomic and thread-safe.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional, Sequence

from storekit import rules
from storekit.entities import (
    DeletedEntity,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
    latest_metric,
)
from storekit.errors import AlreadyExistsError, ExperimentNotFound, NotFoundError, RunNotFound
from storekit.ids import default_artifact_root, new_run_id, now_ms
from storekit.interfaces import DEFAULT_MAX_RESULTS, Capability, TrackingStore
from storekit.rules import (
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_run_id,
    validate_tags,
)
from storekit.search import EXPERIMENT_SCHEMA, RUN_SCHEMA
from storekit.search.ast import Identifier, Kind
from storekit.search.inprocess import creation_bound, offset_page, search_page
from storekit.uri import append_path

from .state import parse_memory_uri, shared

__all__ = ["MemoryTrackingStore"]


@dataclass
class _RunRecord:
    """A run as stored: its info, and its data in mutable form."""

    info: RunInfo
    created: int
    metrics: dict[str, list[Metric]] = field(default_factory=dict)  # key -> points in logging order
    latest: dict[str, Metric] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    deleted_time: Optional[int] = None  # when it was deleted (storekit gc --older-than)
    purge_time: Optional[int] = None  # when storekit gc began to purge it (restore refuses)

    def to_run(self, experiment_deleted: bool = False) -> Run:
        """The run as an entity; a run of a deleted experiment reads as deleted."""
        data = RunData(
            {k: m.value for k, m in self.latest.items()}, dict(self.params), dict(self.tags), dict(self.latest)
        )
        info = replace(self.info, lifecycle_stage=LifecycleStage.DELETED) if experiment_deleted else self.info
        return Run(info, data)


@dataclass
class _TrackingState:
    """Everything one ``memory://<name>`` tracking store holds."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    experiment_created: dict[str, int] = field(default_factory=dict)
    runs: dict[str, _RunRecord] = field(default_factory=dict)
    experiment_deleted_time: dict[str, int] = field(default_factory=dict)
    experiment_purge_time: dict[str, int] = field(default_factory=dict)
    last_experiment_id: int = 0  # ids are never reused, even after gc removed an experiment
    clock: int = 0  # creation sequence: bounds page tokens
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # signs page tokens


class MemoryTrackingStore(TrackingStore):
    """A tracking store in process memory (scheme ``memory``)."""

    capabilities = frozenset(
        {
            Capability.ATOMIC_BATCH,
            Capability.SEARCH_OR,
            Capability.CONCURRENT_WRITERS,  # one lock per named store
            Capability.REGISTRY,  # memory://<name> also serves a MemoryRegistryStore
            Capability.PURGE,  # list_deleted / begin_purge / purge: storekit gc
        }
    )

    def __init__(self, uri: str, default_artifact_root: Optional[str] = None) -> None:
        self.uri = uri
        name, _ = parse_memory_uri(uri)
        self._state = shared("tracking", name, _TrackingState)
        self._lock = self._state.lock
        self._artifact_root = default_artifact_root

    def __repr__(self) -> str:
        return f"MemoryTrackingStore({self.uri!r})"

    # -- helpers -------------------------------------------------------------
    def _tick(self) -> int:
        self._state.clock += 1
        return self._state.clock

    def _experiment(self, experiment_id: str) -> Experiment:
        experiment_id = validate_experiment_id(experiment_id)
        try:
            return self._state.experiments[experiment_id]
        except KeyError:
            raise ExperimentNotFound(f"experiment {experiment_id!r} does not exist") from None

    def _run(self, run_id: str) -> _RunRecord:
        run_id = validate_run_id(run_id)
        try:
            return self._state.runs[run_id]
        except KeyError:
            raise RunNotFound(f"run {run_id!r} does not exist") from None

    def _writable_run(self, run_id: str) -> _RunRecord:
        record = self._run(run_id)
        experiment = self._state.experiments[record.info.experiment_id]
        rules.check_run_writable(
            run_id, record.info.lifecycle_stage, experiment.lifecycle_stage, experiment.experiment_id
        )
        return record

    def _name_taken(self, name: str) -> bool:
        return any(e.name == name for e in self._state.experiments.values())

    # -- experiments ------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: Optional[str] = None, tags: Optional[Mapping[str, str]] = None
    ) -> str:
        """Create an experiment with the next integer id."""
        name = validate_experiment_name(name)
        tags = validate_tags(tags, "experiment tag")
        artifact_location = rules.validate_artifact_location(artifact_location)
        with self._lock:
            if self._name_taken(name):
                raise AlreadyExistsError(f"experiment name {name!r} is taken")
            self._state.last_experiment_id += 1
            experiment_id = str(self._state.last_experiment_id)
            location = artifact_location or append_path(default_artifact_root(self._artifact_root), experiment_id)
            now = now_ms()
            self._state.experiments[experiment_id] = Experiment(
                experiment_id, name, location, LifecycleStage.ACTIVE, tags, now, now
            )
            self._state.experiment_created[experiment_id] = self._tick()
            return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment, active or deleted."""
        with self._lock:
            return self._experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        """Return the experiment with that name, or None."""
        with self._lock:
            name = rules.validate_lookup_name(name)
            return next((e for e in self._state.experiments.values() if e.name == name), None)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        filter_string: Optional[str] = None,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Experiment]:
        """Search experiments with the shared filter language."""

        def accessor(ident: Identifier) -> Callable[[Experiment], object]:
            key = ident.key
            if ident.kind is Kind.TAG:
                return lambda exp: exp.tags.get(key)
            return lambda exp: getattr(exp, key, None)

        view = rules.parse_view_type(view_type)
        with self._lock:
            visible = [e for e in self._state.experiments.values() if view.admits(e.lifecycle_stage)]
            created = self._state.experiment_created
            return search_page(
                visible,
                accessor,
                schema=EXPERIMENT_SCHEMA,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
                query=["experiments", int(view)],
                bound=self._state.clock,
                within_bound=creation_bound(lambda e: created[e.experiment_id]),
                key=self._state.secret,
            )

    def _update_experiment(self, experiment_id: str, **changes: Any) -> None:
        with self._lock:
            exp = self._experiment(experiment_id)
            self._state.experiments[exp.experiment_id] = replace(exp, last_update_time=now_ms(), **changes)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename; the new name must be unused."""
        new_name = validate_experiment_name(new_name)
        with self._lock:
            if self._experiment(experiment_id).name != new_name and self._name_taken(new_name):
                raise AlreadyExistsError(f"experiment name {new_name!r} is taken")
            self._update_experiment(experiment_id, name=new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft delete (idempotent); records when, for storekit gc."""
        with self._lock:
            exp = self._experiment(experiment_id)
            if exp.lifecycle_stage is not LifecycleStage.DELETED:
                self._state.experiment_deleted_time[exp.experiment_id] = now_ms()
            self._update_experiment(experiment_id, lifecycle_stage=LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo a soft delete (idempotent); refused once storekit gc has begun to purge it."""
        with self._lock:
            exp = self._experiment(experiment_id)
            if exp.lifecycle_stage is LifecycleStage.DELETED:
                purge_time = self._state.experiment_purge_time.get(exp.experiment_id)
                rules.check_restorable("experiment", exp.experiment_id, purge_time)
            self._state.experiment_deleted_time.pop(exp.experiment_id, None)
            self._update_experiment(experiment_id, lifecycle_stage=LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set or overwrite an experiment tag."""
        rules.validate_experiment_tag(tag)
        with self._lock:
            tags = {**self._experiment(experiment_id).tags, tag.key: tag.value}
            self._update_experiment(experiment_id, tags=tags)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove an experiment tag; NotFoundError if it is not set."""
        validate_key(key, "experiment tag key")
        with self._lock:
            tags = dict(self._experiment(experiment_id).tags)
            if tags.pop(key, None) is None:
                raise NotFoundError(f"experiment {experiment_id!r} has no tag {key!r}")
            self._update_experiment(experiment_id, tags=tags)

    # -- runs ---------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: Optional[str] = None,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, str]] = None,
        run_name: Optional[str] = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        run_name = rules.validate_run_name(run_name)
        tag_map = rules.validate_run_tags(tags)
        user_id = rules.validate_user_id(user_id)
        start_time = rules.validate_millis(start_time, "start_time")
        with self._lock:
            exp = self._experiment(experiment_id)
            rules.check_experiment_active(exp.experiment_id, exp.lifecycle_stage)
            run_id = new_run_id()
            info = RunInfo(
                run_id,
                exp.experiment_id,
                run_name,
                user_id,
                RunStatus.RUNNING,
                now_ms() if start_time is None else start_time,
                None,
                LifecycleStage.ACTIVE,
                append_path(exp.artifact_location, run_id, "artifacts"),
            )
            record = _RunRecord(info, self._tick(), tags=tag_map)
            self._state.runs[run_id] = record
            return record.to_run()

    def _experiment_deleted(self, record: _RunRecord) -> bool:
        return self._state.experiments[record.info.experiment_id].lifecycle_stage is LifecycleStage.DELETED

    def get_run(self, run_id: str) -> Run:
        """Return the run, active or deleted (a run of a deleted experiment reads as deleted)."""
        with self._lock:
            record = self._run(run_id)
            return record.to_run(self._experiment_deleted(record))

    def update_run_info(
        self,
        run_id: str,
        status: Optional[RunStatus] = None,
        end_time: Optional[int] = None,
        run_name: Optional[str] = None,
    ) -> RunInfo:
        """Change status, end time and/or name."""
        update = rules.validate_run_update(status, end_time, run_name)
        with self._lock:
            record = self._writable_run(run_id)
            changes: dict[str, Any] = {
                "status": update.status,
                "end_time": update.end_time,
                "run_name": update.run_name,
            }
            record.info = replace(record.info, **{k: v for k, v in changes.items() if v is not None})
            return record.info

    def _set_stage(self, run_id: str, stage: LifecycleStage) -> None:
        with self._lock:
            record = self._run(run_id)
            if record.info.lifecycle_stage is stage:
                return
            if stage is LifecycleStage.ACTIVE:
                rules.check_restorable("run", run_id, record.purge_time)
            record.deleted_time = now_ms() if stage is LifecycleStage.DELETED else None
            record.info = replace(record.info, lifecycle_stage=stage)

    def delete_run(self, run_id: str) -> None:
        """Soft delete (idempotent)."""
        self._set_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Undo a soft delete (idempotent)."""
        self._set_stage(run_id, LifecycleStage.ACTIVE)

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> None:
        """All or nothing: validate everything, check param conflicts, then apply under the lock."""
        metrics, params, tags = rules.validate_batch_args(metrics, params, tags)
        with self._lock:
            record = self._writable_run(run_id)
            new_params = rules.new_params(record.params, params)  # raises on a conflict, before any change
            for metric in metrics:
                metric = replace(metric, value=float(metric.value))
                record.metrics.setdefault(metric.key, []).append(metric)
                record.latest[metric.key] = latest_metric(record.latest.get(metric.key), metric)
            record.params.update(new_params)
            record.tags.update((t.key, t.value) for t in tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run tag; NotFoundError if it is not set."""
        validate_key(key, "tag key")
        with self._lock:
            record = self._writable_run(run_id)
            if record.tags.pop(key, None) is None:
                raise NotFoundError(f"run {run_id!r} has no tag {key!r}")

    def get_metric_history(
        self, run_id: str, key: str, max_results: Optional[int] = None, page_token: Optional[str] = None
    ) -> PagedList[Metric]:
        """Every point, by (step, timestamp), then logging order (``sorted`` is stable)."""
        validate_key(key, "metric key")
        with self._lock:
            points = sorted(self._run(run_id).metrics.get(key, ()), key=lambda m: (m.step, m.timestamp))
        return offset_page(points, max_results, page_token, "metric-history", run_id, key, key=self._state.secret)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: Optional[str] = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_MAX_RESULTS,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList[Run]:
        """Search runs of the given experiments with the shared filter language."""
        wanted = set(rules.validate_experiment_ids(experiment_ids))
        view = rules.parse_view_type(view_type)

        def stage(record: _RunRecord) -> LifecycleStage:
            exp = self._state.experiments[record.info.experiment_id]
            deleted = LifecycleStage.DELETED in (record.info.lifecycle_stage, exp.lifecycle_stage)
            return LifecycleStage.DELETED if deleted else LifecycleStage.ACTIVE

        def accessor(ident: Identifier) -> Callable[[_RunRecord], object]:
            key = ident.key
            if ident.kind is Kind.METRIC:

                def metric(record: _RunRecord) -> object:
                    point = record.latest.get(key)
                    return None if point is None else point.value

                return metric
            if ident.kind is Kind.PARAM:
                return lambda record: record.params.get(key)
            if ident.kind is Kind.TAG:
                return lambda record: record.tags.get(key)
            if ident.kind is Kind.DATASET:
                return lambda record: ()  # capability DATASETS is not declared: no dataset inputs
            return lambda record: getattr(record.info, key, None)

        with self._lock:
            records = [r for r in self._state.runs.values() if r.info.experiment_id in wanted and view.admits(stage(r))]
            page = search_page(
                records,
                accessor,
                schema=RUN_SCHEMA,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
                query=[sorted(wanted), int(view)],
                bound=self._state.clock,
                within_bound=creation_bound(lambda r: r.created),
                key=self._state.secret,
            )
            return PagedList([r.to_run(self._experiment_deleted(r)) for r in page], page.token)

    # -- capability PURGE (storekit gc) --------------------------------------------
    def owned_artifact_root(self) -> Optional[str]:
        """The artifact root experiments without their own location use."""
        return default_artifact_root(self._artifact_root)

    def list_deleted(self, experiment_ids: Optional[Sequence[str]] = None) -> list[DeletedEntity]:
        """Runs deleted on their own, then deleted experiments (gc's own marks included)."""
        wanted = None if experiment_ids is None else set(rules.validate_experiment_ids(experiment_ids))
        with self._lock:
            state = self._state
            out = [
                DeletedEntity(
                    "run",
                    r.info.run_id,
                    r.info.experiment_id,
                    r.info.run_name,
                    r.info.artifact_uri,
                    r.deleted_time,
                    r.purge_time is not None,
                )
                for r in sorted(state.runs.values(), key=lambda r: r.created)
                if r.info.lifecycle_stage is LifecycleStage.DELETED
                and (wanted is None or r.info.experiment_id in wanted)
            ]
            out += [
                DeletedEntity(
                    "experiment",
                    e.experiment_id,
                    e.experiment_id,
                    e.name,
                    e.artifact_location,
                    state.experiment_deleted_time.get(e.experiment_id),
                    e.experiment_id in state.experiment_purge_time,
                )
                for e in state.experiments.values()
                if e.lifecycle_stage is LifecycleStage.DELETED and (wanted is None or e.experiment_id in wanted)
            ]
            return out

    def begin_purge(self, entity: DeletedEntity) -> None:
        """Mark a deleted run or experiment as being purged; restore refuses from now on."""
        with self._lock:
            if entity.kind == "run":
                record = self._run(entity.entity_id)
                rules.check_purge_deleted("run", entity.entity_id, record.info.lifecycle_stage)
                if record.purge_time is None:
                    record.purge_time = now_ms()
                return
            exp = self._experiment(entity.entity_id)
            rules.check_purge_deleted("experiment", exp.experiment_id, exp.lifecycle_stage)
            self._state.experiment_purge_time.setdefault(exp.experiment_id, now_ms())

    def purge(self, entity: DeletedEntity) -> None:
        """Remove a marked run, or a marked experiment with its runs, at once; gone already: no-op."""
        with self._lock:
            state = self._state
            if entity.kind == "run":
                record = state.runs.get(validate_run_id(entity.entity_id))
                if record is not None:
                    rules.check_purge_begun("run", entity.entity_id, record.purge_time)
                    del state.runs[record.info.run_id]
                return
            experiment_id = validate_experiment_id(entity.entity_id)
            if experiment_id not in state.experiments:
                return
            rules.check_purge_begun("experiment", experiment_id, state.experiment_purge_time.get(experiment_id))
            for run_id in [r for r, rec in state.runs.items() if rec.info.experiment_id == experiment_id]:
                del state.runs[run_id]
            for table in (state.experiments, state.experiment_created, state.experiment_deleted_time):
                table.pop(experiment_id, None)
            state.experiment_purge_time.pop(experiment_id, None)
