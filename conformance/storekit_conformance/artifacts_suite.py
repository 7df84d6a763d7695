"""The ArtifactRepository suite (contract sections 1 and 4).

The ``artifact_repository`` fixture is a *factory*: each call returns a
repository on a fresh, empty root.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from storekit.errors import InvalidParameterError, NotFoundError
from storekit.interfaces import STOREKIT_API, ArtifactRepository, Capability

from .marks import contract, requires
from .suite import SuiteBase

__all__ = ["ArtifactRepositorySuite", "DEFAULT_LARGE_FILE_MB"]

Factory = Callable[[], ArtifactRepository]

#: Size of the large-file round trip unless ``--storekit-large-file-mb`` or the fixture says otherwise.
DEFAULT_LARGE_FILE_MB = 24


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class _FailingReader(io.RawIOBase):
    """A source file that delivers half its bytes and then raises OSError (a failing disk or network mount)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.failed = False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:  # no fast kernel copy: force reads through this object
        raise io.UnsupportedOperation("fileno")

    def readinto(self, buffer: Any) -> int:
        half = len(self._data) // 2
        if self._pos >= half:
            self.failed = True
            raise OSError(5, "Input/output error (injected by the conformance suite)")
        chunk = self._data[self._pos : min(half, self._pos + len(buffer))]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


