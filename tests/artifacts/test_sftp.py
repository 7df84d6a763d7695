"""storekit-sftp against a real OpenSSH sshd (scripts/services/sshd.sh)."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from storekit.errors import BackendUnavailableError, InvalidParameterError, StorekitError
from tests.services import SCRIPTS, ensure_service

from .behaviour import write
from .remote_behaviour import MIB, RemoteBehaviour

pytestmark = pytest.mark.sftp

import storekit_sftp

PASSWORD = "sftp-test-Password-9x7"
SETTINGS = (
    "STOREKIT_TEST_SFTP_URI",
    "STOREKIT_TEST_SFTP_KEY_FILE",
    "STOREKIT_TEST_SFTP_KNOWN_HOSTS",
    "STOREKIT_TEST_SFTP_PASSPHRASE_KEY_FILE",
    "STOREKIT_TEST_SFTP_KEY_PASSPHRASE",
)


@pytest.fixture(scope="module")
def sshd() -> dict[str, str]:
    return ensure_service("sshd", SETTINGS)


def _script(action: str) -> None:
    subprocess.run(["bash", str(SCRIPTS / "sshd.sh"), action], check=True, capture_output=True, timeout=120)


@pytest.fixture
def endpoint(sshd: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``http://127.0.0.1:<sshd port>`` (the shared remote tests proxy it by host and port)."""
    for name in (
        "STOREKIT_SFTP_PASSWORD",
        "STOREKIT_SFTP_KEY_FILE",
        "STOREKIT_SFTP_KNOWN_HOSTS",
        "STOREKIT_SFTP_KEY_PASSPHRASE",
        "STOREKIT_SFTP_INSECURE_ACCEPT_HOST_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRY_DELAY", "0.05")
    uri = urlsplit(sshd["STOREKIT_TEST_SFTP_URI"])
    TestSftpRepository.root = f"{uri.path}/{uuid.uuid4().hex[:12]}"
    yield f"http://{uri.hostname}:{uri.port}"


def _known_hosts_for(sshd: dict[str, str], port: int, tmp_dir: Path) -> str:
    """A known_hosts naming the test server's host key for ``[127.0.0.1]:port`` (e.g. a proxy's)."""
    line = Path(sshd["STOREKIT_TEST_SFTP_KNOWN_HOSTS"]).read_text().split("\n")[0]
    key = line.split(" ", 1)[1]
    path = tmp_dir / f"known_hosts_{port}"
    path.write_text(f"[127.0.0.1]:{port} {key}\n")
    return str(path)


