"""storekit-s3 against moto's S3 server (scripts/services/moto.sh)."""

from __future__ import annotations

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

pytestmark = pytest.mark.s3

import boto3

import storekit_s3

ACCESS_KEY = "storekit-test-key"
SECRET_KEY = "storekit-test-secret-Zq81xv"


@pytest.fixture(scope="module")
def moto() -> dict[str, str]:
    return ensure_service("moto", ("STOREKIT_TEST_S3_ENDPOINT",))


@pytest.fixture
def endpoint(moto: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = moto["STOREKIT_TEST_S3_ENDPOINT"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("STOREKIT_ARTIFACT_RETRY_DELAY", "0.05")
    bucket = f"sk-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
    )
    client.create_bucket(Bucket=bucket)
    TestS3Repository.bucket = bucket
    yield url
    _empty_bucket(client, bucket)


def _empty_bucket(client: Any, bucket: str) -> None:
    """Remove the test's bucket (other sessions may share this moto server, so no global reset)."""
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        for mpu in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=mpu["Key"], UploadId=mpu["UploadId"])
        client.delete_bucket(Bucket=bucket)
    except Exception:
        pass


class TestS3Repository(RemoteBehaviour):
    bucket = ""
    repo_target = "storekit_s3:S3ArtifactRepository"

    def make_repo(self, endpoint: str, **options: Any) -> Any:
        return storekit_s3.S3ArtifactRepository(f"s3://{self.bucket}/exp/1/run", endpoint_url=endpoint, **options)

    def secret_values(self) -> list[str]:
        return [SECRET_KEY]

    def rss_setup(self, endpoint: str) -> tuple[str, dict[str, str]]:
        return f"s3://{self.bucket}/rss", {"STOREKIT_S3_ENDPOINT_URL": endpoint}

    def test_entry_point_and_declarations(self) -> None:
        from importlib.metadata import entry_points

        eps = {ep.name: ep for ep in entry_points(group="storekit.artifact_repository")}
        assert eps["s3"].load() is storekit_s3.S3ArtifactRepository
        assert storekit_s3.storekit_api == 1
        assert storekit_s3.S3ArtifactRepository.capabilities == storekit_s3.capabilities

    def test_uri_parsing(self) -> None:
        repo = storekit_s3.S3ArtifactRepository("s3://bkt/a/b/")
        assert (repo.bucket, repo.prefix, repo.root) == ("bkt", "a/b", "bkt/a/b")
        with pytest.raises(InvalidParameterError, match="artifact_uri"):
            storekit_s3.S3ArtifactRepository("s3:///nobucket")

    def test_endpoint_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("STOREKIT_S3_ENDPOINT_URL", raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://one:1")
        assert storekit_s3.S3ArtifactRepository("s3://b/p").endpoint_url == "http://one:1"
        monkeypatch.setenv("STOREKIT_S3_ENDPOINT_URL", "http://two:2")
        assert storekit_s3.S3ArtifactRepository("s3://b/p").endpoint_url == "http://two:2"

    def test_missing_bucket(self, endpoint: str, tmp_path, monkeypatch) -> None:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-123")
        # moto accepts any signature (no auth), so check the missing-bucket path with a secret set
        repo = storekit_s3.S3ArtifactRepository("s3://no-such-bucket-h7/p", endpoint_url=endpoint, retries=1)
        (tmp_path / "f").write_bytes(b"x")
        with pytest.raises(ArtifactNotFound, match="does not exist") as info:
            repo.log_artifact(tmp_path / "f")
        assert "wrong-secret-value-123" not in str(info.value)
        assert "no-such-bucket-h7" in str(info.value)


def _s3_error(code: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<Error><Code>{code}</Code><Message>injected {code}</Message><RequestId>0</RequestId></Error>"
    )


def _object_request(method: str, name: str) -> Callable[[str, str], bool]:
    """A proxy predicate: ``method`` on the object key ending in ``name`` (not listings)."""
    return lambda m, p: m == method and urlsplit(p).path.endswith("/" + name)


class TestS3ServiceFaults:
    """Real S3 error answers and short reads on the wire, between storekit and moto.

    ``_injected_fault``: moto cannot be told to answer 503 or cut a body short on
    demand, so :class:`~tests.artifacts.faults.HttpFaultProxy` answers chosen
    requests itself; every other request reaches the real server, and what
    botocore and s3fs make of the answers is their real code.
    """

    @pytest.fixture
    def proxy(self, endpoint: str) -> Iterator[HttpFaultProxy]:
        parts = urlsplit(endpoint)
        proxy = HttpFaultProxy(parts.hostname or "127.0.0.1", parts.port or 80)
        yield proxy
        proxy.close()

    def repo(self, url: str, **options: Any) -> Any:
        return storekit_s3.S3ArtifactRepository(f"s3://{TestS3Repository.bucket}/faults", endpoint_url=url, **options)

    @pytest.mark.parametrize("code,status", [("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503)])
    def test_transient_5xx_is_retried_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path, code: str, status: int
    ) -> None:
        repo = self.repo(proxy.url, retries=3)
        src = write(tmp_path / "f.txt", b"payload")
        # more answers than botocore and s3fs absorb (2 x 2 tries), fewer than storekit's attempts allow
        proxy.faults = [(_object_request("PUT", "f.txt"), ("status", status, _s3_error(code)))] * 5
        repo.log_artifact(src)
        puts = [s for m, p, s in proxy.requests if m == "PUT" and p.endswith("/f.txt")]
        assert puts == [status] * 5 + [200] and proxy.faults == []
        proxy.faults = [(_object_request("GET", "f.txt"), ("status", status, _s3_error(code)))] * 5
        assert Path(repo.download_artifacts("f.txt", tmp_path / "o")).read_bytes() == b"payload"
        assert proxy.faults == []

    @pytest.mark.parametrize(
        "code,status,error",
        [("AccessDenied", 403, BackendUnavailableError), ("InvalidArgument", 400, StorekitError)],
    )
    def test_permanent_error_is_not_retried_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path, code: str, status: int, error: type
    ) -> None:
        repo = self.repo(proxy.url, retries=3)
        src = write(tmp_path / "f.txt", b"payload")
        proxy.faults = [(_object_request("PUT", "f.txt"), ("status", status, _s3_error(code)))] * 5
        with pytest.raises(error) as info:
            repo.log_artifact(src)
        assert "after retries" not in str(info.value)
        assert [s for m, p, s in proxy.requests if m == "PUT"] == [status]  # asked once, by nobody again
        if status == 403:
            assert "credentials refused" in str(info.value)

    def test_endless_5xx_ends_unavailable_after_bounded_attempts_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path
    ) -> None:
        repo = self.repo(proxy.url, retries=2)
        src = write(tmp_path / "f.txt", b"payload")
        proxy.faults = [(_object_request("PUT", "f.txt"), ("status", 503, _s3_error("SlowDown")))] * 50
        with pytest.raises(BackendUnavailableError, match="after retries"):
            repo.log_artifact(src)
        tried = len([1 for m, _, _ in proxy.requests if m == "PUT"])
        assert 2 <= tried <= 2 * 2 * 3, tried  # storekit x botocore x s3fs attempts, never unbounded

    def test_short_read_is_retried_never_a_short_file_injected_fault(
        self, proxy: HttpFaultProxy, tmp_path: Path
    ) -> None:
        repo = self.repo(proxy.url, retries=2)
        data = os.urandom(100_000)
        repo.log_artifact(write(tmp_path / "f.bin", data))
        proxy.faults = [(_object_request("GET", "f.bin"), ("short", 1000))]
        assert Path(repo.download_artifacts("f.bin", tmp_path / "o1")).read_bytes() == data
        assert proxy.faults == []
        proxy.faults = [(_object_request("GET", "f.bin"), ("short", 1000))] * 50
        with pytest.raises(BackendUnavailableError):
            repo.download_artifacts("f.bin", tmp_path / "o2")
        assert not (tmp_path / "o2" / "f.bin").exists()
