"""``storekit gc``: permanently remove deleted runs and experiments, with their artifacts.

See :mod:`storekit.gc` for the order of the steps (an interrupted gc is
finished by running it again) and which artifacts are deleted.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

import click

from ._output import client_from_context, format_time, print_json, print_table, to_jsonable
from ._output import handle_errors as _handle_errors

if TYPE_CHECKING:  # pragma: no cover
    from ..gc import GcItem, GcPlan

__all__ = ["gc"]


def _artifacts_cell(item: "GcItem", dry_run: bool) -> str:
    if not item.artifacts:
        return "none"
    parts = []
    for target in item.artifacts:
        verb = ("delete " if dry_run else "deleted ") if target.owned else "keep (not the store's) "
        parts.append(verb + target.uri)
    return "\n".join(parts)


def _status(item: "GcItem", dry_run: bool) -> str:
    if dry_run:
        return "would remove" + (" (gc interrupted)" if item.entity.purging else "")
    return item.status + (f": {item.error}" if item.error else "")


def _print_plan(plan: "GcPlan", dry_run: bool) -> None:
    rows = [
        (
            item.entity.kind,
            item.entity.entity_id,
            item.entity.name,
            item.entity.experiment_id,
            format_time(item.entity.deleted_time)
            if item.entity.deleted_time is not None
            else "unknown (before upgrade)",
            item.runs,
            _artifacts_cell(item, dry_run),
            _status(item, dry_run),
        )
        for item in plan.items
    ]
    title = "storekit gc --dry-run: would remove" if dry_run else "storekit gc: removed"
    print_table(
        ("Kind", "ID", "Name", "Experiment", "Deleted", "Runs", "Artifacts", "Status"),
        rows,
        title=title,
        empty="nothing to remove",
    )


def _json(plan: "GcPlan", dry_run: bool) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "cutoff": plan.cutoff,
        "items": [
            {
                "kind": item.entity.kind,
                "id": item.entity.entity_id,
                "experiment_id": item.entity.experiment_id,
                "name": item.entity.name,
                "deleted_time": item.entity.deleted_time,
                "resumed": item.entity.purging,
                "runs": item.runs,
                "artifacts": [{"uri": t.uri, "action": "delete" if t.owned else "keep"} for t in item.artifacts],
                "status": "would remove" if dry_run else item.status,
                "error": item.error,
            }
            for item in plan.items
        ],
        "removed": 0 if dry_run else sum(1 for i in plan.items if i.status == "removed"),
        "failed": 0 if dry_run else sum(1 for i in plan.items if i.status == "failed"),
    }


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[["GcItem"], None]]:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    if not enabled or total == 0 or not sys.stderr.isatty():
        yield lambda item: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("purging"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("gc", total=total)
        yield lambda item: bar.update(task, advance=1)


@click.command("gc")
@click.option(
    "--older-than",
    default=None,
    metavar="AGE",
    help="Only what was deleted more than AGE ago (30d, 12h, 90m, 2w; default: everything deleted).",
)
@click.option(
    "--experiment-ids",
    "experiment_ids",
    multiple=True,
    metavar="ID[,ID...]",
    help="Only these experiments (and deleted runs in them); repeatable or comma-separated.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@click.option(
    "--delete-external-artifacts",
    is_flag=True,
    help="Also delete artifacts outside the store's own artifact root (default: keep them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
@_handle_errors
def gc(
    ctx: click.Context,
    older_than: Optional[str],
    experiment_ids: Sequence[str],
    dry_run: bool,
    delete_external_artifacts: bool,
    as_json: bool,
) -> None:
    """Permanently remove deleted runs and experiments, and their artifacts.

    Removes what was deleted (``runs delete``, ``experiments delete``) more than
    --older-than ago.  An interrupted gc is finished by running it again.
    Exits 1 when an item could not be removed.
    """
    from .. import rules
    from ..gc import plan_gc, run_gc

    age = rules.parse_age(older_than, "--older-than") if older_than is not None else None
    ids = [i.strip() for chunk in experiment_ids for i in chunk.split(",") if i.strip()] or None
    client = client_from_context(ctx)
    store = client.store
    plan = plan_gc(store, age, ids, delete_external_artifacts=delete_external_artifacts)
    failed = 0
    if not dry_run:
        with _progress(len(plan.items), not as_json) as tick:
            failed = run_gc(store, plan, on_item=tick).failed
    if as_json:
        print_json(to_jsonable(_json(plan, dry_run)))
    else:
        _print_plan(plan, dry_run)
    if failed:
        sys.exit(1)
