"""``storekit ui``: MLflow's web UI and tracking server on a storekit store.

The command runs ``mlflow server`` as a child process with every store
reached through the storekit-mlflow bridge (URI scheme ``storekit:``):

* ``--backend-store-uri storekit:<tracking URI>``,
* ``--registry-store-uri storekit:<registry URI>``,
* ``--artifacts-destination storekit:<artifact root>`` (artifacts are proxied
  by the server, so clients need neither storekit nor the artifact
  store's credentials).

The URIs travel to the child in MLflow's own environment variables
(``MLFLOW_BACKEND_STORE_URI``...), never on its command line, so passwords in
them do not show up in process listings; what the command prints is redacted.

Signals: SIGINT, SIGTERM and SIGHUP are passed on to the server's whole
process group (MLflow's parent, uvicorn and its workers). MLflow's parent
process does not always exit on the first SIGTERM, so the command repeats it
after a grace period, and kills the group as a last resort: it never returns
while a server process it started is still running (also when the server
exits on its own and leaves workers behind).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Optional

import click

from ..errors import PluginLoadError
from ..uri import get_scheme, redact_uri
from ._output import handle_errors

__all__ = ["ui", "UiConfig", "bridge_uri", "server_command", "server_environment", "missing_requirements"]

#: The URI scheme of the storekit-mlflow bridge.
BRIDGE_PREFIX = "storekit:"
#: What to install when MLflow or the bridge is missing.
INSTALL_HINT = "pip install 'storekit[mlflow]'"
#: Seconds between the signals of the shutdown sequence (TERM, TERM again, KILL).
SHUTDOWN_GRACE = 10.0


@dataclass(frozen=True)
class UiConfig:
    """What ``storekit ui`` serves and how (all URIs are storekit URIs, without ``storekit:``)."""

    tracking_uri: str
    registry_uri: str
    artifact_uri: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    health_timeout: int = 60


def _absolute(uri: str) -> str:
    """``uri`` with a bare relative path made absolute (the server may run elsewhere)."""
    if get_scheme(uri) == "file" and not uri.lower().startswith("file:"):
        return os.path.abspath(uri)
    return uri


def bridge_uri(uri: str) -> str:
    """The MLflow URI of a storekit URI: ``storekit:`` + the URI (relative paths made absolute)."""
    if uri.lower().startswith(BRIDGE_PREFIX):
        return uri
    return BRIDGE_PREFIX + _absolute(uri)


def _check_schemes(config: UiConfig) -> None:
    """Refuse URIs no installed storekit implementation serves, before MLflow starts (seconds later)."""
    from ..plugins import load_implementation

    load_implementation("tracking", config.tracking_uri)
    load_implementation("registry", config.registry_uri)
    load_implementation("artifacts", config.artifact_uri)


def missing_requirements() -> list[str]:
    """The distributions ``storekit ui`` needs that are not importable (``mlflow``, ``storekit-mlflow``)."""
    missing = []
    for module, distribution in (("mlflow", "mlflow"), ("storekit_mlflow", "storekit-mlflow")):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
    return missing


def server_command(config: UiConfig) -> list[str]:
    """The ``mlflow server`` command line (no URIs on it: they go in the environment)."""
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--workers",
        str(config.workers),
    ]
    if config.workers > 1:
        # uvicorn kills workers that do not answer its health check within 5 s; a worker
        # still importing MLflow on a loaded machine would be restarted forever.
        command += ["--uvicorn-opts", f"--timeout-worker-healthcheck {config.health_timeout}"]
    return command


def server_environment(config: UiConfig, base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The child's environment: ``base`` (default: ours) plus MLflow's store variables."""
    env = dict(os.environ if base is None else base)
    env["MLFLOW_BACKEND_STORE_URI"] = bridge_uri(config.tracking_uri)
    env["MLFLOW_REGISTRY_STORE_URI"] = bridge_uri(config.registry_uri)
    env["MLFLOW_ARTIFACTS_DESTINATION"] = bridge_uri(config.artifact_uri)
    env.pop("MLFLOW_DEFAULT_ARTIFACT_ROOT", None)  # artifacts are served (proxied) by the server
    # MLflow's job runner needs MLflow's own SQL database; on a storekit store it would only log
    # a warning quoting the backend URI (with its password).
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env