@contextlib.contextmanager
def _failing_source(path: Path) -> Iterator[list[_FailingReader]]:
    """Make every binary read of ``path`` through ``open()`` fail half-way."""
    real_open = builtins.open
    data = path.read_bytes()
    target = os.path.realpath(path)
    readers: list[_FailingReader] = []

    def patched(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if (
            isinstance(file, (str, os.PathLike))
            and "r" in mode
            and "+" not in mode
            and os.path.realpath(os.fspath(file)) == target
        ):
            reader = _FailingReader(data)
            readers.append(reader)
            return reader if "b" in mode else io.TextIOWrapper(io.BufferedReader(reader))
        return real_open(file, mode, *args, **kwargs)

    builtins.open = patched
    io.open = patched
    try:
        yield readers
    finally:
        builtins.open = real_open
        io.open = real_open


class ArtifactRepositorySuite(SuiteBase):
    """Every artifact-repository check.  Subclass it and supply an ``artifact_repository`` factory fixture."""

    __test__ = False
    interface = "artifacts"
    subject_fixture = "artifact_repository"

    @pytest.fixture
    def large_file_mb(self, request: pytest.FixtureRequest) -> int:
        """Size of the large-file round trip in MiB (``--storekit-large-file-mb``)."""
        try:
            value = request.config.getoption("storekit_large_file_mb")
        except ValueError:
            value = None
        return int(value) if value else DEFAULT_LARGE_FILE_MB

    @pytest.fixture
    def repo(self, artifact_repository: Factory) -> ArtifactRepository:
        """A repository on a fresh, empty root."""
        return artifact_repository()

    def describe_subject(self, subject: Any) -> dict[str, Any]:
        """The factory's repositories are what is described."""
        return super().describe_subject(subject())

    # -- declarations ----------------------------------------------------------------
    @contract("1", "an implementation declares storekit_api = 1 and a frozenset of Capability")
    def test_declares_api_and_capabilities(self, repo: ArtifactRepository) -> None:
        assert getattr(repo, "storekit_api", None) == STOREKIT_API
        assert isinstance(repo.capabilities, frozenset)
        assert isinstance(repo, ArtifactRepository)

    # -- upload, list, download ---------------------------------------------------------
    @contract("4", "list_artifacts of an empty root is empty")
    def test_empty_root(self, repo: ArtifactRepository) -> None:
        assert repo.list_artifacts() == []

    @contract(
        "4",
        "log_artifact stores a file at the root or under artifact_path; list_artifacts gives direct children sorted, sizes for files",
    )
    def test_log_and_list(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        repo.log_artifact(_write(tmp_path / "b.txt", "bb"))
        repo.log_artifact(_write(tmp_path / "a.txt", "a"))
        repo.log_artifact(_write(tmp_path / "c.bin", b"\x00" * 10), "sub/dir")
        repo.log_artifact(_write(tmp_path / "empty", b""), "sub")
        top = repo.list_artifacts()
        assert [(f.path, f.is_dir, f.file_size) for f in top] == [
            ("a.txt", False, 1),
            ("b.txt", False, 2),
            ("sub", True, None),
        ]
        assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts("sub")] == [
            ("sub/dir", True, None),
            ("sub/empty", False, 0),
        ]
        assert [(f.path, f.file_size) for f in repo.list_artifacts("sub/dir")] == [("sub/dir/c.bin", 10)]

    @contract("4", "log_artifacts uploads a directory tree; download_artifacts of a directory returns the whole tree")
    def test_tree_round_trip(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        src = tmp_path / "src"
        files = {
            "x.txt": b"x",
            "d/y.txt": b"yy",
            "d/e/z.bin": os.urandom(3000),
            "d/e/f/deep": b"deep",
            "sp ace.txt": b" ",
        }
        for rel, data in files.items():
            _write(src / rel, data)
        repo.log_artifacts(src, "model")
        assert [f.path for f in repo.list_artifacts()] == ["model"]
        assert [f.path for f in repo.list_artifacts("model")] == ["model/d", "model/sp ace.txt", "model/x.txt"]
        local = Path(repo.download_artifacts("model", tmp_path / "dst1"))
        assert _tree(local) == files
        local = Path(repo.download_artifacts("model/d", tmp_path / "dst2"))
        assert _tree(local) == {k[2:]: v for k, v in files.items() if k.startswith("d/")}
        one = Path(repo.download_artifacts("model/d/y.txt", tmp_path / "dst3"))
        assert one.is_file() and one.read_bytes() == b"yy"
        repo.log_artifacts(src)  # into the root
        assert _tree(Path(repo.download_artifacts("", tmp_path / "dst4"))) == {
            **files,
            **{f"model/{k}": v for k, v in files.items()},
        }

    @contract("4", "download_artifacts without dst_path returns a local path holding the artifact")
    def test_download_default_destination(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        repo.log_artifact(_write(tmp_path / "f.txt", "hello"), "a")
        local = Path(repo.download_artifacts("a/f.txt"))
        assert local.read_bytes() == b"hello"

    @contract("4", "downloading a missing artifact raises NotFoundError")
    def test_download_missing(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        with pytest.raises(NotFoundError):
            repo.download_artifacts("missing.txt", tmp_path / "dst")

    @contract("4", "logging a file again replaces it")
    def test_overwrite(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        repo.log_artifact(_write(tmp_path / "v1" / "f.txt", "old contents"))
        repo.log_artifact(_write(tmp_path / "v2" / "f.txt", "new"))
        assert [(f.path, f.file_size) for f in repo.list_artifacts()] == [("f.txt", 3)]
        assert Path(repo.download_artifacts("f.txt", tmp_path / "d")).read_bytes() == b"new"

    @contract("4", "large files round-trip intact (size: --storekit-large-file-mb)")
    def test_large_file_round_trip(self, repo: ArtifactRepository, tmp_path: Path, large_file_mb: int) -> None:
        big = tmp_path / "big.bin"
        digest = hashlib.sha256()
        block = os.urandom(1 << 20)
        with open(big, "wb") as f:
            for i in range(large_file_mb):
                chunk = block[i:] + block[:i]
                digest.update(chunk)
                f.write(chunk)
        repo.log_artifact(big, "large")
        (info,) = repo.list_artifacts("large")
        assert (info.path, info.file_size) == ("large/big.bin", large_file_mb << 20)
        big.unlink()
        local = Path(repo.download_artifacts("large/big.bin", tmp_path / "dst"))
        got = hashlib.sha256()
        with open(local, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                got.update(chunk)
        assert got.hexdigest() == digest.hexdigest()

    # -- atomicity ------------------------------------------------------------------------
    @contract("4", "an upload that fails half-way leaves the old file")
    def test_failed_upload_keeps_old_file(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        repo.log_artifact(_write(tmp_path / "v1" / "model.bin", b"old" * 1000), "dir")
        new = _write(tmp_path / "v2" / "model.bin", os.urandom(256 * 1024))
        self._upload_must_fail(repo, new, "dir")
        assert [(f.path, f.file_size) for f in repo.list_artifacts("dir")] == [("dir/model.bin", 3000)]
        assert Path(repo.download_artifacts("dir/model.bin", tmp_path / "d")).read_bytes() == b"old" * 1000

    @contract("4", "an upload that fails half-way leaves nothing (no partial file)")
    def test_failed_upload_leaves_nothing(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        new = _write(tmp_path / "new.bin", os.urandom(256 * 1024))
        self._upload_must_fail(repo, new, None)
        assert repo.list_artifacts() == []

    @staticmethod
    def _upload_must_fail(repo: ArtifactRepository, source: Path, artifact_path: str | None) -> None:
        with _failing_source(source) as readers:
            try:
                repo.log_artifact(source, artifact_path)
            except Exception:
                failed = True
            else:
                failed = False
        if not readers:
            pytest.skip("the repository does not read sources through open(); no failure could be injected")
        assert failed or not any(r.failed for r in readers), "a failed read of the source was swallowed"
        if not failed:
            pytest.skip("the repository read only the first half of the source through open()")

    # -- path escapes -------------------------------------------------------------------------
    @pytest.mark.parametrize(
        "bad", ["..", "../x", "a/../../x", "a/../..", "/abs", "/abs/other/file", "a\x00b", "\\\\server\\x", "C:\\x"]
    )
    @contract("4", "a path that escapes the root (.., absolute, NUL) raises InvalidParameterError; nothing is written")
    def test_path_escapes(self, artifact_repository: Factory, tmp_path: Path, bad: str) -> None:
        repo = artifact_repository()
        sibling = artifact_repository()
        src = _write(tmp_path / "f.txt", "x")
        calls = [
            lambda: repo.log_artifact(src, bad),
            lambda: repo.log_artifacts(tmp_path, bad),
            lambda: repo.list_artifacts(bad),
            lambda: repo.download_artifacts(bad, tmp_path / "dst"),
        ]
        if Capability.DELETE_ARTIFACTS in repo.capabilities:
            calls.append(lambda: repo.delete_artifacts(bad))
        for call in calls:
            with pytest.raises(InvalidParameterError):
                call()
        assert repo.list_artifacts() == []
        assert sibling.list_artifacts() == []

    # -- delete ------------------------------------------------------------------------------------
    @requires(Capability.DELETE_ARTIFACTS)
    @contract("4", "delete_artifacts removes a file, a directory tree, or everything")
    def test_delete_artifacts(self, repo: ArtifactRepository, tmp_path: Path) -> None:
        for rel in ("a.txt", "d/b.txt", "d/e/c.txt", "f/g.txt"):
            _write(tmp_path / "src" / rel, rel)
        repo.log_artifacts(tmp_path / "src")
        repo.delete_artifacts("a.txt")
        assert [f.path for f in repo.list_artifacts()] == ["d", "f"]
        repo.delete_artifacts("d")
        assert [f.path for f in repo.list_artifacts()] == ["f"]
        repo.delete_artifacts()
        assert repo.list_artifacts() == []
