"""The bridge's artifact repository through MLflow's registry: local (both URI spellings) and S3 on moto."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from storekit_mlflow.artifacts import StorekitArtifactRepository

from .conftest import s3_objects


def _tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01\x02")
    return src


def _exercise(repo_uri: str, tmp_path: Path) -> StorekitArtifactRepository:
    repo = get_artifact_repository(repo_uri)
    assert isinstance(repo, StorekitArtifactRepository)
    src = _tree(tmp_path)
    repo.log_artifacts(str(src), "tree")
    repo.log_artifact(str(src / "a.txt"))
    assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()] == [
        ("a.txt", False, 1),
        ("tree", True, None),
    ]
    assert [f.path for f in repo.list_artifacts("tree/")] == ["tree/a.txt", "tree/sub"]
    assert repo.list_artifacts("nothing-here") == []
    out = Path(repo.download_artifacts("tree", str(tmp_path / "dl")))
    assert (out / "sub" / "b.bin").read_bytes() == b"\x00\x01\x02"
    one = Path(repo.download_artifacts("tree/sub/b.bin", str(tmp_path / "one")))
    assert one.name == "b.bin" and one.read_bytes() == b"\x00\x01\x02"
    target = tmp_path / "exact" / "copy.txt"
    repo._download_file("tree/a.txt", str(target))
    assert target.read_text() == "A" and [p.name for p in target.parent.iterdir()] == ["copy.txt"]
    # a sub-URI built the way MLflow builds them (appending a path) reaches the same files
    sub = get_artifact_repository(repo_uri.rstrip("/") + "/tree")
    assert [f.path for f in sub.list_artifacts()] == ["a.txt", "sub"]
    with pytest.raises(MlflowException) as info:
        repo.download_artifacts("missing.txt", str(tmp_path / "m"))
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    return repo


@pytest.mark.parametrize("spelling", ["storekit:{}", "storekit://{}", "storekit:file://{}"])
def test_local_artifacts(tmp_path: Path, spelling: str) -> None:
    root = tmp_path / "root"
    repo = _exercise(spelling.format(root), tmp_path)
    assert (root / "tree" / "sub" / "b.bin").is_file()
    repo.delete_artifacts("tree/sub")
    assert not (root / "tree" / "sub").exists()


@pytest.mark.s3
def test_s3_artifacts(s3_artifacts: str, tmp_path: Path) -> None:
    _exercise("storekit:" + s3_artifacts + "/run1", tmp_path)
    keys = s3_objects(s3_artifacts)
    assert any(k.endswith("run1/tree/sub/b.bin") for k in keys)


def test_bad_artifact_uris() -> None:
    with pytest.raises(MlflowException) as info:
        StorekitArtifactRepository("storekit:")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        StorekitArtifactRepository("storekit:nosuchscheme://x/y")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE" and "nosuchscheme" in info.value.message
