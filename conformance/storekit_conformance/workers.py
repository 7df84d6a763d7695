"""Worker processes for the multi-process checks.

Each worker resolves the store from its URI through storekit's registry,
exactly as another program would, waits at a file barrier until all
workers are ready, does its writes and prints a JSON result line.

Run as ``python -m storekit_conformance.workers KIND URI INDEX COUNT BARRIER_DIR ARGS_JSON``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

__all__ = ["run_workers"]

_TIMEOUT = 120


def run_workers(kind: str, uri: str, count: int, args: dict[str, Any]) -> list[dict[str, Any]]:
    """Start ``count`` worker processes of ``kind`` against ``uri`` at once; return their results."""
    with tempfile.TemporaryDirectory(prefix="storekit-barrier-") as barrier:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", __name__, kind, uri, str(i), str(count), barrier, json.dumps(args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(count)
        ]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=_TIMEOUT)
            if proc.returncode != 0:
                raise AssertionError(f"worker process failed (exit {proc.returncode}):\n{err[-3000:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results


def _wait_barrier(barrier: Path, index: int, count: int) -> None:
    (barrier / f"ready-{index}").touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.glob("ready-*"))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("other worker processes did not start")
        time.sleep(0.01)


def _tracking(uri: str, index: int, args: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    from storekit.entities import Metric, Param
    from storekit.plugins import resolve_tracking_store

    store = resolve_tracking_store(uri)
    ready()
    for step in range(int(args["points"])):
        store.log_batch(
            args["run_id"],
            metrics=[Metric("shared", float(index), 1000 + step, step)],
            params=[Param(f"proc{index}-{step}", str(step))],
        )
    created = [store.create_run(args["experiment_id"], run_name=f"proc{index}-{i}").info.run_id for i in range(3)]
    store.close()
    return {"created": created}


def _registry(uri: str, index: int, args: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    from storekit.plugins import resolve_registry_store

    store = resolve_registry_store(uri)
    ready()
    versions = [
        store.create_model_version(args["name"], source=f"example://model-{index}-{i}").version
        for i in range(int(args["versions"]))
    ]
    store.close()
    return {"versions": versions}


def _tracking_read(uri: str, index: int, args: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    """Read back a run (and its experiment) written by another process: values as ``repr`` strings."""
    from storekit.plugins import resolve_tracking_store

    store = resolve_tracking_store(uri)
    ready()
    try:
        run = store.get_run(args["run_id"])
        experiment = store.get_experiment(run.info.experiment_id)
        history = store.get_metric_history(args["run_id"], args["metric"])
        return {
            "experiment": [experiment.name, dict(experiment.tags)],
            "info": [run.info.run_name, str(run.info.status.value), run.info.start_time, run.info.end_time],
            "metrics": {k: repr(v) for k, v in run.data.metrics.items()},
            "params": dict(run.data.params),
            "tags": {k: v for k, v in run.data.tags.items() if k in args["tags"]},
            "history": [[m.step, m.timestamp, repr(m.value)] for m in history],
        }
    except Exception as exc:  # reported to the check, which fails with it
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        store.close()


def _registry_read(uri: str, index: int, args: dict[str, Any], ready: Callable[[], None]) -> dict[str, Any]:
    """Read back a registered model written by another process."""
    from storekit.plugins import resolve_registry_store

    store = resolve_registry_store(uri)
    ready()
    try:
        model = store.get_registered_model(args["name"])
        versions = [store.get_model_version(args["name"], str(v)) for v in range(1, int(args["versions"]) + 1)]
        return {
            "model": [model.name, model.description, dict(model.tags), dict(model.aliases)],
            "versions": [[v.version, v.source, str(v.current_stage), dict(v.tags)] for v in versions],
        }
    except Exception as exc:  # reported to the check, which fails with it
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        store.close()


_KINDS = {
    "tracking": _tracking,
    "registry": _registry,
    "tracking-read": _tracking_read,
    "registry-read": _registry_read,
}


def main(argv: list[str]) -> int:
    """Entry point of a worker process."""
    kind, uri, index, count, barrier, raw = argv
    result = _KINDS[kind](
        uri, int(index), json.loads(raw), lambda: _wait_barrier(Path(barrier), int(index), int(count))
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":  # pragma: no cover - run in a child process
    sys.exit(main(sys.argv[1:]))
