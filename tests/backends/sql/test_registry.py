"""Registry semantics on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from storekit.errors import AlreadyExistsError, InvalidParameterError, ModelNotFound, ModelVersionNotFound


def test_versions_never_reused(registry, uniq):
    name = uniq("model")
    registry.create_registered_model(name, tags={"a": "1"}, description="d")
    with pytest.raises(AlreadyExistsError):
        registry.create_registered_model(name)
    assert [registry.create_model_version(name, f"s3://b/{i}").version for i in range(3)] == ["1", "2", "3"]
    registry.delete_model_version(name, "3")
    assert registry.create_model_version(name, "s3://b/x").version == "4"
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version(name, "3")
    assert registry.get_model_version_download_uri(name, "4") == "s3://b/x"


def test_concurrent_create_model_version_gets_distinct_numbers(registry, uniq):
    name = uniq("model")
    registry.create_registered_model(name)
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda i: registry.create_model_version(name, f"s3://b/{i}").version, range(12)))
    assert sorted(int(v) for v in versions) == list(range(1, 13))


def test_stages_aliases_and_latest(registry, uniq):
    name = uniq("model")
    registry.create_registered_model(name)
    for i in range(3):
        registry.create_model_version(name, f"s3://b/{i}")
    registry.transition_model_version_stage(name, "1", "production")
    registry.transition_model_version_stage(name, "2", "PRODUCTION", archive_existing_versions=True)
    assert registry.get_model_version(name, "1").current_stage == "Archived"
    latest = registry.get_latest_versions(name)
    assert [(v.current_stage, v.version) for v in latest] == [("Archived", "1"), ("None", "3"), ("Production", "2")]
    assert [v.version for v in registry.get_latest_versions(name, ["production"])] == ["2"]
    registry.set_registered_model_alias(name, "champion", "2")
    assert registry.get_model_version_by_alias(name, "champion").version == "2"
    assert registry.get_registered_model(name).aliases == {"champion": "2"}
    with pytest.raises(InvalidParameterError):
        registry.set_registered_model_alias(name, "latest", "2")
    registry.delete_model_version(name, "2")  # removes the alias with it
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version_by_alias(name, "champion")


def test_rename_delete_and_search(registry, uniq):
    name = uniq("model")
    registry.create_registered_model(name, tags={"team": "a"})
    registry.create_model_version(name, "s3://b/1", tags={"k": "v"})
    new = name + "-renamed"
    registry.rename_registered_model(name, new)
    assert registry.get_model_version(new, "1").tags == {"k": "v"}
    found = registry.search_registered_models(f"name LIKE '{new[:12]}%' AND tags.team = 'a'")
    assert [m.name for m in found] == [new]
    versions = registry.search_model_versions(f"name = '{new}' AND tags.k = 'v'")
    assert [(v.name, v.version) for v in versions] == [(new, "1")]
    registry.delete_registered_model(new)
    with pytest.raises(ModelNotFound):
        registry.get_registered_model(new)
    registry.create_registered_model(new)  # re-created: starts again at 1
    assert registry.create_model_version(new, "s3://b/1").version == "1"


def test_deleting_an_alias_that_is_not_set_raises(registry, uniq):
    from storekit.errors import NotFoundError

    name = uniq("model")
    registry.create_registered_model(name)
    registry.create_model_version(name, "s3://b/1")
    with pytest.raises(NotFoundError, match="alias"):
        registry.delete_registered_model_alias(name, "champion")
    registry.set_registered_model_alias(name, "champion", "1")
    registry.delete_registered_model_alias(name, "champion")
    assert registry.get_registered_model(name).aliases == {}
    with pytest.raises(NotFoundError, match="champion"):
        registry.delete_registered_model_alias(name, "champion")


@pytest.mark.parametrize("target", ["None", "archived"])
def test_archive_existing_versions_only_for_staging_and_production(registry, uniq, target):
    name = uniq("model")
    registry.create_registered_model(name)
    for i in range(3):
        registry.create_model_version(name, f"s3://b/{i}")
    stage = "None" if target == "None" else "Archived"
    # versions 1 and 2 already in the target stage; moving 3 there archives nothing
    if stage == "Archived":
        registry.transition_model_version_stage(name, "1", stage)
        registry.transition_model_version_stage(name, "2", stage)
    else:
        registry.transition_model_version_stage(name, "3", "Staging")
    before = [registry.get_model_version(name, v) for v in ("1", "2")]
    time.sleep(0.01)  # a version touched by the transition would get a later timestamp
    moved = registry.transition_model_version_stage(name, "3", target, archive_existing_versions=True)
    assert moved.current_stage == stage
    assert [registry.get_model_version(name, v) for v in ("1", "2")] == before  # untouched
    registry.transition_model_version_stage(name, "1", "Staging")
    registry.transition_model_version_stage(name, "2", "staging", archive_existing_versions=True)
    assert registry.get_model_version(name, "1").current_stage == "Archived"
    assert registry.get_model_version(name, "2").current_stage == "Staging"
