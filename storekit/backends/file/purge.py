"""The purge hook of :class:`~storekit.backends.file.FileTrackingStore` (capability PURGE, ``storekit gc``).

``begin_purge`` records ``purge_time`` (a run's index ``info`` line, an
experiment's ``meta.json``); restore refuses from then on.  ``purge`` then
removes the entity in one atomic step and cleans up after it:

* a run: under the experiment's lock, its directory is renamed to
  ``<experiment>/.trash-<hex>``, the index line ``{"op": "purge"}`` is
  appended (the commit: the run is gone), and the trash is deleted;
* an experiment: under the store's experiment lock, its id is recorded in
  ``purged-experiments.json`` (never handed out again), the whole
  ``<root>/<id>`` directory is renamed to ``<root>/.trash-<hex>`` (the
  commit), and the trash is deleted.

A gc killed anywhere leaves either the entity (marked, still deleted, listed
again by the next gc) or nothing but a ``.trash-*`` directory, which the next
gc deletes (``storekit check`` reports it meanwhile).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ... import rules
from ...crashpoints import crash_point
from ...entities import DeletedEntity, LifecycleStage
from ...errors import ExperimentNotFound, InvalidParameterError, RunNotFound
from ...ids import now_ms
from .oserrors import translated

if TYPE_CHECKING:  # pragma: no cover
    from .experiments import ExperimentCatalog
    from .run_index import ExperimentIndex, RunState

__all__ = ["FilePurgeOps"]

_DELETED = LifecycleStage.DELETED.value
_GC_TRASH = re.compile(r"^\.trash-[0-9a-f]{12}$")


def _trash_name() -> str:
    return f".trash-{uuid.uuid4().hex[:12]}"


def _remove_trash(directory: Path) -> None:
    """Delete gc's leftover ``.trash-*`` directories directly inside ``directory``."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        if _GC_TRASH.match(name):
            shutil.rmtree(directory / name, ignore_errors=True)


