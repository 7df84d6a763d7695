"""HttpRegistryStore against a real ``mlflow server``."""

from __future__ import annotations

import uuid

import pytest

from storekit.errors import AlreadyExistsError, InvalidParameterError, ModelNotFound, ModelVersionNotFound
from storekit.plugins import resolve_registry_store
from storekit_http import HttpRegistryStore, HttpTrackingStore
from tests.mlflow_server.processes import MlflowServer


@pytest.fixture(scope="module")
def registry(mlflow_server: MlflowServer) -> HttpRegistryStore:
    store = resolve_registry_store(mlflow_server.url)
    assert isinstance(store, HttpRegistryStore)
    yield store
    store.close()


def _name() -> str:
    return f"model-{uuid.uuid4().hex[:10]}"


def test_models_versions_stages_aliases_tags(registry: HttpRegistryStore, mlflow_server: MlflowServer) -> None:
    name = _name()
    model = registry.create_registered_model(name, tags={"team": "a"}, description="d")
    assert (model.name, model.tags, model.description) == (name, {"team": "a"}, "d")
    with pytest.raises(AlreadyExistsError):
        registry.create_registered_model(name)
    tracking = HttpTrackingStore(mlflow_server.url)
    run = tracking.create_run(tracking.create_experiment(name))
    source = f"{run.info.artifact_uri}/model"
    assert source.startswith(f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts/")
    v1 = registry.create_model_version(name, source, run_id=run.info.run_id, tags={"k": "v"})
    v2 = registry.create_model_version(name, "s3://bucket/model")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.source == source, "the proxy URL comes back as given"
    assert registry.get_model_version_download_uri(name, "1") == source
    registry.transition_model_version_stage(name, "1", "production")
    moved = registry.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert registry.get_model_version(name, "1").current_stage == "Archived"
    assert [v.version for v in registry.get_latest_versions(name, ["Production"])] == ["2"]
    registry.set_registered_model_alias(name, "champion", "1")
    assert registry.get_model_version_by_alias(name, "champion").version == "1"
    assert registry.get_registered_model(name).aliases == {"champion": "1"}
    registry.delete_registered_model_alias(name, "champion")
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version_by_alias(name, "champion")
    registry.set_model_version_tag(name, "2", "stage", "prod")
    registry.delete_model_version_tag(name, "1", "k")
    assert registry.get_model_version(name, "1").tags == {}
    registry.update_model_version(name, "2", "second")
    assert registry.get_model_version(name, "2").description == "second"
    registry.set_registered_model_tag(name, "x", "1")
    registry.delete_registered_model_tag(name, "team")
    assert registry.get_registered_model(name).tags == {"x": "1"}
    registry.delete_model_version(name, "1")
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version(name, "1")
    assert registry.create_model_version(name, "s3://bucket/m3").version == "3", "numbers are never reused"
    renamed = registry.rename_registered_model(name, name + "-new")
    assert renamed.name == name + "-new"
    registry.delete_registered_model(name + "-new")
    with pytest.raises(ModelNotFound):
        registry.get_registered_model(name + "-new")
    with pytest.raises(InvalidParameterError):
        registry.transition_model_version_stage(name, "1", "Nowhere")


def test_search_with_server_paging_and_client_side_or(registry: HttpRegistryStore) -> None:
    prefix = f"srch{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for i, n in enumerate(names):
        registry.create_registered_model(n, tags={"parity": "even" if i % 2 == 0 else "odd"})
        registry.create_model_version(n, "s3://bucket/x")
    seen, token = [], None
    while True:
        page = registry.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2, page_token=token)
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == names
    either = registry.search_registered_models(f"name = '{names[1]}' OR name = '{names[3]}'")
    assert [m.name for m in either] == [names[1], names[3]]
    versions = registry.search_model_versions(f"name = '{names[0]}' OR name = '{names[4]}'", max_results=1)
    assert [v.name for v in versions] == [names[0]] and versions.token
    rest = registry.search_model_versions(
        f"name = '{names[0]}' OR name = '{names[4]}'", max_results=1, page_token=versions.token
    )
    assert [v.name for v in rest] == [names[4]]
