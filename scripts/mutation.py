"""Mutation testing of storekit's critical modules with mutmut, module by module (run by scripts/mutation.sh).

Each module (``[tool.storekit-mutation.modules.*]`` in pyproject.toml) names its
source files and its fast test selection (unit tests plus the in-process
conformance suites on SQLite and the file store).  For each module this runs
``mutmut run`` in a scratch directory ``.mutation/<module>/`` that holds
symbolic links to the source and tests and a pyproject.toml whose
``[tool.mutmut]`` section is narrowed to that module, then prints the score:
killed mutants (a failing test, a timeout or a crash) over all mutants
(a mutant no selected test reaches counts as a survivor).

    scripts/mutation.sh                     every module
    scripts/mutation.sh paging storekit/uri.py  the named modules (by name or by a source file's path)
    scripts/mutation.sh --changed [BASE]    the modules whose files differ from BASE (default: origin/main, else main)
    scripts/mutation.sh --check             also fail when a score is below its floor (scripts/mutation-floors.toml)
    scripts/mutation.sh --survivors         also print the diff of every surviving mutant
    scripts/mutation.sh --last              report the last run of each module without running
    scripts/mutation.sh --rerun-survivors   run only the last run's survivors again (after adding tests;
                                            mutants already killed stay killed, new tests are found)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("STOREKIT_MUTATION_WORK", ROOT / ".mutation"))  # scratch directories
FLOORS = ROOT / "scripts" / "mutation-floors.toml"
# mutmut exit codes (its stats module): what counts as a killed mutant
KILLED_CODES = {1, 3, 36, 24, -24, 152, 255, 37, -11, -9}
SURVIVED_CODES = {0, 5, 33, 35}  # survived, no tests, suspicious


@dataclass
class Module:
    """One unit of mutation testing: source files and the tests that guard them."""

    name: str
    paths: list[str]
    tests: list[str]


@dataclass
class Score:
    """The outcome of one module's run."""

    module: str
    killed: int = 0
    total: int = 0
    survivors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def percent(self) -> float:
        """Killed mutants in percent (100 when there are none)."""
        return 100.0 * self.killed / self.total if self.total else 100.0


