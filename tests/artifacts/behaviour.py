"""Contract section 4 behaviour, shared by the tests of every artifact repository.

A test module subclasses :class:`ArtifactBehaviour` and provides the ``repo``
fixture (a fresh, empty repository) and :meth:`ArtifactBehaviour.break_source`
(make the next upload's source fail half-way).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from storekit.errors import ArtifactNotFound, InvalidParameterError, StorekitError

BAD_PATHS = ["../x", "/etc", "a/../../b", "a\x00b", "C:\\x", "..\\x"]


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, creating parents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_tree(root: Path) -> dict[str, bytes]:
    """A small tree of files; returns relative path -> content."""
    files = {
        "a.txt": b"alpha",
        "b.bin": os.urandom(3000),
        "sub/c.txt": b"gamma" * 10,
        "sub/deeper/d.txt": b"",
        "sub 2/e f.txt": b"spaces",
    }
    for rel, data in files.items():
        write(root / rel, data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as relative path -> content."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class FailingReader:
    """A binary reader that returns ``good`` bytes of ``data`` and then raises."""

    def __init__(self, data: bytes, good: int) -> None:
        self._data = data
        self._good = good
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        want = len(self._data) - self._pos if n is None or n < 0 else n
        if self._pos + want > self._good and self._pos < len(self._data):
            raise OSError("source broke mid-read")
        chunk = self._data[self._pos : self._pos + want]
        self._pos += len(chunk)
        return chunk

    def close(self) -> None:
        pass

    def __enter__(self) -> "FailingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class ArtifactBehaviour:
    """Checks every repository must pass (contract section 4)."""

    #: size of the file used for the "fails half-way" tests (must stream in several chunks)
    big_size = 300 * 1024

    def break_source(self, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the next upload's source raise half-way through reading."""
        raise NotImplementedError

    def test_log_artifact_and_list(self, repo: Any, tmp_path: Path) -> None:
        f = write(tmp_path / "model.pkl", b"x" * 123)
        repo.log_artifact(f)
        repo.log_artifact(f, "dir/sub")
        listing = repo.list_artifacts()
        assert [(i.path, i.is_dir, i.file_size) for i in listing] == [
            ("dir", True, None),
            ("model.pkl", False, 123),
        ]
        assert [(i.path, i.is_dir) for i in repo.list_artifacts("dir")] == [("dir/sub", True)]
        assert [(i.path, i.file_size) for i in repo.list_artifacts("dir/sub")] == [("dir/sub/model.pkl", 123)]
        assert repo.list_artifacts("missing") == []
        assert repo.list_artifacts("model.pkl") == []

    def test_log_artifacts_tree_round_trip(self, repo: Any, tmp_path: Path) -> None:
        files = make_tree(tmp_path / "src")
        repo.log_artifacts(tmp_path / "src", "run")
        assert [i.path for i in repo.list_artifacts("run")] == [
            "run/a.txt",
            "run/b.bin",
            "run/sub",
            "run/sub 2",
        ]
        out = repo.download_artifacts("run", tmp_path / "dl")
        assert Path(out) == tmp_path / "dl" / "run"
        assert read_tree(Path(out)) == files
        whole = repo.download_artifacts("", tmp_path / "all")
        assert read_tree(Path(whole)) == {f"run/{k}": v for k, v in files.items()}
        single = repo.download_artifacts("run/sub/c.txt", tmp_path / "one")
        assert Path(single).read_bytes() == files["sub/c.txt"]
        default = repo.download_artifacts("run/a.txt")
        assert Path(default).read_bytes() == b"alpha"

    def test_overwrite_replaces_content(self, repo: Any, tmp_path: Path) -> None:
        repo.log_artifact(write(tmp_path / "v" / "f.txt", b"one"))
        repo.log_artifact(write(tmp_path / "v" / "f.txt", b"two!"))
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("f.txt", 4)]
        assert Path(repo.download_artifacts("f.txt", tmp_path / "o")).read_bytes() == b"two!"

    def test_download_missing_raises_not_found(self, repo: Any, tmp_path: Path) -> None:
        with pytest.raises(ArtifactNotFound, match="nothing/here"):
            repo.download_artifacts("nothing/here", tmp_path / "o")

    def test_delete(self, repo: Any, tmp_path: Path) -> None:
        make_tree(tmp_path / "src")
        repo.log_artifacts(tmp_path / "src")
        repo.delete_artifacts("sub")
        assert [i.path for i in repo.list_artifacts()] == ["a.txt", "b.bin", "sub 2"]
        repo.delete_artifacts("a.txt")
        assert [i.path for i in repo.list_artifacts()] == ["b.bin", "sub 2"]
        repo.delete_artifacts("never/was")  # absent: no-op
        repo.delete_artifacts()
        assert repo.list_artifacts() == []
        repo.log_artifact(write(tmp_path / "again.txt", b"ok"))
        assert [i.path for i in repo.list_artifacts()] == ["again.txt"]

    @pytest.mark.parametrize("bad", BAD_PATHS)
    def test_path_escape_refused(self, repo: Any, tmp_path: Path, bad: str) -> None:
        f = write(tmp_path / "f.txt", b"x")
        make_tree(tmp_path / "src")
        calls = [
            lambda: repo.log_artifact(f, bad),
            lambda: repo.log_artifacts(tmp_path / "src", bad),
            lambda: repo.list_artifacts(bad),
            lambda: repo.download_artifacts(bad, tmp_path / "o"),
            lambda: repo.delete_artifacts(bad),
        ]
        for call in calls:
            with pytest.raises(InvalidParameterError):
                call()
        assert not (tmp_path / "x").exists() and not (tmp_path / "b").exists()

    def test_failed_upload_keeps_old_file(self, repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        old = os.urandom(self.big_size)
        new = os.urandom(self.big_size)
        src = write(tmp_path / "big.bin", old)
        repo.log_artifact(src)
        src.write_bytes(new)
        self.break_source(repo, monkeypatch)
        with pytest.raises((StorekitError, OSError)):
            repo.log_artifact(src)
        monkeypatch.undo()
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("big.bin", len(old))]
        got = Path(repo.download_artifacts("big.bin", tmp_path / "o")).read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(old).digest()

    def test_failed_upload_leaves_nothing(self, repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        src = write(tmp_path / "new.bin", os.urandom(self.big_size))
        self.break_source(repo, monkeypatch)
        with pytest.raises((StorekitError, OSError)):
            repo.log_artifact(src, "d")
        monkeypatch.undo()
        assert [i.path for i in repo.list_artifacts("d")] == []
        with pytest.raises(ArtifactNotFound):
            repo.download_artifacts("d/new.bin", tmp_path / "o")

    def test_repr_is_redacted(self, repo: Any) -> None:
        assert type(repo).__name__ in repr(repo)


RSS_SCRIPT = textwrap.dedent(
    """
    import hashlib, os, sys, tempfile
    import importlib
    uri, size, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    module, _, name = target.partition(":")
    repo = getattr(importlib.import_module(module), name)(uri)
    work = tempfile.mkdtemp()
    src = os.path.join(work, "large.bin")
    with open(src, "wb") as fh:          # sparse but with real data at the edges
        fh.write(b"head" * 1024)
        fh.truncate(size - 4096)
        fh.seek(size - 4096)
        fh.write(b"tail" * 1024)
    repo.log_artifact(src, "large")
    listed = {i.path: i.file_size for i in repo.list_artifacts("large")}
    assert listed == {"large/large.bin": size}, listed
    out = repo.download_artifacts("large/large.bin", os.path.join(work, "dl"))
    assert os.path.getsize(out) == size
    def digest(p):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    assert digest(out) == digest(src)
    import shutil
    shutil.rmtree(work)
    repo.delete_artifacts("large")
    # VmHWM, this process's own high-water mark: ru_maxrss survives exec and would report
    # the parent's (pytest's) peak when that is larger
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print("MAXRSS_KIB", hwm)
    """
)


def peak_rss_mib(uri: str, size: int, target: str, env: dict[str, str] | None = None, timeout: int = 900) -> float:
    """Upload, list, download and verify a ``size``-byte file in a subprocess; its peak RSS in MiB.

    ``target`` names the repository class as ``module:Class``.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["STOREKIT_NO_PROGRESS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, uri, str(size), target],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("MAXRSS_KIB")][0]
    return int(line.split()[1]) / 1024
