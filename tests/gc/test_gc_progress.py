"""On a terminal ``storekit gc`` draws a progress bar (rich) on stderr; piped, it does not."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from storekit.client import TrackingClient

_GC = "from storekit.cli import main; main()"


def _store(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with TrackingClient(uri) as client:
        eid = client.create_experiment("e")
        for _ in range(3):
            client.delete_run(client.create_run(eid).info.run_id)
    return uri


def test_progress_bar_on_a_terminal_only(tmp_path: Path, artifact_root: Path) -> None:
    uri = _store(tmp_path)
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _GC, "--tracking-uri", uri, "gc"],
            stdout=subprocess.PIPE,
            stderr=secondary,
            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
            timeout=300,
        )
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if secondary != -1:
            os.close(secondary)
        os.close(primary)
    assert proc.returncode == 0
    drawn = b"".join(chunks).decode("utf-8", "replace")
    assert "purging" in drawn and "3/3" in drawn, drawn[-500:]
    with TrackingClient(uri) as client:
        eid = client.create_experiment("again")
        client.delete_run(client.create_run(eid).info.run_id)
    piped = subprocess.run(
        [sys.executable, "-c", _GC, "--tracking-uri", uri, "gc"], capture_output=True, text=True, timeout=300
    )
    assert piped.returncode == 0 and "purging" not in piped.stderr and "removed" in piped.stdout