def load_modules() -> dict[str, Module]:
    """The modules declared in pyproject.toml, by name."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    table = data["tool"]["storekit-mutation"]["modules"]
    return {name: Module(name, list(spec["paths"]), list(spec["tests"])) for name, spec in table.items()}


def load_floors() -> dict[str, float]:
    """The recorded floor (percent killed) of each module."""
    return {k: float(v) for k, v in tomllib.loads(FLOORS.read_text("utf-8")).get("floors", {}).items()}


def _owner(modules: dict[str, Module], path: str) -> str | None:
    path = path.lstrip("./")
    for module in modules.values():
        for p in module.paths:
            if path == p or (p.endswith("/") and path.startswith(p)):
                return module.name
    return None


def changed_modules(modules: dict[str, Module], base: str | None) -> list[str]:
    """The modules with a file that differs between ``base`` and the working tree."""
    candidates = [base] if base else ["origin/main", "main"]
    for ref in candidates:
        probe = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=ROOT, capture_output=True)
        if probe.returncode == 0:
            break
    else:
        raise SystemExit(f"mutation: no such git revision: {' or '.join(candidates)}")
    diff = subprocess.run(
        ["git", "diff", "--name-only", f"{ref}...HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    local = subprocess.run(["git", "diff", "--name-only", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    names = {_owner(modules, p) for p in [*diff, *local.split()]}
    return [m for m in modules if m in names]


def _mutmut_config(module: Module) -> str:
    """A ``[tool.mutmut]`` section narrowed to ``module``."""
    only = [p + "*" if p.endswith("/") else p for p in module.paths]
    lines = [
        "[tool.mutmut]",
        'source_paths = ["storekit/"]',
        f"only_mutate = {json.dumps(only)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(module.tests)}",
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "--timeout=600"]',
        "",
    ]
    return "\n".join(lines)


def _prepare(module: Module, fresh: bool = True) -> Path:
    """The scratch directory of ``module`` (emptied when ``fresh``): links to the sources, and the
    narrowed configuration (always rewritten, so a changed test selection is used)."""
    work = WORK / module.name
    if fresh and work.exists():
        shutil.rmtree(work)
    if not work.exists():
        work.mkdir(parents=True)
        for name in ("storekit", "tests"):
            (work / name).symlink_to(ROOT / name)
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[)", "", text)  # the repository-wide section
    (work / "pyproject.toml").write_text(text + "\n" + _mutmut_config(module), "utf-8")
    return work


def _results(work: Path) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        codes.update(json.loads(meta.read_text("utf-8")).get("exit_code_by_key", {}))
    return codes


def _keep_killed(work: Path, before: dict[str, int | None]) -> None:
    """Give back the results of mutants killed before that a survivors-only run left unchecked.

    mutmut forgets every result when the test selection changes (a test file added to the module);
    a mutant a test killed stays killed when tests are only added, so its old result stands.
    """
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text("utf-8"))
        codes = data.get("exit_code_by_key", {})
        kept = {k: before[k] for k, v in codes.items() if v is None and before.get(k) in KILLED_CODES}
        if kept:
            codes.update(kept)
            meta.write_text(json.dumps(data, indent=4), "utf-8")


def run_module(module: Module, jobs: int, verbose: bool, rerun: bool = True, only_survivors: bool = False) -> Score:
    """Run mutmut over one module (unless ``rerun`` is false: the last run's results) and count its results.

    With ``only_survivors`` only the last run's survivors run again (the others keep their results).
    """
    work = WORK / module.name
    start = time.monotonic()
    if not rerun:
        return _score(module.name, work, 0.0)
    names: list[str] = []
    before: dict[str, int | None] = {}
    if only_survivors:
        before = _results(work)
        if not before:
            raise SystemExit(f"mutation: {module.name} has no last run to take the survivors of")
        names = _score(module.name, work, 0.0).survivors
        if not names:
            return _score(module.name, work, 0.0)
    work = _prepare(module, fresh=not only_survivors)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *names],
        cwd=work,
        env=env,
        stdout=None if verbose else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode != 0 or not _results(work):
        sys.stdout.write(proc.stdout or "")
        raise SystemExit(f"mutation: mutmut failed on {module.name} (exit {proc.returncode})")
    if before:
        _keep_killed(work, before)
    return _score(module.name, work, time.monotonic() - start)


def _score(name: str, work: Path, seconds: float) -> Score:
    score = Score(name, seconds=seconds)
    codes = _results(work)
    for name, code in codes.items():
        if code in KILLED_CODES:
            score.killed += 1
        elif code is None or code == 34:  # not checked / skipped: not counted
            continue
        else:
            score.survivors.append(name)
        score.total += 1
    return score


_SHOW = """
import sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
for line in sys.stdin:
    name, path = line.split()
    print(f"# {name}")
    print(get_diff_for_mutant(name, path=path))
"""


def show_survivors(score: Score) -> None:
    """Print mutmut's diff of every surviving mutant (one process for all of them)."""
    work = WORK / score.module
    meta = {
        name: str(path.relative_to(work / "mutants"))[: -len(".meta")]
        for path in (work / "mutants").rglob("*.py.meta")
        for name in json.loads(path.read_text("utf-8")).get("exit_code_by_key", {})
    }
    lines = "".join(f"{name} {meta[name]}\n" for name in score.survivors)
    subprocess.run([sys.executable, "-c", _SHOW], cwd=work, input=lines, text=True, check=False)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; the exit status is 1 when ``--check`` finds a score below its floor."""
    parser = argparse.ArgumentParser(prog="scripts/mutation.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module names or source paths (default: every module)")
    parser.add_argument("--changed", nargs="?", const="", default=None, metavar="BASE")
    parser.add_argument("--check", action="store_true", help="fail when a score is below its floor")
    parser.add_argument("--survivors", action="store_true", help="print the diff of every survivor")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("STOREKIT_MUTATION_JOBS", "2")))
    parser.add_argument("--json", type=Path, help="also write the scores to this file")
    parser.add_argument("--tests", nargs="+", help="replace the selected modules' test selection (pytest arguments)")
    parser.add_argument("--last", action="store_true", help="report the last run's results without running")
    parser.add_argument(
        "--rerun-survivors", action="store_true", help="run only the last run's survivors again (after adding tests)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show mutmut's own output")
    args = parser.parse_args(argv)

    modules = load_modules()
    if args.changed is not None:
        selected = changed_modules(modules, args.changed or None)
        if not selected:
            print("mutation: the change touches none of the mutation-tested modules")
            return 0
    elif args.modules:
        selected = []
        for item in args.modules:
            name = item if item in modules else _owner(modules, item)
            if name is None:
                raise SystemExit(f"mutation: {item!r} is no module ({', '.join(modules)}) nor one of their files")
            selected.append(name)
    else:
        selected = list(modules)

    floors = load_floors()
    scores = []
    for name in dict.fromkeys(selected):
        module = modules[name]
        if args.tests:
            module = Module(name, module.paths, list(args.tests))
        score = run_module(module, args.jobs, args.verbose, rerun=not args.last, only_survivors=args.rerun_survivors)
        scores.append(score)
        floor = floors.get(name)
        print(
            f"mutation: {name:<15} {score.percent:6.1f}% killed ({score.killed}/{score.total})"
            f"  floor {floor if floor is not None else '-'}%  {score.seconds:.0f}s",
            flush=True,
        )
        if args.survivors and score.survivors:
            show_survivors(score)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    s.module: {"killed": s.killed, "total": s.total, "percent": round(s.percent, 1)}
                    | {"survivors": s.survivors, "seconds": round(s.seconds)}
                    for s in scores
                },
                indent=2,
            ),
            "utf-8",
        )
    failed = [s for s in scores if args.check and s.percent < floors.get(s.module, 0.0)]
    for s in failed:
        print(f"mutation: {s.module} scored {s.percent:.1f}%, below its floor of {floors[s.module]}%", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
