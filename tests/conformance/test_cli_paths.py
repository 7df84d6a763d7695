"""`storekit conformance` resolves relative store paths and report paths against the caller's directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_relative_store_and_report_paths_stay_in_the_callers_directory(tmp_path: Path) -> None:
    storekit = Path(sys.executable).with_name("storekit")
    proc = subprocess.run(
        [str(storekit), "conformance", "./opsstore", "--interface", "registry", "--report", "report.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["checks"], "the report lists the checks"
    assert (tmp_path / "opsstore").is_dir(), "the store was created where the operator asked"
