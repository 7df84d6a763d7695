"""storekit-azure against Azurite (scripts/services/azurite.sh).

Azurite has no ADLS Gen2 (dfs) endpoint, so ``abfss://`` URIs are exercised
through the blob API.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest

from storekit.errors import ArtifactNotFound, BackendUnavailableError, InvalidParameterError, StorekitError
from tests.services import ensure_service

from .behaviour import write
from .faults import HttpFaultProxy
from .remote_behaviour import RemoteBehaviour

pytestmark = pytest.mark.azure

import azure.storage.blob as blob

import storekit_azure

ACCOUNT = "devstoreaccount1"


def _setting(conn: str, key: str) -> str:
    for part in conn.split(";"):
        k, _, v = part.partition("=")
        if k == key:
            return v
    raise KeyError(key)


@pytest.fixture(scope="module")
def azurite() -> dict[str, str]:
    return ensure_service("azurite", ("STOREKIT_TEST_AZURE_CONNECTION_STRING",))


def _connection_string(base: str, key: str) -> str:
    return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={base}/{ACCOUNT};"


@pytest.fixture
def endpoint(azurite: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    conn = azurite["STOREKIT_TEST_AZURE_CONNECTION_STRING"]
    blob_endpoint = _setting(conn, "BlobEndpoint").rstrip("/")
    base = blob_endpoint[: -len(ACCOUNT) - 1]
    for var in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "STOREKIT_AZURE_ENDPOINT_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRY_DELAY", "0.05")
    monkeypatch.setenv("STOREKIT_AZURE_CONNECT_TIMEOUT", "3")
    TestAzureRepository.key = _setting(conn, "AccountKey")
    service = blob.BlobServiceClient.from_connection_string(conn)
    container = f"sk-{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    TestAzureRepository.container = container
    yield base
    try:
        service.delete_container(container)
    except Exception:
        pass


class TestAzureRepository(RemoteBehaviour):
    container = ""
    key = ""
    repo_target = "storekit_azure:AzureArtifactRepository"

    def uri(self, path: str = "exp/1/run") -> str:
        return f"wasbs://{self.container}@{ACCOUNT}.blob.core.windows.net/{path}"

    def make_repo(self, endpoint: str, **options: Any) -> Any:
        return storekit_azure.AzureArtifactRepository(
            self.uri(), connection_string=_connection_string(endpoint, self.key), **options
        )

    def secret_values(self) -> list[str]:
        return [self.key, self.key[:20]]

    def rss_setup(self, endpoint: str) -> tuple[str, dict[str, str]]:
        return self.uri("rss"), {"AZURE_STORAGE_CONNECTION_STRING": _connection_string(endpoint, self.key)}

    def test_entry_points_and_declarations(self) -> None:
        from importlib.metadata import entry_points

        eps = {ep.name: ep for ep in entry_points(group="storekit.artifact_repository")}
        for scheme in ("wasbs", "wasb", "abfss", "abfs", "az"):
            assert eps[scheme].load() is storekit_azure.AzureArtifactRepository
        assert storekit_azure.storekit_api == 1
        assert storekit_azure.AzureArtifactRepository.capabilities == storekit_azure.capabilities

    def test_uri_parsing(self) -> None:
        parse = storekit_azure.parse_azure_uri
        assert parse("wasbs://c@acct.blob.core.windows.net/a/b/") == storekit_azure.AzureLocation("acct", "c", "a/b")
        assert parse("abfss://c@acct.dfs.core.windows.net/x").account == "acct"
        assert parse("az://c/p") == storekit_azure.AzureLocation(None, "c", "p")
        for bad in ("wasbs://acct.blob.core.windows.net/p", "wasbs://c@example.com/p", "az://c/p?sig=abc", "s3://b/p"):
            with pytest.raises(InvalidParameterError, match="artifact_uri"):
                parse(bad)
        with pytest.raises(InvalidParameterError, match="artifact_uri.*\\*\\*\\*"):
            parse("az://c/p?sv=2020&sig=topsecret")

    def test_abfss_and_az_through_blob_api(self, endpoint: str, tmp_path: Path, monkeypatch) -> None:
        conn = _connection_string(endpoint, self.key)
        src = write(tmp_path / "f.txt", b"via blob api")
        abfss = storekit_azure.AzureArtifactRepository(
            f"abfss://{self.container}@{ACCOUNT}.dfs.core.windows.net/gen2", connection_string=conn
        )
        abfss.log_artifact(src)
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
        az = storekit_azure.AzureArtifactRepository(f"az://{self.container}/gen2")
        assert az.account == ACCOUNT
        assert [(i.path, i.file_size) for i in az.list_artifacts()] == [("f.txt", 12)]

    def test_percent_encoded_paths_round_trip(self, endpoint: str, tmp_path: Path) -> None:
        """Names holding ``%``, percent-escapes, spaces, ``+`` and non-ASCII are stored under
        exactly that name and come back unchanged; a root written percent-encoded in the
        URI is the decoded name."""
        conn = _connection_string(endpoint, self.key)
        repo = storekit_azure.AzureArtifactRepository(self.uri("pct%20root/r%25un"), connection_string=conn)
        names = ["a%20b.txt", "100%.txt", "x%2Fy.txt", "sp ace.txt", "plus+sign.txt", "%E2%82%AC.txt", "\u20ac.txt"]
        for name in names:
            repo.log_artifact(write(tmp_path / "src" / name, name.encode()), "d%41ir")
        assert [(i.path, i.file_size) for i in repo.list_artifacts("d%41ir")] == sorted(
            (f"d%41ir/{n}", len(n.encode())) for n in names
        )
        for name in names:
            got = Path(repo.download_artifacts(f"d%41ir/{name}", tmp_path / "one")).read_bytes()
            assert got == name.encode(), name
        tree = Path(repo.download_artifacts("d%41ir", tmp_path / "tree"))
        assert sorted((p.name, p.read_bytes()) for p in tree.iterdir()) == sorted((n, n.encode()) for n in names)
        # on the server: the decoded root and the literal names, nothing escaped twice or unescaped
        container = blob.BlobServiceClient.from_connection_string(conn).get_container_client(self.container)
        stored = sorted(b.name for b in container.list_blobs(name_starts_with="pct"))
        assert stored == sorted(f"pct root/r%un/d%41ir/{n}" for n in names)
        repo.delete_artifacts("d%41ir/a%20b.txt")
        assert "d%41ir/a%20b.txt" not in [i.path for i in repo.list_artifacts("d%41ir")]
        assert "d%41ir/a b.txt" not in [i.path for i in repo.list_artifacts("d%41ir")]
        assert len(repo.list_artifacts("d%41ir")) == len(names) - 1

    def test_account_key_and_sas_token(self, endpoint: str, tmp_path: Path, caplog) -> None:
        caplog.set_level(logging.DEBUG)
        src = write(tmp_path / "f.txt", b"keyed")
        keyed = storekit_azure.AzureArtifactRepository(
            self.uri("keyed"), account_key=self.key, endpoint_url=f"{endpoint}/{ACCOUNT}"
        )
        keyed.log_artifact(src)
        sas = blob.generate_container_sas(
            ACCOUNT,
            self.container,
            account_key=self.key,
            permission=blob.ContainerSasPermissions(
                read=True, write=True, delete=True, list=True, add=True, create=True
            ),
            expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
        )
        signature = [p.split("=", 1)[1] for p in sas.split("&") if p.startswith("sig=")][0]
        via_sas = storekit_azure.AzureArtifactRepository(
            self.uri("keyed"), sas_token=sas, endpoint_url=f"{endpoint}/{ACCOUNT}", retries=1
        )
        assert [(i.path, i.file_size) for i in via_sas.list_artifacts()] == [("f.txt", 5)]
        with pytest.raises(ArtifactNotFound) as info:
            via_sas.download_artifacts("missing", tmp_path / "o")
        bad = storekit_azure.AzureArtifactRepository(
            self.uri("keyed"),
            account_key="QUJD" + self.key[4:],
            endpoint_url=f"{endpoint}/{ACCOUNT}",
            retries=1,
        )
        with pytest.raises(StorekitError) as refused:
            bad.list_artifacts()
        text = "\n".join(
            [str(info.value), repr(via_sas), repr(keyed), str(refused.value), repr(bad)]
            + [r.getMessage() for r in caplog.records]
        )
        from urllib.parse import unquote

        for secret in (signature, unquote(signature), self.key, "QUJD" + self.key[4:]):
            assert secret not in text


def _azure_error(status: int, code: str) -> tuple[Any, ...]:
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>injected {code}</Message></Error>'
    return ("status", status, body, {"x-ms-error-code": code})


def _blob_request(method: str, name: str) -> Callable[[str, str], bool]:
    """A proxy predicate: ``method`` on the blob whose name ends in ``name``."""
    return lambda m, p: m == method and urlsplit(p).path.endswith("/" + name)


class TestAzureServiceFaults:
    """Real Azure error answers and short reads on the wire, between storekit and Azurite.

    ``_injected_fault``: Azurite cannot be told to answer 503 or cut a body short on
    demand, so :class:`~tests.artifacts.faults.HttpFaultProxy` answers chosen
    requests itself; every other request reaches the real server, and what
    azure-core and adlfs make of the answers is their real code.
    """

    @pytest.fixture
    def proxy(self, endpoint: str) -> Iterator[HttpFaultProxy]:
        parts = urlsplit(endpoint)
        proxy = HttpFaultProxy(parts.hostname or "127.0.0.1", parts.port or 80)
        yield proxy
        proxy.close()

    def repo(self, url: str, **options: Any) -> Any:
        return storekit_azure.AzureArtifactRepository(
            f"wasbs://{TestAzureRepository.container}@{ACCOUNT}.blob.core.windows.net/faults",
            connection_string=_connection_string(url, TestAzureRepository.key),
            **options,
        )

    @pytest.mark.parametrize("code,status", [("ServerBusy", 503), ("InternalError", 500)])
    def test_transient_5xx_is_retried_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path, code: str, status: int
    ) -> None:
        repo = self.repo(proxy.url, retries=3)
        src = write(tmp_path / "f.txt", b"payload")
        # more answers than the SDK's own retry absorbs, fewer than storekit's attempts allow
        proxy.faults = [(_blob_request("PUT", "f.txt"), _azure_error(status, code))] * 3
        repo.log_artifact(src)
        puts = [s for m, p, s in proxy.requests if m == "PUT" and urlsplit(p).path.endswith("/f.txt")]
        assert puts == [status, status, status, 201] and proxy.faults == []
        proxy.faults = [(_blob_request("GET", "f.txt"), _azure_error(status, code))] * 3
        assert Path(repo.download_artifacts("f.txt", tmp_path / "o")).read_bytes() == b"payload"
        assert proxy.faults == []

    @pytest.mark.parametrize(
        "code,status,error",
        [("AuthenticationFailed", 403, BackendUnavailableError), ("InvalidHeaderValue", 400, StorekitError)],
    )
    def test_permanent_error_is_not_retried_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path, code: str, status: int, error: type
    ) -> None:
        repo = self.repo(proxy.url, retries=3)
        src = write(tmp_path / "f.txt", b"payload")
        proxy.faults = [(_blob_request("PUT", "f.txt"), _azure_error(status, code))] * 5
        with pytest.raises(error) as info:
            repo.log_artifact(src)
        assert "after retries" not in str(info.value)
        assert [s for m, _, s in proxy.requests if m == "PUT"] == [status]
        if status == 403:
            assert "refused the credentials" in str(info.value)

    def test_endless_5xx_ends_unavailable_after_bounded_attempts_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path
    ) -> None:
        repo = self.repo(proxy.url, retries=2)
        src = write(tmp_path / "f.txt", b"payload")
        proxy.faults = [(_blob_request("PUT", "f.txt"), _azure_error(503, "ServerBusy"))] * 50
        with pytest.raises(BackendUnavailableError, match="after retries"):
            repo.log_artifact(src)
        tried = len([1 for m, _, _ in proxy.requests if m == "PUT"])
        assert 2 <= tried <= 2 * 2, tried  # storekit x SDK attempts, never unbounded

    def test_short_read_is_retried_never_a_short_file_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path
    ) -> None:
        repo = self.repo(proxy.url, retries=2)
        data = os.urandom(100_000)
        repo.log_artifact(write(tmp_path / "f.bin", data))
        proxy.faults = [(_blob_request("GET", "f.bin"), ("short", 1000))]
        assert Path(repo.download_artifacts("f.bin", tmp_path / "o1")).read_bytes() == data
        assert proxy.faults == []
        proxy.faults = [(_blob_request("GET", "f.bin"), ("short", 1000))] * 50
        with pytest.raises(BackendUnavailableError):
            repo.download_artifacts("f.bin", tmp_path / "o2")
        assert not (tmp_path / "o2" / "f.bin").exists()

    def test_secret_only_in_the_services_error_text_is_redacted_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path
    ) -> None:
        """A key and a SAS signature that storekit was never given, echoed back in the
        service's own error message, do not reach the caller."""
        repo = self.repo(proxy.url, retries=1)
        leaked_key = "TGVha2VkS2V5T25seUluVGhlRXJyb3I=" * 2
        leaked_sig = "c2lnT25seUluVGhlRXJyb3I%3D"
        message = f"bad request: AccountKey={leaked_key};SharedAccessSignature=sv=2022&sig={leaked_sig}&se=x"
        body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidInput</Code><Message>{message}</Message></Error>'
        proxy.faults = [(_blob_request("PUT", "f.txt"), ("status", 400, body, {"x-ms-error-code": "InvalidInput"}))]
        with pytest.raises(StorekitError) as info:
            repo.log_artifact(write(tmp_path / "f.txt", b"x"))
        err = info.value
        text = "\n".join([str(err), repr(err), str(err.__cause__ or ""), repr(err.__cause__ or "")])
        assert "InvalidInput" in text  # the service's answer is shown ...
        assert leaked_key not in text and leaked_sig not in text  # ... without what it leaked
