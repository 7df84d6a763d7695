"""storekit, every plugin and the conformance suite type-check cleanly with mypy (``[tool.mypy]`` of pyproject.toml).

``scripts/check`` runs the same check next to ruff; this test keeps it in the test suite too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _packages() -> list[str]:
    plugins = sorted(
        str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/storekit_*") if p.is_dir() and p.suffix != ".egg-info"
    )
    return ["storekit", "conformance/storekit_conformance", *plugins]


def test_packages_type_check_with_mypy() -> None:
    """``python -m mypy storekit conformance/... plugins/*/...`` reports no errors."""
    packages = _packages()
    assert len(packages) >= 9, packages  # core, conformance and every plugin
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *packages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}\n{result.stderr}"
