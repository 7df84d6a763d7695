"""LocalArtifactRepository: contract section 4 behaviour, symlink escapes, bounded memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from storekit.artifacts.local import LocalArtifactRepository
from storekit.errors import InvalidParameterError
from storekit.interfaces import Capability

from .behaviour import ArtifactBehaviour, peak_rss_mib, write


class TestLocalRepository(ArtifactBehaviour):
    @pytest.fixture
    def repo(self, tmp_path: Path) -> LocalArtifactRepository:
        return LocalArtifactRepository((tmp_path / "root").as_uri())

    def break_source(self, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        def half_copy(src: str, dst: str) -> None:
            with open(src, "rb") as fin, open(dst, "wb") as fout:
                fout.write(fin.read(os.path.getsize(src) // 2))
            raise OSError("source broke mid-read")

        monkeypatch.setattr(repo, "_copy_into", half_copy)

    def test_bare_path_and_file_uri_agree(self, tmp_path: Path) -> None:
        write(tmp_path / "f.txt", b"abc")
        LocalArtifactRepository(str(tmp_path / "root")).log_artifact(tmp_path / "f.txt")
        listed = LocalArtifactRepository((tmp_path / "root").as_uri()).list_artifacts()
        assert [(i.path, i.file_size) for i in listed] == [("f.txt", 3)]
        assert LocalArtifactRepository.capabilities == frozenset({Capability.DELETE_ARTIFACTS})

    def test_symlink_escaping_root_is_refused(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        write(outside / "secret.txt", b"do not read")
        root = tmp_path / "root"
        root.mkdir()
        os.symlink(outside, root / "evil")
        os.symlink(outside / "secret.txt", root / "evil-file")
        repo = LocalArtifactRepository(str(root))
        src = write(tmp_path / "f.txt", b"x")
        with pytest.raises(InvalidParameterError, match="symlink"):
            repo.log_artifact(src, "evil")
        with pytest.raises(InvalidParameterError, match="symlink"):
            repo.log_artifact(src, "evil/deeper")
        with pytest.raises(InvalidParameterError, match="symlink"):
            repo.download_artifacts("evil/secret.txt", tmp_path / "o")
        with pytest.raises(InvalidParameterError, match="symlink"):
            repo.download_artifacts("evil-file", tmp_path / "o")
        with pytest.raises(InvalidParameterError, match="symlink"):
            repo.list_artifacts("evil")
        with pytest.raises(InvalidParameterError, match="symlink"):
            repo.delete_artifacts("evil/secret.txt")
        assert [i.path for i in repo.list_artifacts()] == []
        assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
        assert (outside / "secret.txt").read_bytes() == b"do not read"

    def test_large_file_bounded_memory(self, tmp_path: Path) -> None:
        size = (
            int(os.environ.get("STOREKIT_TEST_LARGE_SIZE", 1 << 30))
            if os.environ.get("STOREKIT_TEST_LARGE")
            else 96 * 1024 * 1024
        )
        rss = peak_rss_mib((tmp_path / "root").as_uri(), size, "storekit.artifacts.local:LocalArtifactRepository")
        print(f"local: peak RSS {rss:.1f} MiB for {size / 2**20:.0f} MiB")
        assert rss < 300
