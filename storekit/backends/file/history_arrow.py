"""The file store's bulk metric-history read straight into Arrow.

Each run's committed history bytes (``<run>/metrics.jsonl`` up to the
length its index recorded) are read once and parsed in C, giving numeric
columns and a dictionary-encoded key column -- no Python object per point:

1. Lines exactly as :func:`.metric_log.encode_metrics` writes them
   (``{"key":"k","value":v,"timestamp":t,"step":s}``, no escapes, no model
   id) are turned into ``:``-separated text by two byte replacements
   (``,"`` -> ``:"``, ``}\\n`` -> ``\\n``) and read by pyarrow's CSV reader
   (exact float parsing, ``NaN``/``Infinity`` included), several times
   cheaper than a JSON parser.  The field names are read too and must be
   ``{"key"``, ``value``, ``timestamp``, ``step`` on every line.
2. Any other file is read by pyarrow's JSON-lines reader.
3. A file that reader refuses (a value written as a string, a missing
   field, a malformed line) goes through :func:`.metric_log.read_points`:
   the same points, or the same :class:`~storekit.errors.StoreCorruptionError`,
   as :meth:`FileTrackingStore.get_metric_history`.

:func:`storekit.history_table.history_table` then puts the points in the
contract's order.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ...histories import validate_history_request
from .metric_log import _read_committed, read_points

__all__ = ["file_histories_arrow"]

#: the reader's block: larger than any history line
_BLOCK_BYTES = 1 << 24
#: the columns of storekit's own line layout after the replacements, and the field names they must hold
_OWN_COLUMNS = ("name_key", "key", "name_value", "value", "name_timestamp", "timestamp", "name_step", "step")
_OWN_NAMES = {"name_key": '{"key"', "name_value": "value", "name_timestamp": "timestamp", "name_step": "step"}


def _own_layout(data: bytes, lines: int) -> Optional[Any]:
    """``key, value, timestamp, step`` of lines in storekit's own layout (CSV reader), or None."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if b"\\" in data:
        return None  # escapes: a quote or newline could hide in a key
    text = data.replace(b',"', b':"').replace(b"}\n", b"\n")
    label = pa.dictionary(pa.int32(), pa.string())
    types = {name: label for name in _OWN_NAMES}
    types.update(key=label, value=pa.float64(), timestamp=pa.int64(), step=pa.int64())
    try:
        table = pcsv.read_csv(
            io.BytesIO(text),
            read_options=pcsv.ReadOptions(
                column_names=list(_OWN_COLUMNS), use_threads=False, block_size=max(_BLOCK_BYTES, len(text) + 1)
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=":", quote_char='"', double_quote=False, escape_char=False, newlines_in_values=False
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=types, null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != lines:
        return None
    for name, expected in _OWN_NAMES.items():
        for chunk in table.column(name).chunks:
            if chunk.dictionary.to_pylist() != [expected]:
                return None
    return table.select(["key", "value", "timestamp", "step"])


def _json_lines(data: bytes, lines: int) -> Optional[Any]:
    """``key, value, timestamp, step`` of JSON lines spelt any way (JSON reader), or None."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = pa.schema([("key", pa.string()), ("value", pa.float64()), ("timestamp", pa.int64()), ("step", pa.int64())])
    try:
        table = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(_BLOCK_BYTES, len(data) + 1)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != lines or any(table.column(name).null_count for name in schema.names):
        return None
    return table


def _python_lines(path: Path, committed: int) -> Any:
    """One run's points through the Python reader (same points and errors as ``get_metric_history``)."""
    import pyarrow as pa

    points = read_points(path, 0, committed)
    return pa.table(
        {
            "key": pa.array([m.key for m in points], pa.string()),
            "value": pa.array([m.value for m in points], pa.float64()),
            "timestamp": pa.array([m.timestamp for m in points], pa.int64()),
            "step": pa.array([m.step for m in points], pa.int64()),
        }
    )


def file_histories_arrow(
    run_ids: Sequence[str],
    keys: Optional[Sequence[str]],
    history_file: Callable[[str], tuple[Path, int]],
) -> Optional[Any]:
    """The bulk history table of ``run_ids`` (and ``keys``) as a ``pyarrow.Table``, or None without pyarrow.

    ``history_file(run_id)`` gives a run's history file and committed length
    (raising RunNotFound).  Rows come grouped by run in the order asked for,
    then by key (the order of ``keys``, or code-point order), each group by
    ``(step, timestamp)``, then logging order.
    """
    try:
        import numpy as np
        import pyarrow as pa  # noqa: F401  (checked here: None without it)
    except ImportError:
        return None
    from ...history_table import empty_history_table, history_table

    runs, wanted = validate_history_request(run_ids, keys)
    files = [history_file(run_id) for run_id in runs]  # every run checked before any is read
    if wanted == []:
        return empty_history_table()
    # per chunk of keys: (run position, the chunk's key strings, key indices, step, timestamp, value)
    parts: list[tuple[int, list[str], Any, Any, Any, Any]] = []
    for pos, (path, committed) in enumerate(files):
        if committed <= 0:
            continue
        data = _read_committed(path, 0, committed)
        lines = data.count(b"\n")
        table = _own_layout(data, lines)
        if table is None:
            table = _json_lines(data, lines)
        if table is None:
            table = _python_lines(path, committed)
        del data
        key = table.column("key")
        if not hasattr(key.type, "value_type"):
            key = key.dictionary_encode()
        start = 0
        numbers = [table.column(name).to_numpy() for name in ("step", "timestamp", "value")]
        for chunk in key.chunks:
            end = start + len(chunk)
            indices = chunk.indices.to_numpy(zero_copy_only=False)
            parts.append((pos, chunk.dictionary.to_pylist(), indices, *(n[start:end] for n in numbers)))
            start = end
    if not parts:
        return empty_history_table()
    present = sorted({name for part in parts for name in part[1]})
    names = present if wanted is None else [k for k in wanted if k in set(present)]
    code_of = {name: i for i, name in enumerate(names)}
    run_pos = np.concatenate([np.full(len(p[2]), p[0], np.int64) for p in parts])
    key_code = np.concatenate([np.asarray([code_of.get(n, -1) for n in p[1]] or [-1], np.int64)[p[2]] for p in parts])
    step, timestamp, value = (np.concatenate([p[i] for p in parts]) for i in (3, 4, 5))
    keep = key_code >= 0
    if not bool(keep.all()):
        run_pos, key_code, step, timestamp, value = (a[keep] for a in (run_pos, key_code, step, timestamp, value))
    return history_table(runs, run_pos, names, key_code, step, timestamp, value)
