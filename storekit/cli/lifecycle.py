"""``storekit runs delete|restore`` and ``storekit experiments create|rename|delete|restore``.

Registered on the ``runs`` and ``experiments`` groups.  These write, but to
an existing store only (``create_stores=False``: a mistyped URI is an error,
never a new store) -- except ``experiments create``, which may start a store.
Deleting is soft (lifecycle stage ``deleted``): nothing is removed, and
``restore`` brings the entity back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import click

from ._output import client_from_context, display_text, handle_errors

if TYPE_CHECKING:  # pragma: no cover
    from ..client import TrackingClient

__all__ = [
    "delete_runs",
    "restore_runs",
    "create_experiment",
    "rename_experiment",
    "delete_experiment",
    "restore_experiment",
]


def _done(message: str) -> None:
    click.echo(display_text(message))


@click.command("delete")
@click.argument("run_ids", nargs=-1, required=True)
@click.pass_context
@handle_errors
def delete_runs(ctx: click.Context, run_ids: Sequence[str]) -> None:
    """Mark runs deleted (hidden from listings; ``runs restore`` brings them back)."""
    client = client_from_context(ctx)
    for run_id in run_ids:
        client.delete_run(run_id)
        _done(f"deleted run {run_id}")


@click.command("restore")
@click.argument("run_ids", nargs=-1, required=True)
@click.pass_context
@handle_errors
def restore_runs(ctx: click.Context, run_ids: Sequence[str]) -> None:
    """Bring deleted runs back."""
    client = client_from_context(ctx)
    for run_id in run_ids:
        client.restore_run(run_id)
        _done(f"restored run {run_id}")


def _experiment_id(client: "TrackingClient", name_or_id: str) -> str:
    from .runs import resolve_experiment_ids

    return resolve_experiment_ids(client, [name_or_id])[0]


@click.command("create")
@click.argument("name")
@click.option("--artifact-location", default=None, help="Artifact root of the experiment's runs.")
@click.pass_context
@handle_errors
def create_experiment(ctx: click.Context, name: str, artifact_location: Optional[str]) -> None:
    """Create an experiment and print its id."""
    client = client_from_context(ctx, create_stores=True)
    experiment_id = client.create_experiment(name, artifact_location=artifact_location)
    _done(f"created experiment {name!r} with id {experiment_id}")


@click.command("rename")
@click.argument("experiment")
@click.argument("new_name")
@click.pass_context
@handle_errors
def rename_experiment(ctx: click.Context, experiment: str, new_name: str) -> None:
    """Rename EXPERIMENT (a name or an id) to NEW_NAME."""
    client = client_from_context(ctx)
    experiment_id = _experiment_id(client, experiment)
    client.rename_experiment(experiment_id, new_name)
    _done(f"renamed experiment {experiment_id} to {new_name!r}")


@click.command("delete")
@click.argument("experiment")
@click.pass_context
@handle_errors
def delete_experiment(ctx: click.Context, experiment: str) -> None:
    """Mark an experiment (a name or an id) and its runs deleted."""
    client = client_from_context(ctx)
    experiment_id = _experiment_id(client, experiment)
    client.delete_experiment(experiment_id)
    _done(f"deleted experiment {experiment_id}")


@click.command("restore")
@click.argument("experiment")
@click.pass_context
@handle_errors
def restore_experiment(ctx: click.Context, experiment: str) -> None:
    """Bring a deleted experiment (a name or an id) back."""
    client = client_from_context(ctx)
    experiment_id = _experiment_id(client, experiment)
    client.restore_experiment(experiment_id)
    _done(f"restored experiment {experiment_id}")
