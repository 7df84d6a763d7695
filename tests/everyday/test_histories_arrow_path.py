"""The SQLite bulk history read straight into Arrow (ADBC) gives exactly what the sqlite3 path gives."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from storekit.client import TrackingClient
from storekit.entities import Metric
from storekit.errors import RunNotFound
from storekit.frames import histories_table


def _rows(table) -> list[tuple]:  # type: ignore[no-untyped-def]
    cols = table.to_pydict()
    return [
        (r, k, s, t, "nan" if math.isnan(v) else v)
        for r, k, s, t, v in zip(cols["run_id"], cols["key"], cols["step"], cols["timestamp"], cols["value"])
    ]


def test_adbc_path_equals_the_sqlite3_path(tmp_path: Path) -> None:
    import adbc_driver_sqlite  # noqa: F401  (the arrow/pandas and test extras install it; missing is a failure)

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with TrackingClient(uri) as client:
        eid = client.create_experiment("e")
        runs = [client.create_run(eid).info.run_id for _ in range(3)]
        specials = [math.inf, -math.inf, math.nan, 0.5, -2.0]
        for i, run_id in enumerate(runs):
            client.log_batch(
                run_id,
                metrics=[Metric(k, specials[(s + i) % 5], 1000 + s % 3, 10 - s) for s in range(10) for k in ("a", "b")]
                + [Metric("a", 7.0, 5, 3)],  # same step, logged later
            )
        store = client.store
        for keys in (None, ["b"], ["a", "zz"]):
            fast = store.metric_histories_arrow(runs, keys)  # type: ignore[attr-defined]
            slow = histories_table(store.get_metric_histories(runs, keys), "arrow")
            assert fast is not None and fast.schema == slow.schema
            assert _rows(fast) == _rows(slow) and fast.num_rows == slow.num_rows > 0
        frame = client.get_metric_histories(runs, ["a"])  # the client takes the fast path
        slow_frame = histories_table(store.get_metric_histories(runs, ["a"]), "pandas")
        assert list(frame.dtypes.astype(str)) == list(slow_frame.dtypes.astype(str))
        assert frame.astype(str).values.tolist() == slow_frame.astype(str).values.tolist()
        assert store.metric_histories_arrow([], None).num_rows == 0  # type: ignore[attr-defined]
        with pytest.raises(RunNotFound):
            store.metric_histories_arrow([runs[0], "f" * 32], None)  # type: ignore[attr-defined]
