"""Real server processes for the tests and benchmarks: free ports, start-up checks, clean shutdown.

The one place that starts ``mlflow server`` (the http plugin's tests, the
``mlflow server``/UI tests on storekit stores and the http benchmark use it):

* :func:`free_port` picks a port that nothing listens on, from
  ``STOREKIT_MLFLOW_PORTS`` (``LOW-HIGH``) when set, else an ephemeral one;
* :class:`ServerProcess` starts a command in its own process group, waits until
  ``/health`` answers (or fails the test with the server's log), and stops the
  whole group: SIGTERM, SIGTERM again (MLflow's parent can ignore the first),
  then SIGKILL;
* :class:`MlflowServer` runs ``python -m mlflow server`` with its data under one
  directory: :meth:`MlflowServer.start` on MLflow's own SQLite store (or any
  ``backend_store_uri``, ``app_name="basic-auth"`` for the auth app),
  :meth:`MlflowServer.on_storekit` with tracking, registry and artifacts on a
  storekit store, :meth:`MlflowServer.attach` for a server started elsewhere.

A server that does not come up fails the test with the tail of its log, never a skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import pytest

__all__ = [
    "free_port",
    "release_port",
    "ServerProcess",
    "MlflowServer",
    "server_env",
    "group_processes",
    "python_command",
    "START_TIMEOUT",
]

#: Seconds a server may take to answer /health (imports of MLflow are slow on a loaded 2-core box).
START_TIMEOUT = float(os.environ.get("STOREKIT_MLFLOW_START_TIMEOUT", "240"))

_used_ports: set[int] = set()
_ports_lock = threading.Lock()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port with no listener: from ``STOREKIT_MLFLOW_PORTS=LOW-HIGH`` if set, else ephemeral."""
    spec = os.environ.get("STOREKIT_MLFLOW_PORTS")
    if spec:
        low, _, high = spec.partition("-")
        with _ports_lock:
            for port in range(int(low), int(high or low) + 1):
                if port not in _used_ports and _port_is_free(port):
                    _used_ports.add(port)
                    return port
        pytest.fail(f"STOREKIT_MLFLOW_PORTS={spec}: no free port in that range", pytrace=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def release_port(port: int) -> None:
    """Give ``port`` back to :func:`free_port` (its server has stopped)."""
    with _ports_lock:
        _used_ports.discard(port)


def server_env(**extra: str) -> dict[str, str]:
    """Our environment for a server child: no telemetry, no pip inference, plus ``extra``."""
    env = dict(os.environ)
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def group_processes(pgid: int) -> list[tuple[int, str]]:
    """``(pid, command line)`` of every live process in process group ``pgid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
        found.append((int(entry.name), cmdline))
    return found


class ServerProcess:
    """A server command run in its own process group, its output in ``log_path``."""

    def __init__(
        self,
        command: Sequence[str],
        url: str,
        log_path: Path,
        env: Optional[dict[str, str]] = None,
        cwd: Optional[Path] = None,
    ) -> None:
        self.command = list(command)
        self.url = url.rstrip("/")
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )

    def log_tail(self, size: int = 6000) -> str:
        """The end of the server's output."""
        self._log.flush()
        return self.log_path.read_bytes()[-size:].decode(errors="replace")

    def wait_healthy(self, timeout: float = START_TIMEOUT, path: str = "/health") -> None:
        """Block until ``GET <url><path>`` answers 200; fail the test (with the log) otherwise."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"server exited with {self.process.returncode} before answering:\n{self.log_tail()}", pytrace=False
                )
            try:
                with urllib.request.urlopen(self.url + path, timeout=10) as response:
                    if response.status == 200:
                        return
                    last = response.status
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            time.sleep(0.5)
        self.stop()
        pytest.fail(
            f"server did not answer {path} within {timeout:.0f} s (last: {last}):\n{self.log_tail()}", pytrace=False
        )

    def alive(self) -> bool:
        """Whether any process of the server's group is still running."""
        return bool(group_processes(self.process.pid))

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the server's main process only (as a user's ``kill PID`` would)."""
        try:
            os.kill(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 20.0) -> None:
        """Stop the whole group: SIGTERM, SIGTERM, then SIGKILL, ``grace`` seconds apart."""
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            if not self.alive():
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self.alive():
                self.process.poll()
                time.sleep(0.1)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL was sent above
            pass
        self._log.close()


def python_command(*args: str) -> list[str]:
    """``args`` run with this interpreter (so the child sees the same environment's packages)."""
    return [sys.executable, *args]


#: Seconds uvicorn waits for a worker's health answer (importing MLflow is slow under load).
HEALTH_TIMEOUT = 180


@dataclass
class MlflowServer:
    """One running ``mlflow server``: its data, log (``server.log``) and artifacts under ``workdir``."""

    url: str
    port: int
    workdir: Path
    #: None for a server started elsewhere (:meth:`attach`), which :meth:`stop` leaves running.
    process: Optional[ServerProcess] = field(repr=False)
    #: The native storekit URI of the tracking and registry store (:meth:`on_storekit` only).
    store_uri: Optional[str] = None

    @property
    def artifacts_dir(self) -> Path:
        """The local directory behind ``--artifacts-destination``."""
        return self.workdir / "artifacts"

    @property
    def log_path(self) -> Path:
        """The server's output."""
        return self.workdir / "server.log"

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        backend_store_uri: Optional[str] = None,
        registry_store_uri: Optional[str] = None,
        artifacts_destination: Optional[str] = None,
        workers: int = 1,
        app_name: Optional[str] = None,
        extra_env: Optional[dict[str, str]] = None,
        timeout: float = START_TIMEOUT,
        store_uri: Optional[str] = None,
    ) -> "MlflowServer":
        """Start a server with its data under ``workdir`` and wait until ``/health`` answers.

        Defaults: MLflow's own SQLite store ``workdir/mlflow.db`` and proxied
        artifacts in ``workdir/artifacts``; the tracking URI variables of this
        process are not passed on.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        command = python_command(
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--backend-store-uri",
            backend_store_uri or f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination",
            artifacts_destination or str(workdir / "artifacts"),
            "--serve-artifacts",
        )
        if registry_store_uri:
            command += ["--registry-store-uri", registry_store_uri]
        if app_name:
            command += ["--app-name", app_name]
        if workers > 1:
            command += ["--uvicorn-opts", f"--timeout-worker-healthcheck {HEALTH_TIMEOUT}"]
        env = server_env(**(extra_env or {}))
        for name in ("MLFLOW_TRACKING_URI", "STOREKIT_TRACKING_URI"):
            env.pop(name, None)
        url = f"http://127.0.0.1:{port}"
        process = ServerProcess(command, url, workdir / "server.log", env=env, cwd=workdir)
        try:
            process.wait_healthy(timeout)
        except BaseException:
            process.stop()
            raise
        return cls(url, port, workdir, process, store_uri)

    @classmethod
    def on_storekit(cls, store_uri: str, workdir: Path, workers: int = 1) -> "MlflowServer":
        """A server whose tracking store, registry and artifact destination are storekit ones.

        ``--backend-store-uri`` and ``--registry-store-uri`` are ``storekit:<store_uri>``;
        artifacts go to ``storekit:file:///<workdir>/artifacts``.
        """
        artifacts = workdir / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        return cls.start(
            workdir,
            backend_store_uri=f"storekit:{store_uri}",
            registry_store_uri=f"storekit:{store_uri}",
            artifacts_destination=f"storekit:{artifacts.as_uri()}",
            workers=workers,
            store_uri=store_uri,
        )

    @classmethod
    def attach(cls, url: str, workdir: Path) -> "MlflowServer":
        """A server started elsewhere (not stopped by :meth:`stop`)."""
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        return cls(url.rstrip("/"), port, workdir, None)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server and its workers (see :meth:`ServerProcess.stop`); an attached one is left alone."""
        if self.process is not None:
            self.process.stop()
            with _ports_lock:
                _used_ports.discard(self.port)
