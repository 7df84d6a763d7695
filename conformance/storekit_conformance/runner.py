"""Run the packaged checks against a URI in a pytest subprocess (used by the CLI and by tests).

``run_conformance("tracking", "sqlite:///x.db")`` runs
``python -m pytest --pyargs storekit_conformance --storekit-tracking-uri=...``
and returns the exit code, the output and the JSON report;
``assert_conformance`` does the same, prints the summary and asserts that
every required check passed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from .plugin import INTERFACE_OPTIONS
from .report import format_summary

__all__ = ["ConformanceResult", "pytest_command", "run_conformance", "assert_conformance", "INTERFACES"]

#: Interface names accepted by ``--interface``.
INTERFACES = tuple(INTERFACE_OPTIONS)


@dataclass
class ConformanceResult:
    """Outcome of one conformance run."""

    returncode: int
    output: str
    report: Optional[dict[str, Any]]

    @property
    def passed(self) -> bool:
        """True exactly when pytest exited 0 (every required check passed; skips and expected failures allowed)."""
        return self.returncode == 0

    @property
    def summary(self) -> str:
        """The readable summary (from the JSON report), or the tail of the output if there is none."""
        if self.report and self.report.get("checks"):
            return format_summary(self.report)
        return self.output[-4000:]


def pytest_command(
    interface: Optional[str],
    uri: str,
    report: Optional["str | Path"] = None,
    large_file_mb: Optional[int] = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
) -> list[str]:
    """The pytest command line that checks ``uri`` as ``interface`` (all URI-based interfaces when None)."""
    if interface is not None and interface not in INTERFACE_OPTIONS:
        raise ValueError(f"interface must be one of {', '.join(INTERFACES)}, not {interface!r}")
    option = INTERFACE_OPTIONS[interface][0] if interface else "--storekit-uri"
    cmd = [
        python,
        "-m",
        "pytest",
        "--pyargs",
        "storekit_conformance",
        f"{option}={uri}",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
    ]
    if report:
        cmd.append(f"--storekit-report={report}")
    if large_file_mb:
        cmd.append(f"--storekit-large-file-mb={large_file_mb}")
    return [*cmd, *extra_args]


def _absolute_if_relative_path(interface: Optional[str], uri: str) -> str:
    """A bare relative store path (``./store``) made absolute; URIs and provider names unchanged."""
    from storekit.uri import get_scheme

    if interface == "context" or get_scheme(uri) != "file" or uri.lower().startswith("file:"):
        return uri
    return os.path.abspath(uri)


def run_conformance(
    interface: Optional[str],
    uri: str,
    report: Optional["str | Path"] = None,
    *,
    large_file_mb: Optional[int] = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
    env: Optional[Mapping[str, str]] = None,
    capture: bool = True,
    timeout: Optional[float] = 900,
) -> ConformanceResult:
    """Run the suite for ``interface`` against ``uri`` in a subprocess and return the result."""
    # The suite runs in a scratch directory: anchor relative paths at the caller's directory.
    uri = _absolute_if_relative_path(interface, uri)
    with tempfile.TemporaryDirectory(prefix="storekit-conformance-") as tmp:
        report_path = Path(report).resolve() if report else Path(tmp) / "report.json"
        cmd = pytest_command(interface, uri, report_path, large_file_mb, extra_args, python)
        proc = subprocess.run(
            cmd,
            cwd=tmp,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            text=True,
        )
        data = json.loads(report_path.read_text()) if report_path.exists() else None
        return ConformanceResult(proc.returncode, proc.stdout or "", data)


def assert_conformance(interface: Optional[str], uri: str, **kwargs: Any) -> ConformanceResult:
    """Run the suite against ``uri``, print the summary, and assert that every required check passed."""
    result = run_conformance(interface, uri, **kwargs)
    print(result.summary)
    assert result.passed, (
        f"conformance failed for {interface or 'all interfaces'} at {_redacted(uri)}:\n"
        f"{result.summary}\n--- pytest output (tail) ---\n{result.output[-6000:]}"
    )
    return result


def _redacted(uri: str) -> str:
    from storekit.uri import redact_uri

    return redact_uri(uri)


if __name__ == "__main__":  # pragma: no cover - convenience: python -m storekit_conformance.runner IFACE URI
    res = run_conformance(sys.argv[1] if sys.argv[1] != "all" else None, sys.argv[2], capture=False)
    sys.exit(res.returncode)
