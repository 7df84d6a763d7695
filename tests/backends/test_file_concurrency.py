"""Several processes and threads writing to one file store at once lose nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from storekit.backends.file import FileRegistryStore, FileTrackingStore
from storekit.entities import Metric, Param

WORKERS = 4
pytestmark = pytest.mark.timeout(300)

_TRACKING_WORKER = """
import sys
from storekit.backends.file import FileTrackingStore
from storekit.entities import Metric, Param, RunTag
root, shared, worker, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = FileTrackingStore(root)
eid = store.create_experiment(f"worker-{worker}")
own = store.create_run(eid).info.run_id
for b in range(batches):
    metrics = [Metric(f"w{worker}", float(b * 50 + i), b, b * 50 + i) for i in range(50)]
    store.log_batch(shared, metrics, [Param(f"p{worker}-{b}", str(b))], [RunTag(f"t{worker}", str(b))])
    store.log_batch(own, metrics[:5])
print(eid, own)
"""

_REGISTRY_WORKER = """
import sys
from storekit.backends.file import FileRegistryStore
root, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = FileRegistryStore(root)
print(" ".join(store.create_model_version(name, f"s3://b/{i}").version for i in range(count)))
"""


def _run_workers(script: str, args: list[list[str]]) -> list[str]:
    procs = [
        subprocess.Popen([sys.executable, "-c", script, *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for a in args
    ]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        outputs.append(out.strip())
    return outputs


def test_processes_logging_to_one_store(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    store = FileTrackingStore(root)
    shared = store.create_run(store.create_experiment("shared")).info.run_id
    batches = 15
    outputs = _run_workers(_TRACKING_WORKER, [[root, shared, str(w), str(batches)] for w in range(WORKERS)])
    for s in (store, FileTrackingStore(root)):
        run = s.get_run(shared)
        assert len(run.data.params) == WORKERS * batches
        assert run.data.tags == {f"t{w}": str(batches - 1) for w in range(WORKERS)}
        for w in range(WORKERS):
            history = s.get_metric_history(shared, f"w{w}")
            assert [m.value for m in history] == [float(i) for i in range(batches * 50)]
            assert run.data.metrics[f"w{w}"] == float(batches * 50 - 1)
    experiment_ids = sorted(int(out.split()[0]) for out in outputs)
    assert experiment_ids == list(range(2, 2 + WORKERS))  # unique and gapless
    for out in outputs:
        eid, own = out.split()
        assert [r.info.run_id for r in store.search_runs([eid])] == [own]
        assert len(store.get_metric_history(own, next(iter(store.get_run(own).data.metrics)))) == 5 * batches


def test_processes_creating_model_versions(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    registry = FileRegistryStore(root)
    registry.create_registered_model("model")
    count = 10
    outputs = _run_workers(_REGISTRY_WORKER, [[root, "model", str(count)] for _ in range(WORKERS)])
    numbers = [int(v) for out in outputs for v in out.split()]
    assert sorted(numbers) == list(range(1, WORKERS * count + 1))
    for out in outputs:  # each process saw its own numbers increase
        mine = [int(v) for v in out.split()]
        assert mine == sorted(mine)
    versions = registry.search_model_versions("name = 'model'", max_results=1000)
    assert sorted(int(v.version) for v in versions) == list(range(1, WORKERS * count + 1))


def test_threads_sharing_one_store(tmp_path: Path) -> None:
    store = FileTrackingStore(str(tmp_path / "store"))
    eid = store.create_experiment("threads")
    shared = store.create_run(eid).info.run_id
    errors: list[BaseException] = []
    created: list[str] = []

    def work(worker: int) -> None:
        try:
            for b in range(20):
                store.log_batch(shared, [Metric(f"k{worker}", float(b), b, b)], [Param(f"p{worker}-{b}", "v")])
                created.append(store.create_run(eid).info.run_id)
                store.search_runs([eid], "metrics.k0 >= 0")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    run = FileTrackingStore(str(tmp_path / "store")).get_run(shared)
    assert len(run.data.params) == WORKERS * 20
    assert all(len(store.get_metric_history(shared, f"k{w}")) == 20 for w in range(WORKERS))
    assert len(store.search_runs([eid], max_results=1000)) == 1 + len(created) == 1 + WORKERS * 20


def test_experiment_name_race_has_one_winner(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    FileTrackingStore(root)
    script = """
import sys
from storekit.backends.file import FileTrackingStore
from storekit.errors import AlreadyExistsError
store = FileTrackingStore(sys.argv[1])
won = []
for i in range(10):
    try:
        won.append(store.create_experiment(f"name-{i}"))
    except AlreadyExistsError:
        pass
print(" ".join(won))
"""
    outputs = _run_workers(script, [[root] for _ in range(WORKERS)])
    ids = [int(v) for out in outputs for v in out.split()]
    assert sorted(ids) == list(range(1, 11))
    names = {json.loads((Path(root) / str(i) / "meta.json").read_text())["name"] for i in ids}
    assert names == {f"name-{i}" for i in range(10)}
