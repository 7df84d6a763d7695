"""pytest plugin: MLflow's own test suite on a storekit store.

Loaded into a pytest run inside an MLflow source tree by
``scripts/mlflow-own-tests.sh`` (``-p storekit_db_uri_plugin`` with this
directory on ``PYTHONPATH``). MLflow's ``tests/tracking/test_rest_tracking.py``
and ``tests/tracking/test_model_registry.py`` reach their store through the
``db_uri`` fixture of MLflow's ``tests/conftest.py`` (a fresh SQLite file per
test). This plugin keeps that fixture (its temporary directory and its
teardown) and replaces the URI it hands out:

* ``STOREKIT_MLFLOW_OWN_STORE=storekit-sqlite`` (default):
  ``storekit:sqlite:///<the test's directory>/storekit.db``;
* ``storekit-file``: ``storekit:<the test's directory>/storekit-file``;
* ``mlflow-sqlite``: MLflow's own URI, unchanged (the comparison run).

It also applies the repository's lists (files beside this module):

* ``exclusions.txt``: tests deselected in every mode, each with its reason
  (GenAI-only surface, MLflow-server behaviour a 3.11 test expects but 3.17
  changed);
* ``storekit-xfail.txt``: tests expected to fail on storekit stores only, each
  with the documented deviation it hits (``xfail``, not strict: a pass shows).

MLflow's test files are never copied or edited: the plugin only chooses URIs
and marks items.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any, Generator, Iterator, NamedTuple

import pytest

__all__ = ["MODES", "Rule", "read_rules", "mode", "storekit_uri_for"]

#: The stores this plugin can point MLflow's tests at.
MODES = ("storekit-sqlite", "storekit-file", "mlflow-sqlite")
_HERE = Path(__file__).resolve().parent


class Rule(NamedTuple):
    """One line of a list file: a node-id pattern (``fnmatch``) and its reason."""

    pattern: str
    reason: str


def read_rules(path: Path) -> list[Rule]:
    """The rules of ``path``: ``<pattern> | <reason>`` a line; ``#`` comments and blank lines skipped."""
    rules = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("|")
        if not sep or not pattern.strip() or not reason.strip():
            raise pytest.UsageError(f"{path.name}:{number}: expected '<node id pattern> | <reason>', got {raw!r}")
        rules.append(Rule(pattern.strip(), reason.strip()))
    return rules


def mode() -> str:
    """The store selected by ``STOREKIT_MLFLOW_OWN_STORE`` (default ``storekit-sqlite``)."""
    value = os.environ.get("STOREKIT_MLFLOW_OWN_STORE", "storekit-sqlite")
    if value not in MODES:
        raise pytest.UsageError(f"STOREKIT_MLFLOW_OWN_STORE: expected one of {', '.join(MODES)}, got {value!r}")
    return value


def storekit_uri_for(mlflow_sqlite_uri: str, store: str) -> str:
    """The ``storekit:`` URI replacing MLflow's per-test ``sqlite:///<dir>/mlflow.db``, in that directory."""
    if store == "mlflow-sqlite":
        return mlflow_sqlite_uri
    prefix = "sqlite:///"
    if not mlflow_sqlite_uri.startswith(prefix):
        raise pytest.UsageError(f"db_uri: expected MLflow's sqlite:/// URI, got {mlflow_sqlite_uri!r}")
    directory = Path(mlflow_sqlite_uri[len(prefix) :]).parent
    if store == "storekit-sqlite":
        return f"storekit:sqlite:///{directory / 'storekit.db'}"
    return f"storekit:{directory / 'storekit-file'}"


def _matches(nodeid: str, rules: list[Rule]) -> Iterator[Rule]:
    return (rule for rule in rules if fnmatch.fnmatchcase(nodeid, rule.pattern))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Name the MLflow under test and the store, so a log says what it measured."""
    import mlflow

    return [f"storekit plugin: MLflow {mlflow.__version__} from {Path(mlflow.__file__).parent}, store {mode()}"]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run MLflow's tests against the source tree's own ``mlflow`` package."""
    import mlflow

    source = os.environ.get("MLFLOW_SOURCE_DIR")
    if source and Path(mlflow.__file__).resolve().is_relative_to(Path(source).resolve()):
        raise pytest.UsageError(
            f"mlflow was imported from the source tree ({mlflow.__file__}); the tests must run against the "
            "installed MLflow (run pytest with --import-mode=append, not with python -m pytest)"
        )
    config.addinivalue_line("markers", "storekit_excluded: deselected by the storekit plugin")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect ``exclusions.txt``; mark ``storekit-xfail.txt`` as expected failures on storekit stores."""
    exclusions = read_rules(_HERE / "exclusions.txt")
    xfails = read_rules(_HERE / "storekit-xfail.txt") if mode() != "mlflow-sqlite" else []
    kept, dropped = [], []
    for item in items:
        if any(True for _ in _matches(item.nodeid, exclusions)):
            dropped.append(item)
            continue
        for rule in _matches(item.nodeid, xfails):
            item.add_marker(pytest.mark.xfail(reason=f"storekit: {rule.reason}", strict=False))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Generator[None, Any, Any]:
    """After MLflow's ``db_uri`` fixture ran, hand out the storekit URI instead of its SQLite one."""
    value = yield
    if fixturedef.argname != "db_uri" or mode() == "mlflow-sqlite":
        return value
    replaced = storekit_uri_for(value, mode())
    cached = fixturedef.cached_result
    fixturedef.cached_result = (replaced, cached[1], cached[2])
    return replaced
