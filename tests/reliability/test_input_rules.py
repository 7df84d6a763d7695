"""Input validation is exact and cheap (issue 19, point 5), on every backend and the memory plugin.

* A key with a trailing newline (``"loss\\n"``) is refused: the rules match the
  whole string (``\\Z``), not up to a final newline (``$``).
* A lone surrogate in any name, value or filter is an InvalidParameterError,
  never a raw UnicodeEncodeError from a file, a driver or a JSON encoder.
* The key-validation cache keeps no refused key: 150 refused 2 MiB keys do
  not stay resident (peak RSS measured in a fresh process).
* File registry: a 125-character name shaped like the hashed directory of a
  longer name does not take that directory (no false AlreadyExistsError).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from storekit.entities import ExperimentTag, Metric, Param, RunTag
from storekit.errors import AlreadyExistsError, InvalidParameterError
from storekit.plugins import resolve_registry_store, resolve_tracking_store
from storekit.validation import validate_alias, validate_key, validate_model_id, validate_run_id
from tests.reliability.conftest import HOSTILE_BACKENDS

pytestmark = pytest.mark.timeout(600)

LONE = "\ud800"


@pytest.fixture(params=HOSTILE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every built-in backend and the memory plugin."""
    return request.param


@pytest.fixture
def stores(backend: str, new_store_uri: Callable[[str], str], tmp_path: Path) -> Any:
    uri = new_store_uri(backend)
    tracking = resolve_tracking_store(uri, default_artifact_root=(tmp_path / "art").as_uri())
    registry = resolve_registry_store(uri)
    yield tracking, registry
    tracking.close()
    registry.close()


def test_trailing_newline_is_refused_by_every_rule() -> None:
    for call, text in [
        (validate_key, "loss\n"),
        (validate_alias, "champion\n"),
        (validate_run_id, "0" * 32 + "\n"),
        (validate_model_id, "m-abc\n"),
    ]:
        with pytest.raises(InvalidParameterError):
            call(text)
    assert validate_key("loss") == "loss"


def test_trailing_newline_key_refused_on_backend(stores: Any) -> None:
    tracking, _ = stores
    run_id = tracking.create_run(tracking.create_experiment("e")).info.run_id
    for call in (
        lambda: tracking.log_metric(run_id, Metric("loss\n", 1.0, 0, 0)),
        lambda: tracking.log_param(run_id, Param("lr\n", "1")),
        lambda: tracking.set_tag(run_id, RunTag("t\n", "v")),
        lambda: tracking.log_batch(run_id, metrics=[Metric("loss\n", 1.0, 0, 0)]),
        lambda: tracking.log_batch(run_id, params=[Param("lr\n", "1")]),
    ):
        with pytest.raises(InvalidParameterError):
            call()
    assert tracking.get_run(run_id).data.metrics == {}


