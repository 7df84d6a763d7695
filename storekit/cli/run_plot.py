"""``storekit runs plot``: metric curves of runs, as an image file or in the terminal.

With ``-o chart.png|.svg|.pdf`` it draws one panel per metric and one line
per run with matplotlib (``storekit[plot]``).  Without ``-o`` it prints a
compact table of sparklines: one row per (metric, run), all runs of a metric
on the same scale, with the first, last, minimum and maximum values.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import click

from ..errors import InvalidParameterError
from ._output import client_from_context, display_text, handle_errors, print_table

__all__ = ["plot"]


@click.command("plot")
@click.argument("run_ids", nargs=-1, required=True)
@click.option(
    "--metric", "-m", "metrics", multiple=True, required=True, metavar="KEY", help="Metric key to draw (repeatable)."
)
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="Image file (.png, .svg or .pdf); default: a chart in the terminal.",
)
@click.option(
    "--x",
    "x_axis",
    type=click.Choice(["step", "time"]),
    default="step",
    show_default=True,
    help="What the x axis shows.",
)
@click.option(
    "--width",
    type=click.IntRange(min=8, max=400),
    default=60,
    show_default=True,
    help="Terminal chart width in characters.",
)
@click.pass_context
@handle_errors
def plot(
    ctx: click.Context, run_ids: Sequence[str], metrics: Sequence[str], output: Optional[str], x_axis: str, width: int
) -> None:
    """Draw metric curves of runs: one line per run, step or wall time on x."""
    from ..plotting import PLOT_SUFFIXES, plot_histories, series_of, sparkline

    if output is not None and not output.lower().endswith(PLOT_SUFFIXES):
        raise InvalidParameterError(f"--output: {output!r} must end in one of {', '.join(PLOT_SUFFIXES)}")
    client = client_from_context(ctx)
    runs = {r: client.get_run(r) for r in dict.fromkeys(run_ids)}
    labels = {r: (run.info.run_name or r[:8]) for r, run in runs.items()}
    histories = client.get_metric_histories(list(runs), list(dict.fromkeys(metrics)), output_format="list")
    if output is not None:
        plot_histories(histories, list(dict.fromkeys(metrics)), list(runs), labels, output, x=x_axis)
        click.echo(display_text(f"wrote {output}"), err=True)
        return
    series = series_of(histories)
    rows: list[tuple[object, ...]] = []
    for key in dict.fromkeys(metrics):
        per_run = series.get(key, {})
        finite = [v for (_, _, vals) in per_run.values() for v in vals if math.isfinite(v)]
        low, high = (min(finite), max(finite)) if finite else (None, None)
        for run_id in runs:
            steps, _, values = per_run.get(run_id, ([], [], []))
            if not values:
                rows.append((key, labels[run_id], "", None, None, "(no points)"))
                continue
            rows.append(
                (
                    key,
                    labels[run_id],
                    f"{steps[0]}..{steps[-1]}",
                    values[0],
                    values[-1],
                    sparkline(values, width, low, high),
                )
            )
    print_table(
        ("Metric", "Run", "Steps", "First", "Last", "Curve (by step; shared scale per metric)"),
        rows,
        title="Metric curves",
    )
