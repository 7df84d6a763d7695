"""Fixtures of the web-UI tests: Debian's Chromium, a ``storekit ui`` server, its data.

* ``chromium`` (session): the browser binary from ``scripts/install-chromium.sh``
  (Debian's package, installed with apt-get when missing; never a download by a
  test tool), launched headless through Playwright's ``executable_path``.
* ``ui_server`` (module): ``storekit ui sqlite:///<tmp>/store.db`` with one
  worker, populated through MLflow's client over HTTP: an experiment of three
  runs with a 20-step metric each, and a registered model with an alias.
* ``page``: a fresh browser page that records every HTTP answer >= 500; a test
  fails if the server answered 500 (MLflow's not-implemented GenAI endpoints
  must answer 501, never 500).
* Screenshots go to ``STOREKIT_TEST_OUTPUT`` (default ``.test-output/``) ``/mlflow_ui/``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.mlflow_server.processes import ServerProcess, free_port, server_env

ROOT = Path(__file__).resolve().parents[2]
#: Chromium flags for a headless run as root in a container.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]
#: How long to wait for the JavaScript app to render something (charts stay spinners for long under load).
CONTENT_TIMEOUT_MS = int(os.environ.get("STOREKIT_UI_TIMEOUT_MS", "180000"))


@dataclass
class UiServer:
    """A running ``storekit ui`` and the entities the tests look for."""

    url: str
    store_uri: str
    experiment_id: str
    run_ids: dict[str, str]
    model_name: str
    process: ServerProcess
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by the project's script if missing; its absence fails the test."""
    proc = subprocess.run([str(ROOT / "scripts" / "install-chromium.sh")], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"scripts/install-chromium.sh failed ({proc.returncode}):\n{proc.stderr[-3000:]}", pytrace=False)
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    """A headless Chromium driven by Playwright (no browser download: Debian's binary is given)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where the tests leave their screenshots."""
    base = Path(os.environ.get("STOREKIT_TEST_OUTPUT", ROOT / ".test-output"))
    target = base / "mlflow_ui"
    target.mkdir(parents=True, exist_ok=True)
    return target


def _populate(url: str) -> tuple[str, dict[str, str], str]:
    """Log an experiment, runs, metrics and a registered model through MLflow's client over HTTP."""
    from mlflow import MlflowClient

    client = MlflowClient(url, registry_uri=url)
    experiment_id = client.create_experiment("ui-sweep", tags={"owner": "storekit-tests"})
    run_ids = {}
    for i in range(3):
        name = f"sweep-lr-{i}"
        run = client.create_run(experiment_id, run_name=name)
        run_id = run.info.run_id
        client.log_param(run_id, "lr", str(0.01 * (i + 1)))
        for step in range(20):
            client.log_metric(run_id, "val_loss", math.exp(-0.1 * step * (i + 1)), step=step)
        client.log_text(run_id, "MLmodel placeholder for the registry page", "model/MLmodel")
        client.set_terminated(run_id)
        run_ids[name] = run_id
    model_name = "ui-classifier"
    client.create_registered_model(model_name, description="registered on a storekit store")
    best = client.get_run(run_ids["sweep-lr-2"])
    version = client.create_model_version(model_name, f"{best.info.artifact_uri}/model", best.info.run_id)
    client.set_registered_model_alias(model_name, "champion", version.version)
    return experiment_id, run_ids, model_name


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """``storekit ui`` on a new SQLite store, populated through MLflow's client."""
    root = tmp_path_factory.mktemp("storekit-ui")
    store_uri = f"sqlite:///{root / 'store.db'}"
    port = free_port()
    storekit = str(Path(sys.executable).with_name("storekit"))
    env = server_env()
    for name in ("STOREKIT_TRACKING_URI", "STOREKIT_REGISTRY_URI", "STOREKIT_ARTIFACT_URI"):
        env.pop(name, None)
    process = ServerProcess(
        [storekit, "ui", store_uri, "--artifacts", str(root / "artifacts"), "--port", str(port)],
        f"http://127.0.0.1:{port}",
        root / "ui.log",
        env=env,
        cwd=root,
    )
    try:
        process.wait_healthy()
        experiment_id, run_ids, model_name = _populate(process.url)
        yield UiServer(process.url, store_uri, experiment_id, run_ids, model_name, process)
    finally:
        process.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep each phase's report on the item, so ``page`` can screenshot a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, screenshot_dir: Path) -> Iterator[Any]:
    """A fresh page (1400x900) whose server errors (HTTP 500) are collected in ``page.server_errors``.

    A failed test leaves ``failed-<test name>.png`` of what the browser showed.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    new_page = context.new_page()
    new_page.set_default_timeout(CONTENT_TIMEOUT_MS)
    errors: list[str] = []
    new_page.on(
        "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 and r.status != 501 else None
    )
    new_page.server_errors = errors
    try:
        yield new_page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            new_page.screenshot(path=str(screenshot_dir / f"failed-{request.node.name}.png"))
    finally:
        context.close()
