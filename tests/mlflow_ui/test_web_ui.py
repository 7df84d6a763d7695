"""MLflow's web UI on a storekit store, in a real browser (Debian's headless Chromium).

Each test opens one page of the UI served by ``storekit ui``, waits for the
JavaScript app to render the content it should show (never a fixed sleep),
asserts on the DOM, and saves a screenshot for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storekit import TrackingClient
from tests.mlflow_ui.conftest import UiServer

pytestmark = [pytest.mark.mlflow_server, pytest.mark.browser]


def _no_server_errors(page: Any) -> None:
    assert page.server_errors == [], f"the server answered 5xx (other than 501): {page.server_errors}"


def test_experiment_page_lists_the_runs(ui_server: UiServer, page: Any, screenshot_dir: Path) -> None:
    page.goto(f"{ui_server.url}/#/experiments/{ui_server.experiment_id}/runs")
    for name in ui_server.run_ids:
        page.get_by_text(name, exact=True).first.wait_for(state="visible")
    assert page.get_by_text("ui-sweep").first.is_visible()
    page.get_by_text("3 matching runs").wait_for(state="visible")
    page.screenshot(path=str(screenshot_dir / "experiment-runs.png"))
    _no_server_errors(page)


def test_run_page_draws_the_metric_chart(ui_server: UiServer, page: Any, screenshot_dir: Path) -> None:
    run_id = ui_server.run_ids["sweep-lr-1"]
    page.goto(f"{ui_server.url}/#/experiments/{ui_server.experiment_id}/runs/{run_id}/model-metrics")
    page.get_by_text("sweep-lr-1").first.wait_for(state="visible")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(state="visible")
    page.get_by_text("val_loss").first.wait_for(state="visible")
    # 20 steps of history: a line (scatter) trace, not a bar of the latest value.
    page.locator(".js-plotly-plot g.scatterlayer g.trace").first.wait_for(state="attached")
    page.screenshot(path=str(screenshot_dir / "run-metric-chart.png"))
    _no_server_errors(page)


def test_registered_model_page_shows_versions_and_alias(ui_server: UiServer, page: Any, screenshot_dir: Path) -> None:
    page.goto(f"{ui_server.url}/#/models/{ui_server.model_name}")
    page.get_by_text("Version 1", exact=True).first.wait_for(state="visible")
    page.get_by_text("champion").first.wait_for(state="visible")
    page.get_by_text("registered on a storekit store").first.wait_for(state="visible")
    page.screenshot(path=str(screenshot_dir / "registered-model.png"))
    _no_server_errors(page)


def test_runs_logged_with_storekit_itself_are_listed(ui_server: UiServer, page: Any, screenshot_dir: Path) -> None:
    """Runs written by storekit's own client (no MLflow tags at all) show up in MLflow's UI too."""
    with TrackingClient(ui_server.store_uri) as store:
        experiment_id = store.create_experiment("logged-with-storekit")
        for i in range(2):
            run = store.create_run(experiment_id, run_name=f"native-{i}")
            for step in range(5):
                store.log_metric(run.info.run_id, "acc", 0.5 + 0.1 * step, step=step)
    page.goto(f"{ui_server.url}/#/experiments/{experiment_id}/runs")
    for i in range(2):
        page.get_by_text(f"native-{i}", exact=True).first.wait_for(state="visible")
    page.screenshot(path=str(screenshot_dir / "storekit-native-runs.png"))
    _no_server_errors(page)