class _Supervisor:
    """Runs the server in its own process group and forwards signals to the group."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self._process = subprocess.Popen(command, env=env, start_new_session=True)
        self.signalled: Optional[int] = None
        self._previous = {sig: signal.signal(sig, self._forward) for sig in self._signals()}

    @staticmethod
    def _signals() -> list[int]:
        return [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]

    def _send(self, sig: int) -> None:
        try:
            os.killpg(self._process.pid, sig)
        except ProcessLookupError:
            pass

    def _forward(self, signum: int, frame: Optional[FrameType]) -> None:
        self.signalled = signum
        self._send(signum)

    def _group_alive(self) -> bool:
        try:
            os.killpg(self._process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - a reused group id of another user
            return False
        return True

    def _wait_for_exit_or_signal(self) -> None:
        while self._process.poll() is None and self.signalled is None:
            time.sleep(0.1)

    def _wait_for_group(self, timeout: float) -> bool:
        """Whether every process of the server's group is gone within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self._process.poll()  # reap the leader, or it stays in the group as a zombie
            if not self._group_alive():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def run(self) -> int:
        """Wait for the server; after a signal, shut its whole process group down. Its exit code."""
        try:
            self._wait_for_exit_or_signal()
            if self.signalled is not None:
                # The signal went to the group already; MLflow's parent can ignore the first
                # SIGTERM, so repeat it once, then kill what is left.
                for step in (signal.SIGTERM, signal.SIGKILL):
                    if self._wait_for_group(SHUTDOWN_GRACE):
                        break
                    self._send(step)
                self._wait_for_group(SHUTDOWN_GRACE)
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            if not self._wait_for_group(0):  # the server exited on its own but left workers behind
                self._send(signal.SIGKILL)
                self._wait_for_group(SHUTDOWN_GRACE)
        code = self._process.wait()
        if self.signalled is not None:
            return 128 + self.signalled  # the shell's convention for "stopped by that signal"
        return code if code >= 0 else 128 - code


@click.command()
@click.argument("uri", required=False)
@click.option(
    "--registry-uri", default=None, help="Registry store URI (default: the group's --registry-uri, else URI)."
)
@click.option(
    "--artifacts",
    "artifact_uri",
    default=None,
    help="Where the server keeps artifacts (default: $STOREKIT_ARTIFACT_URI, else ./storekit-artifacts).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="uvicorn worker processes.")
@click.option(
    "--health-timeout",
    default=60,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds a worker may take to answer uvicorn's health check (with --workers > 1).",
)
@click.pass_context
@handle_errors
def ui(
    ctx: click.Context,
    uri: Optional[str],
    registry_uri: Optional[str],
    artifact_uri: Optional[str],
    host: str,
    port: int,
    workers: int,
    health_timeout: int,
) -> None:
    """Start MLflow's web UI and tracking server on the store at URI.

    URI defaults to the group's --tracking-uri, $STOREKIT_TRACKING_URI, else the
    embedded ./storekit.db. Needs MLflow and the bridge: pip install 'storekit[mlflow]'.
    """
    missing = missing_requirements()
    if missing:
        raise PluginLoadError(
            f"storekit ui: {' and '.join(missing)} not installed; install the extra with: {INSTALL_HINT}"
        )
    from ..config import default_tracking_uri
    from ..ids import default_artifact_root

    root = ctx.find_root().obj or {}
    tracking = uri or root.get("tracking_uri") or default_tracking_uri()
    registry_uri = registry_uri or root.get("registry_uri") or tracking
    config = UiConfig(
        tracking_uri=_absolute(tracking),
        registry_uri=_absolute(registry_uri),
        artifact_uri=_absolute(artifact_uri or default_artifact_root()),
        host=host,
        port=port,
        workers=workers,
        health_timeout=health_timeout,
    )
    _check_schemes(config)
    click.echo(
        f"storekit ui: tracking {redact_uri(config.tracking_uri)}, registry {redact_uri(config.registry_uri)}, "
        f"artifacts {redact_uri(config.artifact_uri)}\n"
        f"storekit ui: MLflow at http://{host}:{port} (Ctrl-C stops it)",
        err=True,
    )
    supervisor = _Supervisor(server_command(config), server_environment(config))
    code = supervisor.run()
    if code:
        sys.exit(code)
