"""Fixtures of the storekit-mlflow bridge tests: real MLflow on real storekit backends.

``store_uri`` is parametrized over the file backend, SQLite, PostgreSQL and
MariaDB (fresh databases from ``tests/databases.py``; a server that cannot be
reached fails the test, never skips it).  ``artifact_root`` is a local
directory or an S3 prefix on moto's server.  ``mlflow_uris`` points MLflow's
fluent API and client at a ``storekit:`` URI for one test.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Callable, Iterator

import mlflow
import pytest

import storekit_mlflow  # noqa: F401
from tests.databases import DatabaseFactory, server_uri
from tests.services import ensure_service

BACKENDS = ["file", "sqlite", "postgresql", "mariadb"]

S3_ACCESS_KEY = "storekit-test-key"
S3_SECRET_KEY = "storekit-test-secret-Zq81xv"


@pytest.fixture(autouse=True)
def _mlflow_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No pip-requirement inference, no telemetry, no run left active between tests."""
    monkeypatch.setenv("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("STOREKIT_TRACKING_URI", raising=False)
    monkeypatch.delenv("STOREKIT_REGISTRY_URI", raising=False)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    # MLflow's set_*_uri also export the URIs as environment variables: leave none behind
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_RUN_ID",
    ):
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def database_factories() -> Iterator[dict[str, DatabaseFactory]]:
    """Lazily created database factories per server, dropping their databases at the end."""
    factories: dict[str, DatabaseFactory] = {}
    yield factories
    for factory in factories.values():
        factory.drop_all()


@pytest.fixture
def new_storekit_uri(database_factories: dict[str, DatabaseFactory], tmp_path) -> Callable[[str], str]:
    """``new_storekit_uri(backend)``: a native storekit URI of a new, empty store."""
    counter = iter(range(1_000_000))

    def make(backend: str) -> str:
        n = next(counter)
        if backend == "file":
            return str(tmp_path / f"filestore{n}")
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/store{n}.db"
        if backend not in database_factories:
            database_factories[backend] = DatabaseFactory(backend, server_uri(backend))
        return database_factories[backend].create()

    return make


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storekit backend under test."""
    return str(request.param)


@pytest.fixture
def native_uri(backend: str, new_storekit_uri: Callable[[str], str]) -> str:
    """A new store of the backend under test, as a storekit URI."""
    return new_storekit_uri(backend)


@pytest.fixture
def store_uri(native_uri: str) -> str:
    """The same store as an MLflow URI (``storekit:`` + storekit URI)."""
    return "storekit:" + native_uri


@pytest.fixture
def local_artifacts(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Artifacts in a local directory (storekit's default artifact root for new experiments)."""
    root = str(tmp_path / "artifacts")
    monkeypatch.setenv("STOREKIT_ARTIFACT_URI", root)
    return root


@pytest.fixture(scope="session")
def moto() -> dict[str, str]:
    """moto's S3 server (scripts/services/moto.sh), started on first use."""
    return ensure_service("moto", ("STOREKIT_TEST_S3_ENDPOINT",))


@pytest.fixture
def s3_artifacts(moto: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Artifacts under a fresh bucket on moto's server, as the default artifact root."""
    import boto3

    url = moto["STOREKIT_TEST_S3_ENDPOINT"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("STOREKIT_S3_ENDPOINT_URL", url)
    bucket = f"skml-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    root = f"s3://{bucket}/mlflow"
    monkeypatch.setenv("STOREKIT_ARTIFACT_URI", root)
    yield root
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def mlflow_uris(store_uri: str) -> str:
    """Point MLflow's fluent API and client (tracking and registry) at the store for this test."""
    mlflow.set_tracking_uri(store_uri)
    mlflow.set_registry_uri(store_uri)
    return store_uri


def s3_objects(root: str) -> list[str]:
    """Keys under an ``s3://bucket/prefix`` root on moto's server."""
    import boto3

    bucket, _, prefix = root[len("s3://") :].partition("/")
    client = boto3.client(
        "s3",
        endpoint_url=os.environ["STOREKIT_S3_ENDPOINT_URL"],
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
    )
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def unwrap_any(value: Any) -> Any:
    """Helper for assertions on MLflow entities holding lists of tags."""
    return {t.key: t.value for t in value} if isinstance(value, list) else value
