"""Every rule of docs/semantics.md names the checks that guard it, and every capability has a check.

A rule of ``docs/semantics.md`` is one top-level bullet; it ends with
``(checks: `name`, ...)``.  A bare name is a check of one of the conformance
suites; ``tests/<file>.py::name`` is a test of storekit's own.  A rule without
checks, or naming a check that does not exist (renamed, removed), fails here,
so the document cannot state a rule nothing holds a backend to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Optional

from storekit.interfaces import Capability
from storekit_conformance import (
    ArtifactRepositorySuite,
    RegistryStoreSuite,
    RunContextProviderSuite,
    TrackingStoreSuite,
)
from storekit_conformance.marks import REQUIRES_MARK

ROOT = Path(__file__).resolve().parent.parent
SEMANTICS = ROOT / "docs" / "semantics.md"
_SUITES = (TrackingStoreSuite, RegistryStoreSuite, ArtifactRepositorySuite, RunContextProviderSuite)
_CHECKS = re.compile(r"\(checks: ([^()]*)\)\s*$", re.DOTALL)


def rules(text: str) -> list[str]:
    """The top-level bullets of a markdown text, each with its indented continuation lines joined."""
    found: list[list[str]] = []
    current: Optional[list[str]] = None
    for line in text.splitlines():
        if line.startswith("- "):
            current = [line[2:]]
            found.append(current)
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    return [" ".join(parts) for parts in found]


def suite_checks() -> dict[str, Callable[..., Any]]:
    """Every check of the four conformance suites, by name."""
    return {name: getattr(suite, name) for suite in _SUITES for name in dir(suite) if name.startswith("test_")}


def _project_test_exists(reference: str) -> bool:
    path, _, name = reference.partition("::")
    file = ROOT / path
    if not path.startswith("tests/") or not file.is_file() or not name:
        return False
    return re.search(rf"^\s*def {re.escape(name)}\(", file.read_text(encoding="utf-8"), re.MULTILINE) is not None


def unchecked_rules(text: str) -> list[str]:
    """What is wrong with the rules of ``text``: a rule naming no check, or a check that does not exist."""
    checks = suite_checks()
    problems = []
    for rule in rules(text):
        match = _CHECKS.search(rule)
        names = [n.strip().strip("`") for n in match.group(1).split(",")] if match else []
        names = [n for n in names if n]
        if not names:
            problems.append(f"names no check: {rule[:100]}")
            continue
        for name in names:
            exists = _project_test_exists(name) if "::" in name else name in checks
            if not exists:
                problems.append(f"names {name!r}, which is no check: {rule[:100]}")
    return problems


def test_every_rule_names_existing_checks() -> None:
    text = SEMANTICS.read_text(encoding="utf-8")
    assert len(rules(text)) > 50, "docs/semantics.md lost its rules (or this test's bullet parsing broke)"
    assert unchecked_rules(text) == []


def test_a_rule_without_or_with_a_missing_check_is_reported() -> None:
    text = (
        "# Rules\n"
        "- Checked, by a suite check and a project test.\n"
        "  (checks: `test_durable_across_processes`, `tests/test_semantics_checked.py::test_every_rule_names_existing_checks`)\n"
        "- Not checked at all.\n"
        "- Checked by nothing that exists. (checks: `test_no_such_check`, `tests/test_semantics_checked.py::test_nope`)\n"
    )
    problems = unchecked_rules(text)
    assert len(problems) == 3, problems
    assert problems[0].startswith("names no check: Not checked at all.")
    assert "'test_no_such_check'" in problems[1] and "'tests/test_semantics_checked.py::test_nope'" in problems[2]


def _required_capabilities(check: Callable[..., Any]) -> set[Capability]:
    marks = getattr(check, "pytestmark", [])
    return {Capability(c) for mark in marks if mark.name == REQUIRES_MARK for c in mark.args}


def test_every_capability_has_a_check() -> None:
    checked = set().union(*(_required_capabilities(check) for check in suite_checks().values()))
    assert set(Capability) - checked == set(), "capabilities without a conformance check"
