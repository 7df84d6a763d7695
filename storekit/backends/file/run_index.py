"""The per-experiment run index (``<experiment>/runs.jsonl``).

Every change to a run of the experiment is one JSON line appended to this
log, and the line *is* the commit: a run's info, params, tags, latest
metric values, dataset inputs, model outputs and the committed length of
its metric history file all live here.  Readers materialise the log into
:class:`RunState` objects in memory and afterwards only parse the lines
appended since (see :class:`~storekit.backends.file.jsonlog.JsonLog`), so
``get_run`` and ``search_runs`` never open per-run files.

Line types (``op``)::

    create   a whole run (also what compaction writes, one line per run)
    data     {"id", "metrics": {key: [value, timestamp, step]}, "params", "tags", "mo"}
    deltag   {"id", "key"}
    info     {"id", "set": {status|end_time|run_name|lifecycle_stage|deleted_time|purge_time: value}}
    inputs   {"id", "add": [dataset input, ...]}
    outputs  {"id", "add": [model id, ...]}
    purge    {"id"}: the run is gone for good (``storekit gc``)

``deleted_time`` (ms) is set with ``lifecycle_stage: deleted`` and cleared by
restore; a run deleted before it was recorded has none ("deleted at an unknown
time").  ``purge_time`` is set when ``storekit gc`` begins to purge the run.

When the log holds many more lines than runs it is compacted: rewritten
atomically with one ``create`` line per run.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from ...entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
)
from ...errors import StoreCorruptionError
from .atomic import dumps
from .gcpause import gc_paused
from .jsonlog import JsonLog
from .locking import StoreLock
from .metric_log import point_order_key

__all__ = ["RunState", "ExperimentIndex", "INDEX_FILE"]

INDEX_FILE = "runs.jsonl"
_INFO_FIELDS = ("status", "end_time", "run_name", "lifecycle_stage", "deleted_time", "purge_time")
_STATUSES = {s.value: s for s in RunStatus}
_STAGES = {s.value: s for s in LifecycleStage}
_NO_INPUTS, _NO_OUTPUTS = RunInputs(), RunOutputs()  # frozen and empty: safe to share
#: Applying more events than this at once pauses the cyclic garbage collector (see :mod:`.gcpause`).
_MANY_EVENTS = 2000


class RunState:
    """The materialised state of one run (mutable, owned by its index)."""

    __slots__ = (
        "run_id",
        "experiment_id",
        "run_name",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "lifecycle_stage",
        "deleted_time",
        "purge_time",
        "artifact_uri",
        "params",
        "tags",
        "metrics",
        "mo",
        "inputs",
        "outputs",
        "seq",
        "_info",
    )

    def __init__(self, event: dict[str, Any]) -> None:
        run = event["run"]
        self.run_id: str = run["run_id"]
        self.experiment_id: str = run["experiment_id"]
        self.run_name: Optional[str] = run.get("run_name")
        self.user_id: Optional[str] = run.get("user_id")
        self.status: str = run["status"]
        self.start_time: Optional[int] = run.get("start_time")
        self.end_time: Optional[int] = run.get("end_time")
        self.lifecycle_stage: str = run.get("lifecycle_stage", "active")
        self.deleted_time: Optional[int] = run.get("deleted_time")
        self.purge_time: Optional[int] = run.get("purge_time")
        self.artifact_uri: str = run["artifact_uri"]
        self.params: dict[str, str] = dict(event.get("params") or {})
        self.tags: dict[str, str] = dict(event.get("tags") or {})
        self.metrics: dict[str, list] = {k: list(v) for k, v in (event.get("metrics") or {}).items()}
        self.mo: int = int(event.get("mo", 0))
        self.inputs: list[dict[str, Any]] = list(event.get("inputs") or [])
        self.outputs: list[str] = list(event.get("outputs") or [])
        self.seq: int = int(event["seq"])
        self._info: Optional[RunInfo] = None  # to_info() of a run whose experiment is active

    # --- serialisation ---------------------------------------------
    def to_event(self) -> dict[str, Any]:
        """The ``create`` line that reproduces this state."""
        return {
            "op": "create",
            "seq": self.seq,
            "run": {
                "run_id": self.run_id,
                "experiment_id": self.experiment_id,
                "run_name": self.run_name,
                "user_id": self.user_id,
                "status": self.status,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "lifecycle_stage": self.lifecycle_stage,
                "artifact_uri": self.artifact_uri,
                **({"deleted_time": self.deleted_time} if self.deleted_time is not None else {}),
                **({"purge_time": self.purge_time} if self.purge_time is not None else {}),
            },
            "params": self.params,
            "tags": self.tags,
            "metrics": self.metrics,
            "mo": self.mo,
            "inputs": self.inputs,
            "outputs": self.outputs,
        }

    # --- changes -----------------------------------------------------
    def merge_metrics(self, latest: dict[str, list]) -> None:
        """Keep, per key, whichever of the stored and the given point is the latest."""
        for key, point in latest.items():
            old = self.metrics.get(key)
            if old is None or point_order_key(point) > point_order_key(old):
                self.metrics[key] = list(point)

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one non-``create`` line to this run."""
        op = event["op"]
        if op == "data":
            self.merge_metrics(event.get("metrics") or {})
            self.params.update(event.get("params") or {})
            self.tags.update(event.get("tags") or {})
            self.mo = int(event.get("mo", self.mo))
        elif op == "deltag":
            self.tags.pop(event["key"], None)
        elif op == "info":
            for name, value in event["set"].items():
                if name in _INFO_FIELDS:
                    setattr(self, name, value)
            self._info = None
        elif op == "inputs":
            self.inputs.extend(event["add"])
        elif op == "outputs":
            self.outputs.extend(m for m in event["add"] if m not in self.outputs)
        else:
            raise ValueError(f"unknown op {op!r}")

    # --- entities ----------------------------------------------------
    def effective_stage(self, experiment_deleted: bool) -> LifecycleStage:
        """Deleted when the run or its experiment is deleted."""
        if experiment_deleted:
            return LifecycleStage.DELETED
        return _STAGES.get(self.lifecycle_stage) or LifecycleStage(self.lifecycle_stage)

    def to_info(self, experiment_deleted: bool = False) -> RunInfo:
        """A :class:`RunInfo` snapshot (immutable; reused until the run's info changes)."""
        info = None if experiment_deleted else self._info
        if info is None:
            info = RunInfo(
                run_id=self.run_id,
                experiment_id=self.experiment_id,
                run_name=self.run_name,
                user_id=self.user_id,
                status=_STATUSES.get(self.status) or RunStatus(self.status),
                start_time=self.start_time,
                end_time=self.end_time,
                lifecycle_stage=self.effective_stage(experiment_deleted),
                artifact_uri=self.artifact_uri,
            )
            if not experiment_deleted:
                self._info = info
        return info

    def dataset_inputs(self) -> tuple[DatasetInput, ...]:
        """The run's dataset inputs as entities."""
        return tuple(DatasetInput(Dataset(**d["dataset"]), dict(d.get("tags") or {})) for d in self.inputs)

    def to_run(self, experiment_deleted: bool = False) -> Run:
        """A :class:`Run` snapshot (fresh dicts: callers may not corrupt the index)."""
        return Run(
            info=self.to_info(experiment_deleted),
            data=RunData(
                metrics={k: v[0] for k, v in self.metrics.items()},
                params=dict(self.params),
                tags=dict(self.tags),
                latest_metrics={k: Metric(k, v[0], int(v[1]), int(v[2])) for k, v in self.metrics.items()},
            ),
            inputs=RunInputs(self.dataset_inputs()) if self.inputs else _NO_INPUTS,
            outputs=RunOutputs(tuple(self.outputs)) if self.outputs else _NO_OUTPUTS,
        )


