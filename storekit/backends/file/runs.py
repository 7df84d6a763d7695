"""Run operations of :class:`~storekit.backends.file.FileTrackingStore`: locating, creating and writing runs.

Every change to a run is one line committed to its experiment's run index
(:mod:`.run_index`) while holding that experiment's lock; metric history is
appended to the run's history file first (:mod:`.metric_log`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from ... import rules
from ...entities import DatasetInput, LifecycleStage, Metric, Param, Run, RunInfo, RunStatus, RunTag
from ...errors import NotFoundError, RunNotFound
from ...ids import new_run_id, now_ms
from ...rules import validate_key, validate_run_id
from ...uri import append_path
from .datasets import dataset_records
from .experiments import ExperimentCatalog
from .logged_models import LoggedModelCatalog
from .metric_log import append_committed, encode_metrics, latest_points
from .oserrors import translated
from .run_index import ExperimentIndex, RunState

__all__ = ["FileRunOps"]


class FileRunOps:
    """The run operations of :class:`~storekit.backends.file.FileTrackingStore` (a mix-in)."""

    root: Path
    _experiments: ExperimentCatalog
    _models: LoggedModelCatalog
    _mutex: threading.RLock
    _indexes: dict[str, ExperimentIndex]
    _run_experiment: dict[str, str]

    if TYPE_CHECKING:  # provided by FileExperimentOps

        def _experiment_doc(self, experiment_id: Any) -> dict[str, Any]: ...

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
