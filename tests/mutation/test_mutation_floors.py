"""Mutation testing as a CI job: mutmut runs on a sample of the mutation-tested modules (or the ones a
change touches) and every score must stay at or above its recorded floor (scripts/mutation-floors.toml).

Marked ``mutation`` (a few minutes on two cores).  The unmarked checks keep the configuration honest:
every module has a floor, every path exists, and the floor check fails on a module its tests do not reach.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# scripts/mutation.py, the driver behind scripts/mutation.sh (a script, not a package module)
_spec = importlib.util.spec_from_file_location("storekit_mutation_driver", ROOT / "scripts" / "mutation.py")
assert _spec is not None and _spec.loader is not None
mutation = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutation  # dataclasses look their module up while the file executes
_spec.loader.exec_module(mutation)

#: The fixed sample CI runs when the change touches none of the modules: small and fast (about 70
#: mutants, a minute or two on two loaded cores), and on the path of every artifact error a user sees.
SAMPLE = ["error_redaction"]
#: The modules whose run fits CI's budget beside the whole suite (a few minutes each on two cores);
#: a change to another module is checked with `scripts/mutation.sh --changed --check` before merging.
CI_MODULES = ["error_redaction", "paging"]
FINGERPRINT_TEST = "test_query_fingerprint_is_short_stable_and_order_insensitive_for_mappings"


def _run(args: list[str], out: Path) -> tuple[int, dict, str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "mutation.py"), "--json", str(out), *args],
        cwd=ROOT,
        env={**os.environ, "STOREKIT_MUTATION_WORK": str(out.parent / "work")},  # leave .mutation/ alone
        capture_output=True,
        text=True,
        timeout=900,
    )
    scores = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, scores, proc.stdout + proc.stderr


def test_floors_name_modules_and_paths_exist() -> None:
    modules = mutation.load_modules()
    floors = mutation.load_floors()
    assert set(floors) <= set(modules), "a floor names no module"
    assert set(SAMPLE) | set(CI_MODULES) <= set(floors), "what CI runs must have a floor"
    for name, floor in floors.items():
        assert 0 < floor <= 100, name
    for module in modules.values():
        for path in module.paths:
            assert (ROOT / path).exists(), f"{module.name}: {path} does not exist"
        for test in module.tests:
            if not test.startswith("-") and "/" in test:
                assert (ROOT / test.split("::")[0]).exists(), f"{module.name}: {test} does not exist"


def test_source_paths_map_to_their_module() -> None:
    modules = mutation.load_modules()
    assert mutation._owner(modules, "storekit/paging.py") == "paging"
    assert mutation._owner(modules, "./storekit/search/parser.py") == "search"
    assert mutation._owner(modules, "storekit/uri.py") == "redaction"
    assert mutation._owner(modules, "storekit/artifacts/translate.py") == "error_redaction"
    assert mutation._owner(modules, "storekit/client.py") is None


@pytest.mark.mutation
def test_floor_check_fails_when_the_tests_do_not_reach_a_module(tmp_path: Path) -> None:
    """The guard can fail: paging guarded only by its fingerprint tests leaves most mutants alive and is refused."""
    code, scores, output = _run(
        ["--check", "paging", "--tests", f"tests/test_paging.py::{FINGERPRINT_TEST}"], tmp_path / "scores.json"
    )
    assert code == 1, output
    assert scores["paging"]["total"] > 100 and scores["paging"]["percent"] < 50, scores
    assert "below its floor" in output


@pytest.mark.mutation
def test_mutation_scores_hold_their_floors(tmp_path: Path) -> None:
    """The CI modules a change touches (against origin/main), else the fixed sample, score at least their floors."""
    modules = mutation.load_modules()
    changed: list[str] = []
    try:
        changed = mutation.changed_modules(modules, "origin/main")
    except SystemExit:  # no origin/main here: the fixed sample
        pass
    selected = [m for m in changed if m in CI_MODULES] or SAMPLE
    code, scores, output = _run(["--check", *selected], tmp_path / "scores.json")
    assert set(scores) == set(selected), output
    floors = mutation.load_floors()
    for name, score in scores.items():
        assert score["total"] > 0, f"{name}: no mutants generated\n{output}"
        assert score["percent"] >= floors[name], f"{name}: {score}\n{output}"
    assert code == 0, output


def test_rerunning_survivors_needs_a_last_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--rerun-survivors`` keeps the last run's results: without one it refuses instead of scoring nothing."""
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    with pytest.raises(SystemExit, match="paging has no last run to take the survivors of"):
        mutation.main(["--rerun-survivors", "paging"])
    assert list(tmp_path.iterdir()) == []  # nothing was prepared or run


def test_a_survivors_only_run_keeps_the_mutants_killed_before(tmp_path: Path) -> None:
    """mutmut forgets results when the test selection changes; a mutant once killed stays killed."""
    meta = tmp_path / "mutants" / "storekit" / "paging.py.meta"
    meta.parent.mkdir(parents=True)
    after = {"m_1": None, "m_2": 1, "m_3": 0, "m_4": None, "m_5": 0}  # m_2, m_3, m_5: run again
    meta.write_text(json.dumps({"exit_code_by_key": after, "other": "kept"}))
    mutation._keep_killed(tmp_path, {"m_1": 1, "m_2": 0, "m_3": 0, "m_4": 0, "m_5": 1})  # a fresh result wins
    data = json.loads(meta.read_text())
    assert data == {"exit_code_by_key": {"m_1": 1, "m_2": 1, "m_3": 0, "m_4": None, "m_5": 0}, "other": "kept"}
    score = mutation._score("paging", tmp_path, 0.0)
    assert (score.killed, score.total, score.survivors) == (2, 4, ["m_3", "m_5"])
