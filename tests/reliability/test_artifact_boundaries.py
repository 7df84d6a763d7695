"""Artifacts stay inside their boundaries (issue 19, point 6).

* A model version's ``source`` is checked when the version is created (no
  ``..`` segment, a valid ``runs:/<run id>/<path>``, a well-formed ``models:/``)
  on every registry, and again when ``models:/`` resolves a version stored
  earlier; ``models:/`` is read-only (no writes or deletes through a source).
* ``log_artifacts`` refuses, before uploading anything, a source directory
  holding symlinks that lead outside it (a link to a private key is never
  uploaded as the key); links to files inside it are uploaded as content.
* Downloads never write through a symlinked directory already present in
  the destination.
* The local repository writes through directories opened without following
  links: swapping a checked directory for a symlink between the check and the
  write cannot redirect the write (the check-then-write race is closed).
* WebHDFS with a password or token over plain ``http`` warns.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storekit.artifacts.indirect import ModelsArtifactRepository
from storekit.artifacts.local import LocalArtifactRepository
from storekit.errors import InvalidParameterError
from storekit.plugins import resolve_registry_store

pytestmark = pytest.mark.timeout(600)

RUN = "0123456789abcdef0123456789abcdef"
BAD_SOURCES = [
    f"runs:/{RUN}/../../x",
    f"runs:/{RUN}/a/%2e%2e/%2E%2E/x",
    f"runs:/{RUN}//etc/passwd",
    "runs:/not-a-run/x",
    "runs:/",
    "/etc/../etc/shadow",
    "file:///srv/models/../../etc",
    "s3://bucket/a/../../b",
    "https://host/a/..%2f..%2fb",
    "C:\\models\\..\\..\\x",
    "models:/a/b/c",
    "models:/",
    "src/../..",
    "s3://b/x\nInjected: 1",
    "s3://b/\x1b[2Jx",
]
GOOD_SOURCES = [
    f"runs:/{RUN}/model",
    f"runs:/{RUN}",
    "s3://bucket/models/1",
    "/abs/models/1",
    "file:///abs/models/1",
    "models:/name/1",
    "models:/m-abc",
    "src",
    "example://x..y/z",
]


@pytest.mark.parametrize("backend", ["file", "sqlite", "memory"])
def test_model_version_sources_are_checked_at_creation(backend: str, tmp_path: Path) -> None:
    uri = {
        "file": str(tmp_path / "store"),
        "sqlite": f"sqlite:///{tmp_path}/s.db",
        "memory": f"memory://{tmp_path.name}",
    }[backend]
    registry = resolve_registry_store(uri)
    registry.create_registered_model("m")
    for source in BAD_SOURCES:
        with pytest.raises(InvalidParameterError, match="source"):
            registry.create_model_version("m", source)
            pytest.fail(f"source {source!r} was accepted")
    assert len(registry.search_model_versions("name = 'm'")) == 0
    for source in GOOD_SOURCES:
        assert registry.create_model_version("m", source).source == source
    registry.close()


def test_models_uri_refuses_a_source_stored_before_the_check(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/s.db"
    registry = resolve_registry_store(uri)
    registry.create_registered_model("m")
    registry.create_model_version("m", str(tmp_path / "model"))
    registry.close()
    engine = sa.create_engine(uri)
    with engine.begin() as conn:  # what an older storekit let anyone with write access store
        conn.execute(sa.text("UPDATE model_versions SET source = :s"), {"s": f"{tmp_path}/model/../../.."})
    engine.dispose()
    with pytest.raises(InvalidParameterError, match="'\\.\\.'"):
        ModelsArtifactRepository("models:/m/1", registry_uri=uri)


def test_models_uri_is_read_only(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/s.db"
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights.bin").write_bytes(b"w")
    registry = resolve_registry_store(uri)
    registry.create_registered_model("m")
    registry.create_model_version("m", str(target))
    registry.close()
    repo = ModelsArtifactRepository("models:/m/1", registry_uri=uri)
    assert [f.path for f in repo.list_artifacts()] == ["weights.bin"]
    with pytest.raises(InvalidParameterError, match="read-only"):
        repo.delete_artifacts()
    with pytest.raises(InvalidParameterError, match="read-only"):
        repo.log_artifact(target / "weights.bin", "x")
    assert (target / "weights.bin").read_bytes() == b"w"


def _memory_repo(tmp_path: Path) -> Any:
    from storekit_memory import MemoryArtifactRepository

    return MemoryArtifactRepository(f"memory://{tmp_path.name}/art")


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_log_artifacts_refuses_links_leading_outside(kind: str, tmp_path: Path) -> None:
    secret = tmp_path / "home" / ".ssh" / "id_ed25519"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"PRIVATE KEY")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"a")
    (src / "inside-link.txt").symlink_to(src / "a.txt")
    (src / "sub" / "key").symlink_to(secret)
    (src / "dirlink").symlink_to(secret.parent, target_is_directory=True)
    repo = LocalArtifactRepository(str(tmp_path / "root")) if kind == "local" else _memory_repo(tmp_path)
    with pytest.raises(InvalidParameterError) as info:
        repo.log_artifacts(src)
    assert "'sub/key'" in str(info.value) and "'dirlink'" in str(info.value)
    assert repo.list_artifacts() == []  # nothing was uploaded
    (src / "sub" / "key").unlink()
    (src / "dirlink").unlink()
    repo.log_artifacts(src)
    out = Path(repo.download_artifacts("", str(tmp_path / "dl")))
    assert (out / "inside-link.txt").read_bytes() == b"a"  # a link inside: uploaded as its content
    assert not (out / "inside-link.txt").is_symlink()


def test_download_never_writes_through_a_symlinked_destination_directory(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path / "root"))
    (tmp_path / "f.txt").write_bytes(b"f")
    repo.log_artifact(tmp_path / "f.txt", "model")
    victim = tmp_path / "victim"
    victim.mkdir()
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "model").symlink_to(victim, target_is_directory=True)
    with pytest.raises(InvalidParameterError, match="symbolic link"):
        repo.download_artifacts("model", str(dst))
    with pytest.raises(InvalidParameterError, match="symbolic link"):
        repo.download_artifacts("model/f.txt", str(dst))
    assert list(victim.iterdir()) == []


def test_local_write_cannot_be_redirected_between_check_and_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "sub").mkdir(parents=True)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "g.txt").write_bytes(b"payload")
    repo = LocalArtifactRepository(str(root))
    real_copy = repo._copy_into

    def swap_then_copy(src: str, dst: str) -> None:
        # every check has passed; an attacker now swaps the checked directory for a symlink
        if not (root / "sub").is_symlink():
            os.rename(root / "sub", root / "moved")
            (root / "sub").symlink_to(outside, target_is_directory=True)
        real_copy(src, dst)

    monkeypatch.setattr(repo, "_copy_into", swap_then_copy)
    for upload in (lambda: repo.log_artifact(tree / "g.txt", "sub"), lambda: repo.log_artifacts(tree, "sub")):
        try:
            upload()
        except InvalidParameterError:
            pass
        assert list(outside.iterdir()) == [], "the write followed a symlink swapped in after the check"
        if (root / "sub").is_symlink():
            (root / "sub").unlink()
        os.rename(root / "moved", root / "sub")
        assert (root / "sub" / "g.txt").read_bytes() == b"payload"  # written where it was checked
        (root / "sub" / "g.txt").unlink()


def test_webhdfs_password_over_plain_http_warns() -> None:
    from storekit_hdfs import InsecureWebHdfsWarning, WebHdfsArtifactRepository

    with pytest.warns(InsecureWebHdfsWarning, match="plain HTTP") as record:
        WebHdfsArtifactRepository("webhdfs://alice:s3cr3t-pw@127.0.0.1:9/data")
    assert all("s3cr3t-pw" not in str(w.message) for w in record)
    with pytest.warns(InsecureWebHdfsWarning, match="delegation token"):
        WebHdfsArtifactRepository("webhdfs://127.0.0.1:9/data", token="tok-123")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureWebHdfsWarning)
        WebHdfsArtifactRepository("swebhdfs://alice:s3cr3t-pw@127.0.0.1:9/data")
        WebHdfsArtifactRepository("webhdfs://alice@127.0.0.1:9/data")
