"""The pytest plugin of storekit-conformance (entry point ``pytest11``).

It adds the ``--storekit-*`` options, builds the stores of the packaged
checks from them (``pytest --pyargs storekit_conformance --storekit-uri=...``),
turns parametrized ``expected_failures`` into strict xfails, and prints
and writes the conformance report.

Without any ``--storekit-*`` option it changes nothing for other projects:
the packaged checks are not collected, and no summary is printed unless a
suite subclass ran.  Nothing heavy is imported until a suite is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

__all__ = ["INTERFACE_OPTIONS", "Targets"]

_PACKAGED = Path(__file__).resolve().parent / "tests"

#: interface -> (command-line option, option dest)
INTERFACE_OPTIONS: dict[str, tuple[str, str]] = {
    "tracking": ("--storekit-tracking-uri", "storekit_tracking_uri"),
    "artifacts": ("--storekit-artifact-uri", "storekit_artifact_uri"),
    "registry": ("--storekit-registry-uri", "storekit_registry_uri"),
    "context": ("--storekit-context-provider", "storekit_context_provider"),
}
_GENERIC_INTERFACES = ("tracking", "artifacts", "registry")  # what --storekit-uri applies to

_recorder_key = pytest.StashKey[Any]()
#: URI -> whether it named no store yet when the suite first resolved it
_new_key = pytest.StashKey[dict[str, bool]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--storekit-*`` options."""
    group = parser.getgroup("storekit-conformance", "storekit conformance suite")
    group.addoption(
        "--storekit-uri",
        dest="storekit_uri",
        default=None,
        help="URI to check as tracking store, registry store and artifact repository "
        "(each where the scheme has an implementation).",
    )
    group.addoption(
        "--storekit-tracking-uri", dest="storekit_tracking_uri", default=None, help="URI of a tracking store to check."
    )
    group.addoption(
        "--storekit-artifact-uri",
        dest="storekit_artifact_uri",
        default=None,
        help="Artifact URI under which each check gets a fresh, empty root.",
    )
    group.addoption(
        "--storekit-registry-uri", dest="storekit_registry_uri", default=None, help="URI of a registry store to check."
    )
    group.addoption(
        "--storekit-context-provider",
        dest="storekit_context_provider",
        default=None,
        help="Entry-point name of a run context provider to check, or 'all'.",
    )
    group.addoption(
        "--storekit-report",
        dest="storekit_report",
        default=None,
        help="Write the JSON conformance report to this file.",
    )
    group.addoption(
        "--storekit-large-file-mb",
        dest="storekit_large_file_mb",
        type=int,
        default=None,
        help="Size of the large-file artifact round trip in MiB (default 24).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and the report recorder."""
    config.addinivalue_line("markers", "storekit_contract(section, rule): the contract rule a check checks")
    config.addinivalue_line("markers", "storekit_requires(*capabilities): capabilities a check needs")
    config.addinivalue_line(
        "markers", "storekit_requires_new_store: the check needs a store opened on an empty location"
    )
    config.stash[_new_key] = {}
    from .report import Recorder

    config.stash[_recorder_key] = Recorder()
    config.pluginmanager.register(_ReportHooks(config), "storekit_conformance_report")


@dataclass(frozen=True)
class Targets:
    """The implementations named on the command line."""

    config: pytest.Config

    def uri(self, interface: str) -> Optional[str]:
        """The URI (or provider name) given for ``interface``, falling back to ``--storekit-uri``."""
        specific = self.config.getoption(INTERFACE_OPTIONS[interface][1])
        if specific:
            return str(specific)
        generic = self.config.getoption("storekit_uri")
        if generic and interface in _GENERIC_INTERFACES:
            return str(generic)
        return None

    def _resolve(self, interface: str, resolve: Callable[..., Any], uri: str) -> Any:
        from storekit.errors import UnknownSchemeError

        try:
            if interface in ("tracking", "registry"):
                self._probe_new(resolve, uri)
            return resolve(uri)
        except UnknownSchemeError as exc:
            if self.config.getoption(INTERFACE_OPTIONS[interface][1]):
                raise
            pytest.skip(f"no {interface} implementation for this URI's scheme: {exc}")

    def _probe_new(self, resolve: Callable[..., Any], uri: str) -> None:
        """Record, before the suite first opens ``uri``, whether a store is there already.

        ``resolve(uri, create=False)`` raising ``StoreNotFoundError`` means the
        suite is about to create the store on an empty location; an
        implementation that ignores ``create`` opens, and counts as live.
        """
        from storekit.errors import StoreNotFoundError

        seen = self.config.stash[_new_key]
        if uri in seen:
            return
        try:
            existing = resolve(uri, create=False)
        except StoreNotFoundError:
            seen[uri] = True
            return
        except Exception:  # the real resolution reports it
            seen[uri] = False
            return
        seen[uri] = False
        close = getattr(existing, "close", None)
        if callable(close):
            close()

    def is_new(self, interface: str) -> bool:
        """Whether ``interface``'s URI named no store before the suite opened it (False when unknown)."""
        uri = self.uri(interface)
        return bool(uri) and self.config.stash[_new_key].get(str(uri), False)

    def tracking_store(self) -> Any:
        """Resolve the tracking store through ``storekit.plugins``."""
        from storekit.plugins import resolve_tracking_store

        return self._resolve("tracking", resolve_tracking_store, self._need("tracking"))

    def registry_store(self) -> Any:
        """Resolve the registry store through ``storekit.plugins``."""
        from storekit.plugins import resolve_registry_store

        return self._resolve("registry", resolve_registry_store, self._need("registry"))

    def artifact_factory(self) -> Callable[[], Any]:
        """A factory of repositories on fresh roots under the artifact URI."""
        from storekit.plugins import resolve_artifact_repository
        from storekit.uri import append_path

        from .helpers import unique

        base = self._need("artifacts")
        self._resolve("artifacts", resolve_artifact_repository, append_path(base, unique("probe")))
        return lambda: resolve_artifact_repository(append_path(base, unique("root")))

    def _need(self, interface: str) -> str:
        uri = self.uri(interface)
        if not uri:
            pytest.skip(f"no URI given for {interface} ({INTERFACE_OPTIONS[interface][0]} or --storekit-uri)")
        return uri


@pytest.fixture(scope="session")
def storekit_targets(pytestconfig: pytest.Config) -> Targets:
    """The implementations given by the ``--storekit-*`` options."""
    return Targets(pytestconfig)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> Optional[bool]:
    """Collect a packaged check module only when its interface was given a URI."""
    path = Path(collection_path)
    if path.parent != _PACKAGED or not path.name.startswith("test_") or path.suffix != ".py":
        return None
    interface = path.stem[len("test_") :]
    if interface in INTERFACE_OPTIONS and Targets(config).uri(interface) is None:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Register suite checks for the report and apply parametrized expected failures."""
    recorder = config.stash[_recorder_key]
    for item in items:
        cls = getattr(item, "cls", None)
        if cls is None or not getattr(cls, "__storekit_suite__", False):
            continue
        from .marks import contract_of

        section, rule = contract_of(item)
        recorder.register(
            item.nodeid,
            interface=cls.interface,
            suite=cls.__name__,
            check=getattr(item, "originalname", item.name),
            section=section,
            rule=rule,
        )
        reason = dict(getattr(cls, "expected_failures", {})).get(item.name)
        if reason is not None and "[" in item.name:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"expected failure: {reason}"))


class _ReportHooks:
    """Per-session hooks that need the config (pytest passes reports without it)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold each phase report (setup/call/teardown) into the conformance report."""
        self.config.stash[_recorder_key].record(report)


def _targets_given(config: pytest.Config) -> bool:
    """Whether any ``--storekit-*`` target option was given (a conformance run, not a plain test run)."""
    return config.getoption("storekit_uri") is not None or any(
        config.getoption(dest) is not None for _, dest in INTERFACE_OPTIONS.values()
    )


def _not_a_pass(config: pytest.Config) -> Optional[str]:
    """Why a conformance run that pytest would call green is no pass at all (None when it is one).

    A run passes only when it ran checks and at least one passed: a misspelled
    scheme, an entry point that resolves to nothing or a filter that deselects
    everything must not certify a plugin by skipping every check.
    """
    if not _targets_given(config):
        return None
    results = config.stash[_recorder_key].results.values()
    if not results:
        return "no conformance check was collected for the given --storekit-* options"
    outcomes = [r.outcome for r in results]
    if "passed" not in outcomes:
        skipped = outcomes.count("skipped")
        reasons = sorted({r.reason for r in results if r.outcome == "skipped"})
        why = f"; skipped because: {reasons[0]}" if len(reasons) == 1 else ""
        return f"no conformance check passed ({len(outcomes)} collected, {skipped} skipped{why})"
    return None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Turn a green-looking run that checked nothing into a failure (exit code 1)."""
    if exitstatus == 0 and _not_a_pass(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the conformance summary (only if suite checks ran) and write the JSON report."""
    recorder = config.stash[_recorder_key]
    path = config.getoption("storekit_report")
    problem = _not_a_pass(config)
    if not recorder.results:
        if path:
            recorder.write(path)
        if problem:
            terminalreporter.write_sep("=", "storekit conformance summary")
            terminalreporter.write_line(f"storekit conformance FAILED: {problem}", red=True, bold=True)
        return
    from .report import format_summary

    report = recorder.to_dict()
    terminalreporter.write_sep("=", "storekit conformance summary")
    for line in format_summary(report).splitlines():
        terminalreporter.write_line(line)
    if problem:
        terminalreporter.write_line(f"storekit conformance FAILED: {problem}", red=True, bold=True)
    if path:
        recorder.write(path)
        terminalreporter.write_line(f"JSON report written to {path}")
