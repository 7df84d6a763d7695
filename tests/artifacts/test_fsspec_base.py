"""FsspecArtifactRepository on fsspec's local file system: temp-name + rename commits,
streaming in chunks, retries with backoff, error translation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from storekit.artifacts.fsspec_repository import FsspecArtifactRepository
from storekit.artifacts.transfer import RetryPolicy, call_with_retries
from storekit.errors import BackendUnavailableError, InvalidParameterError

from .behaviour import ArtifactBehaviour, FailingReader, peak_rss_mib, write

CHUNK = 64 * 1024


class TestFsspecBase(ArtifactBehaviour):
    @pytest.fixture
    def repo(self, tmp_path: Path) -> FsspecArtifactRepository:
        return FsspecArtifactRepository((tmp_path / "root").as_uri(), chunk_size=CHUNK, retries=2)

    def break_source(self, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        def failing_open(path: str) -> FailingReader:
            data = Path(path).read_bytes()
            return FailingReader(data, len(data) // 2)

        monkeypatch.setattr(repo, "_open_local", failing_open)

    def test_no_temporary_names_left_behind(self, repo: Any, tmp_path: Path, monkeypatch) -> None:
        src = write(tmp_path / "f.bin", os.urandom(3 * CHUNK))
        self.break_source(repo, monkeypatch)
        with pytest.raises(Exception):
            repo.log_artifact(src)
        monkeypatch.undo()
        repo.log_artifact(src)
        assert sorted(os.listdir(tmp_path / "root")) == ["f.bin"]

    def test_transient_errors_retried_then_unavailable(self, repo: Any, tmp_path: Path, monkeypatch) -> None:
        src = write(tmp_path / "f.txt", b"payload")
        calls = {"n": 0}
        real = repo.fs.pipe_file

        def flaky(path: str, data: bytes, **kw: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ConnectionResetError("connection reset by peer")
            real(path, data, **kw)

        monkeypatch.setattr(repo.fs, "pipe_file", flaky)
        repo.log_artifact(src)
        assert calls["n"] == 2
        assert [i.path for i in repo.list_artifacts()] == ["f.txt"]

        def down(path: str, data: bytes, **kw: Any) -> None:
            calls["n"] += 1
            raise TimeoutError("timed out")

        calls["n"] = 0
        monkeypatch.setattr(repo.fs, "pipe_file", down)
        with pytest.raises(BackendUnavailableError, match="after retries"):
            repo.log_artifact(src, "other")
        assert calls["n"] == 2  # retries=2 attempts in total

    def test_non_transient_error_not_retried(self) -> None:
        calls = []

        def boom() -> None:
            calls.append(1)
            raise PermissionError("denied")

        with pytest.raises(PermissionError):
            call_with_retries(boom, lambda e: isinstance(e, ConnectionError), RetryPolicy(attempts=4))
        assert len(calls) == 1

    def test_retry_env_option(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("STOREKIT_ARTIFACT_RETRIES", "3")
        assert RetryPolicy.from_env().attempts == 3
        assert RetryPolicy.from_env(7).attempts == 7
        monkeypatch.setenv("STOREKIT_ARTIFACT_RETRIES", "zero")
        with pytest.raises(InvalidParameterError, match="STOREKIT_ARTIFACT_RETRIES"):
            RetryPolicy.from_env()

    def test_large_file_bounded_memory(self, tmp_path: Path) -> None:
        rss = peak_rss_mib(
            (tmp_path / "root").as_uri(),
            64 * 1024 * 1024,
            "storekit.artifacts.fsspec_repository:FsspecArtifactRepository",
        )
        assert rss < 300
