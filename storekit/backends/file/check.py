"""Integrity check (and repair) of a file store: the file backend's ``storekit check``.

What is checked (see :mod:`.layout` for where things live):

* the format marker, every experiment record, every logged-model and
  registered-model document parses;
* every line of every run index parses and applies; a torn last line (a
  writer killed mid-append) is reported;
* every run in an index has its directory, and every run directory is in
  the index (a directory without an entry is what a ``create_run`` killed
  before its commit leaves behind);
* every metric history file holds at least the committed bytes, those parse,
  and the latest values in the index agree with the history; bytes past the
  committed length (a ``log_batch`` killed before its commit) are reported;
* registry version counters are above every version number;
* temporary files and directories left by crashed writers (``*.tmp``,
  ``.tmp-*``, ``.trash-*``, artifact uploads in progress) are reported.

With ``repair=True`` the harmless leftovers are removed or rolled back:
torn index lines and uncommitted metric bytes are cut off (under the same
locks writers take), orphan run directories, temporary files and trash are
deleted, interrupted registry renames are finished.  Nothing acknowledged is
touched.  Run a repair while no other process writes to the store.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ...entities import Metric, metric_order_key
from ...errors import StorekitError
from ...integrity import ERROR, WARNING, IntegrityReport
from ...integrity import describe_error as describe
from ...uri import local_path_from_uri
from ..opening import mlflow_layout, mlflow_store
from .atomic import read_json
from .experiments import META_FILE
from .layout import FORMAT_VERSION, MARKER_FILE, safe_file_name
from .metric_log import read_points
from .run_index import INDEX_FILE, ExperimentIndex

__all__ = ["check_file_store"]

_TEMP_FILE = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")
_TEMP_DIR = re.compile(r"^\.(tmp|tmp-exp|trash)-[0-9a-f]{12}$")
_ARTIFACT_TEMP = ".storekit-tmp-"
_RUN_DIR = re.compile(r"^[0-9a-f]{32}$")


def _is_leftover(name: str) -> bool:
    return bool(_TEMP_FILE.match(name) or _TEMP_DIR.match(name)) or (name.startswith(".") and _ARTIFACT_TEMP in name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


class _FileChecker:
    """Walks one file store, filling an :class:`IntegrityReport`."""

    def __init__(self, root: Path, report: IntegrityReport) -> None:
        self.root = root
        self.report = report
        self.repair = report.repair

    def error(self, where: "Path | str", message: str) -> None:
        self.report.add(ERROR, where, message)

    # --- pieces ----------------------------------------------------------
    def leftovers(self) -> None:
        """Temporary files and directories of crashed writers, anywhere in the tree."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in list(dirnames) + filenames:
                if not _is_leftover(name):
                    continue
                path = Path(dirpath) / name
                if name in dirnames:
                    dirnames.remove(name)
                repaired = False
                if self.repair:
                    _remove(path)
                    repaired = True
                self.report.add(WARNING, path, "temporary file left by an interrupted write", repaired)
                self.report.count("temporary files")

    def marker(self) -> bool:
        path = self.root / MARKER_FILE
        if not path.exists():
            found = mlflow_layout(self.root, os.listdir(self.root))
            if found is not None:  # not a damaged storekit store: someone else's, say so
                raise mlflow_store(str(self.root), f"an mlruns/ directory: found {found}")
            self.error(path, "format marker is missing: this is not a storekit file store")
            return False
        doc = self._json(path)
        if doc is not None and (not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION):
            self.error(path, f"unknown format {doc!r}; this storekit reads format {FORMAT_VERSION}")
            return False
        return doc is not None

    def _json(self, path: Path) -> Any:
        try:
            return read_json(path)
        except StorekitError as exc:
            self.error(path, describe(exc))
            return None

    def experiment(self, exp_dir: Path) -> None:
        self.report.count("experiments")
        meta = exp_dir / META_FILE
        doc = self._json(meta) if meta.exists() else None
        if not meta.exists():
            self.error(meta, "experiment record is missing")
        elif doc is not None and (not isinstance(doc, dict) or doc.get("experiment_id") != exp_dir.name):
            self.error(meta, "experiment record does not describe this experiment")
        models = exp_dir / "models"
        if models.is_dir():
            for path in sorted(models.glob("*.json")):
                if not path.name.startswith("."):
                    self.report.count("logged models")
                    self._json(path)
        if (exp_dir / INDEX_FILE).exists():
            self.runs(exp_dir)

    def runs(self, exp_dir: Path) -> None:
        index = ExperimentIndex(exp_dir)
        try:
            with index.mutex, index.lock.hold() if self.repair else nullcontext():
                try:
                    index.refresh()
                except StorekitError as exc:
                    self.error(index.log.path, describe(exc))
                    return
                self._torn_tail(index)
                listed = set(index.runs)
                for state in index.runs.values():
                    self.report.count("runs")
                    self.run(exp_dir, state)
                for entry in sorted(os.listdir(exp_dir)):
                    if _RUN_DIR.match(entry) and entry not in listed and (exp_dir / entry).is_dir():
                        self._orphan_dir(exp_dir / entry)
        finally:
            index.close()

    def _torn_tail(self, index: ExperimentIndex) -> None:
        path = index.log.path
        size = path.stat().st_size
        if size > index.log.offset:
            repaired = False
            if self.repair:
                with open(path, "r+b") as fh:
                    fh.truncate(index.log.offset)
                repaired = True
            self.report.add(
                WARNING,
                path,
                f"torn last line ({size - index.log.offset} bytes) left by an interrupted write",
                repaired,
            )

    def _orphan_dir(self, path: Path) -> None:
        repaired = False
        if self.repair:
            shutil.rmtree(path)
            repaired = True
        self.report.add(
            WARNING,
            path,
            "run directory without an entry in the run index (a create_run interrupted before its commit)",
            repaired,
        )

    def run(self, exp_dir: Path, state: Any) -> None:
        run_dir = exp_dir / state.run_id
        history = run_dir / "metrics.jsonl"
        if not run_dir.is_dir():
            if state.purge_time is not None:  # gc moved it to its trash and was killed before committing
                self.report.add(
                    WARNING, run_dir, "run directory is gone: an interrupted storekit gc; run storekit gc again"
                )
                return
            self.error(run_dir, "run directory is missing")
            return
        size = history.stat().st_size if history.exists() else 0
        if size < state.mo:
            self.error(history, f"metric history has {size} bytes but {state.mo} were committed")
            return
        if size > state.mo:
            repaired = False
            if self.repair:
                with open(history, "r+b") as fh:
                    fh.truncate(state.mo)
                repaired = True
            self.report.add(
                WARNING, history, f"{size - state.mo} uncommitted bytes of an interrupted log_batch", repaired
            )
        try:
            points = read_points(history, 0, state.mo)
        except StorekitError as exc:
            self.error(history, describe(exc))
            return
        self.report.count("metric points", len(points))
        self._latest_consistent(history, state, points)

    def _latest_consistent(self, history: Path, state: Any, points: list[Metric]) -> None:
        latest: dict[str, Metric] = {}
        for m in points:
            if m.key not in latest or metric_order_key(m) > metric_order_key(latest[m.key]):
                latest[m.key] = m
        indexed = {k: metric_order_key(Metric(k, v[0], v[1], v[2])) for k, v in state.metrics.items()}
        history_keys = {k: metric_order_key(m) for k, m in latest.items()}
        for key in sorted(set(indexed) | set(history_keys)):
            if indexed.get(key) != history_keys.get(key):
                self.error(
                    history,
                    f"latest value of metric {key!r} in the run index "
                    f"{indexed.get(key)} disagrees with its history {history_keys.get(key)}",
                )

    def registry(self) -> None:
        models = self.root / "models"
        if not models.is_dir():
            return
        for entry in sorted(os.listdir(models)):
            directory = models / entry
            if entry.startswith(".") or not directory.is_dir():
                continue
            path = directory / "model.json"
            doc = self._json(path) if path.exists() else None
            if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
                if path.exists() and doc is not None:
                    self.error(path, "not a registered model document")
                continue
            self.report.count("registered models")
            self.report.count("model versions", len(doc["versions"]))
            numbers = [int(n) for n in doc["versions"] if str(n).isdigit()]
            if numbers and max(numbers) >= int(doc.get("next_version", 0)):
                self.error(
                    path, f"version counter {doc.get('next_version')} is not above the highest version {max(numbers)}"
                )
            if safe_file_name(str(doc.get("name"))) != entry:
                self._unfinished_rename(directory, doc)

    def _unfinished_rename(self, directory: Path, doc: dict[str, Any]) -> None:
        target = directory.parent / safe_file_name(str(doc["name"]))
        repaired = False
        if self.repair and not target.exists():
            os.rename(directory, target)
            repaired = True
        self.report.add(
            WARNING if not target.exists() else ERROR,
            directory,
            f"model directory does not match its name {doc['name']!r} (an interrupted rename)",
            repaired,
        )


def check_file_store(uri: str, repair: bool = False) -> IntegrityReport:
    """Check the file store at ``uri``; with ``repair`` clean up what crashed writers left."""
    report = IntegrityReport(uri=uri, backend="file", repair=repair)
    try:
        root = Path(os.path.abspath(local_path_from_uri(uri).expanduser()))
    except ValueError as exc:
        report.add(ERROR, uri, f"not a local path: {exc}")
        return report
    if not root.is_dir():
        report.add(ERROR, root, "the store directory does not exist")
        return report
    checker = _FileChecker(root, report)
    if not checker.marker():
        return report
    checker.leftovers()
    for entry in sorted((e for e in os.listdir(root) if e.isdigit()), key=int):
        if (root / entry).is_dir():
            checker.experiment(root / entry)
    checker.registry()
    return report
