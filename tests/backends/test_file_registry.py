"""FileRegistryStore: contract section 5 on the file backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storekit.backends.file import FileRegistryStore, FileTrackingStore
from storekit.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    ModelNotFound,
    ModelVersionNotFound,
    NotFoundError,
    StoreCorruptionError,
)

RUN_ID = "a" * 32


@pytest.fixture
def reg(tmp_path: Path) -> FileRegistryStore:
    return FileRegistryStore(str(tmp_path / "store"))


@pytest.fixture
def model(reg: FileRegistryStore) -> str:
    reg.create_registered_model("model", tags={"team": "a"}, description="first")
    for i in range(3):
        reg.create_model_version("model", f"s3://bucket/v{i + 1}", run_id=RUN_ID)
    return "model"


def test_shares_the_tracking_tree(tmp_path: Path) -> None:
    tracking = FileTrackingStore((tmp_path / "s").as_uri())
    reg = FileRegistryStore((tmp_path / "s").as_uri())
    reg.create_registered_model("m")
    assert (tracking.root / "models").is_dir()
    doc = json.loads(next((tracking.root / "models").glob("*/model.json")).read_text())
    assert doc["name"] == "m" and doc["next_version"] == 1


def test_create_get_update(reg: FileRegistryStore) -> None:
    created = reg.create_registered_model("m", tags={"k": "v"}, description="d")
    assert reg.get_registered_model("m") == created
    assert created.tags == {"k": "v"} and created.description == "d" and created.latest_versions == ()
    with pytest.raises(AlreadyExistsError):
        reg.create_registered_model("m")
    assert reg.update_registered_model("m", "new").description == "new"
    with pytest.raises(ModelNotFound):
        reg.get_registered_model("nope")
    with pytest.raises(InvalidParameterError, match="500"):
        reg.create_registered_model("x" * 501)
    with pytest.raises(InvalidParameterError, match="/"):
        reg.create_registered_model("a/b")


@pytest.mark.parametrize("name", ["with space", ".hidden", "..", "ünïcödé", "%2F", "a" * 300, "CamelCase"])
def test_awkward_names_round_trip(reg: FileRegistryStore, name: str) -> None:
    reg.create_registered_model(name)
    reg.create_model_version(name, "src")
    assert reg.get_registered_model(name).name == name
    assert [m.name for m in reg.search_registered_models()] == [name]


def test_version_numbers_never_reused(reg: FileRegistryStore, model: str) -> None:
    assert [v.version for v in reg.search_model_versions(order_by=["version ASC"])] == ["1", "2", "3"]
    reg.delete_model_version(model, "3")
    with pytest.raises(ModelVersionNotFound):
        reg.get_model_version(model, "3")
    assert reg.create_model_version(model, "s3://x").version == "4"
    with pytest.raises(ModelVersionNotFound):
        reg.delete_model_version(model, "3")
    with pytest.raises(InvalidParameterError, match="version"):
        reg.get_model_version(model, "zero")


def test_delete_model_is_hard_and_restarts_numbering(reg: FileRegistryStore, model: str) -> None:
    reg.delete_registered_model(model)
    with pytest.raises(ModelNotFound):
        reg.get_registered_model(model)
    assert reg.search_model_versions() == []
    reg.create_registered_model(model)
    assert reg.create_model_version(model, "s").version == "1"


def test_stages_and_archive_existing(reg: FileRegistryStore, model: str) -> None:
    assert reg.transition_model_version_stage(model, "1", "production").current_stage == "Production"
    reg.transition_model_version_stage(model, "2", "STAGING")
    with pytest.raises(InvalidParameterError, match="stage"):
        reg.transition_model_version_stage(model, "2", "prod")
    mv = reg.transition_model_version_stage(model, "3", "Production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    stages = {v.version: v.current_stage for v in reg.search_model_versions()}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    latest = reg.get_latest_versions(model)
    assert [(v.current_stage, v.version) for v in latest] == [("Archived", "1"), ("Production", "3"), ("Staging", "2")]
    assert reg.get_registered_model(model).latest_versions == tuple(latest)
    assert [v.version for v in reg.get_latest_versions(model, ["staging"])] == ["2"]
    reg.transition_model_version_stage(model, "1", "None")
    assert [v.version for v in reg.get_latest_versions(model, ["None"])] == ["1"]


def test_aliases(reg: FileRegistryStore, model: str) -> None:
    reg.set_registered_model_alias(model, "champion", "1")
    reg.set_registered_model_alias(model, "champion", "2")
    reg.set_registered_model_alias(model, "backup", "2")
    assert reg.get_model_version_by_alias(model, "champion").version == "2"
    assert reg.get_registered_model(model).aliases == {"champion": "2", "backup": "2"}
    assert reg.get_model_version(model, "2").aliases == ("backup", "champion")
    for bad in ("latest", "v3", "bad alias", "x" * 256):
        with pytest.raises(InvalidParameterError, match="alias"):
            reg.set_registered_model_alias(model, bad, "1")
    with pytest.raises(ModelVersionNotFound):
        reg.set_registered_model_alias(model, "ghost", "99")
    reg.delete_model_version(model, "2")
    assert reg.get_registered_model(model).aliases == {}
    with pytest.raises(ModelVersionNotFound):
        reg.get_model_version_by_alias(model, "champion")
    reg.set_registered_model_alias(model, "x", "1")
    reg.delete_registered_model_alias(model, "x")
    with pytest.raises(NotFoundError):
        reg.delete_registered_model_alias(model, "x")


def test_rename_moves_versions_and_aliases(reg: FileRegistryStore, model: str) -> None:
    reg.set_registered_model_alias(model, "champion", "1")
    reg.create_registered_model("taken")
    with pytest.raises(AlreadyExistsError):
        reg.rename_registered_model(model, "taken")
    renamed = reg.rename_registered_model(model, "renamed")
    assert renamed.name == "renamed" and renamed.aliases == {"champion": "1"}
    assert reg.get_model_version_by_alias("renamed", "champion").name == "renamed"
    with pytest.raises(ModelNotFound):
        reg.get_registered_model(model)
    assert reg.create_model_version("renamed", "s").version == "4"


def test_interrupted_rename_is_finished(reg: FileRegistryStore, model: str) -> None:
    path = reg.root / "model" / "model.json"
    doc = json.loads(path.read_text())
    doc["name"] = "moved"  # step 1 done, crash before the directory rename
    path.write_text(json.dumps(doc))
    assert [m.name for m in reg.search_registered_models()] == ["moved"]
    assert reg.get_registered_model("moved").name == "moved"


def test_tags(reg: FileRegistryStore, model: str) -> None:
    reg.set_registered_model_tag(model, "k", "v")
    reg.set_model_version_tag(model, "1", "vk", "vv")
    assert reg.get_registered_model(model).tags == {"team": "a", "k": "v"}
    assert reg.get_model_version(model, "1").tags == {"vk": "vv"}
    reg.delete_registered_model_tag(model, "k")
    reg.delete_model_version_tag(model, "1", "vk")
    with pytest.raises(NotFoundError):
        reg.delete_registered_model_tag(model, "k")
    with pytest.raises(NotFoundError):
        reg.delete_model_version_tag(model, "1", "vk")
    with pytest.raises(InvalidParameterError, match="8000"):
        reg.set_model_version_tag(model, "1", "k", "v" * 8001)


def test_update_version_and_download_uri(reg: FileRegistryStore, model: str) -> None:
    assert reg.update_model_version(model, "2", "desc").description == "desc"
    assert reg.get_model_version_download_uri(model, "2") == "s3://bucket/v2"
    assert reg.get_model_version(model, "2").run_id == RUN_ID
    with pytest.raises(InvalidParameterError, match="run_id"):
        reg.create_model_version(model, "s", run_id="nope")


def test_searches(reg: FileRegistryStore, model: str) -> None:
    for i in range(5):
        reg.create_registered_model(f"other-{i}", tags={"team": "b" if i % 2 else "a"})
    names = [m.name for m in reg.search_registered_models("name LIKE 'other-%' AND tags.team = 'a'")]
    assert names == ["other-0", "other-2", "other-4"]
    assert [m.name for m in reg.search_registered_models("name = 'model' OR tags.team = 'b'")] == [
        "model",
        "other-1",
        "other-3",
    ]
    seen, token = [], None
    while True:
        page = reg.search_registered_models(max_results=2, page_token=token)
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == sorted(seen) and len(seen) == 6
    reg.transition_model_version_stage(model, "2", "Production")
    hits = reg.search_model_versions("current_stage = 'Production' or version >= 3")
    assert [v.version for v in hits] == ["3", "2"]
    assert [v.version for v in reg.search_model_versions(f"run_id = '{RUN_ID}'", max_results=2)] == ["3", "2"]
    with pytest.raises(InvalidParameterError, match="page_token"):
        reg.search_model_versions(page_token="bogus")


def test_corrupt_model_document(reg: FileRegistryStore, model: str) -> None:
    (reg.root / "model" / "model.json").write_text("{nope")
    with pytest.raises(StoreCorruptionError, match="model.json"):
        FileRegistryStore(str(reg.root.parent)).get_registered_model(model)
