"""System metrics: sampled in the background into ``system/...`` metrics, stopped by end_run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

import storekit
from storekit import fluent
from storekit.client import TrackingClient
from storekit.errors import InvalidParameterError
from storekit.system_metrics import SystemMetricsMonitor, samples_before_logging, sampling_interval

EXPECTED = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}


@pytest.fixture(params=["file", "sqlite"])
def tracking(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fluent API on a fresh store, sampling every 0.2 s."""
    uri = str(tmp_path / "store") if request.param == "file" else f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("STOREKIT_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.delenv("STOREKIT_LOG_SYSTEM_METRICS", raising=False)
    fluent.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        while fluent.active_run() is not None:
            fluent.end_run()
        fluent._reset()


def _monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("storekit-system-metrics")]


def test_start_run_logs_system_metrics_until_end_run(tracking: str) -> None:
    with storekit.start_run(log_system_metrics=True) as run:
        assert len(_monitor_threads()) == 1
        time.sleep(1.2)
    assert _monitor_threads() == []  # stopped by the end of the run
    client = TrackingClient(tracking)
    data = client.get_run(run.info.run_id).data
    assert EXPECTED <= set(data.metrics)
    assert 0 <= data.metrics["system/cpu_utilization_percentage"] <= 100 * 64
    assert 0 < data.metrics["system/system_memory_usage_percentage"] <= 100
    assert data.metrics["system/disk_usage_megabytes"] > 0
    history = client.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes")
    steps = [m.step for m in history]
    assert len(steps) >= 3 and steps == list(range(len(steps)))  # one point per sample, steps 0, 1, 2...
    count = len(history)
    time.sleep(0.6)  # nothing more once the run has ended
    assert len(client.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes")) == count


def test_environment_variable_turns_it_on_and_default_is_off(tracking: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with storekit.start_run() as plain:
        time.sleep(0.5)
    monkeypatch.setenv("STOREKIT_LOG_SYSTEM_METRICS", "1")
    with storekit.start_run() as sampled:
        time.sleep(0.5)
    client = TrackingClient(tracking)
    assert not any(k.startswith("system/") for k in client.get_run(plain.info.run_id).data.metrics)
    assert EXPECTED <= set(client.get_run(sampled.info.run_id).data.metrics)
    with storekit.start_run(log_system_metrics=False) as off:
        pass
    assert client.get_run(off.info.run_id).data.metrics == {}


def test_nested_runs_each_get_their_monitor(tracking: str) -> None:
    with storekit.start_run(log_system_metrics=True) as parent:
        with storekit.start_run(nested=True, log_system_metrics=True) as child:
            assert len(_monitor_threads()) == 2
            time.sleep(0.5)
        assert len(_monitor_threads()) == 1
    assert _monitor_threads() == []
    client = TrackingClient(tracking)
    for run in (parent, child):
        assert EXPECTED <= set(client.get_run(run.info.run_id).data.metrics)


def test_samples_are_averaged_before_logging(tmp_path: Path) -> None:
    client = TrackingClient(str(tmp_path / "store"))
    run_id = client.create_run(client.create_experiment("avg")).info.run_id
    monitor = SystemMetricsMonitor(client, run_id, interval=0.1, samples=4).start()
    time.sleep(1.0)
    monitor.stop()
    client.flush()
    history = client.get_metric_history(run_id, "system/cpu_utilization_percentage")
    assert 1 <= len(history) <= 4  # ~10 samples, 4 per point, plus the last partial one
    assert not monitor.running


def test_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sampling_interval() == 10.0 and samples_before_logging() == 1
    monkeypatch.setenv("STOREKIT_SYSTEM_METRICS_SAMPLING_INTERVAL", "0")
    with pytest.raises(InvalidParameterError, match="SAMPLING_INTERVAL"):
        sampling_interval()
    monkeypatch.setenv("STOREKIT_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "many")
    with pytest.raises(InvalidParameterError, match="SAMPLES_BEFORE_LOGGING"):
        samples_before_logging()


def test_without_psutil_the_error_names_the_extra(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        sys.modules["psutil"] = None
        import storekit
        from storekit.errors import MissingExtraError
        storekit.set_tracking_uri({str(tmp_path / "store")!r})
        try:
            storekit.start_run(log_system_metrics=True)
        except MissingExtraError as exc:
            assert "storekit[system-metrics]" in str(exc), exc
        else:
            raise SystemExit("no error")
        assert storekit.active_run() is None  # no run was created
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
