"""``storekit runs history|export|compare``: a metric's history, runs as a file, runs side by side.

Registered on the ``runs`` group (see :mod:`storekit.cli.runs`).  They only
read: stores are opened with ``create_stores=False``.  Every value read from
a store reaches the terminal or the file through :mod:`storekit.cli._output`
(:func:`print_table`, :func:`print_json`, :func:`to_jsonable`), so credentials
are redacted and control characters escaped.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any, Optional, Sequence

import click

from ..entities import Run
from ..errors import InvalidParameterError
from ._output import (
    client_from_context,
    collect_pages,
    format_time,
    handle_errors,
    print_json,
    print_table,
    to_jsonable,
)

__all__ = ["history", "export", "compare", "EXPORT_FORMATS", "comparison"]

#: ``runs export --format`` choices.
EXPORT_FORMATS = ("csv", "parquet", "jsonl")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.command("history")
@click.argument("run_id")
@click.argument("key")
@_json_option
@click.pass_context
@handle_errors
def history(ctx: click.Context, run_id: str, key: str, as_json: bool) -> None:
    """Every logged point of metric KEY of a run, by step."""
    client = client_from_context(ctx)
    points = collect_pages(lambda token: client.get_metric_history(run_id, key, max_results=10_000, page_token=token))
    if as_json:
        print_json([{"step": m.step, "timestamp": m.timestamp, "value": m.value} for m in points])
        return
    print_table(
        ("Step", "Time", "Value"),
        ((m.step, format_time(m.timestamp), m.value) for m in points),
        title=f"{key} of run {run_id}",
    )


def _all_runs(ctx: click.Context, experiments: Sequence[str], filter_string: Optional[str]) -> list[Run]:
    from .runs import resolve_experiment_ids

    client = client_from_context(ctx)
    ids = resolve_experiment_ids(client, experiments)
    return collect_pages(
        lambda token: client.search_runs(ids, filter_string=filter_string, max_results=1000, page_token=token)
    )


def _clean_columns(runs: list[Run]) -> dict[str, list[Any]]:
    """The runs table's columns with every string redacted (:func:`to_jsonable`), times in ms."""
    from ..frames import run_columns

    return {
        name: [to_jsonable(v) if isinstance(v, str) else v for v in values]
        for name, values in run_columns(runs).items()
    }


@click.command("export")
@click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    required=True,
    metavar="NAME_OR_ID",
    help="Experiment name or id (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="csv",
    show_default=True,
    help="File format (parquet needs storekit[arrow]).",
)
@click.option("--filter", "filter_string", default=None, help="Only the runs matching this filter.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write here (default: stdout; parquet needs a file).",
)
@click.pass_context
@handle_errors
def export(
    ctx: click.Context, experiments: Sequence[str], fmt: str, filter_string: Optional[str], output: Optional[str]
) -> None:
    """Write every run of experiments as a table: one row per run; params.*, metrics.*, tags.* columns."""
    if fmt == "parquet" and output is None:
        raise InvalidParameterError("--output: parquet is binary; give a file with -o/--output")
    cols = _clean_columns(_all_runs(ctx, experiments, filter_string))
    names = list(cols)
    n = len(cols["run_id"])
    if fmt == "parquet":
        from ..frames import require, table_from_columns

        require("pyarrow")
        parquet = require("pyarrow.parquet")
        parquet.write_table(table_from_columns(cols, "arrow"), output)
        click.echo(f"wrote {n} runs to {output}", err=True)
        return
    buffer = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(buffer)
        writer.writerow(names)
        for i in range(n):
            writer.writerow(["" if cols[c][i] is None else to_jsonable(cols[c][i]) for c in names])
    else:
        for i in range(n):
            buffer.write(json.dumps({c: to_jsonable(cols[c][i]) for c in names}) + "\n")
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(buffer.getvalue())
        click.echo(f"wrote {n} runs to {output}", err=True)


def comparison(runs: Sequence[Run]) -> list[tuple[str, list[Any], bool]]:
    """``(name, value per run, differs)`` rows: ``params.*`` then latest ``metrics.*``, sorted by key."""
    rows = []
    for prefix, attr in (("params", "params"), ("metrics", "metrics")):
        keys = sorted({k for r in runs for k in getattr(r.data, attr)})
        for key in keys:
            values = [getattr(r.data, attr).get(key) for r in runs]
            differs = len({repr(v) for v in values}) > 1
            rows.append((f"{prefix}.{key}", values, differs))
    return rows


@click.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@_json_option
@click.pass_context
@handle_errors
def compare(ctx: click.Context, run_ids: Sequence[str], as_json: bool) -> None:
    """Params and latest metrics of runs side by side; rows that differ are marked and highlighted."""
    if len(run_ids) < 2:
        raise InvalidParameterError("RUN_IDS: give at least 2 runs to compare")
    client = client_from_context(ctx)
    runs = [client.get_run(r) for r in run_ids]
    rows = comparison(runs)
    if as_json:
        print_json(
            {
                "runs": [{"run_id": r.info.run_id, "run_name": r.info.run_name} for r in runs],
                "rows": [{"name": name, "values": values, "differs": differs} for name, values, differs in rows],
            }
        )
        return
    headers = ["", "Name"] + [r.info.run_id for r in runs]  # ids are hex: safe as headers
    names_row = ["", "run_name", *(r.info.run_name for r in runs)]
    print_table(
        headers,
        [names_row, *([("≠" if differs else ""), name, *values] for name, values, differs in rows)],
        title=f"Comparing {len(runs)} runs (≠: values differ)",
        row_styles=[None, *("bold yellow" if differs else None for _, _, differs in rows)],
    )
