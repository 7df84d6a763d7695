"""Experiments: create, read, rename, tags, soft delete (contract section 3, docs/semantics.md)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Optional

import pytest

from storekit.entities import ExperimentTag, LifecycleStage, ViewType
from storekit.errors import AlreadyExistsError, ExperimentNotFound, InvalidParameterError, NotFoundError
from storekit.interfaces import STOREKIT_API, Capability, TrackingStore
from storekit.uri import path_to_file_uri

from ..helpers import assert_invalid, unique
from ..marks import contract, requires_new_store

__all__ = ["ExperimentChecks"]


def _search_ids(store: TrackingStore, view: ViewType, name: str) -> list[str]:
    found = store.search_experiments(view_type=view, filter_string=f"name = '{name}'")
    return [e.experiment_id for e in found]


class ExperimentChecks:
    """Checks of experiments."""

    @contract("1", "an implementation declares storekit_api = 1 and a frozenset of Capability")
    def test_declares_api_and_capabilities(self, tracking_store: TrackingStore) -> None:
        assert getattr(tracking_store, "storekit_api", None) == STOREKIT_API
        caps = tracking_store.capabilities
        assert isinstance(caps, frozenset) and all(isinstance(c, Capability) for c in caps)
        assert isinstance(tracking_store, TrackingStore)

    @requires_new_store()
    @contract("3", "stores do not create a Default experiment: a new store holds no experiment until one is created")
    def test_new_store_creates_no_default_experiment(
        self, tracking_store: TrackingStore, tracking_uri: Optional[str]
    ) -> None:
        held = self.experiments_at_first_use(tracking_store)  # type: ignore[attr-defined]
        assert held is not None, "the suite did not note what the new store held before its first check"
        assert held == [], (
            f"a new store held experiments {held} before any was created; stores must not create a "
            "Default experiment (the client and fluent API create it on demand, by name)"
        )
        assert tracking_store.get_experiment_by_name("Default") is None, "the store created a Default experiment"
        if tracking_uri:  # opening the store again creates nothing either
            from storekit.plugins import resolve_tracking_store

            again = resolve_tracking_store(tracking_uri)
            try:
                assert again.get_experiment_by_name("Default") is None, "opening the store created a Default experiment"
            finally:
                again.close()

    @contract("3", "create_experiment returns a string id; get_experiment returns it active with its tags")
    def test_create_and_get_experiment(self, tracking_store: TrackingStore) -> None:
        name = unique("exp")
        exp_id = tracking_store.create_experiment(name, tags={"team": "vision"})
        assert isinstance(exp_id, str) and exp_id
        exp = tracking_store.get_experiment(exp_id)
        assert (exp.experiment_id, exp.name) == (exp_id, name)
        assert exp.lifecycle_stage == LifecycleStage.ACTIVE
        assert exp.tags == {"team": "vision"}
        by_name = tracking_store.get_experiment_by_name(name)
        assert by_name is not None and by_name.experiment_id == exp_id
        tracking_store.delete_experiment(exp_id)

    @contract("3", "get_experiment_by_name of an unknown name returns None; get_experiment raises ExperimentNotFound")
    def test_unknown_experiment(self, tracking_store: TrackingStore) -> None:
        assert tracking_store.get_experiment_by_name(unique("missing")) is None
        with pytest.raises(ExperimentNotFound):
            tracking_store.get_experiment(str(10**15 + random.randrange(10**12)))

    @contract("3", "experiment names: at most 500 characters; longer raises naming the field and limit")
    def test_experiment_name_limit(self, tracking_store: TrackingStore) -> None:
        base = unique("e")
        ok = base + "x" * (500 - len(base))
        assert len(ok) == 500
        exp_id = tracking_store.create_experiment(ok)
        assert tracking_store.get_experiment(exp_id).name == ok
        tracking_store.delete_experiment(exp_id)
        too_long = ok + "y"
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.create_experiment(too_long)
        assert_invalid(excinfo, "name", "500")
        # nothing truncated: the only experiment with the first 500 characters is the one created above
        kept = tracking_store.get_experiment_by_name(too_long[:500])
        assert kept is not None and kept.experiment_id == exp_id
        found = tracking_store.search_experiments(ViewType.ALL, filter_string=f"name LIKE '{base}%'")
        assert [e.experiment_id for e in found] == [exp_id]

    @contract("3", "a taken experiment name (active or deleted) raises AlreadyExistsError")
    def test_duplicate_name(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        name = tracking_store.get_experiment(experiment_id).name
        with pytest.raises(AlreadyExistsError):
            tracking_store.create_experiment(name)
        tracking_store.delete_experiment(experiment_id)
        with pytest.raises(AlreadyExistsError):
            tracking_store.create_experiment(name)

    @contract("3", "rename_experiment changes the name; renaming onto a taken name raises AlreadyExistsError")
    def test_rename_experiment(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        new_name = unique("renamed")
        tracking_store.rename_experiment(experiment_id, new_name)
        assert tracking_store.get_experiment(experiment_id).name == new_name
        renamed = tracking_store.get_experiment_by_name(new_name)
        assert renamed is not None and renamed.experiment_id == experiment_id
        other = tracking_store.create_experiment(unique("other"))
        with pytest.raises(AlreadyExistsError):
            tracking_store.rename_experiment(other, new_name)
        tracking_store.delete_experiment(other)

    @contract("3", "deleting is soft: hidden from ACTIVE_ONLY, shown by DELETED_ONLY/ALL, restored unchanged")
    def test_soft_delete_and_restore_experiment(self, tracking_store: TrackingStore) -> None:
        name = unique("soft")
        exp_id = tracking_store.create_experiment(name, tags={"k": "v"})
        before = tracking_store.get_experiment(exp_id)
        tracking_store.delete_experiment(exp_id)
        assert tracking_store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.DELETED
        assert _search_ids(tracking_store, ViewType.ACTIVE_ONLY, name) == []
        assert _search_ids(tracking_store, ViewType.DELETED_ONLY, name) == [exp_id]
        assert _search_ids(tracking_store, ViewType.ALL, name) == [exp_id]
        tracking_store.delete_experiment(exp_id)  # idempotent (docs/semantics.md)
        tracking_store.restore_experiment(exp_id)
        after = tracking_store.get_experiment(exp_id)
        assert after.lifecycle_stage == LifecycleStage.ACTIVE
        assert (after.name, after.tags, after.artifact_location) == (before.name, before.tags, before.artifact_location)
        assert _search_ids(tracking_store, ViewType.ACTIVE_ONLY, name) == [exp_id]
        tracking_store.restore_experiment(exp_id)  # restoring an active experiment is a no-op
        tracking_store.delete_experiment(exp_id)

    @contract("3", "experiment tags: set, overwrite, delete; deleting an unset key raises NotFoundError")
    def test_experiment_tags(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        tracking_store.set_experiment_tag(experiment_id, ExperimentTag("a", "1"))
        tracking_store.set_experiment_tag(experiment_id, ExperimentTag("a", "2"))
        tracking_store.set_experiment_tag(experiment_id, ExperimentTag("b.c d", "3"))
        assert tracking_store.get_experiment(experiment_id).tags == {"a": "2", "b.c d": "3"}
        tracking_store.delete_experiment_tag(experiment_id, "a")
        assert tracking_store.get_experiment(experiment_id).tags == {"b.c d": "3"}
        with pytest.raises(NotFoundError):
            tracking_store.delete_experiment_tag(experiment_id, "a")

    @contract("3", "experiment tag values: at most 8,000 characters; keys follow the name rules")
    def test_experiment_tag_limits(self, tracking_store: TrackingStore, experiment_id: str) -> None:
        tracking_store.set_experiment_tag(experiment_id, ExperimentTag("big", "v" * 8000))
        with pytest.raises(InvalidParameterError) as excinfo:
            tracking_store.set_experiment_tag(experiment_id, ExperimentTag("big", "v" * 8001))
        assert_invalid(excinfo, "8000")
        with pytest.raises(InvalidParameterError):
            tracking_store.set_experiment_tag(experiment_id, ExperimentTag("/abs", "v"))
        assert tracking_store.get_experiment(experiment_id).tags == {"big": "v" * 8000}

    @contract("3", "artifact roots: explicit artifact_location is kept; default is <root>/<experiment_id>")
    def test_artifact_locations(self, tracking_store: TrackingStore) -> None:
        location = path_to_file_uri(Path(tempfile.gettempdir()) / "storekit-conformance" / unique("loc"))
        exp_id = tracking_store.create_experiment(unique("loc"), artifact_location=location)
        assert tracking_store.get_experiment(exp_id).artifact_location.rstrip("/") == location
        run = tracking_store.create_run(exp_id, user_id="conformance")
        assert run.info.artifact_uri.rstrip("/") == f"{location}/{run.info.run_id}/artifacts"
        tracking_store.delete_experiment(exp_id)
        default_id = tracking_store.create_experiment(unique("default-loc"))
        default_location = tracking_store.get_experiment(default_id).artifact_location
        assert default_location.rstrip("/").endswith(default_id), default_location
        tracking_store.delete_experiment(default_id)

    @contract("3", "search_experiments filters by name with = and LIKE, and honours the view type")
    def test_search_experiments(self, tracking_store: TrackingStore) -> None:
        prefix = unique("srch")
        ids = [tracking_store.create_experiment(f"{prefix}-{i}") for i in range(3)]
        tracking_store.delete_experiment(ids[2])
        found = tracking_store.search_experiments(ViewType.ACTIVE_ONLY, filter_string=f"name LIKE '{prefix}-%'")
        assert sorted(e.experiment_id for e in found) == sorted(ids[:2])
        found = tracking_store.search_experiments(ViewType.ALL, filter_string=f"name LIKE '{prefix}-%'")
        assert sorted(e.experiment_id for e in found) == sorted(ids)
        paged = tracking_store.search_experiments(ViewType.ALL, max_results=2, filter_string=f"name LIKE '{prefix}-%'")
        assert len(paged) == 2 and paged.token
        rest = tracking_store.search_experiments(
            ViewType.ALL, max_results=2, filter_string=f"name LIKE '{prefix}-%'", page_token=paged.token
        )
        assert sorted(e.experiment_id for e in [*paged, *rest]) == sorted(ids)
        for exp_id in ids[:2]:
            tracking_store.delete_experiment(exp_id)
