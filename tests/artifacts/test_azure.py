"""storekit-azure against Azurite (scripts/services/azurite.sh).

Azurite has no ADLS Gen2 (dfs) endpoint, so ``abfss://`` URIs are exercised
through the blob API.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from storekit.errors import ArtifactNotFound, InvalidParameterError, StorekitError
from tests.services import ensure_service

from .behaviour import write
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
