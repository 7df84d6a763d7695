"""The file store's bulk metric-history read straight into Arrow.

Each run's committed history bytes (``<run>/metrics.jsonl`` up to the
length its index recorded) are read once; the bytes of many runs are parsed
together by pyarrow's JSON-lines reader (C, exact float parsing, ``NaN`` and
``Infinity`` tokens included), which gives numeric columns and one string
column of keys -- no Python object per point.  The run of each point follows
from the line count of each run's bytes.
:func:`storekit.history_table.history_table` then puts the points in the
contract's order.

A batch the reader cannot take as it is (lines spelt another way, a value
written as a string, a missing field, a malformed line) is read run by run,
and a run the reader still refuses through :func:`.metric_log.read_points`:
the same points, or the same :class:`~storekit.errors.StoreCorruptionError`,
as :meth:`FileTrackingStore.get_metric_history`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ...histories import validate_history_request
from .metric_log import _read_committed, read_points

__all__ = ["file_histories_arrow"]

#: bytes of history parsed in one reader call
_BATCH_BYTES = 1 << 26
#: the reader's block: larger than any history line
_BLOCK_BYTES = 1 << 24


def _parse(data: bytes, lines: int) -> Optional[Any]:
    """``key, step, timestamp, value`` of JSON lines as an Arrow table, or None if the reader cannot say."""
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


def _python_columns(path: Path, committed: int) -> Any:
    """One run's points through the Python reader (same errors as ``get_metric_history``)."""
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
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    from ...history_table import empty_history_table, history_table

    runs, wanted = validate_history_request(run_ids, keys)
    files = [history_file(run_id) for run_id in runs]  # every run checked before any is read
    if wanted == []:
        return empty_history_table()
    tables: list[Any] = []
    positions: list[Any] = []

    def flush(batch: list[tuple[int, Path, int, bytes]]) -> None:
        counts = [data.count(b"\n") for _, _, _, data in batch]
        table = _parse(b"".join(data for _, _, _, data in batch), sum(counts)) if batch else None
        if table is not None:
            tables.append(table)
            positions.append(np.repeat(np.asarray([pos for pos, _, _, _ in batch], np.int64), counts))
            return
        for (pos, path, committed, data), count in zip(batch, counts):
            one = _parse(data, count)
            one = one if one is not None else _python_columns(path, committed)
            tables.append(one)
            positions.append(np.full(one.num_rows, pos, np.int64))

    batch: list[tuple[int, Path, int, bytes]] = []
    size = 0
    for pos, (path, committed) in enumerate(files):
        if committed <= 0:
            continue
        data = _read_committed(path, 0, committed)
        batch.append((pos, path, committed, data))
        size += len(data)
        if size >= _BATCH_BYTES:
            flush(batch)
            batch, size = [], 0
    flush(batch)
    if not tables:
        return empty_history_table()
    raw = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    run_pos = np.concatenate(positions) if len(positions) > 1 else positions[0]
    encoded = pc.dictionary_encode(raw.column("key")).combine_chunks()
    present = encoded.dictionary.to_pylist()
    names = sorted(present) if wanted is None else [k for k in wanted if k in set(present)]
    code_of = {name: i for i, name in enumerate(names)}
    key_lut = np.asarray([code_of.get(name, -1) for name in present] or [-1], dtype=np.int64)
    key_code = key_lut[encoded.indices.to_numpy()]
    columns = [raw.column(name).to_numpy() for name in ("step", "timestamp", "value")]
    keep = key_code >= 0
    if not bool(keep.all()):
        run_pos, key_code = run_pos[keep], key_code[keep]
        columns = [c[keep] for c in columns]
    step, timestamp, value = columns
    return history_table(runs, run_pos, names, key_code, step, timestamp, value)
