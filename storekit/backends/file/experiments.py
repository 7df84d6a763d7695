"""Experiment records: one ``<root>/<experiment_id>/meta.json`` per experiment.

The record holds the name, artifact location, lifecycle stage, times and
tags, and is replaced atomically on every change while holding the store's
experiment lock.  Ids are increasing integers: a new experiment gets one
more than the largest id on disk, and its directory appears in one
``rename`` (fully written or not at all).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ... import rules
from ...entities import Experiment, ExperimentTag, LifecycleStage, PagedList, ViewType
from ...errors import AlreadyExistsError, ExperimentNotFound, NotFoundError, StoreCorruptionError
from ...ids import now_ms
from ...interfaces import DEFAULT_MAX_RESULTS
from ...rules import validate_experiment_id, validate_experiment_name, validate_key, validate_tags
from ...search.inprocess import creation_bound, search_page
from ...uri import append_path
from .atomic import read_json, read_json_or_none, write_json_atomic
from .locking import StoreLock
from .oserrors import translated

__all__ = ["ExperimentCatalog", "FileExperimentOps", "META_FILE", "PURGED_FILE"]

META_FILE = "meta.json"
#: ``{"max_id": N}``: the largest experiment id ``storekit gc`` removed; new ids stay above it.
PURGED_FILE = "purged-experiments.json"


def _to_entity(doc: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(doc["experiment_id"]),
        name=doc["name"],
        artifact_location=doc["artifact_location"],
        lifecycle_stage=LifecycleStage(doc["lifecycle_stage"]),
        tags=dict(doc.get("tags") or {}),
        creation_time=doc.get("creation_time"),
        last_update_time=doc.get("last_update_time"),
    )


class ExperimentCatalog:
    """Reads and writes experiment records, caching them by file signature."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = os.fspath(root)
        self.lock = StoreLock(root / ".experiments.lock")
        self._mutex = threading.RLock()
        self._cache: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def path(self, experiment_id: str) -> Path:
        """The directory of an experiment."""
        return self.root / experiment_id

    def ids(self) -> list[str]:
        """Ids of every experiment on disk, in numeric order."""
        with translated("listing", self.root):
            names = [e.name for e in os.scandir(self.root) if e.name.isdigit() and e.is_dir()]
        return sorted(names, key=int)

    def load(self, experiment_id: str) -> Optional[dict[str, Any]]:
        """The record of an experiment as a dict (a private copy is not made), or None."""
        meta = os.path.join(self._root, experiment_id, META_FILE)
        try:
            st = os.stat(meta)
        except FileNotFoundError:
            return None
        except OSError as exc:
            with translated("reading", meta):
                raise exc
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._mutex:
            hit = self._cache.get(experiment_id)
            if hit is not None and hit[0] == sig:
                return hit[1]
        doc = read_json(Path(meta))
        if not isinstance(doc, dict) or "name" not in doc:
            raise StoreCorruptionError(f"file store: {meta} is not an experiment record")
        with self._mutex:
            self._cache[experiment_id] = (sig, doc)
        return doc

    def get(self, experiment_id: str) -> Optional[Experiment]:
        """The experiment entity, or None."""
        doc = self.load(experiment_id)
        return None if doc is None else _to_entity(doc)

    def all(self) -> list[dict[str, Any]]:
        """Every experiment record."""
        out = []
        for eid in self.ids():
            doc = self.load(eid)
            if doc is not None:
                out.append(doc)
        return out

    def find_by_name(self, name: str) -> Optional[dict[str, Any]]:
        """The record with this name (active or deleted), or None."""
        for doc in self.all():
            if doc["name"] == name:
                return doc
        return None

    def create(self, doc: dict[str, Any]) -> str:
        """Write a new experiment with the next id (caller holds :attr:`lock`); return the id."""
        ids = self.ids()
        experiment_id = str(max(int(ids[-1]) if ids else 0, self.max_purged_id()) + 1)
        doc = dict(doc, experiment_id=experiment_id)
        if callable(doc.get("artifact_location")):
            doc["artifact_location"] = doc["artifact_location"](experiment_id)
        tmp = self.root / f".tmp-exp-{uuid.uuid4().hex[:12]}"
        with translated("creating", tmp):
            tmp.mkdir()
            try:
                write_json_atomic(tmp / META_FILE, doc)
                os.rename(tmp, self.root / experiment_id)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return experiment_id

    def max_purged_id(self) -> int:
        """The largest experiment id gc removed (0 when none): it is never handed out again."""
        doc = read_json_or_none(self.root / PURGED_FILE)
        return int(doc.get("max_id", 0)) if isinstance(doc, dict) else 0

    def record_purged(self, experiment_id: str) -> None:
        """Remember that ``experiment_id`` was removed for good (caller holds :attr:`lock`)."""
        top = max(self.max_purged_id(), int(experiment_id))
        write_json_atomic(self.root / PURGED_FILE, {"max_id": top})

    def forget(self, experiment_id: str) -> None:
        """Drop the cached record of an experiment that is gone."""
        with self._mutex:
            self._cache.pop(experiment_id, None)

    def save(self, doc: dict[str, Any]) -> None:
        """Replace an experiment's record (caller holds :attr:`lock`)."""
        write_json_atomic(self.root / str(doc["experiment_id"]) / META_FILE, doc)

    @staticmethod
    def to_entity(doc: dict[str, Any]) -> Experiment:
        """Convert a record to an :class:`Experiment`."""
        return _to_entity(doc)


class FileExperimentOps:
    """The experiment operations of :class:`~storekit.backends.file.FileTrackingStore` (a mix-in)."""

    default_artifact_root: str
    _experiments: ExperimentCatalog
    _token_key: Optional[bytes]

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