def test_lone_surrogates_are_invalid_parameters(stores: Any) -> None:
    tracking, registry = stores
    exp = tracking.create_experiment("e")
    run_id = tracking.create_run(exp).info.run_id
    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://b/x")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("experiment name", lambda: tracking.create_experiment(f"e{LONE}")),
        ("rename experiment", lambda: tracking.rename_experiment(exp, f"e{LONE}")),
        ("run name", lambda: tracking.create_run(exp, run_name=f"r{LONE}")),
        ("param value", lambda: tracking.log_param(run_id, Param("p", f"v{LONE}"))),
        ("tag value", lambda: tracking.set_tag(run_id, RunTag("t", f"v{LONE}"))),
        ("batch param", lambda: tracking.log_batch(run_id, params=[Param("p2", LONE)])),
        ("batch tag", lambda: tracking.log_batch(run_id, tags=[RunTag("t2", LONE)])),
        ("metric key", lambda: tracking.log_metric(run_id, Metric(f"m{LONE}", 1.0, 0, 0))),
        ("experiment tag", lambda: tracking.set_experiment_tag(exp, ExperimentTag("k", LONE))),
        ("filter", lambda: tracking.search_runs([exp], filter_string=f"params.p = '{LONE}'")),
        ("filter key", lambda: tracking.search_runs([exp], filter_string=f"params.`p{LONE}` = 'x'")),
        ("order_by", lambda: tracking.search_runs([exp], order_by=[f"params.`p{LONE}`"])),
        ("experiment filter", lambda: tracking.search_experiments(filter_string=f"name = '{LONE}'")),
        ("model name", lambda: registry.create_registered_model(f"m{LONE}")),
        ("model description", lambda: registry.update_registered_model("m", description=LONE)),
        ("model tag", lambda: registry.set_registered_model_tag("m", "k", LONE)),
        ("version source", lambda: registry.create_model_version("m", f"s3://b/{LONE}")),
        ("version tag", lambda: registry.set_model_version_tag("m", "1", "k", LONE)),
        ("model filter", lambda: registry.search_registered_models(filter_string=f"name = '{LONE}'")),
        ("version filter", lambda: registry.search_model_versions(filter_string=f"name = '{LONE}'")),
    ]
    for what, call in calls:
        with pytest.raises(InvalidParameterError):
            call()
            pytest.fail(f"{what}: a lone surrogate was accepted")
    run = tracking.get_run(run_id)
    assert run.data.params == {} and run.data.tags.get("t") is None


_RSS_SCRIPT = r"""
import gc, json, sys
from storekit.errors import InvalidParameterError
from storekit.validation import validate_key
from storekit.entities import Metric
from storekit.validation import validate_batch

def status_mib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

def rss_mib():
    return status_mib("VmRSS")

gc.collect()
before = rss_mib()
for i in range(150):
    key = chr(ord("a") + i % 26) * (2 * 1024 * 1024 - i)   # distinct 2 MiB keys
    for call in (lambda: validate_key(key), lambda: validate_batch(metrics=[Metric(key, 1.0, 0, 0)])):
        try:
            call()
        except InvalidParameterError:
            pass
    del key
gc.collect()
after = rss_mib()
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so it would report the parent's (pytest's) peak
peak = status_mib("VmHWM")
print(json.dumps({"before_mib": round(before, 1), "after_mib": round(after, 1), "peak_mib": round(peak, 1)}))
"""


def test_refused_keys_are_not_cached(totals: Any) -> None:
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"\nrefused 2 MiB keys x150: RSS before {figures['before_mib']} MiB, after {figures['after_mib']} MiB, "
        f"peak {figures['peak_mib']} MiB"
    )
    # a kept key would leave 2 MiB each (300 MiB for 150); a few transient copies are allowed
    assert figures["after_mib"] - figures["before_mib"] < 40, figures
    assert figures["peak_mib"] - figures["before_mib"] < 120, figures  # transient copies only (was +300)
    totals.update({"refused-key RSS growth MiB": int(figures["after_mib"] - figures["before_mib"])})


def test_file_registry_short_name_cannot_squat_a_hashed_directory(tmp_path: Path) -> None:
    from storekit.backends.file.layout import safe_file_name

    long_name = "x" * 200
    hashed = safe_file_name(long_name)
    assert len(hashed) == 125 and "~" in hashed
    squatter = hashed  # a legal 125-character model name, equal to the long name's directory
    assert safe_file_name(squatter) != hashed
    registry = resolve_registry_store(str(tmp_path / "store"))
    registry.create_registered_model(squatter)
    registry.create_registered_model(long_name)  # was: AlreadyExistsError
    assert {m.name for m in registry.search_registered_models()} == {squatter, long_name}
    assert registry.get_registered_model(long_name).name == long_name
    assert registry.get_registered_model(squatter).name == squatter
    with pytest.raises(AlreadyExistsError):
        registry.create_registered_model(long_name)
    registry.close()
