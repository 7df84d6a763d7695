"""Start a real ``mlflow server`` subprocess on loopback, for tests and benchmarks.

``MlflowServer.start(tmp_dir)`` runs ``python -m mlflow server`` (MLflow's own
SQLite store, the artifact proxy on) with one worker on a free port of the
range ``STOREKIT_MLFLOW_PORTS`` (default 45700-45799), waits until its
``/health`` answers, and returns the running server; ``stop()`` ends it (and
its workers).  ``backend_store_uri`` chooses another backend, e.g. a storekit
store through the bridge scheme, and ``app_name="basic-auth"`` starts MLflow's
basic-auth app with its own credentials database.

A server that does not come up is an error with the tail of its log, never a skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

__all__ = ["MlflowServer", "free_port", "PORT_RANGE"]

_lock = threading.Lock()
_handed_out: set[int] = set()


def _port_range() -> range:
    raw = os.environ.get("STOREKIT_MLFLOW_PORTS", "45700-45799")
    low, _, high = raw.partition("-")
    return range(int(low), int(high or low) + 1)


PORT_RANGE = _port_range()


def free_port() -> int:
    """A port of :data:`PORT_RANGE` that nothing listens on and this process has not handed out."""
    with _lock:
        for port in PORT_RANGE:
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1} for mlflow server")


@dataclass
class MlflowServer:
    """One running ``mlflow server`` process."""

    url: str
    port: int
    workdir: Path
    process: "Optional[subprocess.Popen[bytes]]" = field(repr=False)
    log_path: Path = field(repr=False)

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        backend_store_uri: Optional[str] = None,
        app_name: Optional[str] = None,
        extra_env: Optional[dict[str, str]] = None,
        timeout: float = 240.0,
    ) -> "MlflowServer":
        """Start a server with its data under ``workdir`` and wait until it answers."""
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        backend = backend_store_uri or f"sqlite:///{workdir / 'mlflow.db'}"
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            str(workdir / "artifacts"),
            "--serve-artifacts",
        ]
        if app_name:
            cmd += ["--app-name", app_name]
        env = dict(os.environ)
        env.update({"MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true", "PYTHONUNBUFFERED": "1"})
        env.update(extra_env or {})
        for name in ("MLFLOW_TRACKING_URI", "STOREKIT_TRACKING_URI"):
            env.pop(name, None)
        log_path = workdir / "server.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        server = cls(f"http://127.0.0.1:{port}", port, workdir, process, log_path)
        try:
            server._wait(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    @classmethod
    def attach(cls, url: str, workdir: Path) -> "MlflowServer":
        """A server started elsewhere (not stopped by :meth:`stop`)."""
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        return cls(url.rstrip("/"), port, workdir, None, workdir / "server.log")

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server and its workers (SIGTERM to its process group, again after 10 s, SIGKILL after 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        # `mlflow server` may need a second SIGTERM before it exits (its workers stop on the first)
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
        self.process.wait(timeout=10)
        with _lock:
            _handed_out.discard(self.port)
