"""The conformance report: each check's outcome, grouped by interface and contract section.

:class:`Recorder` collects outcomes from pytest's reports; :meth:`Recorder.to_dict`
gives the JSON report and :func:`format_summary` the text a person reads
(the pytest plugin prints it at the end of the run; the runner prints it
from the JSON).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from .marks import SECTIONS

__all__ = ["CheckResult", "Recorder", "format_summary", "distribution_of", "REPORT_FORMAT"]

REPORT_FORMAT = 1
_ORDER = {"failed": 0, "xpassed": 1, "passed": 2, "xfailed": 3, "skipped": 4}


@dataclass
class CheckResult:
    """The outcome of one check."""

    nodeid: str
    interface: str
    suite: str
    check: str
    section: str
    rule: str
    outcome: str = "passed"
    reason: str = ""
    duration: float = 0.0


def distribution_of(implementation: str) -> tuple[Optional[str], Optional[str]]:
    """``(distribution, version)`` that ships the module of ``module:Class``, if installed."""
    top = implementation.split(":", 1)[0].split(".", 1)[0]
    try:
        dists = importlib.metadata.packages_distributions().get(top, [])
        if dists:
            return dists[0], importlib.metadata.version(dists[0])
    except Exception:  # metadata of odd installs must not break a report
        pass
    return None, None


def _version(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Recorder:
    """Collects check outcomes during a pytest session."""

    meta: dict[str, dict[str, str]] = field(default_factory=dict)
    results: dict[str, CheckResult] = field(default_factory=dict)
    implementations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def register(self, nodeid: str, **meta: str) -> None:
        """Remember what a collected check is (interface, suite, check, section, rule)."""
        self.meta[nodeid] = meta

    def record(self, report: Any) -> None:
        """Fold one of pytest's phase reports (setup/call/teardown) into the check's outcome."""
        props = dict(report.user_properties or ())
        meta: Optional[dict[str, Any]] = self.meta.get(report.nodeid)
        if meta is None and "storekit_interface" not in props:
            return
        meta = meta or {
            "interface": props["storekit_interface"],
            "suite": "?",
            "check": report.nodeid,
            "section": "?",
            "rule": "",
        }
        result = self.results.get(report.nodeid) or CheckResult(report.nodeid, **meta)
        self.results[report.nodeid] = result
        if "storekit_implementation" in props:
            key = result.suite
            if result.interface == "context" and report.nodeid.endswith("]"):  # one provider per parameter
                key += "[" + report.nodeid.rsplit("[", 1)[-1]
            self.implementations.setdefault(
                key,
                {
                    "interface": result.interface,
                    "implementation": props["storekit_implementation"],
                    "capabilities": list(props.get("storekit_capabilities", [])),
                },
            )
        result.duration += float(getattr(report, "duration", 0.0) or 0.0)
        if result.outcome == "failed":
            return
        wasxfail = getattr(report, "wasxfail", None)
        if report.failed:
            result.outcome, result.reason = "failed", self._failure_reason(report)
            if report.when != "call":
                result.reason = f"error in {report.when}: {result.reason}"
        elif report.skipped:
            if wasxfail is not None:
                result.outcome, result.reason = "xfailed", _short(wasxfail)
            else:
                result.outcome, result.reason = "skipped", self._skip_reason(report)
        elif report.when == "call" and wasxfail is not None:
            result.outcome, result.reason = "xpassed", _short(wasxfail)

    @staticmethod
    def _failure_reason(report: Any) -> str:
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        if crash is not None:
            return _short(crash.message)
        lines = str(getattr(report, "longreprtext", "") or report.longrepr).strip().splitlines()
        return _short(lines[-1] if lines else "")

    @staticmethod
    def _skip_reason(report: Any) -> str:
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            return _short(str(longrepr[2]).removeprefix("Skipped: "))
        return _short(str(longrepr))

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        checks = sorted(self.results.values(), key=lambda r: (r.interface, r.section, r.nodeid))
        implementations = {}
        for suite, impl in self.implementations.items():
            dist, version = distribution_of(impl["implementation"])
            implementations[suite] = {**impl, "distribution": dist, "version": version}
        counts = Counter(r.outcome for r in checks)
        return {
            "format": REPORT_FORMAT,
            "storekit_version": _version("storekit"),
            "suite_version": _version("storekit-conformance"),
            "python": platform.python_version(),
            "implementations": implementations,
            "counts": dict(counts),
            "passed": bool(counts["passed"]) and not (counts["failed"] or counts["xpassed"]),
            "checks": [{**asdict(r), "section_title": SECTIONS.get(r.section, r.section)} for r in checks],
        }

    def write(self, path: "str | Path") -> None:
        """Write the JSON report to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def format_summary(report: dict[str, Any]) -> str:
    """A readable summary of a JSON report: per interface and contract section, then failures and skips."""
    lines: list[str] = []
    by_suite: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for check in report["checks"]:
        by_suite[(check["interface"], check["suite"])].append(check)
    for (interface, suite), checks in sorted(by_suite.items()):
        impls = [i for k, i in sorted(report["implementations"].items()) if k == suite or k.startswith(suite + "[")]
        lines.append(f"{interface} [{suite}]:")
        for impl in impls or [{}]:
            who = impl.get("implementation", "?")
            if impl.get("distribution"):
                who += f" ({impl['distribution']} {impl.get('version')})"
            caps = ", ".join(impl.get("capabilities", [])) or "(none declared)"
            lines.append(f"  {who}; capabilities: {caps}")
        sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for check in checks:
            sections[check["section"]].append(check)
        for section in sorted(sections, key=lambda s: list(SECTIONS).index(s) if s in SECTIONS else 99):
            items = sections[section]
            counts = Counter(c["outcome"] for c in items)
            tally = ", ".join(f"{counts[o]} {o}" for o in sorted(counts, key=lambda o: _ORDER.get(o, len(_ORDER))))
            mark = "FAIL" if counts["failed"] or counts["xpassed"] else "ok"
            title = SECTIONS.get(section, section)
            lines.append(f"  [{mark:>4}] section {section} {title}: {tally}")
            for c in sorted(items, key=lambda c: (_ORDER.get(c["outcome"], 9), c["nodeid"])):
                if c["outcome"] in ("failed", "xpassed"):
                    name = c["nodeid"].rsplit("::", 1)[-1]
                    lines.append(f"           {c['outcome'].upper()} {name} ({c['rule']}): {c['reason']}")
        skipped = Counter(c["reason"] for c in checks if c["outcome"] == "skipped")
        for reason, n in sorted(skipped.items()):
            lines.append(f"  skipped {n}: {reason}")
        xfailed = [c for c in checks if c["outcome"] == "xfailed"]
        for c in xfailed:
            lines.append(f"  expected failure {c['nodeid'].rsplit('::', 1)[-1]}: {c['reason']}")
    counts = report["counts"]
    skipped_total = counts.get("skipped", 0)
    if skipped_total:
        lines.append(
            f"WARNING: {skipped_total} of {len(report['checks'])} checks were SKIPPED (reasons above): "
            "a skipped check certifies nothing"
        )
    verdict = "PASSED" if report["passed"] else "FAILED"
    lines.append(
        f"storekit conformance {verdict}: "
        + ", ".join(f"{counts.get(o, 0)} {o}" for o in ("passed", "failed", "skipped", "xfailed", "xpassed"))
        + f" (storekit {report['storekit_version']}, suite {report['suite_version']})"
    )
    return "\n".join(lines)
