"""The plugin registry (contract section 1) against real installed distributions.

The distributions under ``tests/fixtures/plugins`` are built and installed
into a throw-away virtual environment that also sees this environment's
packages (storekit included); assertions about them run in subprocesses of
that environment's interpreter, so nothing here fakes an entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from storekit import InvalidParameterError, RunContextProvider, UnknownSchemeError, plugins

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plugins"
FIXTURE_DISTS = ("acme", "broken", "future", "twin_a", "twin_b")
_ENV_VARS = ("STOREKIT_PLUGIN_PREFERENCE", "STOREKIT_DISABLE_PLUGINS", "STOREKIT_TRACKING_URI", "STOREKIT_REGISTRY_URI")

# Helpers available to every probe script run in the plugin environment.
_PRELUDE = '''
import json, sys, warnings
import storekit
from storekit import plugins

def outcome(fn, *args, **kwargs):
    """What calling fn did: the value's class and construction, or the error."""
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        return {
            "error": type(exc).__name__,
            "message": str(exc),
            "cause": type(exc.__cause__).__name__ if exc.__cause__ else None,
            "classes": [c.__name__ for c in type(exc).__mro__],
        }
    return {
        "class": type(value).__module__ + "." + type(value).__name__,
        "uri": getattr(value, "uri", None),
        "kwargs": getattr(value, "kwargs", None),
    }

