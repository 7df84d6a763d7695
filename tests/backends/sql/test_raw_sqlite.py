"""An up-to-date SQLite store opens and serves the hot path without SQLAlchemy or Alembic.

Each check runs in a fresh interpreter: one process creates the store (that
path may import SQLAlchemy), another opens it with ``resolve_tracking_store``
and reads, logs and searches, then reports what it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import storekit
from storekit.entities import Metric, Param, RunTag

_USE = """
import json, sys
import storekit
from storekit.entities import Metric, Param, RunTag
uri, run_id = sys.argv[1], sys.argv[2]
store = storekit.resolve_tracking_store(uri, default_artifact_root=sys.argv[3])
before = store.get_run(run_id)
store.log_batch(run_id, metrics=[Metric("loss", 0.25, 1000 + s, s) for s in range(3)],
                params=[Param("lr", "0.1")], tags=[RunTag("team", "b")])
store.log_metric(run_id, Metric("acc", float("nan"), 5, 0))
after = store.get_run(run_id)
history = store.get_metric_history(run_id, "loss", max_results=2)
rest = store.get_metric_history(run_id, "loss", page_token=history.token)
exp_id = after.info.experiment_id
found = store.search_runs([exp_id], "metrics.loss < 0.5 and params.lr = '0.1'", order_by=["metrics.loss DESC"])
none = store.search_runs([exp_id], "tags.team = 'a'")
experiments = store.search_experiments(max_results=1)
from storekit.entities import RunStatus
new = store.create_run(exp_id, run_name="second", tags={"k": "v"}, start_time=5)
info = store.update_run_info(new.info.run_id, status=RunStatus.FINISHED, end_time=9)
again = store.get_run(new.info.run_id)
print(json.dumps({
    "new": [info.run_name, info.status.value, info.end_time, again.data.tags, again.info.status.value,
            again.info.artifact_uri.endswith(new.info.run_id + "/artifacts")],
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic")),
    "before": sorted(before.data.metrics),
    "metrics": {k: repr(v) for k, v in after.data.metrics.items()},
    "params": after.data.params,
    "tags": after.data.tags,
    "history": [[m.step, m.value] for m in history] + [[m.step, m.value] for m in rest],
    "token": history.token is not None,
    "found": [r.info.run_id for r in found],
    "none": [r.info.run_id for r in none],
    "experiments": [e.experiment_id for e in experiments],
}))
store.close()
"""


def _create(tmp_path: Path) -> tuple[str, str, str]:
    uri = f"sqlite:///{tmp_path}/raw.db"
    root = (tmp_path / "artifacts").as_uri()
    with storekit.resolve_tracking_store(uri, default_artifact_root=root) as store:
        exp = store.create_experiment("raw")
        run = store.create_run(exp, tags={"team": "b"})
        store.log_batch(run.info.run_id, metrics=[Metric("loss", 0.9, 1, 0)], params=[Param("p", "x")])
    return uri, run.info.run_id, root


def _use(uri: str, run_id: str, root: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _USE, uri, run_id, root], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_hot_path_of_a_current_sqlite_store_imports_no_sqlalchemy(tmp_path: Path) -> None:
    uri, run_id, root = _create(tmp_path)
    out = _use(uri, run_id, root)
    assert out["heavy"] == []
    assert out["before"] == ["loss"]
    assert out["metrics"] == {"loss": "0.25", "acc": "nan"}  # the latest point (step 2) wins over step 0
    assert out["params"] == {"p": "x", "lr": "0.1"}
    assert out["tags"] == {"team": "b"}
    assert out["history"] == [[0, 0.9], [0, 0.25], [1, 0.25], [2, 0.25]]
    assert out["token"] is True
    assert out["found"] == [run_id]
    assert out["none"] == []
    assert len(out["experiments"]) == 1
    assert out["new"] == ["second", "FINISHED", 9, {"k": "v"}, "FINISHED", True]


def test_opening_and_reading_import_no_hashing_uuid_or_write_modules(tmp_path: Path) -> None:
    """Start-up cost: hashlib (OpenSSL), uuid, secrets and the write statements load on first use only."""
    uri, run_id, root = _create(tmp_path)
    code = (
        "import json, sys, storekit\n"
        f"s = storekit.resolve_tracking_store({uri!r}, default_artifact_root={root!r})\n"
        "s.search_experiments(max_results=1)\n"
        f"s.get_run({run_id!r}); s.get_metric_history({run_id!r}, 'loss')\n"
        "s.search_runs([s.get_run(" + repr(run_id) + ").info.experiment_id], 'metrics.loss > 0')\n"
        "lazy = ('hashlib', 'hmac', 'uuid', 'secrets', 'storekit.backends.sql.writes')\n"
        "print(json.dumps(sorted(m for m in lazy if m in sys.modules)))\n"
        "s.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_other_operations_load_sqlalchemy_on_first_use(tmp_path: Path) -> None:
    uri, run_id, root = _create(tmp_path)
    code = (
        "import sys, storekit\n"
        f"s = storekit.resolve_tracking_store({uri!r}, default_artifact_root={root!r})\n"
        f"s.get_run({run_id!r})\n"
        "assert 'sqlalchemy' not in sys.modules\n"
        f"s.delete_tag({run_id!r}, 'team')\n"
        "assert 'sqlalchemy' in sys.modules\n"
        f"assert s.get_run({run_id!r}).data.tags == {{}}\n"
        "s.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_refused_batch_writes_nothing_on_the_raw_path(tmp_path: Path) -> None:
    uri, run_id, root = _create(tmp_path)
    with storekit.resolve_tracking_store(uri, default_artifact_root=root) as store:
        assert store._raw is not None  # this store serves log_batch without SQLAlchemy
        with pytest.raises(storekit.errors.InvalidParameterError):
            store.log_batch(
                run_id,
                metrics=[Metric("m", 1.0, 1, 0)],
                params=[Param("q", "new"), Param("p", "changed")],  # p was logged as "x"
                tags=[RunTag("t", "v")],
            )
        run = store.get_run(run_id)
    assert "m" not in run.data.metrics
    assert run.data.params == {"p": "x"}
    assert "t" not in run.data.tags


def test_raw_history_equals_the_sqlalchemy_history(tmp_path: Path) -> None:
    """The raw history (rows without key or id, filled ``__dict__``) gives the SQLAlchemy path's answers."""
    uri, run_id, root = _create(tmp_path)
    values = [0.5, float("nan"), float("inf"), float("-inf"), -0.0, 1e300, 3]
    with storekit.resolve_tracking_store(uri, default_artifact_root=root) as store:
        store.log_batch(run_id, metrics=[Metric("h", v, 2000 - i, i % 3) for i, v in enumerate(values)])
        store.log_batch(run_id, metrics=[Metric("hx", 7.0, 1, 0)])  # another key: not in the answer
    with storekit.resolve_tracking_store(uri, default_artifact_root=root) as store:
        assert store._raw is not None  # the raw path serves this store
        raw = list(store.get_metric_history(run_id, "h"))
        slow = list(store._full().get_metric_history(run_id, "h"))
        pages, token = [], None
        while True:
            page = store.get_metric_history(run_id, "h", max_results=3, page_token=token)
            pages += list(page)
            token = page.token
            if token is None:
                break
    assert [repr(m) for m in raw] == [repr(m) for m in slow] == [repr(m) for m in pages]
    assert [m.key for m in raw] == ["h"] * len(values)
    assert [type(m.value) for m in raw] == [float] * len(values)
    assert raw[0] == slow[0] and hash(raw[0]) == hash(slow[0])
