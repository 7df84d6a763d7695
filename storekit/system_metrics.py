"""System metrics of a run: CPU, memory, disk, network and NVIDIA GPUs, sampled in the background.

``storekit.start_run(log_system_metrics=True)`` (or ``STOREKIT_LOG_SYSTEM_METRICS=1``)
starts a :class:`SystemMetricsMonitor` for the run; :func:`storekit.end_run`
stops it (after logging a last sample) before the run is ended.  Every
``STOREKIT_SYSTEM_METRICS_SAMPLING_INTERVAL`` seconds (default 10) one sample
is taken; every ``STOREKIT_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING`` samples
(default 1) their mean is logged, at steps 0, 1, 2... through the client's
asynchronous logger, under MLflow's names:

* ``system/cpu_utilization_percentage``
* ``system/system_memory_usage_megabytes``, ``system/system_memory_usage_percentage``
* ``system/disk_usage_percentage``, ``system/disk_usage_megabytes``, ``system/disk_available_megabytes``
* ``system/network_receive_megabytes``, ``system/network_transmit_megabytes`` (since the monitor started)
* per NVIDIA GPU ``i`` (through the NVIDIA management library, ``pynvml``, when it
  is installed and finds a GPU): ``system/gpu_<i>_utilization_percentage``,
  ``system/gpu_<i>_memory_usage_megabytes``, ``system/gpu_<i>_memory_usage_percentage``,
  ``system/gpu_<i>_power_usage_watts``, ``system/gpu_<i>_power_usage_percentage``

psutil is optional: ``pip install 'storekit[system-metrics]'`` (add
``nvidia-ml-py`` for GPUs).  Asking for system metrics without it raises
:class:`~storekit.errors.MissingExtraError`.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from .entities import Metric
from .envvars import env_flag, env_float, env_int, parse_float, parse_int
from .errors import MissingExtraError
from .ids import now_ms

if TYPE_CHECKING:  # pragma: no cover
    from .client import TrackingClient

__all__ = [
    "SystemMetricsMonitor",
    "system_metrics_enabled",
    "sampling_interval",
    "samples_before_logging",
    "PREFIX",
    "DEFAULT_INTERVAL",
]

_log = logging.getLogger(__name__)

#: Every system metric key starts with this.
PREFIX = "system/"
#: Seconds between samples when ``STOREKIT_SYSTEM_METRICS_SAMPLING_INTERVAL`` is unset.
DEFAULT_INTERVAL = 10.0
_ENV_ENABLED = "STOREKIT_LOG_SYSTEM_METRICS"
_ENV_INTERVAL = "STOREKIT_SYSTEM_METRICS_SAMPLING_INTERVAL"
_ENV_SAMPLES = "STOREKIT_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
_MB = 1e6


def system_metrics_enabled(explicit: Optional[bool] = None) -> bool:
    """``explicit`` if given, else whether ``STOREKIT_LOG_SYSTEM_METRICS`` is ``1``/``true``/``yes``/``on``."""
    if explicit is not None:
        return bool(explicit)
    return env_flag(_ENV_ENABLED)


def sampling_interval(value: Optional[float] = None) -> float:
    """Seconds between samples: ``value``, else the environment, else :data:`DEFAULT_INTERVAL` (0.05..3600)."""
    limits: dict[str, Any] = {"minimum": 0.05, "maximum": 3600, "unit": "seconds"}
    if value is not None:
        return parse_float(value, _ENV_INTERVAL, **limits)
    return env_float(_ENV_INTERVAL, DEFAULT_INTERVAL, **limits)


def samples_before_logging(value: Optional[int] = None) -> int:
    """Samples averaged into one logged point: ``value``, else the environment, else 1 (1..1000)."""
    if value is not None:
        return parse_int(value, _ENV_SAMPLES, minimum=1, maximum=1000)
    return env_int(_ENV_SAMPLES, 1, minimum=1, maximum=1000)


def _require_psutil() -> Any:
    try:
        import psutil
    except ImportError:
        raise MissingExtraError(
            "system metrics need psutil; install it with: pip install 'storekit[system-metrics]'"
        ) from None
    return psutil


class _Gpus:
    """NVIDIA GPUs through pynvml, or none (no library, no driver, no device)."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self._nvml: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:
            self.handles = []

    def sample(self, out: dict[str, float]) -> None:
        nvml = self._nvml
        for i, handle in enumerate(self.handles):
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                out[f"gpu_{i}_memory_usage_megabytes"] = memory.used / _MB
                out[f"gpu_{i}_memory_usage_percentage"] = memory.used / memory.total * 100 if memory.total else 0.0
                out[f"gpu_{i}_utilization_percentage"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                watts = nvml.nvmlDeviceGetPowerUsage(handle) / 1000
                limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000
                out[f"gpu_{i}_power_usage_watts"] = watts
                out[f"gpu_{i}_power_usage_percentage"] = watts / limit * 100 if limit else 0.0
            except Exception:
                continue

    def close(self) -> None:
        if self._nvml is not None and self.handles:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass


class SystemMetricsMonitor:
    """Samples system metrics of this machine for one run from a daemon thread.

    ``SystemMetricsMonitor(client, run_id, interval=None, samples=None)``;
    :meth:`start` begins sampling, :meth:`stop` logs what was sampled since the
    last point and ends the thread.  Points go through ``client.async_logger()``,
    so a slow store never blocks the sampling.
    """

    def __init__(
        self,
        client: "TrackingClient",
        run_id: str,
        interval: Optional[float] = None,
        samples: Optional[int] = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._psutil = _require_psutil()
        self.client = client
        self.run_id = run_id
        self.interval = sampling_interval(interval)
        self.samples = samples_before_logging(samples)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._pending: list[dict[str, float]] = []
        self._step = 0
        self._gpus: Optional[_Gpus] = None
        self._net0: Any = None

    def __repr__(self) -> str:
        return f"SystemMetricsMonitor(run_id={self.run_id!r}, interval={self.interval}s)"

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "SystemMetricsMonitor":
        """Start the sampling thread (idempotent); returns self."""
        if self._thread is None:
            self._psutil.cpu_percent(interval=None)  # primes the CPU counters: the next call is a delta
            self._net0 = self._psutil.net_io_counters()
            self._gpus = _Gpus()
            self._thread = threading.Thread(
                target=self._loop, name=f"storekit-system-metrics-{self.run_id[:8]}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop sampling: log the samples not logged yet and wait for the thread (at most ``timeout`` s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._gpus is not None:
            self._gpus.close()

    def sample(self) -> dict[str, float]:
        """One sample of every metric (names without the ``system/`` prefix)."""
        ps = self._psutil
        out: dict[str, float] = {"cpu_utilization_percentage": float(ps.cpu_percent(interval=None))}
        memory = ps.virtual_memory()
        out["system_memory_usage_megabytes"] = (memory.total - memory.available) / _MB
        out["system_memory_usage_percentage"] = float(memory.percent)
        disk = ps.disk_usage(os.sep)
        out["disk_usage_percentage"] = float(disk.percent)
        out["disk_usage_megabytes"] = disk.used / _MB
        out["disk_available_megabytes"] = disk.free / _MB
        net = ps.net_io_counters()
        if net is not None and self._net0 is not None:
            out["network_receive_megabytes"] = (net.bytes_recv - self._net0.bytes_recv) / _MB
            out["network_transmit_megabytes"] = (net.bytes_sent - self._net0.bytes_sent) / _MB
        if self._gpus is not None:
            self._gpus.sample(out)
        return out

    def _log_pending(self) -> None:
        if not self._pending:
            return
        names = sorted({k for s in self._pending for k in s})
        stamp = self._clock()
        metrics = []
        for name in names:
            values = [s[name] for s in self._pending if name in s]
            metrics.append(Metric(PREFIX + name, round(sum(values) / len(values), 4), stamp, self._step))
        self._pending = []
        self._step += 1
        self.client.async_logger().log_batch(self.run_id, metrics=metrics)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self._pending.append(self.sample())
                if len(self._pending) >= self.samples:
                    self._log_pending()
            self._pending.append(self.sample())
            self._log_pending()
        except Exception:
            _log.warning("system metrics of run %s stopped after an error", self.run_id, exc_info=True)
