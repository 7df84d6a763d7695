"""docs/writing-a-plugin.md as a new user follows it: build the template, install it, run the suite three ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)


def _run(cmd: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "STOREKIT_"))}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (seeing the project's storekit and pytest) with the two wheels installed."""
    work = tmp_path_factory.mktemp("walkthrough")
    wheels = work / "wheels"
    for name, src in (("memory", ROOT / "plugins" / "memory"), ("conformance", ROOT / "conformance")):
        copy = work / "src" / name  # build from a copy, as a user starting from the template would
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
        proc = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(wheels),
                str(copy),
            ],
            cwd=work,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # storekit, pytest and the drivers come from the project (like --system-site-packages would give them);
    # plain path lines: the project's editable finders are not run, so the wheels below are what gets imported
    site_dir = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work)
    project_site = [p for p in sys.path if p.endswith("site-packages")]
    Path(site_dir.stdout.strip(), "project.pth").write_text("\n".join([*project_site, str(ROOT)]) + "\n")
    proc = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            *map(str, sorted(wheels.glob("*.whl"))),
        ],
        cwd=work,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    where = _run(
        [
            str(python),
            "-c",
            "import storekit_memory, storekit_conformance as c; print(storekit_memory.__file__); print(c.__file__)",
        ],
        cwd=work,
    )
    assert where.returncode == 0 and all(str(env_dir) in line for line in where.stdout.split()), where.stdout
    return python


def test_way1_pytest_pyargs(user_venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = _run(
        [
            str(user_venv),
            "-m",
            "pytest",
            "--pyargs",
            "storekit_conformance",
            "--storekit-uri=memory://walk",
            "-p",
            "no:cacheprovider",
            "-q",
            "--storekit-large-file-mb=2",
            f"--storekit-report={out}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "storekit conformance summary" in proc.stdout
    report = json.loads(out.read_text())
    dists = {impl["distribution"] for impl in report["implementations"].values()}
    assert dists == {"storekit-memory"} and report["passed"]


def test_way2_command_line(user_venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    cli = [str(user_venv), "-c", "from storekit.cli import main; main()", "conformance"]
    proc = _run([*cli, "memory://walk-cli", "--interface", "registry", "--report", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = json.loads(out.read_text())
    assert {c["interface"] for c in report["checks"]} == {"registry"}
    assert report["suite_version"] and report["storekit_version"]


def test_way3_subclass_the_suite(user_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "test_my_store.py").write_text(
        textwrap.dedent("""
        import pytest
        from storekit_conformance import TrackingStoreSuite
        from storekit_memory import MemoryTrackingStore

        class TestMyStore(TrackingStoreSuite):
            @pytest.fixture
            def tracking_store(self):
                return MemoryTrackingStore("memory://walk-subclass")
    """)
    )
    proc = _run([str(user_venv), "-m", "pytest", "test_my_store.py", "-p", "no:cacheprovider", "-q"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "storekit conformance PASSED" in proc.stdout
    assert "capability DATASETS not declared" in proc.stdout  # undeclared capabilities: skipped with the reason
