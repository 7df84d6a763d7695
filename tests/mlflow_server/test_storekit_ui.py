"""``storekit ui``: MLflow's server on a storekit store, its defaults, signals and errors.

Real processes throughout: the ``storekit`` console script starts a real
``mlflow server``; MLflow's client talks to it over HTTP; storekit's client
reads the store behind it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from storekit import TrackingClient
from tests.mlflow_server.processes import ServerProcess, free_port, group_processes, server_env

pytestmark = pytest.mark.mlflow_server

STOREKIT = str(Path(sys.executable).with_name("storekit"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = server_env(**extra)
    for name in (
        "STOREKIT_TRACKING_URI",
        "STOREKIT_REGISTRY_URI",
        "STOREKIT_ARTIFACT_URI",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_BACKEND_STORE_URI",
        "MLFLOW_REGISTRY_STORE_URI",
    ):
        env.pop(name, None)
    env.update(extra)
    return env


def test_ui_serves_the_default_store_and_stops_its_whole_group_on_sigterm(tmp_path: Path) -> None:
    """No URI: the embedded ./storekit.db of the working directory, artifacts in ./storekit-artifacts."""
    port = free_port()
    ui = ServerProcess(
        [STOREKIT, "ui", "--port", str(port), "--workers", "2", "--health-timeout", "180"],
        f"http://127.0.0.1:{port}",
        tmp_path / "ui.log",
        env=_clean_env(),
        cwd=tmp_path,
    )
    try:
        ui.wait_healthy()
        workers = [cmd for _, cmd in _descendants(ui.process.pid) if "spawn_main" in cmd]
        assert len(workers) == 2, _descendants(ui.process.pid)
        client = MlflowClient(ui.url)
        experiment_id = client.create_experiment("through-storekit-ui")
        run = client.create_run(experiment_id, run_name="first")
        client.log_metric(run.info.run_id, "loss", 0.25, step=3)
        client.log_text(run.info.run_id, "proxied", "notes/a.txt")

        assert (tmp_path / "storekit.db").is_file()
        with TrackingClient(f"sqlite:///{tmp_path / 'storekit.db'}") as store:
            assert store.get_experiment(experiment_id).name == "through-storekit-ui"
            assert store.get_run(run.info.run_id).data.metrics == {"loss": 0.25}
        assert (next((tmp_path / "storekit-artifacts").rglob("a.txt"))).read_text() == "proxied"
        output = ui.log_tail()
        assert "storekit ui: tracking sqlite:///" in output and str(tmp_path / "storekit.db") in output
    finally:
        server_pids = {pid for pid, _ in _descendants(ui.process.pid)}
        ui.signal(signal.SIGTERM)  # to storekit ui alone, as `kill PID` would
        try:
            code = ui.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            ui.stop()
            pytest.fail("storekit ui did not exit within 90 s of SIGTERM")
        ui.stop()
    assert code == 128 + signal.SIGTERM
    # uvicorn, its workers and MLflow's parent are all gone: nothing orphaned.
    assert server_pids, "storekit ui had started no server processes"
    assert not [pid for pid in server_pids if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Every live process in the process groups whose leader is a child of ``pid``."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                children.append(int(entry.name))
    found = []
    for child in children:
        found.extend(group_processes(child))
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_ui_explicit_uris_with_the_group_options(tmp_path: Path) -> None:
    """--tracking-uri on the group, a separate registry, --artifacts elsewhere; one worker by default."""
    tracking = f"sqlite:///{tmp_path / 'tracking.db'}"
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    artifacts = tmp_path / "art"
    port = free_port()
    ui = ServerProcess(
        [
            STOREKIT,
            "--tracking-uri",
            tracking,
            "ui",
            "--registry-uri",
            registry,
            "--artifacts",
            str(artifacts),
            "--port",
            str(port),
        ],
        f"http://127.0.0.1:{port}",
        tmp_path / "ui.log",
        env=_clean_env(),
        cwd=tmp_path,
    )
    try:
        ui.wait_healthy()
        client = MlflowClient(ui.url, registry_uri=ui.url)
        experiment_id = client.create_experiment("split-stores")
        run_id = client.create_run(experiment_id).info.run_id
        client.log_text(run_id, "x", "f.txt")
        client.create_registered_model("split-model")
        with TrackingClient(tracking, registry) as store:
            assert store.get_experiment_by_name("split-stores") is not None
            assert store.get_registered_model("split-model").name == "split-model"
        with TrackingClient(registry, registry) as other:
            assert other.get_experiment_by_name("split-stores") is None
        assert next(artifacts.rglob("f.txt")).read_text() == "x"
    finally:
        ui.stop()


def test_ui_never_echoes_a_password(tmp_path: Path) -> None:
    """An unreachable PostgreSQL URI with a password: a clean failure, the password nowhere in the output."""
    secret = "S3cret-Pw-4711"
    port = free_port()
    proc = subprocess.run(
        [STOREKIT, "ui", f"postgresql://alice:{secret}@127.0.0.1:1/nowhere", "--port", str(port)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert secret not in proc.stdout + proc.stderr
    assert "postgresql://alice:***@127.0.0.1:1/nowhere" in proc.stderr


def _environment_without(tmp_path: Path, *hidden: str) -> tuple[list[str], dict[str, str]]:
    """An interpreter command and environment in which the distributions ``hidden`` are not installed.

    A directory of symlinks to every entry of this environment's site-packages
    except ``hidden`` and their metadata, used as the only site directory
    (``python -S``): for the child, those packages are simply not there.
    """
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    shadow = tmp_path / "site"
    shadow.mkdir()
    prefixes = tuple(h.replace("-", "_").lower() for h in hidden)
    for entry in site.iterdir():
        name = entry.name.lower().replace("-", "_")
        if name.startswith(prefixes) or entry.suffix == ".pth":
            continue
        (shadow / entry.name).symlink_to(entry)
    repo = Path(__file__).resolve().parents[2]
    env = _clean_env(PYTHONPATH=os.pathsep.join([str(shadow), str(repo)]))
    return [sys.executable, "-S"], env


def test_ui_without_mlflow_names_the_extra_to_install(tmp_path: Path) -> None:
    python, env = _environment_without(tmp_path, "mlflow", "storekit_mlflow")
    probe = subprocess.run(
        [*python, "-c", "import storekit, click; import mlflow"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "No module named 'mlflow'" in probe.stderr  # the environment really lacks MLflow
    started = time.monotonic()
    proc = subprocess.run(
        [*python, "-c", "from storekit.cli import main; main()", "ui"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "pip install 'storekit[mlflow]'" in proc.stderr
    assert "mlflow and storekit-mlflow not installed" in proc.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "storekit.db").exists()  # nothing was created


def test_ui_refuses_an_unknown_store_scheme(tmp_path: Path) -> None:
    proc = subprocess.run(
        [STOREKIT, "ui", "nosuchscheme://x/y", "--port", str(free_port())],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "nosuchscheme" in proc.stderr
    assert "Traceback" not in proc.stderr  # refused before MLflow starts
