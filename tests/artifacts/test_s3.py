"""storekit-s3 against moto's S3 server (scripts/services/moto.sh)."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest

from storekit.errors import ArtifactNotFound, InvalidParameterError
from tests.services import ensure_service

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
