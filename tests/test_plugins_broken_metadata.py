"""An unrelated distribution with unreadable metadata cannot break storekit's plugin registry.

A virtual environment gets two installed distributions whose metadata
``importlib.metadata`` cannot read - a malformed ``entry_points.txt`` and a
non-UTF-8 ``METADATA`` - next to the project's packages.  Resolving stores and
``storekit plugins`` must still work there, with a warning naming each
skipped distribution.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BROKEN = {
    # a section header without its closing bracket, and an entry without "="
    "broken_entry_points-1.0.dist-info": {
        "METADATA": b"Metadata-Version: 2.1\nName: broken-entry-points\nVersion: 1.0\n",
        "entry_points.txt": b"[storekit.tracking_store\nbroken\n[console_scripts]\nnothing\n",
        "RECORD": b"",
    },
    # Latin-1 bytes where UTF-8 is required, and entry points in storekit's group
    "latin1_metadata-1.0.dist-info": {
        "METADATA": b"Metadata-Version: 2.1\nName: latin1-metadata\nVersion: 1.0\nSummary: caf\xe9\n",
        "entry_points.txt": b"[storekit.tracking_store]\nlatin = latin1_metadata:Store\n",
        "RECORD": b"",
    },
}


@pytest.fixture(scope="module")
def broken_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that sees the project's packages plus the two broken distributions."""
    root = tmp_path_factory.mktemp("broken-meta")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]
    (purelib / "zz_project_env.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n"
    )
    for dist_info, files in BROKEN.items():  # installed as pip leaves a wheel: a .dist-info in site-packages
        (purelib / dist_info).mkdir()
        for name, data in files.items():
            (purelib / dist_info / name).write_bytes(data)
    return python


def _run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKIT_")}
    return subprocess.run(
        [str(python), "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_broken_metadata_is_really_broken(broken_python: Path, tmp_path: Path) -> None:
    proc = _run(broken_python, "from importlib.metadata import entry_points; entry_points(group='x')", tmp_path)
    assert proc.returncode != 0 and ("TypeError" in proc.stderr or "UnicodeDecodeError" in proc.stderr)


def test_stores_resolve_and_the_broken_distributions_are_named(broken_python: Path, tmp_path: Path) -> None:
    proc = _run(
        broken_python,
        f"""
        import warnings
        warnings.simplefilter("always")
        from storekit.plugins import resolve_tracking_store, resolve_registry_store
        for uri in ("sqlite:///{tmp_path}/t.db", "{tmp_path}/file-store"):
            resolve_tracking_store(uri).close()
        resolve_registry_store("sqlite:///{tmp_path}/t.db").close()
        print("resolved")
    """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resolved" in proc.stdout
    assert "broken_entry_points-1.0.dist-info" in proc.stderr, proc.stderr
    assert "latin1_metadata-1.0.dist-info" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_plugins_command_lists_the_builtins(broken_python: Path, tmp_path: Path) -> None:
    proc = _run(broken_python, "from storekit.cli import main; main(['plugins', '--json'])", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"sqlite"' in proc.stdout and "latin" not in proc.stdout
    assert "broken_entry_points-1.0.dist-info" in proc.stderr
