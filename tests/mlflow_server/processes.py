"""Real server processes for the MLflow tests: free ports, start-up checks, clean shutdown.

:func:`free_port` picks a port that nothing listens on, from
``STOREKIT_MLFLOW_PORTS`` (``LOW-HIGH``) when set, else an ephemeral one.
:class:`ServerProcess` starts a command in its own process group, waits until
``/health`` answers (or fails the test with the server's log), and stops the
whole group: SIGTERM, SIGTERM again (MLflow's parent can ignore the first),
then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

import pytest

__all__ = ["free_port", "ServerProcess", "server_env", "group_processes", "START_TIMEOUT"]

#: Seconds a server may take to answer /health (imports of MLflow are slow on a loaded 2-core box).
START_TIMEOUT = float(os.environ.get("STOREKIT_MLFLOW_START_TIMEOUT", "240"))

_used_ports: set[int] = set()


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
        for port in range(int(low), int(high or low) + 1):
            if port not in _used_ports and _port_is_free(port):
                _used_ports.add(port)
                return port
        pytest.fail(f"STOREKIT_MLFLOW_PORTS={spec}: no free port in that range", pytrace=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
