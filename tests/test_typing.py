"""The package type-checks cleanly with mypy (configured in ``[tool.mypy]`` of pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_storekit_type_checks_with_mypy() -> None:
    """``python -m mypy storekit`` reports no errors."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "storekit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}\n{result.stderr}"
