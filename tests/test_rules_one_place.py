"""A rule of ``storekit.rules`` is changed in one place: every built-in backend and the template call it.

Each check replaces one rule of :mod:`storekit.rules` by one that refuses everything and
expects every store to refuse the operation that rule governs: a backend that kept its own
copy of the rule would let the operation through.  (The conformance suite checks what the
rules say; this checks that there is one copy of them.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from storekit import rules
from storekit.entities import Metric, ViewType
from storekit.errors import InvalidParameterError
from storekit.interfaces import RegistryStore, TrackingStore
from storekit.plugins import resolve_registry_store, resolve_tracking_store

BACKENDS = ["file", "sqlite", "memory"]


class ChangedRule(InvalidParameterError):
    """Raised by the replaced rule."""


def _uri(backend: str, tmp_path: Path) -> str:
    return {
        "file": f"file://{tmp_path / 'store'}",
        "sqlite": f"sqlite:///{tmp_path / 'store.db'}",
        "memory": f"memory://rules-one-place-{tmp_path.name}",
    }[backend]


@pytest.fixture(params=BACKENDS)
def tracking(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackingStore]:
    store = resolve_tracking_store(_uri(request.param, tmp_path))
    yield store
    store.close()


@pytest.fixture(params=BACKENDS)
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RegistryStore]:
    store = resolve_registry_store(_uri(request.param, tmp_path))
    yield store
    store.close()


def _change(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    assert callable(getattr(rules, name))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ChangedRule(f"rules.{name} was changed")

    monkeypatch.setattr(rules, name, refuse)


TRACKING_RULES: dict[str, Callable[[TrackingStore, str, str], object]] = {
    "validate_run_tags": lambda s, exp, run: s.create_run(exp, tags={"a": "1"}),
    "validate_run_update": lambda s, exp, run: s.update_run_info(run, end_time=1),
    "validate_batch_args": lambda s, exp, run: s.log_batch(run, metrics=[Metric("m", 1.0, 1, 0)]),
    "check_run_writable": lambda s, exp, run: s.log_batch(run, metrics=[Metric("m", 1.0, 1, 0)]),
    "parse_view_type": lambda s, exp, run: s.search_runs([exp], view_type=ViewType.ALL),
}


@pytest.mark.parametrize("rule", sorted(TRACKING_RULES))
def test_tracking_stores_call_the_shared_rule(
    tracking: TrackingStore, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = tracking.create_experiment("rules")
    run = tracking.create_run(exp).info.run_id
    operation = TRACKING_RULES[rule]
    operation(tracking, exp, run)  # allowed by the real rule
    _change(monkeypatch, rule)
    with pytest.raises(ChangedRule):
        operation(tracking, exp, run)


def test_param_conflicts_use_the_shared_rule(tracking: TrackingStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from storekit.entities import Param

    run = tracking.create_run(tracking.create_experiment("params")).info.run_id
    tracking.log_batch(run, params=[Param("p", "1")])
    if type(tracking).__name__ == "SqlTrackingStore":  # its write path binds the rule by name: the very same object
        from storekit.backends.sql import writes

        assert writes.new_params is rules.new_params
        return
    _change(monkeypatch, "new_params")
    with pytest.raises(ChangedRule):
        tracking.log_batch(run, params=[Param("p", "1")])


@pytest.mark.parametrize("rule", ["parse_stages", "archives_other_versions"])
def test_registries_call_the_shared_stage_rules(
    registry: RegistryStore, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.create_registered_model("model")
    version = registry.create_model_version("model", "runs:/" + "a" * 32 + "/model").version
    operations: dict[str, Callable[[], object]] = {
        "parse_stages": lambda: registry.get_latest_versions("model", stages=["Production"]),
        "archives_other_versions": lambda: registry.transition_model_version_stage(
            "model", version, "Production", archive_existing_versions=True
        ),
    }
    operations[rule]()
    _change(monkeypatch, rule)
    with pytest.raises(ChangedRule):
        operations[rule]()
