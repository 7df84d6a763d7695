"""``storekit experiments``: list experiments."""

from __future__ import annotations

import click

from ..entities import ViewType
from ._output import client_from_context, collect_pages, format_time, handle_errors, print_json, print_table

__all__ = ["experiments"]

_VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


@click.group()
def experiments() -> None:
    """List, create, rename, delete and restore experiments."""


@experiments.command("list")
@click.option(
    "--view",
    type=click.Choice(sorted(_VIEWS)),
    default="active",
    show_default=True,
    help="Which lifecycle stages to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@handle_errors
def list_experiments(ctx: click.Context, view: str, as_json: bool) -> None:
    """List the experiments of the tracking store."""
    client = client_from_context(ctx)
    found = collect_pages(lambda token: client.search_experiments(view_type=_VIEWS[view], page_token=token))
    if as_json:
        print_json(found)
        return
    print_table(
        ("ID", "Name", "Lifecycle", "Artifact location", "Created"),
        (
            (e.experiment_id, e.name, e.lifecycle_stage, e.artifact_location, format_time(e.creation_time))
            for e in found
        ),
        title="Experiments",
    )


def _register() -> None:
    """Attach ``create``, ``rename``, ``delete`` and ``restore`` (storekit.cli.lifecycle)."""
    from .lifecycle import create_experiment, delete_experiment, rename_experiment, restore_experiment

    for command in (create_experiment, rename_experiment, delete_experiment, restore_experiment):
        experiments.add_command(command)


_register()
