"""The local repository's copy path: system-call-light copies and per-thread shares of files."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import storekit.artifacts.localfs as localfs
from storekit.artifacts.local import LocalArtifactRepository
from storekit.artifacts.localfs import TEMP_MARKER, copy_to_new_file
from storekit.errors import StorekitError


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("size", [0, 1, 4096, 3 * 1024 + 7])
def test_copy_to_new_file_copies_every_byte(tmp_path: Path, monkeypatch, size: int) -> None:
    monkeypatch.setattr(localfs, "_COPY_CHUNK", 1024)
    monkeypatch.setattr(localfs, "_RANGE_CHUNK", 1000)  # several in-kernel steps
    data = os.urandom(size)
    (tmp_path / "src").write_bytes(data)
    copy_to_new_file(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "dst").read_bytes() == data


def test_copy_to_new_file_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "src").write_bytes(b"new")
    (tmp_path / "dst").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        copy_to_new_file(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "dst").read_bytes() == b"old"


@pytest.mark.parametrize("behaviour", ["unsupported", "reports-nothing", "missing"])
def test_copy_falls_back_to_reads_and_writes(tmp_path: Path, monkeypatch, behaviour: str) -> None:
    calls = []

    def copy_file_range(src: int, dst: int, count: int) -> int:
        calls.append(count)
        if behaviour == "unsupported":
            raise OSError(errno.EXDEV, "cross-device")
        return 0  # some file systems say "nothing copied" instead of failing

    if behaviour == "missing":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    else:
        monkeypatch.setattr(os, "copy_file_range", copy_file_range)
    monkeypatch.setattr(localfs, "_COPY_CHUNK", 100)
    data = os.urandom(1234)
    (tmp_path / "src").write_bytes(data)
    copy_to_new_file(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "dst").read_bytes() == data
    assert len(calls) == (0 if behaviour == "missing" else 1)


def test_other_copy_errors_are_raised(tmp_path: Path, monkeypatch) -> None:
    def copy_file_range(src: int, dst: int, count: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", copy_file_range, raising=False)
    (tmp_path / "src").write_bytes(b"x" * 10)
    with pytest.raises(OSError) as info:
        copy_to_new_file(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert info.value.errno == errno.ENOSPC


def _source(tmp_path: Path, files: int) -> Path:
    src = tmp_path / "src"
    for i in range(files):
        path = src / f"d{i % 3}" / f"f{i:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(i * 7 % 300))
    return src


@pytest.mark.parametrize("workers", [1, 4])
def test_many_files_up_and_down_on_several_threads(tmp_path: Path, workers: int) -> None:
    src = _source(tmp_path, 120)
    repo = LocalArtifactRepository(str(tmp_path / "root"), max_workers=workers)
    repo.log_artifacts(src, "out")
    assert _tree(tmp_path / "root" / "out") == _tree(src)
    out = repo.download_artifacts("out", tmp_path / "dl")
    assert _tree(Path(out)) == _tree(src)
    names = [p.name for p in (tmp_path / "root").rglob("*")] + [p.name for p in (tmp_path / "dl").rglob("*")]
    assert not [n for n in names if TEMP_MARKER in n]


@pytest.mark.parametrize("workers", [1, 4])
def test_a_failed_file_stops_the_copy_and_leaves_no_temporary_files(tmp_path: Path, monkeypatch, workers: int) -> None:
    src = _source(tmp_path, 200)
    repo = LocalArtifactRepository(str(tmp_path / "root"), max_workers=workers)
    copied = []

    def flaky(source: str, target: str) -> None:
        if source.endswith("f010.bin"):
            raise OSError(errno.EIO, "disk on fire")
        copy_to_new_file(source, target)
        copied.append(source)

    monkeypatch.setattr(repo, "_copy_into", flaky)
    with pytest.raises(StorekitError, match="f010|disk on fire|I/O"):
        repo.log_artifacts(src)
    written = [p for p in (tmp_path / "root").rglob("*") if p.is_file()]
    assert not [p for p in written if TEMP_MARKER in p.name]
    assert len(written) == len(copied) < 200  # only whole files, and never the failed one
    for path in written:
        assert path.read_bytes() == (src / path.relative_to(tmp_path / "root")).read_bytes()
    if workers == 1:  # one share, in path order: nothing after the failure was started
        order = sorted(str(p.relative_to(src)) for p in src.rglob("*.bin"))
        assert (
            sorted(str(p.relative_to(tmp_path / "root")) for p in written)
            == order[: order.index(os.path.join("d1", "f010.bin"))]
        )
