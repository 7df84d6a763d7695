"""``storekit conformance URI``: run the conformance suite against a store.

Needs the ``storekit-conformance`` distribution.  Without ``--report`` the
JSON report is written to a new temporary file, whose path is printed.  Exits 0 exactly when
every required check passes (undeclared capabilities are skipped, known
deviations are expected failures).
"""

from __future__ import annotations

from typing import Optional

import click

__all__ = ["conformance"]

_INTERFACES = ("tracking", "artifacts", "registry", "context")


@click.command("conformance", context_settings={"ignore_unknown_options": True})
@click.argument("uri")
@click.option(
    "--interface",
    type=click.Choice(_INTERFACES),
    default=None,
    help="Which interface to check (default: tracking, registry and artifacts where the scheme has them). "
    "For 'context' the URI is a provider's entry-point name, or 'all'.",
)
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the JSON report to this file (default: a new temporary file).",
)
@click.option(
    "--large-file-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Size of the large-file artifact round trip in MiB.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def conformance(
    uri: str,
    interface: Optional[str],
    report: Optional[str],
    large_file_mb: Optional[int],
    pytest_args: tuple[str, ...],
) -> None:
    """Run the conformance suite against URI (extra arguments after -- go to pytest)."""
    try:
        from storekit_conformance.runner import run_conformance
    except ImportError as exc:
        raise click.ClickException("the conformance suite is not installed: pip install storekit-conformance") from exc
    if report is None:  # the suite prints where the report is: it must still be there afterwards
        import os
        import tempfile

        fd, report = tempfile.mkstemp(prefix="storekit-conformance-", suffix=".json")
        os.close(fd)
    result = run_conformance(
        interface, uri, report, large_file_mb=large_file_mb, extra_args=pytest_args, capture=False, timeout=None
    )
    raise SystemExit(0 if result.passed else 1)
