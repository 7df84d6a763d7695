"""``storekit gc``: remove deleted runs and experiments for good, with their artifacts.

The engine behind the command, usable from Python too::

    from storekit.gc import plan_gc, run_gc

    plan = plan_gc(store, older_than=datetime.timedelta(days=30))
    for item in plan.items:          # what would go (--dry-run stops here)
        print(item.entity.kind, item.entity.entity_id)
    result = run_gc(store, plan)     # remove it

It needs the store's purge hook (capability PURGE: ``list_deleted``,
``begin_purge``, ``purge``).  Each entity is removed in three steps, in this
order, so that a gc killed at any point leaves nothing half-removed from the
user's point of view and a second gc finishes the job:

1. ``begin_purge``: the entity is marked; it stays deleted and readable, but
   can no longer be restored (so nobody restores a run whose artifacts are
   half gone), and every later gc picks it up whatever ``older_than`` says;
2. its artifacts are deleted (only those the store owns, see below; deleting
   what is already gone is a no-op);
3. ``purge``: the rows (or files) go in one transaction (one atomic rename on
   the file store).

Artifacts are deleted only where storekit put them by itself: under the
store's own artifact root (:meth:`TrackingStore.owned_artifact_root`).  An
experiment created with its own ``artifact_location``, or runs imported with
their artifacts left in place, may point at someone else's files: those are
kept and reported, unless ``delete_external_artifacts=True``.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from . import rules
from .crashpoints import crash_point
from .entities import DeletedEntity, ViewType
from .errors import ArtifactNotFound, StorekitError
from .ids import now_ms
from .interfaces import Capability, TrackingStore, UnsupportedOperationError
from .uri import get_scheme

__all__ = ["ArtifactTarget", "GcItem", "GcPlan", "GcResult", "plan_gc", "run_gc", "require_purge_hook"]

ArtifactRemover = Callable[[str], None]


@dataclass(frozen=True)
class ArtifactTarget:
    """An artifact tree of a purged entity: ``uri``, and whether gc deletes it (``owned``) or keeps it."""

    uri: str
    owned: bool


@dataclass
class GcItem:
    """One entity gc removes: a run, or an experiment with ``runs`` runs in it."""

    entity: DeletedEntity
    runs: int = 1
    artifacts: list[ArtifactTarget] = field(default_factory=list)
    status: str = "planned"  # planned | removed | failed
    error: Optional[str] = None


@dataclass
class GcPlan:
    """What gc would remove: ``items`` (runs first, then experiments) and the ``cutoff`` used (ms or None)."""

    items: list[GcItem]
    cutoff: Optional[int]


@dataclass
class GcResult:
    """The outcome of :func:`run_gc`: counts of removed and failed items (the items carry their status)."""

    removed: int = 0
    failed: int = 0
    runs_removed: int = 0


def require_purge_hook(store: TrackingStore) -> None:
    """Raise UnsupportedOperationError naming the missing hook unless ``store`` declares Capability.PURGE."""
    if Capability.PURGE not in store.capabilities:
        raise UnsupportedOperationError(
            f"{type(store).__name__} has no purge hook: it does not declare Capability.PURGE "
            "(list_deleted, begin_purge, purge), so storekit gc cannot remove anything from it; "
            "see docs/writing-a-plugin.md"
        )


def _split_last(uri: str) -> tuple[str, str]:
    """``(parent URI, last segment)`` of an artifact URI or local path."""
    if get_scheme(uri) == "file" and not uri.lower().startswith("file:"):
        parent, name = os.path.split(os.path.normpath(uri))
        return parent, name
    base = uri.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    parent, _, name = base.rpartition("/")
    return parent, name


def _run_target(run_id: str, artifact_uri: str) -> str:
    """The tree to delete for a run: ``<location>/<run_id>`` when its URI is ``<location>/<run_id>/artifacts``."""
    parent, name = _split_last(artifact_uri)
    if name == "artifacts" and _split_last(parent)[1] == run_id:
        return parent
    return artifact_uri


def _targets(uris: Sequence[str], owned_root: Optional[str], external: bool) -> list[ArtifactTarget]:
    return [ArtifactTarget(u, external or rules.artifacts_owned(u, owned_root)) for u in uris if u]


def plan_gc(
    store: TrackingStore,
    older_than: Optional[datetime.timedelta] = None,
    experiment_ids: Optional[Sequence[str]] = None,
    delete_external_artifacts: bool = False,
    now: Optional[int] = None,
) -> GcPlan:
    """List what gc removes: entities deleted more than ``older_than`` ago (None: every deleted one).

    Entities an interrupted gc began to purge are always included.  A deleted
    run of a deleted experiment that is itself due is removed with the
    experiment, not on its own.
    """
    require_purge_hook(store)
    cutoff = None if older_than is None else (now_ms() if now is None else now) - int(older_than.total_seconds() * 1000)
    listed = store.list_deleted(experiment_ids)
    due = [e for e in listed if rules.purge_due(e.deleted_time, e.purging, cutoff)]
    due_experiments = {e.entity_id for e in due if e.kind == "experiment"}
    owned_root = store.owned_artifact_root()
    items: list[GcItem] = []
    for entity in due:
        if entity.kind == "run":
            if entity.experiment_id in due_experiments:
                continue
            uris = [_run_target(entity.entity_id, entity.artifact_uri)]
            items.append(GcItem(entity, 1, _targets(uris, owned_root, delete_external_artifacts)))
            continue
        runs = _experiment_runs(store, entity.entity_id)
        if rules.artifacts_owned(entity.artifact_uri, owned_root) or delete_external_artifacts:
            location = entity.artifact_uri
            # the whole location goes; runs whose artifacts live elsewhere are listed on their own
            uris = [location] + [_run_target(r, u) for r, u in runs if not rules.artifacts_owned(u, location)]
        else:
            uris = [_run_target(r, u) for r, u in runs]
        items.append(GcItem(entity, len(runs), _targets(uris, owned_root, delete_external_artifacts)))
    return GcPlan(items, cutoff)


def _experiment_runs(store: TrackingStore, experiment_id: str) -> list[tuple[str, str]]:
    """``(run_id, artifact_uri)`` of every run of an experiment, active or deleted."""
    out: list[tuple[str, str]] = []
    token: Optional[str] = None
    while True:
        page = store.search_runs([experiment_id], view_type=ViewType.ALL, max_results=50_000, page_token=token)
        out += [(r.info.run_id, r.info.artifact_uri) for r in page]
        token = page.token
        if not token:
            return out


def _delete_tree(uri: str) -> None:
    """Delete the artifact tree at ``uri`` (its own directory included); absent trees are a no-op."""
    from .plugins import resolve_artifact_repository

    parent, name = _split_last(uri)
    repo = resolve_artifact_repository(parent) if parent and name else resolve_artifact_repository(uri)
    if Capability.DELETE_ARTIFACTS not in repo.capabilities:
        raise UnsupportedOperationError(
            f"artifacts at {uri}: {type(repo).__name__} cannot delete artifacts (no Capability.DELETE_ARTIFACTS); "
            "nothing was purged"
        )
    try:
        repo.delete_artifacts(name if parent and name else None)
    except ArtifactNotFound:
        pass


def run_gc(
    store: TrackingStore,
    plan: GcPlan,
    on_item: Optional[Callable[[GcItem], None]] = None,
    delete_tree: ArtifactRemover = _delete_tree,
) -> GcResult:
    """Remove every item of ``plan``: mark, delete owned artifacts, purge (see the module docs).

    An item that fails (its artifacts cannot be deleted, say) is left marked
    and reported; the others go on.  ``on_item`` is called after each item.
    """
    require_purge_hook(store)
    result = GcResult()
    for item in plan.items:
        try:
            store.begin_purge(item.entity)
            crash_point("gc-begun")
            for target in item.artifacts:
                if target.owned:
                    delete_tree(target.uri)
                    crash_point("gc-artifacts")
            store.purge(item.entity)
            crash_point("gc-purged")
        except StorekitError as exc:
            item.status, item.error = "failed", str(exc)
            result.failed += 1
        else:
            item.status = "removed"
            result.removed += 1
            result.runs_removed += item.runs
        if on_item is not None:
            on_item(item)
    return result