class ExperimentIndex:
    """The runs of one experiment, materialised from its log and kept current."""

    #: Compact when the log holds more than this many lines per run (plus a slack).
    LINES_PER_RUN = 8
    SLACK_LINES = 1000

    def __init__(self, experiment_dir: Path) -> None:
        self.dir = experiment_dir
        self.log = JsonLog(experiment_dir / INDEX_FILE)
        self.lock = StoreLock(experiment_dir / ".runs.lock")
        self.mutex = threading.RLock()
        self.runs: dict[str, RunState] = {}
        self.next_seq = 1
        self._lines = 0

    def _apply(self, event: dict[str, Any]) -> None:
        state: Optional[RunState]
        try:
            if event["op"] == "create":
                state = RunState(event)
                self.runs[state.run_id] = state
                self.next_seq = max(self.next_seq, state.seq + 1)
            elif event["op"] == "purge":
                self.runs.pop(event["id"], None)
            else:
                state = self.runs.get(event["id"])
                if state is None:
                    raise KeyError(event["id"])
                state.apply(event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreCorruptionError(
                f"file store: {self.log.path} has an invalid entry ({type(exc).__name__}: {exc})"
            ) from None
        self._lines += 1

    def refresh(self) -> None:
        """Apply the lines other writers appended since the last refresh."""
        with self.mutex:
            restarted, events = self.log.read_new()
            if restarted:
                self.runs = {}
                self.next_seq = 1
                self._lines = 0
            with gc_paused(len(events) > _MANY_EVENTS):
                for event in events:
                    self._apply(event)

    def get(self, run_id: str) -> Optional[RunState]:
        """The current state of a run, or None (refreshes first)."""
        with self.mutex:
            self.refresh()
            return self.runs.get(run_id)

    @contextmanager
    def writing(self) -> Iterator["ExperimentIndex"]:
        """Hold the experiment's write lock, with the index refreshed to the end."""
        with self.mutex, self.lock.hold():
            self.refresh()
            yield self

    def commit(self, *events: dict[str, Any]) -> None:
        """Append and apply ``events`` (inside :meth:`writing`); compacts when due."""
        self.log.append(dumps(e) for e in events)
        for event in events:
            self._apply(event)
        if self._lines > self.LINES_PER_RUN * len(self.runs) + self.SLACK_LINES:
            self.compact()

    def compact(self) -> None:
        """Rewrite the log with one ``create`` line per run (inside :meth:`writing`)."""
        states = sorted(self.runs.values(), key=lambda s: s.seq)
        self.log.replace(dumps(s.to_event()) for s in states)
        self._lines = len(states)

    def close(self) -> None:
        """Close the log's file handle and lock file."""
        self.log.close()
        self.lock.close()
