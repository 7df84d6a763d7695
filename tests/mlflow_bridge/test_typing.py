"""The bridge package type-checks cleanly with mypy (the root pyproject's ``[tool.mypy]``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_storekit_mlflow_type_checks_with_mypy() -> None:
    """``python -m mypy plugins/mlflow/storekit_mlflow`` reports no errors."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "plugins/mlflow/storekit_mlflow"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}\n{result.stderr}"
