"""storekit-hdfs: ``webhdfs://`` against the WebHDFS protocol EMULATOR, ``hdfs://`` error paths.

No HDFS cluster can run on the test machines, so this is the one backend CI
cannot check against a real server: the WebHDFS REST protocol is exercised
against tests/emulators/webhdfs.py (an emulator, not HDFS), and the checks
against a real cluster run only when ``STOREKIT_TEST_HDFS_URI`` points at one
(``webhdfs://``, ``swebhdfs://``, ``hdfs://`` or ``viewfs://``); otherwise they
are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

import storekit_hdfs
from storekit.errors import BackendUnavailableError, InvalidParameterError
from tests.emulators.webhdfs import WebHdfsEmulator

from .behaviour import make_tree, read_tree, write
from .remote_behaviour import MIB, RemoteBehaviour

TOKEN = "HAAEdGVzdARzZWNyZXQtZGVsZWdhdGlvbi10b2tlbg"
PASSWORD = "webhdfs-basic-Pw-7731"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHdfsEmulator]:
    with WebHdfsEmulator(tmp_path_factory.mktemp("webhdfs-emulator")) as emu:
        yield emu


@pytest.fixture
def endpoint(emulator: WebHdfsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The emulated namenode's HTTP address; each test gets its own root directory."""
    for name in ("STOREKIT_WEBHDFS_TOKEN", "STOREKIT_WEBHDFS_PASSWORD", "STOREKIT_HDFS_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRY_DELAY", "0.05")
    TestWebHdfsAgainstEmulator.root = f"/user/storekit/{uuid.uuid4().hex[:12]}"
    emulator.clear_faults()
    yield f"http://{emulator.address}"
    emulator.clear_faults()


