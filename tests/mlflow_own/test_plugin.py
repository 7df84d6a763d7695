"""The plugin that runs MLflow's own tests on storekit stores, checked without MLflow's source tree.

A miniature test tree shaped like MLflow's (a ``tests/conftest.py`` whose
``db_uri`` fixture copies a fresh SQLite URI per test) is run by pytest in a
subprocess with the plugin loaded the way ``scripts/mlflow-own-tests.sh``
loads it: the tests must receive ``storekit:`` URIs that MLflow's real client
can use, the deselection list must apply, and MLflow's own URI must pass
through unchanged in the comparison mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import storekit_db_uri_plugin as plugin

CONFTEST = textwrap.dedent("""
    import shutil, tempfile
    from pathlib import Path
    import pytest

    @pytest.fixture
    def db_uri():
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'mlflow.db'}"
""")

TESTS = textwrap.dedent("""
    import mlflow
    from mlflow import MlflowClient

    def test_store_through_the_fixture(db_uri):
        print("URI", db_uri)
        client = MlflowClient(tracking_uri=db_uri)
        experiment_id = client.create_experiment("through-db-uri")
        run = client.create_run(experiment_id)
        client.log_metric(run.info.run_id, "m", 1.5, step=2)
        assert client.get_run(run.info.run_id).data.metrics == {"m": 1.5}

    def test_search_traces_of_a_genai_app(db_uri):
        raise AssertionError("deselected by the exclusions list")
""")


def _run(tmp_path: Path, store: str) -> subprocess.CompletedProcess[str]:
    tree = tmp_path / "mlflow-like"
    (tree / "tests").mkdir(parents=True)
    (tree / "tests" / "conftest.py").write_text(CONFTEST)
    (tree / "tests" / "test_rest_tracking.py").write_text(TESTS)
    env = dict(
        os.environ,
        STOREKIT_MLFLOW_OWN_STORE=store,
        MLFLOW_SOURCE_DIR=str(tree),
        PYTHONPATH=str(HERE),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("pytest")),
            "--import-mode=append",
            "-p",
            "storekit_db_uri_plugin",
            "-p",
            "no:cacheprovider",
            "-s",
            "--color=no",
            "-o",
            "addopts=",
            "tests/test_rest_tracking.py",
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.mlflow
@pytest.mark.parametrize(
    "store, expected",
    [
        ("storekit-sqlite", "URI storekit:sqlite:///"),
        ("storekit-file", "URI storekit:/"),
        ("mlflow-sqlite", "URI sqlite:///"),
    ],
)
def test_the_plugin_swaps_the_db_uri_fixture(tmp_path: Path, store: str, expected: str) -> None:
    proc = _run(tmp_path, store)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert expected in output
    assert "1 passed, 1 deselected" in output
    assert f"store {store}" in output  # the report header names the store under test


def test_the_lists_parse_and_give_a_reason_for_every_rule() -> None:
    exclusions = plugin.read_rules(HERE / "exclusions.txt")
    xfails = plugin.read_rules(HERE / "storekit-xfail.txt")
    assert len(exclusions) > 20
    for rule in [*exclusions, *xfails]:
        assert len(rule.reason) >= 10, rule
    assert any(r.reason.startswith("GenAI") for r in exclusions)


def test_a_rule_without_a_reason_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "list.txt"
    bad.write_text("# comment\n*::test_x\n")
    with pytest.raises(pytest.UsageError, match="list.txt:2"):
        plugin.read_rules(bad)


def test_storekit_uris_live_in_the_fixtures_own_directory() -> None:
    source = "sqlite:////tmp/abc/mlflow.db"
    assert plugin.storekit_uri_for(source, "storekit-sqlite") == "storekit:sqlite:////tmp/abc/storekit.db"
    assert plugin.storekit_uri_for(source, "storekit-file") == "storekit:/tmp/abc/storekit-file"
    assert plugin.storekit_uri_for(source, "mlflow-sqlite") == source
    with pytest.raises(pytest.UsageError, match="db_uri"):
        plugin.storekit_uri_for("postgresql://x/y", "storekit-sqlite")
