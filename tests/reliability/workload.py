"""The write workload of the reliability tests, and the check that nothing acknowledged was lost.

A worker (a forked process, so it starts in milliseconds with storekit
already imported) resolves the stores from the URI like any other program
and, in each of its threads, creates a run and logs batches of metrics,
params and tags, uploads artifacts and registers model versions.  After
each call *returns* it appends an acknowledgement to its own side file and
fsyncs it, so whatever is in the side file was acknowledged by the store.

:func:`verify` then reopens the store and checks that every acknowledged
write is there exactly once, that every batch present is whole, that every
visible artifact is complete, and that model version numbers are unique
and gapless.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import tempfile
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Optional

from storekit.entities import Metric, Param, RunTag
from storekit.plugins import resolve_artifact_repository, resolve_registry_store, resolve_tracking_store

__all__ = ["AckLog", "Workload", "start_worker", "read_acks", "verify", "artifact_bytes"]

_FORK = multiprocessing.get_context("fork")


class AckLog:
    """An append-only side file of acknowledgements, fsynced after every line."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def ack(self, **record: Any) -> None:
        """Record that a call returned successfully."""
        os.write(self._fd, (json.dumps(record) + "\n").encode())
        os.fsync(self._fd)


def artifact_bytes(run_id: str, batch: int) -> bytes:
    """The deterministic content of a run's artifact number ``batch`` (32-128 KiB)."""
    block = hashlib.sha256(f"{run_id}-{batch}".encode()).digest() * 1024
    return block * (1 + batch % 4)