class TestSftpRepository(RemoteBehaviour):
    root = ""
    repo_target = "storekit_sftp:SftpArtifactRepository"
    big_size = 12 * MIB

    @pytest.fixture(autouse=True)
    def _settings(self, sshd: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> None:
        self.sshd = sshd
        self.keys_dir = tmp_path_factory.mktemp("known")

    def uri(self, endpoint: str, user: str = "root") -> str:
        parts = urlsplit(endpoint)
        return f"sftp://{user}@{parts.hostname}:{parts.port}{self.root}"

    def make_repo(self, endpoint: str, **options: Any) -> Any:
        port = urlsplit(endpoint).port or 22
        options.setdefault("key_filename", self.sshd["STOREKIT_TEST_SFTP_PASSPHRASE_KEY_FILE"])
        options.setdefault("passphrase", self.sshd["STOREKIT_TEST_SFTP_KEY_PASSPHRASE"])
        options.setdefault("password", PASSWORD)
        options.setdefault("known_hosts", _known_hosts_for(self.sshd, port, self.keys_dir))
        return storekit_sftp.SftpArtifactRepository(self.uri(endpoint), **options)

    def secret_values(self) -> list[str]:
        return [PASSWORD, self.sshd["STOREKIT_TEST_SFTP_KEY_PASSPHRASE"]]

    def rss_setup(self, endpoint: str) -> tuple[str, dict[str, str]]:
        return self.uri(endpoint), {
            "STOREKIT_SFTP_KEY_FILE": self.sshd["STOREKIT_TEST_SFTP_KEY_FILE"],
            "STOREKIT_SFTP_KNOWN_HOSTS": self.sshd["STOREKIT_TEST_SFTP_KNOWN_HOSTS"],
        }

    # --- declarations and settings ----------------------------------------------------
    def test_entry_point_and_declarations(self) -> None:
        from importlib.metadata import entry_points

        from storekit.interfaces import Capability

        eps = {ep.name: ep for ep in entry_points(group="storekit.artifact_repository")}
        assert eps["sftp"].load() is storekit_sftp.SftpArtifactRepository
        assert eps["sftp"].dist is not None and eps["sftp"].dist.name == "storekit-sftp"
        assert storekit_sftp.storekit_api == 1
        assert Capability.DELETE_ARTIFACTS in storekit_sftp.capabilities

    def test_uri_and_environment_settings(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("STOREKIT_SFTP_SSH_CONFIG", str(write(tmp_path / "cfg", b"Host nothing\n  Port 1\n")))
        monkeypatch.setenv("STOREKIT_SFTP_PASSWORD", "from-env-pw")
        s = storekit_sftp.parse_sftp_uri("sftp://bob@h.example:2222/data/x/")
        assert (s.host, s.port, s.username, s.root, s.password) == ("h.example", 2222, "bob", "/data/x", "from-env-pw")
        s = storekit_sftp.parse_sftp_uri("sftp://bob:uri%40pw@h.example/~/rel")
        assert (s.port, s.root, s.password) == (22, "rel", "uri@pw")
        assert "uri@pw" not in repr(s) and "from-env-pw" not in repr(s)
        with pytest.raises(InvalidParameterError, match="host"):
            storekit_sftp.parse_sftp_uri("sftp:///x")
        with pytest.raises(InvalidParameterError, match="key_filename"):
            storekit_sftp.parse_sftp_uri("sftp://h/x", key_filename=str(tmp_path / "nokey"))
        with pytest.raises(InvalidParameterError, match="timeout"):
            storekit_sftp.parse_sftp_uri("sftp://h/x", timeout=0)

    def test_ssh_config_supplies_host_port_user_and_key(
        self, sshd: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str
    ) -> None:
        port = urlsplit(endpoint).port
        cfg = write(
            tmp_path / "config",
            (
                f"Host storekit-test\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
                f"  IdentityFile {sshd['STOREKIT_TEST_SFTP_KEY_FILE']}\n"
                f"  UserKnownHostsFile {sshd['STOREKIT_TEST_SFTP_KNOWN_HOSTS']}\n"
            ).encode(),
        )
        monkeypatch.setenv("STOREKIT_SFTP_SSH_CONFIG", str(cfg))
        repo = storekit_sftp.SftpArtifactRepository(f"sftp://storekit-test{self.root}")
        repo.log_artifact(write(tmp_path / "f.txt", b"via config"))
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("f.txt", 10)]

    # --- host keys and credentials ------------------------------------------------------
    def test_unknown_host_key_is_refused(self, endpoint: str, tmp_path: Path) -> None:
        empty = write(tmp_path / "known_hosts", b"")
        repo = self.make_repo(endpoint, known_hosts=str(empty), retries=1)
        with pytest.raises(BackendUnavailableError, match="not in known_hosts"):
            repo.list_artifacts()

    def test_changed_host_key_is_refused(self, endpoint: str, tmp_path: Path) -> None:
        port = urlsplit(endpoint).port
        other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        bad = write(tmp_path / "known_hosts", f"[127.0.0.1]:{port} ssh-ed25519 {other}\n".encode())
        repo = self.make_repo(endpoint, known_hosts=str(bad), retries=1)
        with pytest.raises(BackendUnavailableError, match="does not match"):
            repo.list_artifacts()

    def _home_known_hosts(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str) -> None:
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "known_hosts").write_text(line)
        monkeypatch.setenv("HOME", str(home))

    def test_configured_known_hosts_is_the_only_source_wrong_pin(
        self, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # ~/.ssh/known_hosts has the right key, the configured file a wrong one: refused
        port = urlsplit(endpoint).port or 22
        right = Path(_known_hosts_for(self.sshd, port, self.keys_dir)).read_text()
        self._home_known_hosts(tmp_path, monkeypatch, right)
        other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        pin = write(tmp_path / "pinned", f"[127.0.0.1]:{port} ssh-ed25519 {other}\n".encode())
        monkeypatch.setenv("STOREKIT_SFTP_KNOWN_HOSTS", str(pin))
        repo = self.make_repo(endpoint, known_hosts=None, retries=1)
        with pytest.raises(BackendUnavailableError, match="does not match"):
            repo.list_artifacts()

    def test_configured_known_hosts_is_the_only_source_right_pin(
        self, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # ~/.ssh/known_hosts holds a stale key, the configured file the right one: accepted
        port = urlsplit(endpoint).port or 22
        other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        self._home_known_hosts(tmp_path, monkeypatch, f"[127.0.0.1]:{port} ssh-ed25519 {other}\n")
        monkeypatch.setenv("STOREKIT_SFTP_KNOWN_HOSTS", _known_hosts_for(self.sshd, port, self.keys_dir))
        repo = self.make_repo(endpoint, known_hosts=None, retries=1)
        assert repo.list_artifacts() == []

    def test_insecure_accept_host_key_opt_out(
        self, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        empty = write(tmp_path / "known_hosts", b"")
        monkeypatch.setenv("STOREKIT_SFTP_INSECURE_ACCEPT_HOST_KEY", "1")
        repo = self.make_repo(endpoint, known_hosts=str(empty))
        with caplog.at_level(logging.WARNING):
            assert repo.list_artifacts() == []
        assert "unsafe" in caplog.text
        assert empty.read_bytes() == b""  # nothing was learnt into known_hosts

    def test_wrong_password_refused_without_showing_it(
        self, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        caplog.set_level(logging.DEBUG)
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh keys to fall back on
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        parts = urlsplit(endpoint)
        uri = f"sftp://root:{PASSWORD}@{parts.hostname}:{parts.port}{self.root}"
        repo = storekit_sftp.SftpArtifactRepository(
            uri, known_hosts=self.sshd["STOREKIT_TEST_SFTP_KNOWN_HOSTS"], retries=2
        )
        with pytest.raises(BackendUnavailableError, match="authentication failed") as info:
            repo.list_artifacts()
        shown = "\n".join(
            [
                repr(repo),
                str(info.value),
                repr(info.value),
                str(info.value.__cause__),
                caplog.text,
                repr(repo.settings),
                repr(repo.fs),
            ]
        )
        assert PASSWORD not in shown

    def test_wrong_passphrase_refused_without_showing_it(
        self, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        wrong = "not-the-passphrase-41"
        repo = self.make_repo(endpoint, passphrase=wrong, password=None, retries=1)
        with pytest.raises(BackendUnavailableError) as info:
            repo.list_artifacts()
        shown = "\n".join([str(info.value), repr(info.value), str(info.value.__cause__), caplog.text, repr(repo)])
        assert wrong not in shown

    # --- connection loss on the real server -----------------------------------------------
    def _own_server(self) -> None:
        if all(os.environ.get(k) for k in SETTINGS):
            pytest.skip("the SFTP server comes from STOREKIT_TEST_SFTP_*; it is not ours to restart")

    def test_reconnects_after_server_restart_between_calls(self, endpoint: str, tmp_path: Path) -> None:
        self._own_server()
        repo = self.make_repo(endpoint, retries=3)
        repo.log_artifact(write(tmp_path / "a.txt", b"before"))
        assert len(repo._pool._idle) >= 1  # a pooled connection is kept ...
        _script("stop")
        _script("start")
        # ... and is dead now: the next calls reconnect transparently
        repo.log_artifact(write(tmp_path / "b.txt", b"after"))
        assert [i.path for i in repo.list_artifacts()] == ["a.txt", "b.txt"]

    def test_sshd_stopped_mid_upload(self, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self._own_server()
        repo = self.make_repo(endpoint, chunk_size=4 * MIB, retries=3)
        old = write(tmp_path / "old" / "model.bin", b"o" * 1000)
        repo.log_artifact(old)
        src = write(tmp_path / "model.bin", os.urandom(16 * MIB))
        stopped = threading.Event()
        real_open = repo._open_local

        class StopServerHalfway:
            def __init__(self, path: str) -> None:
                self._fh = real_open(path)
                self._read = 0

            def read(self, n: int = -1) -> bytes:
                data = self._fh.read(n)
                self._read += len(data)
                if self._read >= 8 * MIB and not stopped.is_set():
                    stopped.set()
                    _script("stop")
                return data

            def __enter__(self) -> "StopServerHalfway":
                return self

            def __exit__(self, *exc: object) -> None:
                self._fh.close()

        monkeypatch.setattr(repo, "_open_local", StopServerHalfway)
        try:
            with pytest.raises(BackendUnavailableError, match="unavailable"):
                repo.log_artifact(src)
            assert stopped.is_set()
        finally:
            _script("start")
        monkeypatch.undo()
        # the final name still holds the old file, never a partial new one
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("model.bin", 1000)]
        assert Path(repo.download_artifacts("model.bin", tmp_path / "o")).read_bytes() == b"o" * 1000
        repo.log_artifact(src)
        assert [(i.path, i.file_size) for i in repo.list_artifacts()] == [("model.bin", 16 * MIB)]

    def test_temporary_names_are_hidden_and_tree_is_exact(self, endpoint: str, tmp_path: Path) -> None:
        repo = self.make_repo(endpoint)
        repo.log_artifact(write(tmp_path / "x.txt", b"x"))
        fs = repo.fs
        fs.pipe_file(f"{repo.root}/.x.txt.storekit-tmp-abc123", b"partial")
        assert [i.path for i in repo.list_artifacts()] == ["x.txt"]
        out = repo.download_artifacts("", tmp_path / "dl")
        assert sorted(p.name for p in Path(out).iterdir()) == ["x.txt"]

    def test_failing_server_operation_is_not_retried_forever(self, endpoint: str, tmp_path: Path) -> None:
        repo = self.make_repo(endpoint, retries=2)
        repo.log_artifact(write(tmp_path / "f.txt", b"x"))
        # a file where a directory must be: a permanent error, reported as such
        with pytest.raises(StorekitError):
            repo.log_artifact(write(tmp_path / "g.txt", b"y"), "f.txt")
