"""HttpArtifactRepository through a real ``mlflow server``'s artifact proxy."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from storekit.client import TrackingClient
from storekit.errors import ArtifactNotFound, BackendUnavailableError, InvalidParameterError
from storekit.plugins import resolve_artifact_repository
from storekit_http import HttpArtifactRepository
from tests.artifacts.faults import HttpFaultProxy
from tests.mlflow_server.processes import MlflowServer


@pytest.fixture
def repo(mlflow_server: MlflowServer) -> HttpArtifactRepository:
    r = resolve_artifact_repository(f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts/t/{uuid.uuid4().hex}")
    assert isinstance(r, HttpArtifactRepository)
    return r


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def test_upload_list_download_delete(repo: HttpArtifactRepository, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01" * 100)
    repo.log_artifacts(src, "dir")
    repo.log_artifact(src / "a.txt")
    assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()] == [
        ("a.txt", False, 5),
        ("dir", True, None),
    ]
    assert [f.path for f in repo.list_artifacts("dir")] == ["dir/a.txt", "dir/sub"]
    out = Path(repo.download_artifacts("dir", tmp_path / "out"))
    assert (out / "sub" / "b.bin").read_bytes() == b"\x00\x01" * 100
    assert Path(repo.download_artifacts("a.txt", tmp_path / "one")).read_text() == "alpha"
    with pytest.raises(ArtifactNotFound):
        repo.download_artifacts("missing.txt", tmp_path / "none")
    repo.delete_artifacts("dir")
    assert [f.path for f in repo.list_artifacts()] == ["a.txt"]
    with pytest.raises(InvalidParameterError):
        repo.log_artifact(src / "a.txt", "../escape")


def test_large_file_streams_in_bounded_memory(repo: HttpArtifactRepository, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(32):
            fh.write(os.urandom(1 << 20))
    tracemalloc.start()
    try:
        repo.log_artifact(big)
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        local = Path(repo.download_artifacts("big.bin", tmp_path / "down"))
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert _digest(local) == _digest(big)
    assert upload_peak < 16 << 20 and download_peak < 16 << 20, (upload_peak, download_peak)


def test_run_artifacts_through_the_client(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    client = TrackingClient(tracking_uri=mlflow_server.url)
    exp_id = client.create_experiment(f"art-{uuid.uuid4().hex[:8]}")
    run = client.create_run(exp_id)
    (tmp_path / "model.pkl").write_bytes(b"weights")
    client.log_artifact(run.info.run_id, tmp_path / "model.pkl", "model")
    assert [f.path for f in client.list_artifacts(run.info.run_id, "model")] == ["model/model.pkl"]
    # MLflow's own client sees the same file where it expects it
    stored = [p for p in (mlflow_server.workdir / "artifacts").rglob("model.pkl") if run.info.run_id in str(p)]
    assert [p.read_bytes() for p in stored] == [b"weights"]


def test_not_a_proxy_uri_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        HttpArtifactRepository("https://example.com/some/file")


def test_direct_artifact_uris_resolve_through_storekits_registry(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    client = TrackingClient(tracking_uri=mlflow_server.url)
    direct = (tmp_path / "direct").as_uri()
    exp_id = client.create_experiment(f"direct-{uuid.uuid4().hex[:8]}", artifact_location=direct)
    run = client.create_run(exp_id)
    assert run.info.artifact_uri.startswith(direct), "a direct URI the server hands out is returned unchanged"
    (tmp_path / "notes.txt").write_text("direct")
    client.log_artifact(run.info.run_id, tmp_path / "notes.txt")
    assert list((tmp_path / "direct").rglob("notes.txt"))[0].read_text() == "direct"
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes.txt"]


def test_log_artifacts_refuses_links_leading_outside_the_tree(repo: HttpArtifactRepository, tmp_path: Path) -> None:
    """A symlink to a file outside the uploaded directory (a private key, say) is refused; nothing is uploaded."""
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "inside.txt").write_text("in")
    os.symlink(tree / "a.txt", tree / "sub" / "alias.txt")  # inside: uploaded as content
    os.symlink(secret, tree / "sub" / "key")
    with pytest.raises(InvalidParameterError, match="sub/key"):
        repo.log_artifacts(tree, "up")
    assert repo.list_artifacts("up") == []  # the proxy lists a missing directory as empty
    os.unlink(tree / "sub" / "key")
    repo.log_artifacts(tree, "up")
    assert sorted(f.path for f in repo.list_artifacts("up/sub")) == ["up/sub/alias.txt", "up/sub/inside.txt"]


def test_download_shorter_than_listed_is_an_error(
    repo: HttpArtifactRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file shrinks on the real server between the listing and the transfer: the
    tree download receives fewer bytes than listed and fails, leaving no short file."""
    other = resolve_artifact_repository(repo.artifact_uri)
    repo.log_artifact(_write(tmp_path / "src" / "f.bin", os.urandom(3 << 20)), "d")
    shorter = _write(tmp_path / "short" / "f.bin", os.urandom((3 << 20) - 100))
    real = repo._download_file

    def shrink_first(rel: str, dst: Path, listed_size: object = None) -> None:
        other.log_artifact(shorter, "d")  # a concurrent writer replaces it
        real(rel, dst, listed_size)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "_download_file", shrink_first)
    with pytest.raises(BackendUnavailableError, match="bytes received"):
        repo.download_artifacts("d", tmp_path / "out")
    assert not (tmp_path / "out" / "d" / "f.bin").exists()


def test_short_read_is_an_error_never_a_short_file_injected_fault(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    """The server's answer declares the whole length but the body breaks off (a real short
    read on the wire, cut by a proxy: the server cannot be made to do this on demand)."""
    proxy = HttpFaultProxy("127.0.0.1", urlsplit(mlflow_server.url).port or 80)
    try:
        root = f"t/{uuid.uuid4().hex}"
        repo = resolve_artifact_repository(f"{proxy.url}/api/2.0/mlflow-artifacts/artifacts/{root}")
        data = os.urandom(200_000)
        repo.log_artifact(_write(tmp_path / "f.bin", data))
        for what in ("f.bin", ""):  # one file (Content-Length), and a tree (the listed size)
            proxy.faults = [(lambda m, p: m == "GET" and urlsplit(p).path.endswith("/f.bin"), ("short", 1000))]
            out = tmp_path / f"out-{what or 'tree'}"
            with pytest.raises(BackendUnavailableError):
                repo.download_artifacts(what, out)
            assert not (out / "f.bin").exists()
            assert proxy.faults == []
        assert Path(repo.download_artifacts("f.bin", tmp_path / "ok")).read_bytes() == data
    finally:
        proxy.close()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
