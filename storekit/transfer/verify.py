"""The verification that ends every transfer: the destination compared with the source.

It re-reads both sides (so it also checks runs finished by an earlier,
interrupted attempt) and compares

* counts: experiments, runs, logged models, registered models, versions;
* per run: checksums of its info (name, user, status, times, lifecycle
  stage), params, tags and full metric histories (see :mod:`.digest`);
* per run and logged model (``--artifacts copy``): every artifact file's
  size and sha256;
* per registered model: description, tags, aliases and every version's
  stage, status, source, run id and tags.

Any difference is listed, and makes the command exit non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from ..entities import ViewType
from ..errors import NotFoundError, StorekitError
from ..interfaces import Capability
from .artifacts import manifest, manifest_digest
from .digest import HistoryHasher, run_digest
from .engine import CopyEngine
from .storekit_source import paged

__all__ = ["Verification", "verify"]

#: At most this many differences are kept for the report (the counts keep counting).
MAX_LISTED = 50


@dataclass
class Verification:
    """Counts per kind (source, destination) and the differences found."""

    counts: dict[str, list[int]] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    difference_count: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return self.difference_count == 0 and all(s == d for s, d in self.counts.values())

    def add(self, kind: str, source: int, destination: int) -> None:
        """Add to the counts of ``kind``."""
        pair = self.counts.setdefault(kind, [0, 0])
        pair[0] += source
        pair[1] += destination

    def differ(self, message: str) -> None:
        """Record a difference."""
        self.difference_count += 1
        if len(self.differences) < MAX_LISTED:
            self.differences.append(message)


def _history(tracking: Any, run_id: str, keys: list[str]) -> HistoryHasher:
    hasher = HistoryHasher()
    export = getattr(tracking, "export_metric_chunks", None)
    if export is not None and Capability.IMPORT in tracking.capabilities:
        for chunk in export(run_id):
            hasher.update(chunk)
        return hasher
    for key in keys:
        token: Optional[str] = None
        while True:
            page = tracking.get_metric_history(run_id, key, max_results=10_000, page_token=token)
            hasher.update(list(page))
            token = page.token
            if not token:
                break
    return hasher


def verify(engine: CopyEngine, on_run: Optional[Callable[[], None]] = None) -> Verification:
    """Compare everything the source holds with what the destination holds now."""
    source, state, dst = engine.source, engine.state, engine.dest.tracking
    copy = engine.options.artifacts == "copy"
    out = Verification()
    tick = on_run or (lambda: None)
    for experiment in source.experiments():
        src_id = experiment.experiment_id
        dst_id = state.mapped("experiment", src_id)
        out.add("experiments", 1, 0)
        try:
            stored = dst.get_experiment(dst_id or src_id)
        except (NotFoundError, StorekitError):
            out.differ(f"experiment {src_id}: missing in the destination")
            continue
        out.add("experiments", 0, 1)
        for what, a, b in (
            ("name", experiment.name, stored.name),
            ("lifecycle stage", str(experiment.lifecycle_stage), str(stored.lifecycle_stage)),
            ("tags", experiment.tags, stored.tags),
        ):
            if a != b:
                out.differ(f"experiment {src_id}: {what} differs ({a!r} != {b!r})")
        exp_deleted = str(experiment.lifecycle_stage) == "deleted"
        src_models = list(source.logged_models(src_id)) if engine.dest_has_models else []
        dst_models = (
            list(paged(lambda t: dst.search_logged_models([stored.experiment_id], page_token=t))) if src_models else []
        )
        out.add("logged models", len(src_models), len(dst_models))
        if copy:
            for model in src_models:
                target = state.mapped("model", model.model_id)
                if target is None:
                    continue
                _compare_files(
                    out,
                    f"logged model {model.model_id}",
                    model.artifact_location,
                    dst.get_logged_model(target).artifact_location,
                )
        dst_runs = sum(
            1
            for _ in paged(
                lambda t: dst.search_runs(
                    [stored.experiment_id], view_type=ViewType.ALL, max_results=1000, page_token=t
                )
            )
        )
        src_runs = 0
        for record in source.runs(src_id):
            src_runs += 1
            tick()
            _compare_run(engine, out, record, exp_deleted, copy)
        out.add("runs", src_runs, dst_runs)
    if engine.options.registry and engine.dest.registry is not None:
        _compare_registry(engine, out)
    return out


def _compare_files(out: Verification, what: str, src_uri: str, dst_uri: str) -> None:
    src_files, dst_files = manifest(src_uri), manifest(dst_uri)
    out.add("artifact files", len(src_files), len(dst_files))
    out.add("artifact bytes", sum(f.size for f in src_files), sum(f.size for f in dst_files))
    if manifest_digest(src_files) != manifest_digest(dst_files):
        theirs = {f.path: f for f in dst_files}
        for f in src_files:
            other = theirs.get(f.path)
            if other is None:
                out.differ(f"{what}: artifact {f.path} is missing in the destination")
            elif other != f:
                out.differ(f"{what}: artifact {f.path} differs (size {f.size} != {other.size} or sha256)")
        extra = sorted(set(theirs) - {f.path for f in src_files})
        for path in extra:
            out.differ(f"{what}: artifact {path} exists only in the destination")


def _compare_run(engine: CopyEngine, out: Verification, record: Any, exp_deleted: bool, copy: bool) -> None:
    info = record.info
    run_id = engine.state.mapped("run", info.run_id)
    what = f"run {info.run_id}"
    if run_id is None:
        out.differ(f"{what}: not copied")
        return
    try:
        run = engine.dest.tracking.get_run(run_id)
    except (NotFoundError, StorekitError):
        out.differ(f"{what}: missing in the destination")
        return
    tags = engine.target_tags(record)
    src_hist = HistoryHasher()
    for chunk in engine.source.metric_chunks(record):
        src_hist.update(chunk)
    deleted = exp_deleted or str(info.lifecycle_stage) == "deleted"
    mine = run_digest(info, deleted, record.params, tags, src_hist)
    theirs = run_digest(
        run.info,
        str(run.info.lifecycle_stage) == "deleted",
        run.data.params,
        run.data.tags,
        _history(engine.dest.tracking, run_id, sorted(run.data.metrics)),
    )
    out.add("params", mine.n_params, theirs.n_params)
    out.add("tags", mine.n_tags, theirs.n_tags)
    out.add("metric points", mine.points, theirs.points)
    for part in ("info", "params", "tags", "metrics"):
        if getattr(mine, part) != getattr(theirs, part):
            out.differ(f"{what}: {part} checksum differs")
    if copy:
        _compare_files(out, what, info.artifact_uri, run.info.artifact_uri)


def _compare_registry(engine: CopyEngine, out: Verification) -> None:
    registry = engine.dest.registry
    assert registry is not None
    for model, versions in engine.source.registered_models():
        out.add("registered models", 1, 0)
        out.add("model versions", len(versions), 0)
        try:
            stored = registry.get_registered_model(model.name)
        except (NotFoundError, StorekitError):
            out.differ(f"registered model {model.name!r}: missing in the destination")
            continue
        out.add("registered models", 0, 1)
        for what, a, b in (
            ("description", model.description, stored.description),
            ("tags", model.tags, stored.tags),
            ("aliases", model.aliases, stored.aliases),
        ):
            if a != b:
                out.differ(f"registered model {model.name!r}: {what} differs ({a!r} != {b!r})")
        for v in versions:
            try:
                got = registry.get_model_version(model.name, v.version)
            except (NotFoundError, StorekitError):
                out.differ(f"model version {model.name!r} v{v.version}: missing in the destination")
                continue
            out.add("model versions", 0, 1)
            want = replace(
                v,
                run_id=engine._run_id(v.run_id),
                model_id=engine._model_id(v.model_id),
                source=engine._rewrite_source(v.source),
            )
            for attr in ("current_stage", "status", "source", "run_id", "tags", "description", "model_id"):
                if getattr(want, attr) != getattr(got, attr):
                    out.differ(
                        f"model version {model.name!r} v{v.version}: {attr} differs "
                        f"({getattr(want, attr)!r} != {getattr(got, attr)!r})"
                    )
