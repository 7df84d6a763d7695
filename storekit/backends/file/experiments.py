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
from typing import Any, Optional

from ...entities import Experiment, LifecycleStage
from ...errors import StoreCorruptionError
from .atomic import read_json, read_json_or_none, write_json_atomic
from .locking import StoreLock
from .oserrors import translated

__all__ = ["ExperimentCatalog", "META_FILE", "PURGED_FILE"]

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
