"""Full disk: the file backend and SQLite on a small tmpfs that fills up.

Writes until the file system is full must end in a clear storekit error
(BackendUnavailableError, or a StorekitError naming the disk-full cause),
and everything acknowledged before stays readable.  Mounting needs root:
without it the test fails under ``CI=true`` and is skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from storekit.entities import Metric, Param, RunTag
from storekit.errors import BackendUnavailableError, StorekitError
from storekit.integrity import check_store
from storekit.plugins import resolve_tracking_store

pytestmark = pytest.mark.timeout(300)

_DISK_FULL_WORDS = ("space", "full", "disk", "quota")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted for the test (root only), unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    reason = None
    if os.geteuid() != 0:
        reason = "mounting a tmpfs needs root"
    else:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            reason = f"mount -t tmpfs failed: {proc.stderr.strip()}"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"full-disk test cannot run: {reason}")
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_disk_full_gives_clear_error_and_keeps_data(small_fs: Path, backend: str, totals: Counter) -> None:
    uri = str(small_fs / "store") if backend == "file" else f"sqlite:///{small_fs}/store.db"
    store = resolve_tracking_store(uri, default_artifact_root=(small_fs / "artifacts").as_uri())
    experiment_id = store.create_experiment("e")
    run_id = store.create_run(experiment_id).info.run_id
    acked = 0
    error = None
    value = "x" * 6000
    for b in range(100_000):
        try:
            store.log_batch(
                run_id,
                [Metric(f"m{k}", float(b), b, b) for k in range(200)],
                [Param(f"p{b}", value)],
                [RunTag(f"t{b}", value)],
            )
        except Exception as exc:
            error = exc
            break
        acked += 1
    assert error is not None, "the 8 MiB file system never filled up"
    assert isinstance(error, StorekitError), f"disk full raised {type(error).__name__}: {error}"
    message = str(error).lower()
    assert isinstance(error, BackendUnavailableError) or any(w in message for w in _DISK_FULL_WORDS), message
    assert any(w in message for w in _DISK_FULL_WORDS), f"the message does not name the cause: {error}"
    assert acked > 0

    def check_readable(st) -> None:
        run = st.get_run(run_id)
        for b in range(acked):
            assert run.data.params[f"p{b}"] == value and run.data.tags[f"t{b}"] == value
        history = st.get_metric_history(run_id, "m0")
        assert [m.step for m in history][:acked] == list(range(acked))

    check_readable(store)
    store.close()
    reopened = resolve_tracking_store(uri)
    check_readable(reopened)
    reopened.close()
    assert check_store(uri).ok
    print(f"\n[{backend}] full disk: {acked} batches acknowledged before: {type(error).__name__}: {error}")
    totals.update({"full-disk faults injected": 1, "full-disk batches re-read": acked})
