"""The suite on a live store: it leaves the store as it found it, and its report outlives the run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from storekit.backends.sql import SqlRegistryStore, SqlTrackingStore
from storekit.entities import ViewType
from storekit_conformance.runner import run_conformance

pytestmark = pytest.mark.timeout(900)


def test_suite_removes_the_experiments_and_models_it_created(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'live.db'}"
    with SqlTrackingStore(uri) as store:
        mine = store.create_experiment("mine")
    registry = SqlRegistryStore(uri)
    registry.create_registered_model("my-model")
    registry.close()
    result = run_conformance(None, uri)  # tracking and registry suites, every check
    assert result.passed, result.summary
    with SqlTrackingStore(uri, create=False) as store:
        active = store.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=1000)
        assert [e.experiment_id for e in active] == [mine], [e.name for e in active]
        created = store.search_experiments(view_type=ViewType.DELETED_ONLY, max_results=1000)
        assert len(created) > 10, "the suite creates experiments (and deleted them again)"
    registry = SqlRegistryStore(uri, create=False)
    try:
        assert [m.name for m in registry.search_registered_models(max_results=1000)] == ["my-model"]
    finally:
        registry.close()


def test_report_path_printed_without_report_option_exists(tmp_path: Path) -> None:
    storekit = Path(sys.executable).with_name("storekit")
    proc = subprocess.run(
        [str(storekit), "conformance", "all", "--interface", "context"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    match = re.search(r"JSON report written to (\S+)", proc.stdout)
    assert match, proc.stdout[-2000:]
    report = Path(match.group(1))
    try:
        assert report.is_file(), f"{report} was printed but does not exist"
        assert json.loads(report.read_text())["checks"]
    finally:
        report.unlink(missing_ok=True)
