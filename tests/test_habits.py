"""The habits that keep the code base tidy (issue 12, point 5) stay configured and run.

ruff lints and formats from ``pyproject.toml``, pre-commit runs it on every commit, mypy
covers the plugins and the conformance suite as well (``tests/test_typing.py`` runs it),
and CI runs the fast lint-and-type step before the tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_configured_in_pyproject_and_the_tree_is_clean() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    select = re.search(r"^\[tool\.ruff\.lint\]\n(?:#.*\n)*select = \[(.*)\]$", pyproject, re.M)
    assert select, "pyproject.toml has no [tool.ruff.lint] select list"
    assert {'"E4"', '"E7"', '"E9"', '"F"', '"I"'} <= {s.strip() for s in select.group(1).split(",")}
    for args in (["check", "--quiet", "."], ["format", "--check", "--quiet", "."]):
        proc = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, f"ruff {args[0]}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"


def test_pre_commit_runs_ruff_and_the_type_check() -> None:
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    for hook in ("id: ruff-check", "id: ruff-format", "id: mypy"):
        assert hook in config, f".pre-commit-config.yaml lost the {hook!r} hook"


def test_check_types_plugins_and_conformance_and_ci_runs_it_first() -> None:
    check = (ROOT / "scripts" / "check").read_text()
    assert "conformance/storekit_conformance" in check and "plugins/*/storekit_*/" in check
    assert "-m mypy" in check and "-m ruff check" in check
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in steps if line.startswith(("scripts/", "exec scripts/"))]
    assert commands[0] == "scripts/check", f".ci/run must run scripts/check before anything else: {commands}"
    assert any("scripts/test.sh" in line for line in commands[1:])
