"""Metric curves: a matplotlib figure file, or compact text sparklines for the terminal.

:func:`plot_histories` draws one panel per metric key and, in each, one line
per run (x: step, or wall time), with axis labels and a legend naming the
runs; it writes PNG, SVG or PDF (by the file's suffix) with matplotlib's Agg
backend, so no display is needed.  matplotlib is optional
(``pip install 'storekit[plot]'``; :class:`~storekit.errors.MissingExtraError` otherwise).

:func:`sparkline` renders a series in block characters (``▁▂▃▄▅▆▇█``) on a
given scale; it needs nothing beyond the standard library.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from typing import Any, Mapping, Optional, Sequence

from .errors import InvalidParameterError
from .histories import MetricHistories

__all__ = ["PLOT_SUFFIXES", "X_AXES", "series_of", "plot_histories", "sparkline", "SPARK_CHARS"]

#: File types :func:`plot_histories` writes.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
#: What the x axis can show.
X_AXES = ("step", "time")
#: The levels of a sparkline, lowest first.
SPARK_CHARS = "▁▂▃▄▅▆▇█"


def series_of(histories: MetricHistories) -> dict[str, dict[str, tuple[list[int], list[int], list[float]]]]:
    """``{key: {run_id: (steps, timestamps, values)}}`` from a bulk history, points in order."""
    out: dict[str, dict[str, tuple[list[int], list[int], list[float]]]] = {}
    for run_id, key, step, stamp, value in zip(
        histories.run_id, histories.key, histories.step, histories.timestamp, histories.value
    ):
        steps, stamps, values = out.setdefault(key, {}).setdefault(run_id, ([], [], []))
        steps.append(step)
        stamps.append(stamp)
        values.append(value)
    return out


def plot_histories(
    histories: MetricHistories,
    keys: Sequence[str],
    run_ids: Sequence[str],
    labels: Mapping[str, str],
    path: "str | os.PathLike[str]",
    x: str = "step",
) -> None:
    """Write the curves of ``keys`` for ``run_ids`` to ``path`` (one panel per key, one line per run).

    ``labels`` maps run ids to legend names.  Each line carries the SVG id
    ``run-<run_id>-<key>`` (a ``<g>`` element in an SVG file).
    """
    from .frames import require

    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in PLOT_SUFFIXES:
        raise InvalidParameterError(f"output: {suffix or 'no suffix'} is not one of {', '.join(PLOT_SUFFIXES)}")
    if x not in X_AXES:
        raise InvalidParameterError(f"x: {x!r} is not one of {', '.join(X_AXES)}")
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # the object API: no pyplot state, no display backend

    series = series_of(histories)
    fig = Figure(figsize=(8, 3.2 * len(keys)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(keys), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys):
        for run_id in run_ids:
            steps, stamps, values = series.get(key, {}).get(run_id, ([], [], []))
            xs: Sequence[Any] = (
                steps if x == "step" else [_dt.datetime.fromtimestamp(t / 1000, tz=_dt.timezone.utc) for t in stamps]
            )
            (line,) = ax.plot(xs, values, label=labels.get(run_id, run_id), marker="." if len(values) < 30 else None)
            line.set_gid(f"run-{run_id}-{key}")
        ax.set_title(key)
        ax.set_xlabel("step" if x == "step" else "time (UTC)")
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    with _svg_text():
        fig.savefig(os.fspath(path))


class _svg_text:
    """Keep SVG text as ``<text>`` elements (searchable, accessible) while saving."""

    def __enter__(self) -> None:
        import matplotlib

        self._old = matplotlib.rcParams["svg.fonttype"]
        matplotlib.rcParams["svg.fonttype"] = "none"

    def __exit__(self, *exc: object) -> None:
        import matplotlib

        matplotlib.rcParams["svg.fonttype"] = self._old


def sparkline(
    values: Sequence[float], width: int = 40, low: Optional[float] = None, high: Optional[float] = None
) -> str:
    """``values`` resampled to at most ``width`` cells of block characters, scaled to ``[low, high]``.

    Non-finite values are shown as spaces.  ``low``/``high`` default to the
    series' own finite minimum and maximum.
    """
    if not values or width < 1:
        return ""
    n = len(values)
    cells = min(width, n)
    buckets = [values[i * n // cells : (i + 1) * n // cells] or [values[-1]] for i in range(cells)]
    means = []
    for bucket in buckets:
        finite = [v for v in bucket if math.isfinite(v)]
        means.append(sum(finite) / len(finite) if finite else math.nan)
    finite_all = [v for v in values if math.isfinite(v)]
    lo = low if low is not None else (min(finite_all) if finite_all else 0.0)
    hi = high if high is not None else (max(finite_all) if finite_all else 1.0)
    span = hi - lo
    out = []
    for v in means:
        if not math.isfinite(v):
            out.append(" ")
        elif span <= 0:
            out.append(SPARK_CHARS[len(SPARK_CHARS) // 2])
        else:
            level = int((v - lo) / span * (len(SPARK_CHARS) - 1) + 0.5)
            out.append(SPARK_CHARS[max(0, min(len(SPARK_CHARS) - 1, level))])
    return "".join(out)
