"""Checks for remote repositories on real servers: faults, secrets, bounded memory.

A test module subclasses :class:`RemoteBehaviour` and provides
``make_repo(endpoint, **options)`` (a repository on the same empty root,
talking to ``endpoint``), the ``endpoint`` fixture (the real server's URL),
``secrets`` (secret values that must never be shown), ``repo_target``
(``module:Class``) and ``rss_env``/``rss_uri`` for the subprocess.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from storekit.errors import BackendUnavailableError, StorekitError

from .behaviour import ArtifactBehaviour, FailingReader, peak_rss_mib, write
from .faults import TcpProxy

MIB = 1024 * 1024


class _SignallingReader:
    """Reads a file and sets ``event`` once ``after`` bytes have been read."""

    def __init__(self, path: str, after: int, event: threading.Event) -> None:
        self._fh = open(path, "rb")
        self._after = after
        self._event = event
        self._read = 0

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self._read += len(data)
        if self._read >= self._after:
            self._event.set()
        return data

    def __enter__(self) -> "_SignallingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


class RemoteBehaviour(ArtifactBehaviour):
    """Contract section 4 plus faults, secrets and memory on a real server."""

    big_size = 12 * MIB  # > one 5 MiB part: the failing uploads are multipart
    repo_target = ""

    def make_repo(self, endpoint: str, **options: Any) -> Any:
        raise NotImplementedError

    def secret_values(self) -> list[str]:
        raise NotImplementedError

    def rss_setup(self, endpoint: str) -> tuple[str, dict[str, str]]:
        """The URI and environment for the bounded-memory subprocess."""
        raise NotImplementedError

    @pytest.fixture
    def repo(self, endpoint: str) -> Any:
        return self.make_repo(endpoint, chunk_size=5 * MIB, retries=2)

    def break_source(self, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        def failing_open(path: str) -> FailingReader:
            data = Path(path).read_bytes()
            return FailingReader(data, len(data) // 2)

        monkeypatch.setattr(repo, "_open_local", failing_open)

    def test_server_gone_mid_upload(self, endpoint: str, tmp_path: Path, monkeypatch) -> None:
        parts = urlsplit(endpoint)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 80)
        try:
            direct = self.make_repo(endpoint)
            via = self.make_repo(proxy.url, chunk_size=5 * MIB, retries=2, max_workers=2)
            old = write(tmp_path / "old" / "model.bin", os.urandom(1000))
            direct.log_artifact(old)
            src = write(tmp_path / "model.bin", os.urandom(24 * MIB))
            halfway = threading.Event()
            monkeypatch.setattr(via, "_open_local", lambda p: _SignallingReader(p, 11 * MIB, halfway))
            stopper = threading.Thread(target=lambda: (halfway.wait(60), proxy.stop()))
            stopper.start()
            with pytest.raises(BackendUnavailableError):
                via.log_artifact(src)
            stopper.join()
            assert halfway.is_set()
            # the final name still holds the old object, never a partial new one
            assert [(i.path, i.file_size) for i in direct.list_artifacts()] == [("model.bin", 1000)]
            assert Path(direct.download_artifacts("model.bin", tmp_path / "o1")).read_bytes() == (old.read_bytes())
            monkeypatch.undo()
            proxy.start()
            via.log_artifact(src)
            assert [(i.path, i.file_size) for i in direct.list_artifacts()] == [("model.bin", 24 * MIB)]
        finally:
            proxy.stop()

    def test_download_shorter_than_listed_is_an_error(self, endpoint: str, tmp_path: Path) -> None:
        """The object shrinks on the real server between the listing and the transfer: the
        download receives fewer bytes than listed and must fail, never leave a short file."""
        repo = self.make_repo(endpoint, chunk_size=5 * MIB, retries=2)
        other = self.make_repo(endpoint)
        real_download = repo._download
        for size in (1000, self.big_size):  # one request, and the streamed path of large files
            name = f"f{size}.bin"
            original = write(tmp_path / "src" / name, os.urandom(size))
            shorter = write(tmp_path / "short" / name, os.urandom(size - 100))

            def shrink_first(remote: str, local: str, listed: Any, progress: Any, _s: Path = shorter) -> None:
                other.log_artifact(_s, "d")  # a concurrent writer replaces it with a shorter file
                real_download(remote, local, listed, progress)

            for what, out in ((f"d/{name}", tmp_path / "o1" / "d" / name), ("d", tmp_path / "o2" / "d" / name)):
                repo.log_artifact(original, "d")
                repo._download = shrink_first  # type: ignore[method-assign]
                try:
                    with pytest.raises(BackendUnavailableError, match="bytes received"):
                        repo.download_artifacts(what, out.parents[1])
                finally:
                    del repo._download
                assert not out.exists()
            repo.delete_artifacts("d")

    def test_secrets_never_shown(self, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        proxy = TcpProxy(*(lambda p: (p.hostname or "127.0.0.1", p.port or 80))(urlsplit(endpoint)))
        proxy.stop()
        shown: list[str] = []
        repo = self.make_repo(endpoint, retries=1)
        down = self.make_repo(proxy.url, retries=2)
        shown += [repr(repo), str(repo), repr(down)]
        src = write(tmp_path / "f.txt", b"data")
        repo.log_artifact(src)
        for call in (
            lambda: repo.download_artifacts("missing.txt", tmp_path / "o"),
            lambda: down.log_artifact(src),
            lambda: down.list_artifacts(),
            lambda: down.download_artifacts("f.txt", tmp_path / "o"),
        ):
            with pytest.raises(StorekitError) as info:
                call()
            err = info.value
            shown += [str(err), repr(err), str(err.__cause__ or ""), repr(err.__cause__ or "")]
        shown += [r.getMessage() for r in caplog.records]
        shown += [str(r.args) for r in caplog.records]
        text = "\n".join(shown)
        assert "unavailable" in text
        for secret in self.secret_values():
            assert secret not in text

    def test_passes_the_conformance_suite(self, endpoint: str) -> None:
        """Contract section 4 through the public entry points, exactly as a plugin author runs it."""
        from tests.conformance.conformance_helpers import check_conformance

        uri, env = self.rss_setup(endpoint)
        check_conformance("artifacts", uri, env={**os.environ, **env})

    def test_large_file_bounded_memory(self, endpoint: str) -> None:
        size = (
            int(os.environ.get("STOREKIT_TEST_LARGE_SIZE", 1 << 30))
            if os.environ.get("STOREKIT_TEST_LARGE")
            else 80 * MIB
        )
        uri, env = self.rss_setup(endpoint)
        rss = peak_rss_mib(uri, size, self.repo_target, env)
        print(f"{type(self).__name__}: peak RSS {rss:.1f} MiB for {size / MIB:.0f} MiB")
        assert rss < 300
