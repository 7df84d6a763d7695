"""Runs and metric histories as pandas DataFrames or Arrow tables.

pandas and pyarrow are optional: ``pip install 'storekit[pandas]'`` (both) or
``'storekit[arrow]'`` (pyarrow only).  Asking for a format whose library is
missing raises :class:`MissingExtraError` naming the extra to install.

A runs table has one row per run: the attribute columns
(:data:`RUN_ATTRIBUTE_COLUMNS`; ``start_time``/``end_time`` as UTC
timestamps, like MLflow's ``search_runs``) then ``params.<key>``,
``metrics.<key>`` (latest values) and ``tags.<key>`` columns, each group
sorted by key; a run without a key has a missing value there.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterable, Literal, Union

from .entities import Run
from .errors import InvalidParameterError, MissingExtraError
from .histories import HISTORY_COLUMNS, MetricHistories

__all__ = [
    "MissingExtraError",
    "OutputFormat",
    "OUTPUT_FORMATS",
    "RUN_ATTRIBUTE_COLUMNS",
    "check_output_format",
    "require",
    "runs_table",
    "run_columns",
    "table_from_columns",
    "histories_table",
    "arrow_histories_table",
]

#: ``output_format`` values: storekit's own objects, a pandas DataFrame, a pyarrow Table.
OutputFormat = Literal["list", "pandas", "arrow"]
#: Every accepted ``output_format``.
OUTPUT_FORMATS = ("list", "pandas", "arrow")
#: The attribute columns of a runs table, in order.
RUN_ATTRIBUTE_COLUMNS = (
    "run_id",
    "experiment_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
    "lifecycle_stage",
    "user_id",
)
_EXTRA = {"pandas": "pandas", "pyarrow": "arrow", "pyarrow.parquet": "arrow", "matplotlib": "plot"}


def require(module: str) -> Any:
    """Import an optional library or raise :class:`MissingExtraError` naming its extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = _EXTRA.get(module, module)
        raise MissingExtraError(
            f"{module} is not installed; install it with: pip install 'storekit[{extra}]'"
        ) from None


def check_output_format(value: object) -> str:
    """The output format, or InvalidParameterError naming ``output_format`` and the choices."""
    if value not in OUTPUT_FORMATS:
        raise InvalidParameterError(f"output_format: {value!r} is not one of {', '.join(OUTPUT_FORMATS)}")
    return str(value)


def run_columns(runs: Iterable[Run]) -> dict[str, list[Any]]:
    """The columns of a runs table as plain lists (times in ms since the epoch, ``None`` where missing)."""
    runs = list(runs)
    cols: dict[str, list[Any]] = {name: [] for name in RUN_ATTRIBUTE_COLUMNS}
    params = sorted({k for r in runs for k in r.data.params})
    metrics = sorted({k for r in runs for k in r.data.metrics})
    tags = sorted({k for r in runs for k in r.data.tags})
    for run in runs:
        info = run.info
        cols["run_id"].append(info.run_id)
        cols["experiment_id"].append(info.experiment_id)
        cols["run_name"].append(info.run_name)
        cols["status"].append(getattr(info.status, "value", str(info.status)))
        cols["start_time"].append(info.start_time)
        cols["end_time"].append(info.end_time)
        cols["artifact_uri"].append(info.artifact_uri)
        cols["lifecycle_stage"].append(getattr(info.lifecycle_stage, "value", str(info.lifecycle_stage)))
        cols["user_id"].append(info.user_id)
    for prefix, names, attr in (("params", params, "params"), ("metrics", metrics, "metrics"), ("tags", tags, "tags")):
        for name in names:
            cols[f"{prefix}.{name}"] = [getattr(r.data, attr).get(name) for r in runs]
    return cols


def runs_table(runs: Iterable[Run], output_format: str) -> Any:
    """Runs as a pandas DataFrame (``"pandas"``) or a pyarrow Table (``"arrow"``)."""
    return table_from_columns(run_columns(runs), output_format)


def table_from_columns(cols: dict[str, list[Any]], output_format: str) -> Any:
    """:func:`run_columns`-shaped columns as a DataFrame or an Arrow table (metrics float, times UTC)."""
    fmt = check_output_format(output_format)
    if fmt == "pandas":
        pd = require("pandas")
        frame = pd.DataFrame(cols, columns=list(cols))
        for name in ("start_time", "end_time"):
            frame[name] = pd.to_datetime(frame[name], unit="ms", utc=True)
        for name in cols:
            if name.startswith("metrics."):
                frame[name] = frame[name].astype("float64")
        return frame
    if fmt == "arrow":
        pa = require("pyarrow")
        types = {name: pa.string() for name in cols}
        types["start_time"] = types["end_time"] = pa.timestamp("ms", tz="UTC")
        for name in cols:
            if name.startswith("metrics."):
                types[name] = pa.float64()
        return pa.table({name: pa.array(values, type=types[name]) for name, values in cols.items()})
    raise InvalidParameterError("output_format: 'list' has no table form")


def histories_table(histories: MetricHistories, output_format: str) -> Union[MetricHistories, Any]:
    """A bulk history as a DataFrame, an Arrow table, or (``"list"``) unchanged."""
    fmt = check_output_format(output_format)
    if fmt == "list":
        return histories
    cols = histories.columns()
    if fmt == "pandas":
        pd = require("pandas")
        return pd.DataFrame(
            {
                "run_id": pd.Series(cols["run_id"], dtype="object"),
                "key": pd.Series(cols["key"], dtype="object"),
                "step": pd.Series(cols["step"], dtype="int64"),
                "timestamp": pd.Series(cols["timestamp"], dtype="int64"),
                "value": pd.Series(cols["value"], dtype="float64"),
            },
            columns=list(HISTORY_COLUMNS),
        )
    pa = require("pyarrow")
    from .history_table import history_schema

    return pa.table(
        {
            "run_id": pa.array(cols["run_id"], type=pa.string()).dictionary_encode(),
            "key": pa.array(cols["key"], type=pa.string()).dictionary_encode(),
            "step": pa.array(cols["step"], type=pa.int64()),
            "timestamp": pa.array(cols["timestamp"], type=pa.int64()),
            "value": pa.array(cols["value"], type=pa.float64()),
        },
        schema=history_schema(),
    )


def arrow_histories_table(table: Any, output_format: str) -> Any:
    """A bulk history already read as a ``pyarrow.Table``, as the table itself or a DataFrame.

    The DataFrame has the columns and dtypes of :func:`histories_table`
    (``run_id`` and ``key`` as ``object`` columns of Python strings: each
    distinct string is made once and the rows share it).
    """
    fmt = check_output_format(output_format)
    if fmt == "arrow":
        return table
    pd = require("pandas")
    import numpy as np

    labels: dict[str, Any] = {}
    for name in ("run_id", "key"):
        column = table.column(name)
        if not hasattr(column.type, "value_type"):  # a plain string column
            column = column.dictionary_encode()
        parts = []
        for chunk in column.chunks:  # each chunk has its own dictionary
            strings = np.asarray(chunk.dictionary.to_pylist(), dtype=object)
            parts.append(strings[chunk.indices.to_numpy(zero_copy_only=False)])
        labels[name] = np.concatenate(parts) if parts else np.asarray([], dtype=object)
    frame = table.drop_columns(["run_id", "key"]).to_pandas()
    frame.insert(0, "key", pd.Series(labels["key"], dtype="object"))
    frame.insert(0, "run_id", pd.Series(labels["run_id"], dtype="object"))
    return frame
