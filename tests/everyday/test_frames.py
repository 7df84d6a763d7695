"""Runs as DataFrames / Arrow tables and bulk metric histories, on real stores."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

import storekit
from storekit.client import TrackingClient
from storekit.entities import Metric, Param, RunTag, ViewType
from storekit.errors import InvalidParameterError, RunNotFound
from storekit.frames import RUN_ATTRIBUTE_COLUMNS
from storekit.histories import HISTORY_COLUMNS, MetricHistories

pd = pytest.importorskip("pandas")  # installed by the test extra; the no-pandas path is tested below
pa = pytest.importorskip("pyarrow")


def _populate(client: TrackingClient, n_runs: int = 3) -> tuple[str, list[str]]:
    eid = client.create_experiment("frames")
    run_ids = []
    for i in range(n_runs):
        run = client.create_run(eid, run_name=f"r{i}", start_time=1_700_000_000_000 + i)
        rid = run.info.run_id
        params = [Param("lr", str(0.1 * (i + 1)))] + ([Param("only_first", "x")] if i == 0 else [])
        metrics = [Metric("loss", 1.0 / (s + 1) + i, 1_700_000_000_000 + s, s) for s in range(5)]
        metrics += [Metric("acc", 0.5 + i / 10, 1_700_000_000_100, 0)]
        client.log_batch(rid, metrics=metrics, params=params, tags=[RunTag("team", f"t{i}")])
        run_ids.append(rid)
    client.set_terminated(run_ids[0], "FINISHED", end_time=1_700_000_000_999)
    return eid, run_ids


def test_search_runs_pandas_one_row_per_run_with_all_columns(local_client: TrackingClient) -> None:
    eid, run_ids = _populate(local_client)
    df = local_client.search_runs([eid], output_format="pandas")
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 3 and set(df["run_id"]) == set(run_ids)
    assert list(df.columns[: len(RUN_ATTRIBUTE_COLUMNS)]) == list(RUN_ATTRIBUTE_COLUMNS)
    assert {"params.lr", "params.only_first", "metrics.loss", "metrics.acc", "tags.team"} <= set(df.columns)
    row = df.set_index("run_id").loc[run_ids[0]]
    assert row["status"] == "FINISHED" and row["run_name"] == "r0" and row["experiment_id"] == eid
    assert row["lifecycle_stage"] == "active"
    assert row["params.lr"] == "0.1" and row["tags.team"] == "t0"
    assert row["metrics.loss"] == pytest.approx(1.0 / 5)  # latest = the largest step
    assert row["start_time"] == pd.Timestamp(1_700_000_000_000, unit="ms", tz="UTC")
    assert row["end_time"] == pd.Timestamp(1_700_000_000_999, unit="ms", tz="UTC")
    other = df.set_index("run_id").loc[run_ids[2]]
    assert pd.isna(other["params.only_first"]) and pd.isna(other["end_time"])
    assert df["metrics.acc"].dtype == "float64"


def test_search_runs_arrow_and_filters(local_client: TrackingClient) -> None:
    eid, run_ids = _populate(local_client)
    table = local_client.search_runs([eid], filter_string="params.lr = '0.1'", output_format="arrow")
    assert isinstance(table, pa.Table)
    assert table.num_rows == 1 and table.column("run_id").to_pylist() == [run_ids[0]]
    assert table.schema.field("metrics.acc").type == pa.float64()
    assert table.schema.field("start_time").type == pa.timestamp("ms", tz="UTC")


def test_search_runs_frame_pages_transparently(local_client: TrackingClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    eid, run_ids = _populate(local_client, n_runs=7)
    import storekit.client as client_module

    monkeypatch.setattr(client_module, "MAX_RESULTS_CAP", 2)  # force several pages of 2
    calls: list[object] = []
    real = local_client.store.search_runs

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("page_token"))
        return real(*args, **kwargs)

    monkeypatch.setattr(local_client.store, "search_runs", counting)
    df = local_client.search_runs(eid, output_format="pandas")
    assert sorted(df["run_id"]) == sorted(run_ids)
    assert len(calls) >= 4 and calls[0] is None and all(calls[1:])
    capped = local_client.search_runs(eid, max_results=3, output_format="pandas")
    assert len(capped) == 3


def test_search_runs_frame_empty_and_deleted_view(local_client: TrackingClient) -> None:
    eid = local_client.create_experiment("empty")
    df = local_client.search_runs([eid], output_format="pandas")
    assert len(df) == 0 and list(df.columns) == list(RUN_ATTRIBUTE_COLUMNS)
    run = local_client.create_run(eid)
    local_client.delete_run(run.info.run_id)
    deleted = local_client.search_runs([eid], view_type=ViewType.DELETED_ONLY, output_format="arrow")
    assert deleted.column("lifecycle_stage").to_pylist() == ["deleted"]


def test_bad_output_format_is_a_typed_error(local_client: TrackingClient) -> None:
    eid = local_client.create_experiment("bad")
    with pytest.raises(InvalidParameterError, match="output_format"):
        local_client.search_runs([eid], output_format="excel")  # type: ignore[call-overload]
    with pytest.raises(InvalidParameterError, match="output_format"):
        local_client.get_metric_histories([], output_format="csv")


def test_fluent_search_runs_frames(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("STOREKIT_TRACKING_URI", raising=False)
    storekit.set_tracking_uri(f"sqlite:///{tmp_path / 'fluent.db'}")
    try:
        storekit.set_experiment("fluent-frames")
        with storekit.start_run(run_name="a"):
            storekit.log_param("p", 1)
            storekit.log_metric("m", 2.5)
        with storekit.start_run(run_name="b"):
            storekit.log_metric("m", 3.5)
        df = storekit.search_runs(output_format="pandas")
        assert sorted(df["run_name"]) == ["a", "b"]
        assert sorted(df["metrics.m"]) == [2.5, 3.5]
        table = storekit.search_runs(output_format="arrow")
        assert table.num_rows == 2
    finally:
        from storekit import fluent

        while fluent.active_run() is not None:
            fluent.end_run()
        fluent._reset()


def test_metric_histories_long_table(any_client: TrackingClient) -> None:
    client = any_client
    eid = client.create_experiment("hist")
    runs = [client.create_run(eid).info.run_id for _ in range(3)]
    for i, rid in enumerate(runs):
        # logged out of step order, with a NaN and an infinity, plus a key not asked for
        pts = [Metric("loss", float(10 * i + s), 1000 + s, s) for s in (3, 1, 2, 0)]
        pts += [Metric("acc", math.nan, 5, 0), Metric("acc", math.inf, 6, 1), Metric("other", 1.0, 1, 0)]
        client.log_batch(rid, metrics=pts)
    df = client.get_metric_histories(runs, ["loss", "acc"])
    assert list(df.columns) == list(HISTORY_COLUMNS)
    assert len(df) == 3 * 6
    groups = list(zip(df["run_id"], df["key"]))
    blocks = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert sorted(blocks) == sorted((r, k) for r in runs for k in ("loss", "acc"))  # each (run, key) one block
    loss = df[(df["run_id"] == runs[1]) & (df["key"] == "loss")]
    assert list(loss["step"]) == [0, 1, 2, 3]
    assert list(loss["value"]) == [10.0, 11.0, 12.0, 13.0]
    assert list(loss["timestamp"]) == [1000, 1001, 1002, 1003]
    acc = df[(df["run_id"] == runs[1]) & (df["key"] == "acc")]
    assert math.isnan(acc["value"].iloc[0]) and acc["value"].iloc[1] == math.inf
    # every key, list and arrow forms agree with get_metric_history
    everything = client.get_metric_histories(runs, output_format="list")
    assert isinstance(everything, MetricHistories) and len(everything) == 3 * 7
    assert sorted(set(everything.key)) == ["acc", "loss", "other"]
    table = client.get_metric_histories(runs[0], "loss", output_format="arrow")
    single = client.get_metric_history(runs[0], "loss")
    assert table.column("value").to_pylist() == [m.value for m in single]
    assert table.column("step").to_pylist() == [m.step for m in single]
    # a key nobody logged: no rows; an unknown run: RunNotFound
    assert len(client.get_metric_histories(runs, ["missing"])) == 0
    with pytest.raises(RunNotFound):
        client.get_metric_histories([runs[0], "f" * 32], ["loss"])


def test_metric_histories_generic_fallback_matches_backend(local_client: TrackingClient) -> None:
    from storekit.histories import generic_metric_histories

    eid = local_client.create_experiment("fallback")
    runs = [local_client.create_run(eid).info.run_id for _ in range(2)]
    for rid in runs:
        local_client.log_batch(rid, metrics=[Metric(k, float(s), s, s) for k in ("a", "b") for s in range(4)])

    def rows(h: MetricHistories) -> list[tuple[object, ...]]:
        return sorted(zip(*h.columns().values()))

    fast = local_client.store.get_metric_histories(runs, None)
    slow = generic_metric_histories(local_client.store, runs, None)
    assert len(fast) == 2 * 2 * 4
    assert rows(fast) == rows(slow)
    assert rows(fast) == rows(generic_metric_histories(local_client.store, runs, ["a", "b"]))


def test_metric_histories_limits(local_client: TrackingClient) -> None:
    with pytest.raises(InvalidParameterError, match="run_ids"):
        local_client.get_metric_histories(["0" * 32] * 1 + [f"{i:032x}" for i in range(10_001)], ["a"])
    with pytest.raises(InvalidParameterError, match="keys"):
        local_client.get_metric_histories([], [f"k{i}" for i in range(1001)])


def test_without_pandas_the_error_names_the_extra(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = textwrap.dedent(f"""
        import sys
        sys.modules["pandas"] = None  # as if pandas were not installed
        sys.modules["pyarrow"] = None
        from storekit.client import TrackingClient
        from storekit.errors import MissingExtraError
        client = TrackingClient({str(tmp_path / "store")!r})
        eid = client.create_experiment("e")
        for fmt, extra in (("pandas", "storekit[pandas]"), ("arrow", "storekit[arrow]")):
            try:
                client.search_runs([eid], output_format=fmt)
            except MissingExtraError as exc:
                assert extra in str(exc), exc
                assert isinstance(exc, ImportError)
            else:
                raise SystemExit("no error for " + fmt)
        print(len(client.search_runs([eid])))  # the list form needs neither
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
