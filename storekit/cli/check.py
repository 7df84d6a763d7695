"""``storekit check URI [--repair] [--json]``: verify (and repair) a store's integrity.

Prints a table of findings and the number of items examined (or the report
as JSON with ``--json``).  Exits 0 when the store is consistent (after the
repair, with ``--repair``), 1 when an error remains or the check could not run.
"""

from __future__ import annotations

import sys
from typing import Optional

import click

from ._output import handle_errors, print_json, print_table

__all__ = ["check"]


@click.command("check")
@click.argument("uri", required=False)
@click.option("--repair", is_flag=True, help="Remove or roll back what crashed writers left behind (file stores).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
@handle_errors
def check(ctx: click.Context, uri: Optional[str], repair: bool, as_json: bool) -> None:
    """Verify the integrity of the store at URI (default: the tracking URI)."""
    from ..config import default_tracking_uri
    from ..integrity import check_store

    obj = ctx.find_root().obj or {}
    target = uri or obj.get("tracking_uri") or default_tracking_uri()
    report = check_store(target, repair=repair)
    if as_json:
        print_json(report.to_dict())
    else:
        mode = " (repair)" if repair else ""
        print_table(
            ["severity", "location", "problem", "repaired"],
            [(f.severity, f.location, f.message, "yes" if f.repaired else "") for f in report.findings],
            title=f"storekit check{mode}: {report.uri} ({report.backend})",
            empty="no problems found",
        )
        print_table(["checked", "count"], sorted(report.checked.items()), title="examined")
        left = len(report.problems)
        click.echo(
            "OK: the store is consistent" if report.ok else f"FAILED: {left} problem{'s' if left != 1 else ''} remain"
        )
    if not report.ok:
        sys.exit(1)
