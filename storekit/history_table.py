"""Bulk metric histories as an Arrow table, built from numeric columns without a Python object per point.

A backend that can read the points of many runs as arrays -- which run
(a position in a list of run ids), which key (a position in a list of key
names), step, timestamp, value and, on SQL, the value's ``kind`` -- hands
them to :func:`history_table` in *logging order* (the order the points were
stored).  It puts the rows in the contract's order: grouped by run (in the
order of the run list) and key (in the order of the key list), each group by
``(step, timestamp)``, ties in logging order -- the order of
:meth:`~storekit.interfaces.TrackingStore.get_metric_history`.

``run_id`` and ``key`` are dictionary-encoded string columns
(:data:`HISTORY_SCHEMA`): ten million points cost two int32 columns, not
ten million strings each.  The sort is numpy's: when each group is already
in ``(step, timestamp)`` order in logging order (points logged step by step,
the common case) one stable sort on the group number (a radix sort while
there are at most 65,536 groups) does it; otherwise a stable lexicographic
sort on (group, step, timestamp).

Needs pyarrow (and numpy, which it brings); callers check first.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = ["history_schema", "history_table", "empty_history_table", "order_of_points", "downsample"]

#: -inf 0, finite 1, +inf 2, NaN 3 (``storekit.backends.sql.metrics``)
_SPECIAL_KINDS = ((0, float("-inf")), (2, float("inf")), (3, float("nan")))


def history_schema() -> Any:
    """The Arrow schema of a bulk history table: dictionary-encoded ``run_id``/``key``, int64, float64."""
    import pyarrow as pa

    label = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [("run_id", label), ("key", label), ("step", pa.int64()), ("timestamp", pa.int64()), ("value", pa.float64())]
    )


def empty_history_table() -> Any:
    """A bulk history table without rows."""
    return history_schema().empty_table()


def order_of_points(group: Any, step: Any, timestamp: Any, groups: int) -> Optional[Any]:
    """The permutation putting points in (group, step, timestamp, logging) order, or None if they are.

    ``group``, ``step`` and ``timestamp`` are numpy integer arrays in logging
    order; ``group`` lies in ``[0, groups)``.
    """
    import numpy as np

    if len(group) < 2:
        return None
    small = group.astype(np.uint16 if groups <= 1 << 16 else np.int64, copy=False)
    if bool(np.all(small[1:] >= small[:-1])):
        perm, g = None, group
    else:
        perm = np.argsort(small, kind="stable")  # a radix sort for uint16
        g = np.repeat(np.arange(groups, dtype=np.int64), np.bincount(group, minlength=groups))  # = group[perm]
    s, t = (step, timestamp) if perm is None else (step[perm], timestamp[perm])
    same = g[1:] == g[:-1]
    s0, s1, t0, t1 = s[:-1], s[1:], t[:-1], t[1:]
    if bool(np.any(same & ((s1 < s0) | ((s1 == s0) & (t1 < t0))))):
        return np.lexsort((timestamp, step, group))  # stable: ties keep logging order
    return perm


def history_table(
    run_ids: Sequence[str],
    run_pos: Any,
    keys: Sequence[str],
    key_code: Any,
    step: Any,
    timestamp: Any,
    value: Any,
    kind: Optional[Any] = None,
) -> Any:
    """The ordered bulk history table of points given as numpy arrays in logging order.

    ``run_pos`` indexes ``run_ids`` and ``key_code`` indexes ``keys`` (both
    in output order); ``kind`` (optional) is SQL's value encoding, whose
    non-finite codes replace ``value`` by -inf, +inf or NaN.
    """
    import numpy as np
    import pyarrow as pa

    if len(value) == 0:
        return empty_history_table()
    run_pos = np.asarray(run_pos, dtype=np.int64)
    key_code = np.asarray(key_code, dtype=np.int64)
    step = np.asarray(step, dtype=np.int64)
    timestamp = np.asarray(timestamp, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    if kind is not None:
        kind = np.asarray(kind)
        special = kind != 1
        if bool(special.any()):
            value = value.copy()
            for code, replacement in _SPECIAL_KINDS:
                value[kind == code] = replacement
    nkeys = max(1, len(keys))
    groups = len(run_ids) * nkeys
    group = run_pos * nkeys + key_code
    perm = order_of_points(group, step, timestamp, groups)
    if perm is not None:
        step, timestamp, value = step[perm], timestamp[perm], value[perm]
    # the sorted group numbers are each group's number repeated by its size: no gather needed
    counts = np.bincount(group, minlength=groups)
    numbers = np.arange(groups, dtype=np.int64)
    run_pos = np.repeat((numbers // nkeys).astype(np.int32), counts)
    key_code = np.repeat((numbers % nkeys).astype(np.int32), counts)
    strings = pa.string()
    columns = [
        pa.DictionaryArray.from_arrays(pa.array(run_pos), pa.array(list(run_ids), strings)),
        pa.DictionaryArray.from_arrays(pa.array(key_code), pa.array(list(keys), strings)),
        pa.array(step),
        pa.array(timestamp),
        pa.array(value),
    ]
    return pa.Table.from_arrays(columns, schema=history_schema())


def downsample(table: Any, max_points: int) -> Any:
    """At most ``max_points`` points per (run, key) group of an ordered bulk history table.

    Groups are contiguous (the contract's order); a longer group keeps
    ``max_points`` points evenly spaced by position, its first and last
    point included (like MLflow's UI sampling of a long history).  Order and
    values are unchanged.  ``max_points`` below 2 is InvalidParameterError.
    """
    import numpy as np

    from .errors import InvalidParameterError

    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise InvalidParameterError(f"max_points: {max_points!r} is not an integer of at least 2")
    rows = table.num_rows
    if rows == 0:
        return table
    table = table.unify_dictionaries().combine_chunks()
    run = table.column("run_id").chunk(0).indices.to_numpy()
    key = table.column("key").chunk(0).indices.to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], (run[1:] != run[:-1]) | (key[1:] != key[:-1])]))
    sizes = np.diff(np.append(starts, rows))
    if int(sizes.max()) <= max_points:
        return table
    kept = np.minimum(sizes, max_points)
    group = np.repeat(np.arange(len(starts)), kept)
    j = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    size, keep = sizes[group], kept[group]
    span = np.maximum(keep - 1, 1)
    position = starts[group] + (2 * j * (size - 1) + span) // (2 * span)  # round(j * (size - 1) / (keep - 1))
    return table.take(position)
