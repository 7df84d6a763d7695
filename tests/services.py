"""Start the real test servers through the project's own scripts.

Each server has ``scripts/services/<name>.sh`` with ``start`` and ``stop``.
``start`` is idempotent, installs what it needs, waits until the server
answers, and prints ``KEY=VALUE`` lines (the connection settings, e.g.
``STOREKIT_TEST_S3_ENDPOINT=http://127.0.0.1:45555``).  It exits non-zero
with a message saying what is missing when the server cannot start.

If every variable a test needs is already set in the environment (a user
pointing the tests at their own servers), the script is not run.

A server that cannot be started is a test *failure*, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts" / "services"

_started: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def ensure_service(name: str, required_env: tuple[str, ...] = ()) -> dict[str, str]:
    """Return the connection settings of test server ``name``, starting it if needed."""
    if required_env and all(os.environ.get(k) for k in required_env):
        return {k: os.environ[k] for k in required_env}
    with _lock:
        if name in _started:
            return _started[name]
        script = SCRIPTS / f"{name}.sh"
        if not script.exists():
            pytest.fail(f"no start script for test server {name!r} at {script}", pytrace=False)
        proc = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.fail(
                f"test server {name!r} could not be started (scripts/services/{name}.sh start "
                f"exited {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}",
                pytrace=False,
            )
        settings: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.isupper() and key.replace("_", "").isalnum():
                settings[key] = value
        missing = [k for k in required_env if k not in settings]
        if missing:
            pytest.fail(f"scripts/services/{name}.sh start did not print {missing}", pytrace=False)
        _started[name] = settings
        return settings


def stop_started_services() -> None:
    """Stop every server this test session started (called at session end)."""
    if os.environ.get("STOREKIT_KEEP_SERVICES"):
        return
    for name in list(_started):
        subprocess.run(["bash", str(SCRIPTS / f"{name}.sh"), "stop"], capture_output=True, timeout=120)
        _started.pop(name, None)