results = {}
'''


# --- the plugin environment ------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def plugin_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a virtual environment with the fixture plugins installed."""
    try:
        import flit_core  # noqa: F401  (the fixtures' build backend; no build isolation)
    except ImportError:
        pytest.fail("tests/test_plugins.py needs flit_core installed (pip install flit_core)", pytrace=False)
    root = tmp_path_factory.mktemp("plugin-env")
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
    )
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The project environment is itself a venv, not the system site: make its
    # packages (storekit, pip, flit_core...) visible after the new venv's own.
    dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]
    Path(purelib, "zz_project_env.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n"
    )
    sources = root / "src"
    for name in FIXTURE_DISTS:  # build from copies: the source tree stays clean
        shutil.copytree(FIXTURES / name, sources / name)
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            *(str(sources / n) for n in FIXTURE_DISTS),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return python


def _run(python: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=python.parent,
        env=_clean_env(**env),
    )


def probe(python: Path, body: str, **env: str) -> dict:
    """Run ``body`` (which fills ``results``) in the plugin environment; return ``results``."""
    script = _PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(results))\n"
    proc = _run(python, ["-c", script], **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- resolution of a good plugin ---------------------------------------------------


def test_good_plugin_resolves_lazily(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        """
        results["before"] = sorted(m for m in sys.modules if m.startswith("storekit_test"))
        results["tracking"] = outcome(storekit.resolve_tracking_store, "acme://host/db", pool=3)
        results["driver"] = outcome(plugins.resolve_tracking_store, "acme+turbo://host/db")
        results["factory"] = outcome(plugins.resolve_tracking_store, "acmefactory://x")
        results["artifacts"] = outcome(storekit.resolve_artifact_repository, "acme://bucket/root")
        results["after"] = sorted(m for m in sys.modules if m.startswith("storekit_test"))
    """,
    )
    assert r["before"] == []
    assert r["tracking"] == {
        "class": "storekit_test_acme.AcmeTrackingStore",
        "uri": "acme://host/db",
        "kwargs": {"pool": 3},
    }
    assert r["driver"]["class"] == "storekit_test_acme.AcmeTrackingStore"
    assert r["driver"]["uri"] == "acme+turbo://host/db"
    assert r["factory"]["kwargs"] == {"via": "factory"}
    assert r["artifacts"]["class"] == "storekit_test_acme.AcmeArtifactRepository"
    # only the resolved plugin was imported, not the broken/future/twin ones
    assert r["after"] == ["storekit_test_acme"]


def test_listing_without_load_imports_no_plugin(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        """
        infos = plugins.list_implementations()
        results["loaded"] = sorted(m for m in sys.modules if m.startswith("storekit_test"))
        results["acme"] = [i.status for i in infos if i.distribution == "storekit-test-acme"]
    """,
    )
    assert r["loaded"] == []
    assert r["acme"] and set(r["acme"]) == {"not loaded"}


# --- failures ------------------------------------------------------------------------


def test_import_failure_names_distribution_version_and_entry_point(plugin_python: Path) -> None:
    r = probe(plugin_python, 'results["e"] = outcome(storekit.resolve_tracking_store, "broken://x")')["e"]
    assert r["error"] == "PluginLoadError"
    assert "ImportError" in r["classes"]
    assert r["cause"] == "ImportError"
    assert "storekit-test-broken 0.0.1" in r["message"]
    assert "'broken = storekit_test_broken.boom:BrokenStore'" in r["message"]
    assert "frobnicator" in r["message"]


def test_incompatible_api_is_refused(plugin_python: Path) -> None:
    r = probe(plugin_python, 'results["e"] = outcome(storekit.resolve_tracking_store, "future://x")')["e"]
    assert r["error"] == "IncompatiblePluginError"
    assert "PluginLoadError" in r["classes"]
    assert "storekit API 99" in r["message"] and "storekit API 1" in r["message"]
    assert "storekit-test-future 9.0.0" in r["message"]


def test_object_that_is_not_a_store_is_refused(plugin_python: Path) -> None:
    r = probe(plugin_python, 'results["e"] = outcome(storekit.resolve_tracking_store, "notastore://x")')["e"]
    assert r["error"] == "PluginLoadError"
    assert "not a subclass of storekit.TrackingStore" in r["message"]
    assert "storekit-test-acme 1.2.3" in r["message"]


def test_secrets_are_redacted_from_errors(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        """
        results["unknown"] = outcome(storekit.resolve_tracking_store, "nosuch://alice:hunter2@db/x")
        results["broken"] = outcome(storekit.resolve_tracking_store, "broken://alice:hunter2@db/x")
    """,
    )
    assert r["unknown"]["error"] == "UnknownSchemeError"
    assert "hunter2" not in r["unknown"]["message"] and "alice:***@db" in r["unknown"]["message"]
    assert r["broken"]["error"] == "PluginLoadError" and "hunter2" not in r["broken"]["message"]


# --- arbitration ----------------------------------------------------------------------


def test_two_third_party_distributions_conflict(plugin_python: Path) -> None:
    r = probe(plugin_python, 'results["e"] = outcome(storekit.resolve_tracking_store, "twin://x")')["e"]
    assert r["error"] == "PluginLoadError"
    assert "storekit-test-twin-a 1.0" in r["message"] and "storekit-test-twin-b 2.0" in r["message"]
    assert "STOREKIT_PLUGIN_PREFERENCE" in r["message"]


def test_preference_picks_one(plugin_python: Path) -> None:
    body = """
        results["env"] = outcome(storekit.resolve_tracking_store, "twin://x")
        plugins.prefer("twin", "storekit_test_twin_a", group="tracking")
        results["prefer"] = outcome(storekit.resolve_tracking_store, "twin://x")
        plugins.prefer("twin", None, group="tracking")
        plugins.prefer("twin", "storekit-test-acme")
        results["absent"] = outcome(storekit.resolve_tracking_store, "twin://x")
    """
    r = probe(plugin_python, body, STOREKIT_PLUGIN_PREFERENCE="other=x, twin=storekit-test-twin-b")
    assert r["env"]["class"] == "storekit_test_twin_b.TwinStore"
    assert r["prefer"]["class"] == "storekit_test_twin_a.TwinStore"  # prefer() wins over the env
    assert r["absent"]["error"] == "PluginLoadError"
    assert "'storekit-test-acme'" in r["absent"]["message"]
    assert "storekit-test-twin-a" in r["absent"]["message"]


def test_builtin_wins_unless_overridden(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        """
        infos = plugins.list_implementations("tracking")
        results["status"] = [i.status for i in infos
                             if i.scheme == "file" and i.distribution == "storekit-test-twin-a"]
        plugins.prefer("file", "storekit-test-twin-a", group="tracking")
        results["bare"] = outcome(storekit.resolve_tracking_store, "./some/dir")
        results["file"] = outcome(storekit.resolve_tracking_store, "file:///tmp/x")
    """,
    )
    assert r["status"] == ["shadowed by storekit"]
    assert r["bare"]["class"] == "storekit_test_twin_a.TwinStore"
    assert r["file"]["class"] == "storekit_test_twin_a.TwinStore"


def test_interface_scoped_preference_in_env(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        'results["r"] = outcome(storekit.resolve_tracking_store, "twin://x")',
        STOREKIT_PLUGIN_PREFERENCE="artifacts:twin=storekit-test-twin-a,tracking:twin=storekit-test-twin-b",
    )
    assert r["r"]["class"] == "storekit_test_twin_b.TwinStore"


# --- unknown schemes --------------------------------------------------------------------


def test_unknown_scheme_lists_schemes(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        """
        results["plain"] = outcome(storekit.resolve_artifact_repository, "gopher://x")
        results["tracking_as_artifacts"] = outcome(storekit.resolve_artifact_repository, "twin://x")
    """,
    )
    plain = r["plain"]
    assert plain["error"] == "UnknownSchemeError"
    message = plain["message"]
    assert "'gopher'" in message and "pip install" not in message
    listed = message.split("schemes: ", 1)[1].rstrip(".").split(", ")
    assert {"acme", "file"} <= set(listed)
    assert "served as a tracking store" in r["tracking_as_artifacts"]["message"]


def test_disabled_builtin_plugin_is_named(plugin_python: Path) -> None:
    """End to end: a built-in plugin switched off by STOREKIT_DISABLE_PLUGINS is reported as disabled."""
    r = probe(
        plugin_python,
        'results["r"] = outcome(storekit.resolve_artifact_repository, "s3://bucket/x")',
        STOREKIT_DISABLE_PLUGINS="storekit-s3",
    )
    assert r["r"]["error"] == "UnknownSchemeError"
    assert "storekit-s3 provides 's3' but is disabled by STOREKIT_DISABLE_PLUGINS" in r["r"]["message"]


def test_absent_builtin_plugin_message_has_the_pip_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The message for a known built-in scheme whose distribution is not installed names the extra.

    (End to end in a venv without that distribution this is what a user sees; the
    project's test venv has every built-in plugin installed, so the table gets a
    scheme whose distribution surely does not exist.)
    """
    monkeypatch.setitem(plugins.INSTALL_HINTS, "gopher", ("gopher", "storekit-gopher-not-installed"))
    with pytest.raises(UnknownSchemeError) as info:
        plugins.resolve_artifact_repository("gopher://user:hunter2@host/x")
    message = str(info.value)
    assert "To use 'gopher', run: pip install 'storekit[gopher]'" in message
    assert "hunter2" not in message


def test_disabled_plugin_is_ignored_and_says_so(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        'results["r"] = outcome(storekit.resolve_tracking_store, "acme://x")',
        STOREKIT_DISABLE_PLUGINS="storekit-test-acme",
    )
    assert r["r"]["error"] == "UnknownSchemeError"
    assert "acme" in r["r"]["message"]


@pytest.mark.parametrize(
    ("scheme", "extra"),
    [
        ("s3", "s3"),
        ("wasbs", "azure"),
        ("abfss", "azure"),
        ("az", "azure"),
        ("abfs", "azure"),
        ("sftp", "sftp"),
        ("hdfs", "hdfs"),
        ("viewfs", "hdfs"),
        ("webhdfs", "hdfs"),
        ("swebhdfs", "hdfs"),
        ("postgresql", "postgres"),
        ("mysql", "mysql"),
        ("mariadb", "mysql"),
        ("S3", "s3"),
    ],
)
def test_install_hint_table(scheme: str, extra: str) -> None:
    assert plugins.install_hint(scheme) == f"pip install 'storekit[{extra}]'"


def test_no_install_hint_for_unknown_scheme() -> None:
    assert plugins.install_hint("gopher") is None


def test_unknown_scheme_in_process_lists_builtins() -> None:
    with pytest.raises(UnknownSchemeError) as info:
        plugins.resolve_tracking_store("nosuch+drv://bob:s3cret@h/db")
    message = str(info.value)
    assert "'nosuch+drv' or 'nosuch'" in message
    assert "sqlite" in message and "file" in message and "postgresql" in message
    assert "s3cret" not in message


def test_empty_uri_is_invalid() -> None:
    with pytest.raises(InvalidParameterError, match="uri"):
        plugins.resolve_artifact_repository("")


def test_malformed_preference_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREKIT_PLUGIN_PREFERENCE", "sqlite")
    with pytest.raises(InvalidParameterError, match="STOREKIT_PLUGIN_PREFERENCE entry 'sqlite'"):
        plugins.resolve_tracking_store("sqlite:///x.db")


def test_prefer_rejects_unknown_interface() -> None:
    with pytest.raises(InvalidParameterError, match="interface 'trackin'"):
        plugins.prefer("x", "y", group="trackin")


# --- run context providers --------------------------------------------------------------


def test_context_providers_from_entry_points(plugin_python: Path) -> None:
    r = probe(
        plugin_python,
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            providers = plugins.get_context_providers()
            results["order"] = [type(p).__name__ for p in providers
                                if type(p).__module__.startswith("storekit_test")]
            results["tags"] = plugins.collect_context_tags(providers)
        results["warnings"] = [str(w.message) for w in caught
                               if issubclass(w.category, plugins.PluginWarning)]
    """,
    )
    assert r["order"] == ["EarlyContext", "RaisingContext", "AcmeContext"]
    assert r["tags"]["acme.context"] == "yes" and r["tags"]["acme.early"] == "yes"
    assert r["tags"]["shared"] == "acme"  # the later provider wins
    assert "never" not in r["tags"]
    broken = [w for w in r["warnings"] if "brokenctx" in w]
    assert broken and "storekit-test-broken 0.0.1" in broken[0]
    assert "'brokenctx = storekit_test_broken.boom:BrokenContext'" in broken[0]
    assert any("RaisingContext" in w and "exploded" in w for w in r["warnings"])


class _Provider(RunContextProvider):
    """A provider configured per test."""

    def __init__(self, tags: dict[str, str], active: bool = True, fail: bool = False) -> None:
        self._tags, self._active, self._fail = tags, active, fail

    def in_context(self) -> bool:
        return self._active

    def tags(self) -> dict[str, str]:
        if self._fail:
            raise OSError("no git here")
        return self._tags


def test_collect_context_tags_order_and_failures() -> None:
    providers = [
        _Provider({"a": "1", "b": "first"}),
        _Provider({"c": "never"}, active=False),
        _Provider({"d": "never"}, fail=True),
        _Provider({"b": "second", "e": None}),  # type: ignore[dict-item]
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tags = plugins.collect_context_tags(providers)
    assert tags == {"a": "1", "b": "second"}
    assert [str(w.message) for w in caught if "no git here" in str(w.message)]


# --- the command line -------------------------------------------------------------------------

_CLI = "import sys; from storekit.cli import main; sys.exit(main(sys.argv[1:]))"


def test_cli_plugins_json(plugin_python: Path) -> None:
    proc = _run(plugin_python, ["-c", _CLI, "plugins", "--json"])
    assert proc.returncode == 1, proc.stderr  # the twin conflict is an error
    payload = json.loads(proc.stdout)
    assert payload["storekit_api"] == 1
    acme = [
        i for i in payload["implementations"] if i["distribution"] == "storekit-test-acme" and i["scheme"] == "acme"
    ]
    assert {(i["interface"], i["version"], i["status"], i["builtin"]) for i in acme} == {
        ("tracking", "1.2.3", "not loaded", False),
        ("artifacts", "1.2.3", "not loaded", False),
        ("context", "1.2.3", "not loaded", False),
    }
    twin = [i["status"] for i in payload["implementations"] if i["scheme"] == "twin"]
    assert len(twin) == 2 and all(s.startswith("error: ") for s in twin)


def test_cli_plugins_load_reports_import_status(plugin_python: Path) -> None:
    proc = _run(plugin_python, ["-c", _CLI, "plugins", "--json", "--load", "--interface", "tracking"])
    payload = json.loads(proc.stdout)
    status = {
        i["scheme"]: i["status"] for i in payload["implementations"] if i["distribution"].startswith("storekit-test")
    }
    assert {i["interface"] for i in payload["implementations"]} == {"tracking"}
    assert status["acme"] == "ok"
    assert status["broken"].startswith("error: ") and "frobnicator" in status["broken"]
    assert status["future"].startswith("error: ") and "storekit API 99" in status["future"]
    assert status["file"] == "shadowed by storekit"


def test_cli_plugins_table(plugin_python: Path) -> None:
    proc = _run(plugin_python, ["-c", _CLI, "plugins", "--interface", "artifacts"], COLUMNS="200")
    assert proc.returncode == 0, proc.stderr
    assert "artifact repository (storekit.artifact_repository)" in proc.stdout
    assert "storekit-test-acme" in proc.stdout and "1.2.3" in proc.stdout
    assert "storekit_test_acme:AcmeArtifactRepository" in proc.stdout


def test_construction_failure_never_shows_the_plugins_view_of_the_secret() -> None:
    """A plugin whose constructor puts the password in its own message: the error is scrubbed and not chained."""
    from storekit.errors import PluginLoadError
    from storekit.plugins import INTERFACES, _Candidate, _construct

    def factory(uri: str) -> None:
        raise RuntimeError("auth failed for password hunter2/x (decoded from hunter2%2Fx) at " + uri)

    cand = _Candidate("acme", "acme:Store", "storekit-test-acme", "1.0", False, None)  # type: ignore[arg-type]
    with pytest.raises(PluginLoadError) as info:
        _construct(INTERFACES["tracking"], cand, factory, ("acme://bob:hunter2%2Fx@host/db",), {})
    assert "hunter2" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "bob:***@host" in str(info.value)
