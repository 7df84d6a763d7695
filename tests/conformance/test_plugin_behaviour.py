"""The pytest plugin and the CLI: inert for other projects, expected failures, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from storekit.cli import cli


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_unrelated_project_is_unaffected(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    proc = _pytest(["-q"], tmp_path)
    assert proc.returncode == 0 and "1 passed" in proc.stdout
    assert "storekit" not in proc.stdout


def test_packaged_checks_need_an_option(tmp_path: Path) -> None:
    proc = _pytest(["--pyargs", "storekit_conformance", "-q"], tmp_path)
    assert proc.returncode == 5, proc.stdout  # no tests collected, none failed
    assert "storekit conformance summary" not in proc.stdout


def test_expected_failures_are_strict_xfails(tmp_path: Path) -> None:
    (tmp_path / "test_deviation.py").write_text(
        textwrap.dedent("""
        import pytest
        from storekit_conformance import RegistryStoreSuite
        from tests.conformance.broken.variants import AliasKeptOnDelete
        from storekit_memory import MemoryRegistryStore

        class TestKnownDeviation(RegistryStoreSuite):
            expected_failures = {"test_delete_version_removes_aliases": "aliases outlive versions (ticket 12)"}
            @pytest.fixture
            def registry_store(self):
                return AliasKeptOnDelete("memory://deviation")

        class TestStaleDeviation(RegistryStoreSuite):
            expected_failures = {"test_aliases": "listed but not actually failing"}
            @pytest.fixture
            def registry_store(self):
                return MemoryRegistryStore("memory://stale")
    """)
    )
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "r.json"
    proc = _pytest([str(tmp_path / "test_deviation.py"), "-q", f"--rootdir={root}", f"--storekit-report={out}"], root)
    report = json.loads(out.read_text())
    outcome = {(c["suite"], c["check"]): (c["outcome"], c["reason"]) for c in report["checks"]}
    assert outcome[("TestKnownDeviation", "test_delete_version_removes_aliases")][0] == "xfailed"
    assert "ticket 12" in outcome[("TestKnownDeviation", "test_delete_version_removes_aliases")][1]
    assert outcome[("TestStaleDeviation", "test_aliases")][0] == "failed"  # strict: XPASS fails
    assert proc.returncode == 1
    assert all(
        o == "passed"
        for (s, c), (o, _) in outcome.items()
        if c
        not in (
            "test_delete_version_removes_aliases",
            "test_aliases",
            "test_concurrent_versions_processes",
            "test_durable_across_processes",
            "test_import_registered_model",  # IMPORT: not declared by the template
        )
    )


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ok.json"
    ok = runner.invoke(cli, ["conformance", "memory://cli-ok", "--interface", "registry", "--report", str(out)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(out.read_text())["passed"] is True
    bad = runner.invoke(cli, ["conformance", "no-such-provider", "--interface", "context"])
    assert bad.exit_code == 1
