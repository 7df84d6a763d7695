"""``storekit plugins``: list installed implementations per interface.

Without ``--load`` nothing but package metadata is read; with ``--load``
each serving entry point is imported and checked.  The exit status is 1
when any implementation is in error (an import failure, an incompatible
API version, or two distributions claiming one scheme), else 0.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional, Sequence

import click

if TYPE_CHECKING:  # pragma: no cover
    from storekit.plugins import ImplementationInfo, Interface

__all__ = ["plugins"]

_STATUS_STYLES = (("ok", "green"), ("error", "bold red"), ("shadowed", "dim"), ("not loaded", "cyan"))


def _print_tables(infos: Sequence["ImplementationInfo"], interfaces: Sequence["Interface"]) -> None:
    from rich.table import Table
    from rich.text import Text

    from ._output import console as make_console

    console = make_console()
    for iface in interfaces:
        table = Table(title=f"{iface.label} ({iface.group})", title_justify="left", expand=False)
        first = "provider" if iface.key == "context" else "scheme"
        for column in (first, "distribution", "version", "entry point", "status"):
            table.add_column(column, overflow="fold")
        rows = [info for info in infos if info.interface == iface.key]
        for info in rows:
            style = next((s for prefix, s in _STATUS_STYLES if info.status.startswith(prefix)), "")
            distribution = info.distribution + (" (built-in)" if info.builtin else "")
            table.add_row(
                Text(info.scheme),
                Text(distribution),
                Text(info.version),
                Text(info.entry_point),
                Text(info.status, style=style),
            )
        if not rows:
            table.add_row(Text("(none installed)", style="dim"), "", "", "", "")
        console.print(table)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--load", is_flag=True, help="Import each implementation to report whether it loads.")
@click.option(
    "--interface",
    type=click.Choice(["tracking", "artifacts", "registry", "context"]),
    default=None,
    help="Only this interface.",
)
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, load: bool, interface: Optional[str]) -> None:
    """List installed storage implementations per interface."""
    from storekit import __version__
    from storekit.interfaces import STOREKIT_API
    from storekit.plugins import INTERFACES, list_implementations

    from ._output import print_json

    infos = list_implementations(interface, load=load)
    if as_json:
        payload = {
            "storekit_version": __version__,
            "storekit_api": STOREKIT_API,
            "implementations": [dataclasses.asdict(info) for info in infos],
        }
        print_json(payload)
    else:
        chosen = [INTERFACES[interface]] if interface else list(INTERFACES.values())
        _print_tables(infos, chosen)
    if any(info.status.startswith("error") for info in infos):
        ctx.exit(1)
