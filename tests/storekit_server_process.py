"""Start a real ``storekit server`` subprocess on loopback, for tests and benchmarks.

``StorekitServer.start(workdir)`` runs the ``storekit server`` command of this
environment on a free port of ``STOREKIT_MLFLOW_PORTS`` (shared with
:mod:`tests.mlflow_server.processes`), on the embedded SQLite store under
``workdir`` unless ``backend_store_uri`` names another, waits until
``/health`` answers and returns the running server; ``stop()`` sends SIGTERM
(then SIGKILL after a grace period).  A server that does not come up is an
error with the tail of its log, never a skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from tests.mlflow_server.processes import free_port, release_port

__all__ = ["StorekitServer"]


@dataclass
class StorekitServer:
    """One running ``storekit server`` process (and its uvicorn workers)."""

    url: str
    port: int
    workdir: Path
    process: "subprocess.Popen[bytes]" = field(repr=False)
    log_path: Path = field(repr=False)

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        backend_store_uri: Optional[str] = None,
        artifacts_destination: Optional[str] = None,
        workers: int = 1,
        extra_args: Sequence[str] = (),
        port: Optional[int] = None,
        timeout: float = 120.0,
    ) -> "StorekitServer":
        """Start a server with its data under ``workdir`` and wait until it answers."""
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        backend = backend_store_uri or f"sqlite:///{workdir / 'storekit.db'}"
        cmd = [
            str(Path(sys.executable).parent / "storekit"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            artifacts_destination or str(workdir / "artifacts"),
            *extra_args,
        ]
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        for name in ("STOREKIT_TRACKING_URI", "STOREKIT_REGISTRY_URI", "MLFLOW_TRACKING_URI"):
            env.pop(name, None)
        log_path = workdir / f"storekit-server-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(f"http://127.0.0.1:{port}", port, workdir, process, log_path)
        try:
            server._wait(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"storekit server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"storekit server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The server's process and its workers (the process group)."""
        out = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()] or [self.process.pid]

    def terminate(self) -> None:
        """Send SIGTERM to the server's process group (a graceful stop) without waiting."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 20.0) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after ``grace`` seconds)."""
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        release_port(self.port)
