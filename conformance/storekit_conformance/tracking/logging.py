"""Metrics, params, limits, names and atomic batches (contract section 3)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from storekit.entities import Metric, Param, Run, RunTag
from storekit.errors import InvalidParameterError
from storekit.interfaces import Capability, TrackingStore

from ..helpers import assert_invalid, same_float
from ..marks import contract, requires

__all__ = ["LoggingChecks"]

_VALID_KEYS = ["a", "a.b-c d/e:f_1", "x" * 250, "ünïcode_ok", "trailing.", "a..b"]
_INVALID_KEYS = ["", "/abs", "a/../b", "..", "../x", "bad!", "tab\tkey", "semi;colon", "x" * 251, "quote'key"]


def _snapshot(store: TrackingStore, run_id: str) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
    data = store.get_run(run_id).data
    return dict(data.metrics), dict(data.params), dict(data.tags)


class LoggingChecks:
    """Checks of logging metrics, params and tags."""

    # -- metrics ---------------------------------------------------------
    @contract("3", "latest metric value: greatest (step, timestamp)")
    def test_latest_metric_by_step_then_timestamp(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_batch(
            run_id,
            metrics=[
                Metric("loss", 5.0, 100, 2),
                Metric("loss", 9.0, 999, 1),  # later timestamp, smaller step
                Metric("loss", 7.0, 50, 2),  # same step, earlier timestamp
                Metric("acc", 1.0, 10, 0),
                Metric("acc", 2.0, 20, 0),  # same step, later timestamp wins
            ],
        )
        assert tracking_store.get_run(run_id).data.metrics == {"loss": 5.0, "acc": 2.0}

    @contract("3", "the run carries each metric's latest point (value, step, timestamp): get_run and search_runs")
    def test_latest_metric_points(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_batch(
            run_id, metrics=[Metric("loss", 5.0, 100, 2), Metric("loss", 9.0, 999, 1), Metric("acc", 2.0, 20, 0)]
        )
        tracking_store.log_metric(run_id, Metric("acc", 3.0, 30, 4))
        expected = {"loss": (5.0, 100, 2), "acc": (3.0, 30, 4)}
        found = tracking_store.search_runs([run.info.experiment_id], filter_string="metrics.acc > 0")
        for got in (tracking_store.get_run(run_id), *[r for r in found if r.info.run_id == run_id]):
            points = got.data.latest_metrics
            assert {k: (m.value, m.timestamp, m.step) for k, m in points.items()} == expected
            assert all(points[k].key == k for k in points)
            assert got.data.latest_metric("acc").step == 4
        assert len(found) == 1

    @contract("3", "latest metric value: a (step, timestamp) tie goes to the greatest value, NaN greatest")
    def test_latest_metric_tie_rule(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_batch(run_id, metrics=[Metric("m", v, 10, 3) for v in (1.0, 3.0, 2.0)])
        tracking_store.log_metric(run_id, Metric("m", 0.5, 10, 3))  # logged last, smaller: still 3.0
        tracking_store.log_batch(run_id, metrics=[Metric("n", v, 10, 3) for v in (1.0, math.nan, 2.0)])
        metrics = tracking_store.get_run(run_id).data.metrics
        assert metrics["m"] == 3.0
        assert math.isnan(metrics["n"])

    @contract("3", "get_metric_history: every point, ordered by (step, timestamp), then logging order")
    def test_metric_history_order(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        points = [
            Metric("h", 1.0, 30, 2),
            Metric("h", 2.0, 10, 1),
            Metric("h", 3.0, 20, 1),
            Metric("h", 4.0, 10, 1),
            Metric("h", 5.0, 5, 0),
        ]
        tracking_store.log_batch(run_id, metrics=points[:3])
        tracking_store.log_batch(run_id, metrics=points[3:])
        history = tracking_store.get_metric_history(run_id, "h")
        assert [(m.step, m.timestamp, m.value) for m in history] == [
            (0, 5, 5.0),
            (1, 10, 2.0),
            (1, 10, 4.0),
            (1, 20, 3.0),
            (2, 30, 1.0),
        ]
        assert all(m.key == "h" for m in history)
        assert tracking_store.get_metric_history(run_id, "never-logged") == []

    @contract("3", "get_metric_history pages with max_results and a token, returning every point once")
    def test_metric_history_paging(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_batch(run_id, metrics=[Metric("p", float(i), 1000 + i, i) for i in range(7)])
        seen: list[float] = []
        token = None
        for _ in range(10):
            page = tracking_store.get_metric_history(run_id, "p", max_results=3, page_token=token)
            assert len(page) <= 3
            seen.extend(m.value for m in page)
            token = page.token
            if not token:
                break
        assert seen == [float(i) for i in range(7)]

    @contract("3", "NaN, +inf and -inf round-trip exactly, in history and latest value")
    def test_nan_and_infinities_round_trip(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        values = {"nan": math.nan, "pinf": math.inf, "ninf": -math.inf, "tiny": 5e-324, "big": 1.7976931348623157e308}
        tracking_store.log_batch(run_id, metrics=[Metric(k, v, 1, 0) for k, v in values.items()])
        latest = tracking_store.get_run(run_id).data.metrics
        for key, value in values.items():
            assert same_float(latest[key], value), (key, latest[key])
            (point,) = tracking_store.get_metric_history(run_id, key)
            assert same_float(point.value, value), (key, point.value)
        tracking_store.log_metric(run_id, Metric("seq", math.inf, 1, 0))
        tracking_store.log_metric(run_id, Metric("seq", math.nan, 2, 1))
        tracking_store.log_metric(run_id, Metric("seq", -math.inf, 3, 2))
        assert tracking_store.get_run(run_id).data.metrics["seq"] == -math.inf
        history = [m.value for m in tracking_store.get_metric_history(run_id, "seq")]
        assert history[0] == math.inf and math.isnan(history[1]) and history[2] == -math.inf

    # -- params ------------------------------------------------------------
    @contract("3", "re-logging a param with the same value is a no-op")
    def test_param_same_value_noop(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_param(run_id, Param("lr", "0.1"))
        tracking_store.log_param(run_id, Param("lr", "0.1"))
        tracking_store.log_batch(run_id, params=[Param("lr", "0.1")])
        assert tracking_store.get_run(run_id).data.params == {"lr": "0.1"}

    @contract("3", "re-logging a param with a different value raises InvalidParameterError naming key and both values")
    def test_param_conflict(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_param(run_id, Param("lr", "0.1"))
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.log_param(run_id, Param("lr", "0.2"))
        assert_invalid(excinfo, "lr", "'0.1'", "'0.2'")
        with pytest.raises(InvalidParameterError):
            tracking_store.log_batch(run_id, params=[Param("lr", "0.3")])
        assert tracking_store.get_run(run_id).data.params == {"lr": "0.1"}

    # -- limits and names ----------------------------------------------------
    @pytest.mark.parametrize("kind", ["metric", "param", "tag"])
    @contract("3", "keys: at most 250 characters; longer raises naming the field and limit, nothing truncated")
    def test_key_length_limit(self, tracking_store: TrackingStore, run: Run, kind: str) -> None:
        run_id = run.info.run_id
        ok, bad = "k" * 250, "k" * 251
        log = {
            "metric": lambda key: tracking_store.log_metric(run_id, Metric(key, 1.0, 1, 0)),
            "param": lambda key: tracking_store.log_param(run_id, Param(key, "v")),
            "tag": lambda key: tracking_store.set_tag(run_id, RunTag(key, "v")),
        }[kind]
        log(ok)
        before = _snapshot(tracking_store, run_id)
        with pytest.raises(InvalidParameterError) as excinfo:
            log(bad)
        assert_invalid(excinfo, "key", "250")
        assert _snapshot(tracking_store, run_id) == before

    @pytest.mark.parametrize("kind,limit", [("param", 6000), ("tag", 8000)])
    @contract("3", "values: params at most 6,000 and tags 8,000 characters; longer raises, nothing truncated")
    def test_value_length_limit(self, tracking_store: TrackingStore, run: Run, kind: str, limit: int) -> None:
        run_id = run.info.run_id
        make = Param if kind == "param" else RunTag
        field = "params" if kind == "param" else "tags"
        batch: dict[str, Any] = {field: [make("ok", "v" * limit)]}
        tracking_store.log_batch(run_id, **batch)
        with pytest.raises(InvalidParameterError) as excinfo:
            too_long: dict[str, Any] = {field: [make("too_long", "v" * (limit + 1))]}
            tracking_store.log_batch(run_id, **too_long)
        assert_invalid(excinfo, "value", str(limit))
        stored = _snapshot(tracking_store, run_id)[1 if kind == "param" else 2]
        assert stored.get("ok") == "v" * limit
        assert "too_long" not in stored

    @pytest.mark.parametrize("field,limit", [("metrics", 1000), ("params", 100), ("tags", 100)])
    @contract("3", "one batch holds at most 1,000 metrics, 100 params, 100 tags; more raises and stores nothing")
    def test_batch_size_limits(self, tracking_store: TrackingStore, run: Run, field: str, limit: int) -> None:
        run_id = run.info.run_id

        def items(n: int, prefix: str) -> list[Any]:
            if field == "metrics":
                return [Metric(f"{prefix}{i}", float(i), 1, 0) for i in range(n)]
            if field == "params":
                return [Param(f"{prefix}{i}", str(i)) for i in range(n)]
            return [RunTag(f"{prefix}{i}", str(i)) for i in range(n)]

        tracking_store.log_batch(run_id, **{field: items(limit, "ok")})
        before = _snapshot(tracking_store, run_id)
        assert len(before[("metrics", "params", "tags").index(field)]) >= limit
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.log_batch(run_id, **{field: items(limit + 1, "over")})
        assert_invalid(excinfo, str(limit))
        assert _snapshot(tracking_store, run_id) == before

    @pytest.mark.parametrize("key", _VALID_KEYS, ids=lambda k: repr(k[:20]))
    @contract("3", "names match ^[\\w.\\- /:]+$ and are stored as given")
    def test_valid_key_names(self, tracking_store: TrackingStore, run: Run, key: str) -> None:
        run_id = run.info.run_id
        tracking_store.log_batch(
            run_id, metrics=[Metric(key, 1.0, 1, 0)], params=[Param(key, "v")], tags=[RunTag(key, "t")]
        )
        data = tracking_store.get_run(run_id).data
        assert (data.metrics.get(key), data.params.get(key), data.tags.get(key)) == (1.0, "v", "t")

    @pytest.mark.parametrize("key", _INVALID_KEYS, ids=lambda k: repr(k[:20]))
    @contract("3", "names outside ^[\\w.\\- /:]+$, starting with '/' or with '..' segments raise InvalidParameterError")
    def test_invalid_key_names(self, tracking_store: TrackingStore, run: Run, key: str) -> None:
        run_id = run.info.run_id
        before = _snapshot(tracking_store, run_id)
        for call in (
            lambda: tracking_store.log_metric(run_id, Metric(key, 1.0, 1, 0)),
            lambda: tracking_store.log_param(run_id, Param(key, "v")),
            lambda: tracking_store.set_tag(run_id, RunTag(key, "v")),
        ):
            with pytest.raises(InvalidParameterError):
                call()
        assert _snapshot(tracking_store, run_id) == before

    # -- atomic batches -------------------------------------------------------
    @requires(Capability.ATOMIC_BATCH)
    @contract("3", "log_batch is atomic: a batch whose LAST metric is invalid stores nothing")
    def test_batch_atomic_invalid_last_item(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        before = _snapshot(tracking_store, run_id)
        metrics = [Metric(f"m{i}", float(i), 1, 0) for i in range(20)] + [Metric("bad key!", 1.0, 1, 0)]
        with pytest.raises(InvalidParameterError):
            tracking_store.log_batch(run_id, metrics=metrics, params=[Param("p", "v")], tags=[RunTag("t", "v")])
        assert _snapshot(tracking_store, run_id) == before
        assert tracking_store.get_metric_history(run_id, "m0") == []

    @requires(Capability.ATOMIC_BATCH)
    @contract("3", "log_batch is atomic: a batch whose last param conflicts with a stored value stores nothing")
    def test_batch_atomic_conflicting_last_param(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        tracking_store.log_param(run_id, Param("fixed", "1"))
        before = _snapshot(tracking_store, run_id)
        params = [Param(f"p{i}", str(i)) for i in range(10)] + [Param("fixed", "2")]
        with pytest.raises(InvalidParameterError):
            tracking_store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=params, tags=[RunTag("t", "v")])
        assert _snapshot(tracking_store, run_id) == before
        assert tracking_store.get_metric_history(run_id, "m") == []

    @requires(Capability.ATOMIC_BATCH)
    @contract("3", "log_batch is atomic: a batch whose last tag is too long stores nothing")
    def test_batch_atomic_invalid_last_tag(self, tracking_store: TrackingStore, run: Run) -> None:
        run_id = run.info.run_id
        before = _snapshot(tracking_store, run_id)
        tags = [RunTag(f"t{i}", "v") for i in range(5)] + [RunTag("last", "x" * 8001)]
        with pytest.raises(InvalidParameterError):
            tracking_store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "v")], tags=tags)
        assert _snapshot(tracking_store, run_id) == before