class FilePurgeOps:
    """``list_deleted``, ``begin_purge``, ``purge`` and ``owned_artifact_root`` on the file store."""

    root: Path
    default_artifact_root: str
    _experiments: "ExperimentCatalog"
    _mutex: threading.RLock
    _indexes: "dict[str, ExperimentIndex]"
    _run_experiment: dict[str, str]
    _history: Any

    if TYPE_CHECKING:  # provided by FileTrackingStore

        def _index(self, experiment_id: str) -> "ExperimentIndex": ...

        def _experiment_doc(self, experiment_id: Any) -> dict[str, Any]: ...

    def owned_artifact_root(self) -> Optional[str]:
        """The store's default artifact root (``<root>/artifacts`` unless configured)."""
        return self.default_artifact_root

    def list_deleted(self, experiment_ids: Optional[Sequence[str]] = None) -> list[DeletedEntity]:
        """Deleted runs (deleted on their own) and deleted experiments; clears gc's leftover trash first."""
        wanted = None if experiment_ids is None else set(rules.validate_experiment_ids(experiment_ids))
        with self._experiments.lock.hold():
            _remove_trash(self.root)
        runs: list[DeletedEntity] = []
        experiments: list[DeletedEntity] = []
        for doc in self._experiments.all():
            eid = str(doc["experiment_id"])
            if wanted is not None and eid not in wanted:
                continue
            index = self._index(eid)
            with index.writing():
                _remove_trash(index.dir)
                states = sorted(index.runs.values(), key=lambda st: st.seq)
            runs += [
                DeletedEntity(
                    "run", st.run_id, eid, st.run_name, st.artifact_uri, st.deleted_time, st.purge_time is not None
                )
                for st in states
                if st.lifecycle_stage == _DELETED
            ]
            if doc["lifecycle_stage"] == _DELETED:
                experiments.append(
                    DeletedEntity(
                        "experiment",
                        eid,
                        eid,
                        doc["name"],
                        doc["artifact_location"],
                        doc.get("deleted_time"),
                        doc.get("purge_time") is not None,
                    )
                )
        return runs + experiments

    def begin_purge(self, entity: DeletedEntity) -> None:
        """Mark a deleted run or experiment as being purged; restore refuses from now on."""
        if entity.kind == "run":
            index, state = self._run_of(entity)
            if state is None:
                raise RunNotFound(f"no run with id {entity.entity_id!r}")
            with index.writing():
                state = index.runs[state.run_id]
                rules.check_purge_deleted("run", state.run_id, state.lifecycle_stage)
                if state.purge_time is None:
                    index.commit({"op": "info", "id": state.run_id, "set": {"purge_time": now_ms()}})
            return
        if entity.kind != "experiment":
            raise InvalidParameterError(f"entity.kind: {entity.kind!r} is not 'run' or 'experiment'")
        with self._experiments.lock.hold():
            doc = dict(self._experiment_doc(entity.entity_id))
            rules.check_purge_deleted("experiment", doc["experiment_id"], doc["lifecycle_stage"])
            if doc.get("purge_time") is None:
                doc["purge_time"] = now_ms()
                self._experiments.save(doc)

    def purge(self, entity: DeletedEntity) -> None:
        """Remove a marked run or experiment for good (a no-op when it is already gone)."""
        if entity.kind == "run":
            self._purge_run(entity)
        elif entity.kind == "experiment":
            self._purge_experiment(entity.entity_id)
        else:
            raise InvalidParameterError(f"entity.kind: {entity.kind!r} is not 'run' or 'experiment'")

    def _run_of(self, entity: DeletedEntity) -> "tuple[ExperimentIndex, Optional[RunState]]":
        """The index and state of a listed run, found through its experiment.

        Not through :meth:`_locate`: that finds a run by its directory, which an
        interrupted purge may already have moved to the trash.
        """
        run_id = rules.validate_run_id(entity.entity_id)
        experiment_id = rules.validate_experiment_id(entity.experiment_id)
        if not experiment_id.isdigit() or self._experiments.load(experiment_id) is None:
            raise ExperimentNotFound(f"no experiment with id {experiment_id!r}")
        index = self._index(experiment_id)
        return index, index.get(run_id)

    def _purge_run(self, entity: DeletedEntity) -> None:
        try:
            index, state = self._run_of(entity)
        except ExperimentNotFound:
            return
        if state is None:
            return
        with index.writing():
            found = index.runs.get(state.run_id)
            if found is None:
                return
            rules.check_purge_begun("run", found.run_id, found.purge_time)
            run_dir = index.dir / found.run_id
            trash = index.dir / _trash_name()
            if run_dir.exists():
                with translated("removing", run_dir):
                    os.rename(run_dir, trash)
            crash_point("file-run-trashed")
            index.commit({"op": "purge", "id": found.run_id})
            _remove_trash(index.dir)
        self._forget_runs([found.run_id])

    def _purge_experiment(self, experiment_id: str) -> None:
        experiment_id = rules.validate_experiment_id(experiment_id)
        with self._experiments.lock.hold():
            doc = self._experiments.load(experiment_id) if experiment_id.isdigit() else None
            if doc is None:
                _remove_trash(self.root)
                return
            rules.check_purge_begun("experiment", experiment_id, doc.get("purge_time"))
            self._experiments.record_purged(experiment_id)
            directory = self._experiments.path(experiment_id)
            index = self._index(experiment_id)
            with index.writing():  # no writer of its runs is half-way through while it moves
                run_ids = list(index.runs)
                trash = self.root / _trash_name()
                with translated("removing", directory):
                    os.rename(directory, trash)
            crash_point("file-experiment-trashed")
            with self._mutex:
                self._indexes.pop(experiment_id, None)
            index.close()
            self._experiments.forget(experiment_id)
            _remove_trash(self.root)
        self._forget_runs(run_ids)

    def _forget_runs(self, run_ids: list[str]) -> None:
        with self._mutex:
            for run_id in run_ids:
                self._run_experiment.pop(run_id, None)
            for key in [k for k in self._history if k[0] in set(run_ids)]:
                del self._history[key]
