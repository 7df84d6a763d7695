"""The suite catches real bugs: every deliberately broken variant fails in the section it breaks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.broken.variants import VARIANTS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the suite once against all variants (one pytest subprocess) and load its JSON report."""
    out = tmp_path_factory.mktemp("broken") / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(HERE / "broken" / "check_variants.py"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--storekit-large-file-mb=1",
            f"--storekit-report={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 1, f"the broken variants must make the run fail:\n{proc.stdout[-3000:]}"
    return json.loads(out.read_text())


@pytest.mark.parametrize("variant", list(VARIANTS), ids=lambda v: v.__name__)
def test_suite_catches_variant(broken_report: dict[str, Any], variant: type) -> None:
    interface, section = VARIANTS[variant]
    suite = f"TestBroken{variant.__name__}"
    checks = [c for c in broken_report["checks"] if c["suite"] == suite]
    assert checks, f"no checks ran for {suite}"
    assert {c["interface"] for c in checks} == {interface}
    failures = [c for c in checks if c["outcome"] == "failed" and c["section"] == section]
    assert failures, f"{variant.__name__} ({variant.__doc__}) was not caught in section {section}"
    assert all(c["reason"] for c in failures)


def test_template_passes_same_sections(tmp_path: Path) -> None:
    """Control: the unbroken template passes the very checks that catch the variants."""
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "storekit_conformance",
            "--storekit-uri=memory://control",
            "-p",
            "no:cacheprovider",
            "-q",
            "--storekit-large-file-mb=1",
            f"--storekit-report={out}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(out.read_text())
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["passed"] and report["counts"].get("failed", 0) == 0
    assert {c["interface"] for c in report["checks"]} == {"tracking", "registry", "artifacts"}