class TestWebHdfsAgainstEmulator(RemoteBehaviour):
    """Contract section 4 for webhdfs://, against the WebHDFS protocol emulator."""

    root = ""
    repo_target = "storekit_hdfs:WebHdfsArtifactRepository"

    def uri(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        return f"webhdfs://{parts.hostname}:{parts.port}{self.root}"

    def make_repo(self, endpoint: str, **options: Any) -> Any:
        options.setdefault("token", TOKEN)
        return storekit_hdfs.WebHdfsArtifactRepository(self.uri(endpoint), **options)

    def secret_values(self) -> list[str]:
        return [TOKEN]

    def rss_setup(self, endpoint: str) -> tuple[str, dict[str, str]]:
        return self.uri(endpoint), {"STOREKIT_WEBHDFS_TOKEN": TOKEN}

    # --- declarations ---------------------------------------------------------------
    def test_webhdfs_against_emulator_entry_points(self) -> None:
        from importlib.metadata import entry_points

        from storekit.interfaces import Capability

        eps = {ep.name: ep for ep in entry_points(group="storekit.artifact_repository")}
        for scheme in ("webhdfs", "swebhdfs"):
            assert eps[scheme].load() is storekit_hdfs.WebHdfsArtifactRepository
        for scheme in ("hdfs", "viewfs"):
            assert eps[scheme].load() is storekit_hdfs.HdfsArtifactRepository
        assert eps["webhdfs"].dist is not None and eps["webhdfs"].dist.name == "storekit-hdfs"
        assert storekit_hdfs.storekit_api == 1
        assert Capability.DELETE_ARTIFACTS in storekit_hdfs.capabilities

    def test_webhdfs_uri_parsing(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HADOOP_USER_NAME", "hadoopuser")
        repo = storekit_hdfs.WebHdfsArtifactRepository("webhdfs://nn.example/a/b/")
        assert (repo._host, repo._port, repo._user, repo.root) == ("nn.example", 9870, "hadoopuser", "/a/b")
        repo = storekit_hdfs.WebHdfsArtifactRepository("swebhdfs://carol@nn.example:1234/x")
        assert (repo._https, repo._port, repo._user) == (True, 1234, "carol")
        with pytest.raises(InvalidParameterError, match="host"):
            storekit_hdfs.WebHdfsArtifactRepository("webhdfs:///x")
        with pytest.raises(InvalidParameterError, match="port"):
            storekit_hdfs.WebHdfsArtifactRepository("webhdfs://nn:99999/x")

    # --- protocol specifics ---------------------------------------------------------
    def test_webhdfs_against_emulator_two_step_redirect_and_errors(self, emulator: WebHdfsEmulator) -> None:
        base = f"http://{emulator.address}/webhdfs/v1"
        request = urllib.request.Request(f"{base}/p/q.txt?op=CREATE&overwrite=true", method="PUT")
        opener = urllib.request.build_opener(_NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as info:
            opener.open(request)
        assert info.value.code == 307 and "namenoderpcaddress" in info.value.headers["Location"]
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/does/not/exist?op=GETFILESTATUS")
        assert info.value.code == 404
        remote = json.loads(info.value.read())["RemoteException"]
        assert remote["exception"] == "FileNotFoundException"
        assert remote["javaClassName"] == "java.io.FileNotFoundException"

    def test_webhdfs_against_emulator_retries_retriable_exception(
        self, endpoint: str, tmp_path: Path, emulator: WebHdfsEmulator
    ) -> None:
        repo = self.make_repo(endpoint, retries=4)
        emulator.inject("CREATE", status=503, exception="RetriableException", times=2)
        repo.log_artifact(write(tmp_path / "f.txt", b"eventually"))
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("f.txt", 10)]
        emulator.inject("LISTSTATUS", status=403, exception="StandbyException", times=10)
        with pytest.raises(BackendUnavailableError, match="unavailable"):
            self.make_repo(endpoint, retries=2).list_artifacts()

    def test_webhdfs_against_emulator_datanode_cut_keeps_old_file(
        self, endpoint: str, tmp_path: Path, emulator: WebHdfsEmulator
    ) -> None:
        repo = self.make_repo(endpoint, retries=1, chunk_size=1 * MIB)
        repo.log_artifact(write(tmp_path / "a" / "m.bin", b"old"))
        new = write(tmp_path / "m.bin", os.urandom(3 * MIB))
        emulator.cut_datanode_writes_after(512 * 1024)
        with pytest.raises(BackendUnavailableError):
            repo.log_artifact(new)
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("m.bin", 3)]
        # with retries the same cut is survived
        emulator.cut_datanode_writes_after(512 * 1024)
        self.make_repo(endpoint, retries=3, chunk_size=1 * MIB).log_artifact(new)
        got = Path(repo.download_artifacts("m.bin", tmp_path / "o")).read_bytes()
        assert got == new.read_bytes()

    def test_webhdfs_against_emulator_rename_does_not_silently_fail(
        self, endpoint: str, tmp_path: Path, emulator: WebHdfsEmulator
    ) -> None:
        """Plain WebHDFS RENAME onto an existing file returns false; the upload must not pass silently."""
        repo = self.make_repo(endpoint, retries=1)
        repo.log_artifact(write(tmp_path / "f.txt", b"one"))
        emulator.inject("RENAME", status=403, exception="AccessControlException", times=1)
        with pytest.raises(BackendUnavailableError, match="access denied"):
            repo.log_artifact(write(tmp_path / "f.txt", b"two"))
        assert Path(repo.download_artifacts("f.txt", tmp_path / "o")).read_bytes() == b"one"

    def test_webhdfs_against_emulator_basic_auth_password_not_shown(
        self, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        parts = urlsplit(endpoint)
        repo = storekit_hdfs.WebHdfsArtifactRepository(
            f"webhdfs://alice:{PASSWORD}@{parts.hostname}:{parts.port}{self.root}", retries=1
        )
        repo.log_artifact(write(tmp_path / "f.txt", b"x"))
        down = storekit_hdfs.WebHdfsArtifactRepository(f"webhdfs://alice:{PASSWORD}@127.0.0.1:1{self.root}", retries=2)
        with pytest.raises(BackendUnavailableError) as info:
            down.list_artifacts()
        shown = "\n".join([repr(repo), repr(down), str(info.value), repr(info.value.__cause__), caplog.text])
        assert PASSWORD not in shown

    def test_webhdfs_against_emulator_tree_with_many_files(self, endpoint: str, tmp_path: Path) -> None:
        files = make_tree(tmp_path / "src")
        for i in range(40):
            files[f"many/f{i:03d}.txt"] = write(tmp_path / "src" / "many" / f"f{i:03d}.txt", b"%d" % i).read_bytes()
        repo = self.make_repo(endpoint, max_workers=4)
        repo.log_artifacts(tmp_path / "src")
        assert len(repo.list_artifacts("many")) == 40
        assert read_tree(Path(repo.download_artifacts("", tmp_path / "dl"))) == files


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# --- native hdfs:// (pyarrow + libhdfs) -------------------------------------------------------
def test_hdfs_without_libhdfs_raises_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JAVA_HOME", "HADOOP_HOME", "ARROW_LIBHDFS_DIR", "CLASSPATH"):
        monkeypatch.delenv(name, raising=False)
    repo = storekit_hdfs.HdfsArtifactRepository("hdfs://namenode.example:8020/artifacts")
    assert repo.root == "/artifacts"
    with pytest.raises(BackendUnavailableError) as info:
        repo.list_artifacts()
    message = str(info.value)
    for needed in ("JAVA_HOME", "libhdfs.so", "CLASSPATH", "webhdfs://"):
        assert needed in message


def test_hdfs_with_jvm_but_no_libhdfs_names_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jdk = tmp_path / "jdk"
    write(jdk / "lib" / "server" / "libjvm.so", b"")
    monkeypatch.setenv("JAVA_HOME", str(jdk))
    monkeypatch.setenv("ARROW_LIBHDFS_DIR", str(tmp_path / "nothing"))
    monkeypatch.delenv("HADOOP_HOME", raising=False)
    write(tmp_path / "jars" / "hadoop-common-3.3.6.jar", b"")
    monkeypatch.setenv("CLASSPATH", str(tmp_path / "jars" / "*"))
    repo = storekit_hdfs.HdfsArtifactRepository("viewfs://cluster/a")
    with pytest.raises(BackendUnavailableError) as info:
        repo.download_artifacts("x")
    message = str(info.value)
    assert "libhdfs.so" in message and "JAVA_HOME" not in message and "CLASSPATH" not in message


# --- a real cluster, only when one is configured ----------------------------------------------
REAL_HDFS = os.environ.get("STOREKIT_TEST_HDFS_URI")


@pytest.mark.skipif(
    not REAL_HDFS,
    reason="no real HDFS here: set STOREKIT_TEST_HDFS_URI to a webhdfs://, hdfs:// or viewfs:// "
    "directory of a test cluster (HDFS is the one backend CI checks only against an emulator)",
)
def test_real_hdfs_cluster_round_trip(tmp_path: Path) -> None:
    import storekit

    uri = f"{REAL_HDFS.rstrip('/')}/storekit-test-{uuid.uuid4().hex[:12]}"
    scheme = uri.split(":", 1)[0]
    cls = storekit_hdfs.WebHdfsArtifactRepository if "webhdfs" in scheme else storekit_hdfs.HdfsArtifactRepository
    repo = cls(uri)
    files = make_tree(tmp_path / "src")
    try:
        repo.log_artifacts(tmp_path / "src", "run")
        repo.log_artifact(write(tmp_path / "x" / "a.txt", b"replaced"), "run")
        files["a.txt"] = b"replaced"
        assert [i.path for i in repo.list_artifacts("run")] == ["run/a.txt", "run/b.bin", "run/sub", "run/sub 2"]
        assert read_tree(Path(repo.download_artifacts("run", tmp_path / "dl"))) == files
    finally:
        repo.delete_artifacts()
    assert storekit is not None
