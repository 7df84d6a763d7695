"""The coverage floor CI holds the whole suite to (scripts/coverage-floor.toml, run by scripts/coverage.sh).

The floor is set, CI's entry point runs the suite through the script that enforces it, the floor never
goes below main's, and the script really fails below the floor and passes above it (marked slow: it runs a
small group of tests with coverage in a child pytest).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
FLOOR_FILE = "scripts/coverage-floor.toml"


def _floor(text: str) -> float:
    return float(tomllib.loads(text)["coverage"]["floor"])


def test_floor_is_set_and_the_script_reads_it() -> None:
    floor = _floor((ROOT / FLOOR_FILE).read_text("utf-8"))
    assert 0 < floor <= 100
    script = (ROOT / "scripts" / "coverage.sh").read_text("utf-8")
    assert FLOOR_FILE in script and "--cov-fail-under" in script
    assert os.access(ROOT / "scripts" / "coverage.sh", os.X_OK)


def test_floor_never_goes_below_mains() -> None:
    """A change may raise the floor, never lower it (compared with origin/main, else main)."""
    for ref in ("origin/main", "main"):
        probe = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=ROOT, capture_output=True)
        if probe.returncode == 0:
            break
    else:
        pytest.skip("no main branch in this clone")
    shown = subprocess.run(["git", "show", f"{ref}:{FLOOR_FILE}"], cwd=ROOT, capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip(f"{ref} has no {FLOOR_FILE} yet")
    assert _floor((ROOT / FLOOR_FILE).read_text("utf-8")) >= _floor(shown.stdout)


def _coverage_run(tmp_path: Path, floor: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "COV_CORE_"))}
    env.update(STOREKIT_COVERAGE_FLOOR=floor, COVERAGE_FILE=str(tmp_path / f"data-{floor}"))
    return subprocess.run(
        [str(ROOT / "scripts" / "coverage.sh"), "-q", "-p", "no:randomly", "tests/test_uri.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_coverage_script_fails_below_the_floor_and_passes_above(tmp_path: Path) -> None:
    """One small group (a few percent of the code): a floor above it exits 1, a floor below it exits 0."""
    high = _coverage_run(tmp_path, "99")
    assert high.returncode == 1, high.stdout + high.stderr
    assert "Required test coverage of 99% not reached" in high.stdout
    low = _coverage_run(tmp_path, "1")
    assert low.returncode == 0, low.stdout + low.stderr
    assert re.search(r"^TOTAL\s", low.stdout, re.MULTILINE) and "Required test coverage of 1% reached" in low.stdout
    assert not list(tmp_path.glob("data-*.*")), "per-process data files are combined or removed"
