"""The quick start runs from a clean directory and ``storekit runs show`` shows what it logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from storekit.uri import path_to_file_uri

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.py"
BIN = Path(sys.executable).parent


def _run(cwd: Path, *cmd: str, env: "dict[str, str] | None" = None) -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKIT_")}
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=full_env, timeout=180)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_quickstart_against_the_embedded_default(tmp_path: Path) -> None:
    out = _run(tmp_path, sys.executable, str(QUICKSTART))
    run_id = out.strip().splitlines()[-1]
    assert len(run_id) == 32 and int(run_id, 16) >= 0
    assert (tmp_path / "storekit.db").exists() and (tmp_path / "storekit-artifacts").is_dir()

    shown = _run(tmp_path, str(BIN / "storekit"), "runs", "show", run_id)
    for text in (
        run_id,
        "learning_rate",
        "0.1",
        "epochs",
        "20",
        "loss",
        "final_weight",
        "model_family",
        "linear",
        "model/weights.json",
        "notes.txt",
        "storekit.user",
    ):
        assert text in shown, f"{text!r} missing from:\n{shown}"
    data = json.loads(_run(tmp_path, str(BIN / "storekit"), "runs", "show", run_id, "--json"))
    assert data["info"]["status"] == "FINISHED"
    assert data["data"]["params"] == {"learning_rate": "0.1", "epochs": "20", "optimizer": "sgd"}

    # a second run of the quick start adds a version and moves the alias
    second = _run(tmp_path, sys.executable, str(QUICKSTART)).strip().splitlines()[-1]
    model = json.loads(_run(tmp_path, str(BIN / "storekit"), "models", "show", "quickstart-model", "--json"))
    assert model["model"]["aliases"] == {"champion": "2"}
    assert {v["version"]: v["run_id"] for v in model["versions"]} == {"1": run_id, "2": second}


def test_quickstart_honours_storekit_tracking_uri(tmp_path: Path) -> None:
    uri = path_to_file_uri(tmp_path / "filestore")
    env = {"STOREKIT_TRACKING_URI": uri}
    run_id = _run(tmp_path, sys.executable, str(QUICKSTART), env=env).strip().splitlines()[-1]
    assert not (tmp_path / "storekit.db").exists()
    shown = _run(tmp_path, str(BIN / "storekit"), "runs", "show", run_id, env=env)
    assert "learning_rate" in shown and "weights.json" in shown
