"""A conformance run cannot pass by skipping: nothing collected or nothing passed is a failure.

Checked the two ways in: the ``storekit conformance`` command and the pytest
plugin (``pytest --pyargs storekit_conformance --storekit-uri=...``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STOREKIT = str(Path(sys.executable).with_name("storekit"))


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ})


def test_cli_fails_when_the_uri_resolves_to_no_store(tmp_path: Path) -> None:
    proc = _run([STOREKIT, "conformance", "nosuchscheme://x", "--report", "r.json"], tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "storekit conformance FAILED" in proc.stdout
    assert "no conformance check passed" in proc.stdout and "skipped" in proc.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is False and report["counts"].get("passed", 0) == 0


def test_pytest_plugin_fails_when_nothing_passed(tmp_path: Path) -> None:
    proc = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "storekit_conformance",
            "--storekit-uri=nosuchscheme://x",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        tmp_path,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "no conformance check passed" in proc.stdout


def test_pytest_plugin_fails_when_a_filter_deselects_every_check(tmp_path: Path) -> None:
    proc = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "storekit_conformance",
            f"--storekit-tracking-uri={tmp_path / 'store'}",
            "-k",
            "no_check_has_this_name",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        tmp_path,
    )
    assert proc.returncode != 0, proc.stdout[-3000:]


@pytest.mark.timeout(600)
def test_a_partial_run_that_passes_checks_still_passes(tmp_path: Path) -> None:
    """Skips next to passes are allowed (the report lists them loudly); only an all-skip run fails."""
    proc = _run([STOREKIT, "conformance", str(tmp_path / "store"), "--interface", "registry"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "storekit conformance PASSED" in proc.stdout


def test_cli_fails_when_nothing_was_collected(tmp_path: Path) -> None:
    """`storekit conformance` whose pytest arguments deselect every check exits 1, never 0."""
    proc = _run(
        [STOREKIT, "conformance", str(tmp_path / "store"), "--report", "r.json", "--", "-k", "no_check_has_this_name"],
        tmp_path,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "storekit conformance FAILED" in proc.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is False and report["counts"].get("passed", 0) == 0