class Workload:
    """What one worker thread writes; ``batches=None`` runs until killed."""

    def __init__(
        self,
        uri: str,
        experiment_id: str,
        model: str,
        ack_dir: Path,
        metrics_per_batch: int = 10,
        batches: Optional[int] = 6,
        artifact_every: int = 3,
        version_every: int = 4,
        runs_every: Optional[int] = None,
    ) -> None:
        self.uri = uri
        self.experiment_id = experiment_id
        self.model = model
        self.ack_dir = ack_dir
        self.metrics_per_batch = metrics_per_batch
        self.batches = batches
        self.artifact_every = artifact_every
        self.version_every = version_every
        self.runs_every = runs_every

    def thread(self, store: Any, registry: Any, name: str, seed: int) -> None:
        """One thread's writes; acknowledgements go to ``<ack_dir>/<name>.jsonl``."""
        acks = AckLog(self.ack_dir / f"{name}.jsonl")
        rng = random.Random(seed)
        tmp = Path(tempfile.mkdtemp(prefix=f"sk-{name}-"))
        run_id = None
        b = 0
        while self.batches is None or b < self.batches:
            if run_id is None or (self.runs_every and b % self.runs_every == 0):
                run_id = store.create_run(self.experiment_id, run_name=name).info.run_id
                acks.ack(op="run", run=run_id)
            metrics = [
                Metric(f"m{k}", float(b * 1000 + k), 1_700_000_000_000 + b, b) for k in range(self.metrics_per_batch)
            ]
            store.log_batch(run_id, metrics, [Param(f"p{b}", f"v{b}")], [RunTag(f"t{b}", f"tv{b}")])
            acks.ack(op="batch", run=run_id, b=b, n=self.metrics_per_batch)
            if self.artifact_every and b % self.artifact_every == 0:
                local = tmp / f"f{b}.bin"
                local.write_bytes(artifact_bytes(run_id, b))
                run = store.get_run(run_id)
                resolve_artifact_repository(run.info.artifact_uri).log_artifact(local, "a")
                acks.ack(op="artifact", run=run_id, b=b)
            if self.version_every and b % self.version_every == rng.randrange(self.version_every):
                mv = registry.create_model_version(self.model, source=f"runs:/{run_id}/m{b}", run_id=run_id)
                acks.ack(op="version", version=mv.version, source=f"runs:/{run_id}/m{b}")
            b += 1

    def process(self, worker: int, threads: int) -> None:
        """A worker process: ``threads`` threads sharing one store and one registry."""
        store = resolve_tracking_store(self.uri)
        registry = resolve_registry_store(self.uri)
        errors: list[BaseException] = []

        def body(t: int) -> None:
            try:
                self.thread(store, registry, f"w{worker}-t{t}", seed=worker * 100 + t)
            except BaseException as exc:
                errors.append(exc)

        pool = [threading.Thread(target=body, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        if errors:
            (self.ack_dir / f"w{worker}.error").write_text(repr(errors[0]))
            raise SystemExit(1)


def start_worker(workload: Workload, worker: int, threads: int) -> Any:
    """Fork a worker process running ``workload`` and return it (a :class:`multiprocessing.Process`)."""
    proc = _FORK.Process(target=workload.process, args=(worker, threads), daemon=True)
    proc.start()
    return proc


def read_acks(ack_dir: Path) -> list[dict[str, Any]]:
    """Every acknowledgement of every worker (a line torn by a kill was never acknowledged)."""
    out = []
    for path in sorted(ack_dir.glob("*.jsonl")):
        for line in path.read_bytes().split(b"\n"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _history_steps(store: Any, run_id: str, key: str) -> Counter:
    return Counter(m.step for m in store.get_metric_history(run_id, key))


def verify(uri: str, experiment_id: str, model: str, ack_dir: Path, metrics_per_batch: int) -> Counter:
    """Check every acknowledged write; returns what was checked.  Raises AssertionError on a loss."""
    acks = read_acks(ack_dir)
    store = resolve_tracking_store(uri)
    registry = resolve_registry_store(uri)
    checked: Counter = Counter()
    try:
        acked_runs = {a["run"] for a in acks if a["op"] == "run"}
        batches: dict[str, set[int]] = defaultdict(set)
        artifacts: dict[str, set[int]] = defaultdict(set)
        for a in acks:
            if a["op"] == "batch":
                batches[a["run"]].add(a["b"])
            elif a["op"] == "artifact":
                artifacts[a["run"]].add(a["b"])
        runs = {r.info.run_id: r for r in _all_runs(store, experiment_id)}
        assert acked_runs <= set(runs), f"acknowledged runs missing: {sorted(acked_runs - set(runs))[:5]}"
        for run_id, run in runs.items():
            assert store.get_run(run_id).info.run_id == run_id
            checked["runs"] += 1
            steps_by_key = {f"m{k}": _history_steps(store, run_id, f"m{k}") for k in range(metrics_per_batch)}
            present = set().union(*steps_by_key.values()) if steps_by_key else set()
            for b in present | batches.get(run_id, set()):
                for key, steps in steps_by_key.items():
                    assert steps[b] == 1, (
                        f"run {run_id} batch {b}: metric {key} stored {steps[b]} times "
                        f"({'acknowledged' if b in batches.get(run_id, ()) else 'unacknowledged, not whole'})"
                    )
                    checked["metric points"] += 1
                assert run.data.params.get(f"p{b}") == f"v{b}", f"run {run_id}: param p{b} lost or wrong"
                assert run.data.tags.get(f"t{b}") == f"tv{b}", f"run {run_id}: tag t{b} lost or wrong"
                checked["params"] += 1
                checked["tags"] += 1
            checked["artifacts"] += _verify_artifacts(run, artifacts.get(run_id, set()))
        checked["model versions"] += _verify_versions(registry, model, acks)
    finally:
        store.close()
        registry.close()
    return checked


def _all_runs(store: Any, experiment_id: str) -> list[Any]:
    from storekit.entities import ViewType

    out, token = [], None
    while True:
        page = store.search_runs([experiment_id], view_type=ViewType.ALL, max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def _verify_artifacts(run: Any, acked: set[int]) -> int:
    repo = resolve_artifact_repository(run.info.artifact_uri)
    listed = {f.path.rsplit("/", 1)[-1] for f in repo.list_artifacts("a")}
    visible = {int(name[1:-4]) for name in listed if name.startswith("f") and name.endswith(".bin")}
    assert acked <= visible, f"run {run.info.run_id}: acknowledged artifacts missing: {sorted(acked - visible)}"
    with tempfile.TemporaryDirectory() as dst:
        for b in sorted(visible):
            local = repo.download_artifacts(f"a/f{b}.bin", dst)
            data = Path(local).read_bytes()
            assert data == artifact_bytes(run.info.run_id, b), (
                f"run {run.info.run_id}: artifact a/f{b}.bin is partial or wrong ({len(data)} bytes)"
            )
    return len(visible)


def _verify_versions(registry: Any, model: str, acks: list[dict[str, Any]]) -> int:
    from storekit.errors import ModelNotFound

    try:
        registry.get_registered_model(model)
    except ModelNotFound:
        assert not any(a["op"] == "version" for a in acks), "acknowledged model versions lost with their model"
        return 0
    versions, token = [], None
    while True:
        page = registry.search_model_versions(f"name = '{model}'", max_results=1000, page_token=token)
        versions.extend(page)
        token = page.token
        if not token:
            break
    numbers = sorted(int(v.version) for v in versions)
    assert numbers == list(range(1, len(numbers) + 1)), f"version numbers not unique and gapless: {numbers}"
    sources = {v.version: v.source for v in versions}
    for a in acks:
        if a["op"] == "version":
            assert sources.get(str(a["version"])) == a["source"], f"acknowledged version {a['version']} lost"
    return len(numbers)
