"""``storekit runs``: list, show and search runs (more commands: run_data, run_plot, lifecycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import click

from ..entities import FileInfo, Run
from ..errors import ExperimentNotFound, InvalidParameterError, StorekitError
from ._output import (
    client_from_context,
    collect_pages,
    format_time,
    format_value,
    handle_errors,
    print_fields,
    print_json,
    print_table,
    redact_message,
    to_jsonable,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..client import TrackingClient

__all__ = ["runs", "resolve_experiment_ids", "walk_artifacts", "MAX_ARTIFACT_ENTRIES"]

#: ``runs show`` lists at most this many artifact entries.
MAX_ARTIFACT_ENTRIES = 500
#: How many metrics/params a list row summarises.
_SUMMARY_ITEMS = 4


def resolve_experiment_ids(client: "TrackingClient", names_or_ids: Sequence[str]) -> list[str]:
    """Experiment ids for names or ids (a name wins when both could match)."""
    ids = []
    for value in names_or_ids:
        experiment = client.get_experiment_by_name(value)
        if experiment is None:
            try:
                experiment = client.get_experiment(value)
            except (ExperimentNotFound, InvalidParameterError):
                raise ExperimentNotFound(f"no experiment with name or id {value!r}") from None
        ids.append(experiment.experiment_id)
    return ids


def walk_artifacts(client: "TrackingClient", run_id: str, limit: int = MAX_ARTIFACT_ENTRIES) -> list[FileInfo]:
    """Every artifact entry of a run, depth first, at most ``limit`` entries."""
    repo = client.artifact_repository(run_id)
    found: list[FileInfo] = []
    pending: list[Optional[str]] = [None]
    while pending and len(found) < limit:
        for info in repo.list_artifacts(pending.pop()):
            found.append(info)
            if info.is_dir:
                pending.append(info.path)
    found.sort(key=lambda i: i.path)
    return found[:limit]


def _summary(values: dict[str, Any]) -> str:
    items = sorted(values.items())
    text = ", ".join(f"{k}={format_value(v)}" for k, v in items[:_SUMMARY_ITEMS])
    return text + (f", ... (+{len(items) - _SUMMARY_ITEMS})" if len(items) > _SUMMARY_ITEMS else "")


def _duration(run: Run) -> str:
    if run.info.start_time is None or run.info.end_time is None:
        return ""
    return f"{(run.info.end_time - run.info.start_time) / 1000:.1f}s"


def _parent(run: Run) -> Optional[str]:
    from ..fluent import PARENT_RUN_ID_TAG

    return run.data.tags.get(PARENT_RUN_ID_TAG)


def _print_runs(found: list[Run], as_json: bool, title: str, tree: bool = False) -> None:
    if tree:
        from .run_tree import print_run_tree

        print_run_tree(found, as_json, title)
        return
    if as_json:
        print_json(found)
        return
    print_table(
        ("Run ID", "Name", "Status", "Parent", "Started", "Duration", "Metrics", "Params"),
        (
            (
                r.info.run_id,
                r.info.run_name,
                r.info.status,
                _parent(r),
                format_time(r.info.start_time),
                _duration(r),
                _summary(r.data.metrics),
                _summary(r.data.params),
            )
            for r in found
        ),
        title=title,
    )


@click.group()
def runs() -> None:
    """List, show, search, compare, export and plot runs; delete and restore them."""


_experiment_option = click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    required=True,
    metavar="NAME_OR_ID",
    help="Experiment name or id (repeatable).",
)
_max_results_option = click.option(
    "--max-results", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many runs."
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")


def _search(
    ctx: click.Context,
    experiments: Sequence[str],
    filter_string: Optional[str],
    order_by: Sequence[str],
    max_results: int,
) -> list[Run]:
    client = client_from_context(ctx)
    ids = resolve_experiment_ids(client, experiments)
    return collect_pages(
        lambda token: client.search_runs(
            ids,
            filter_string=filter_string,
            max_results=min(max_results, 1000),
            order_by=list(order_by) or None,
            page_token=token,
        ),
        limit=max_results,
    )


@runs.command("list")
@_experiment_option
@_max_results_option
@click.option("--tree", is_flag=True, help="Show nested runs under their parent run.")
@_json_option
@click.pass_context
@handle_errors
def list_runs(ctx: click.Context, experiments: Sequence[str], max_results: int, tree: bool, as_json: bool) -> None:
    """List the runs of an experiment, newest first (Parent: the run a nested run belongs to)."""
    _print_runs(_search(ctx, experiments, None, (), max_results), as_json, "Runs", tree=tree)


@runs.command("search")
@_experiment_option
@click.option(
    "--filter", "filter_string", default=None, help="Filter, e.g. \"metrics.acc > 0.9 AND params.lr = '0.1'\"."
)
@click.option("--order-by", multiple=True, help='Sort key, e.g. "metrics.acc DESC" (repeatable).')
@_max_results_option
@_json_option
@click.pass_context
@handle_errors
def search_runs(
    ctx: click.Context,
    experiments: Sequence[str],
    filter_string: Optional[str],
    order_by: Sequence[str],
    max_results: int,
    as_json: bool,
) -> None:
    """Search the runs of experiments with a filter and an order."""
    _print_runs(_search(ctx, experiments, filter_string, order_by, max_results), as_json, "Runs")


@runs.command("show")
@click.argument("run_id")
@_json_option
@click.pass_context
@handle_errors
def show_run(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show a run: info, params, latest metrics, tags and artifacts."""
    client = client_from_context(ctx)
    run = client.get_run(run_id)
    artifacts_error: Optional[str] = None
    try:
        artifacts = walk_artifacts(client, run_id)
    except StorekitError as exc:  # the run is still worth showing without its artifact listing
        artifacts, artifacts_error = [], redact_message(" ".join(str(exc).split()))
    if as_json:
        payload = to_jsonable(run)
        payload["artifacts"] = to_jsonable(artifacts)
        if artifacts_error:
            payload["artifacts_error"] = artifacts_error
        print_json(payload)
        return
    info = run.info
    print_fields(
        [
            ("run_id", info.run_id),
            ("run_name", info.run_name),
            ("experiment_id", info.experiment_id),
            ("status", info.status),
            ("user_id", info.user_id),
            ("start_time", format_time(info.start_time)),
            ("end_time", format_time(info.end_time)),
            ("duration", _duration(run)),
            ("lifecycle_stage", info.lifecycle_stage),
            ("artifact_uri", info.artifact_uri),
        ],
        title=f"Run {info.run_id}",
    )
    print_table(("Param", "Value"), sorted(run.data.params.items()), title="Params")
    print_table(("Metric", "Latest value"), sorted(run.data.metrics.items()), title="Metrics")
    print_table(("Tag", "Value"), sorted(run.data.tags.items()), title="Tags")
    if artifacts_error:
        click.echo(f"Artifacts: unavailable ({artifacts_error})")
    else:
        print_table(
            ("Path", "Type", "Size"),
            ((a.path, "dir" if a.is_dir else "file", a.file_size) for a in artifacts),
            title="Artifacts",
        )


def _register() -> None:
    """Attach the commands that live in modules of their own (issue 14's everyday commands)."""
    from .lifecycle import delete_runs, restore_runs
    from .run_data import compare, export, history
    from .run_plot import plot

    for command in (history, export, compare, plot, delete_runs, restore_runs):
        runs.add_command(command)


_register()
