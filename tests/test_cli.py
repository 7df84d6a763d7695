"""The ``storekit experiments|runs|models`` commands, run as a user would (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from storekit.client import TrackingClient
from tests.test_client import make_store_uri

STOREKIT = str(Path(sys.executable).with_name("storekit"))


def storekit(cwd: Path, *args: str, env: "dict[str, str] | None" = None) -> subprocess.CompletedProcess[str]:
    """Run the ``storekit`` console script in ``cwd``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKIT_")}
    full_env.update(env or {})
    return subprocess.run([STOREKIT, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=120)


def _populate(kind: str, root: Path) -> dict[str, str]:
    """A store with two experiments (one deleted), three runs, artifacts and a registered model."""
    old_cwd = os.getcwd()
    os.chdir(root)  # default artifact root lands in the temp dir
    try:
        uri = make_store_uri(kind, root)
        client = TrackingClient(uri)
        exp_id = client.create_experiment("vision")
        gone = client.create_experiment("scrapped")
        client.delete_experiment(gone)
        runs = []
        for i, acc in enumerate((0.7, 0.9, 0.8)):
            run = client.create_run(exp_id, run_name=f"run-{i}", start_time=1_700_000_000_000 + i)
            client.log_param(run.info.run_id, "lr", f"0.{i + 1}")
            client.log_metric(run.info.run_id, "acc", acc, step=1)
            client.set_tag(run.info.run_id, "team", "cv")
            client.set_terminated(run.info.run_id)
            runs.append(run.info.run_id)
        (root / "weights.bin").write_bytes(b"\x00" * 42)
        client.log_artifact(runs[1], root / "weights.bin", artifact_path="model")
        client.create_registered_model("classifier", description="cv model")
        client.create_model_version("classifier", f"runs:/{runs[1]}/model", run_id=runs[1])
        client.create_model_version("classifier", f"runs:/{runs[2]}/model", run_id=runs[2])
        client.transition_model_version_stage("classifier", "1", "Production")
        client.set_registered_model_alias("classifier", "champion", "1")
        client.close()
    finally:
        os.chdir(old_cwd)
    return {"uri": uri, "cwd": str(root), "exp_id": exp_id, "best": runs[1], "runs": ",".join(runs)}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, str]]:
    """``stores(kind)``: a populated store of that backend, built once per module."""
    built: dict[str, dict[str, str]] = {}

    def get(kind: str) -> dict[str, str]:
        if kind not in built:
            built[kind] = _populate(kind, tmp_path_factory.mktemp(f"cli-{kind}"))
        return built[kind]

    return get


@pytest.fixture
def populated(stores: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """The populated file store: the commands are backend-agnostic, and it is the fastest to open."""
    return stores("file")


#: Commands whose output depends on what the backend returns are also run against SQLite.
both_backends = pytest.mark.parametrize("kind", ("file", "sqlite"))


def run_cli(populated: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a storekit command against the populated store (via the environment)."""
    return storekit(Path(populated["cwd"]), *args, env={"STOREKIT_TRACKING_URI": populated["uri"]})


def test_experiments_list(populated: dict[str, str]) -> None:
    proc = run_cli(populated, "experiments", "list")
    assert proc.returncode == 0, proc.stderr
    assert "vision" in proc.stdout and "scrapped" not in proc.stdout
    proc = run_cli(populated, "experiments", "list", "--view", "all", "--json")
    data = json.loads(proc.stdout)
    assert {e["name"]: e["lifecycle_stage"] for e in data} == {"vision": "active", "scrapped": "deleted"}


def test_runs_list_and_search(populated: dict[str, str]) -> None:
    proc = run_cli(populated, "runs", "list", "--experiment", "vision")
    assert proc.returncode == 0, proc.stderr
    for run_id in populated["runs"].split(","):
        assert run_id in proc.stdout
    assert "FINISHED" in proc.stdout and "acc=0.9" in proc.stdout

    proc = run_cli(populated, "runs", "list", "-e", populated["exp_id"], "--max-results", "2", "--json")
    listed = json.loads(proc.stdout)
    assert [r["info"]["run_name"] for r in listed] == ["run-2", "run-1"]  # newest first, capped at 2

    proc = run_cli(
        populated,
        "runs",
        "search",
        "-e",
        "vision",
        "--filter",
        "metrics.acc > 0.75",
        "--order-by",
        "metrics.acc DESC",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert [(r["info"]["run_name"], r["data"]["metrics"]["acc"]) for r in found] == [("run-1", 0.9), ("run-2", 0.8)]


@both_backends
def test_runs_show(stores: Callable[[str], dict[str, str]], kind: str) -> None:
    populated = stores(kind)
    best = populated["best"]
    proc = run_cli(populated, "runs", "show", best)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for text in (best, "run-1", "FINISHED", "lr", "0.2", "acc", "0.9", "team", "cv", "model/weights.bin", "42"):
        assert text in out, f"{text!r} missing from:\n{out}"
    data = json.loads(run_cli(populated, "runs", "show", best, "--json").stdout)
    assert data["info"]["run_id"] == best and data["data"]["params"] == {"lr": "0.2"}
    assert {"path": "model/weights.bin", "is_dir": False, "file_size": 42} in data["artifacts"]


@both_backends
def test_models_list_and_show(stores: Callable[[str], dict[str, str]], kind: str) -> None:
    populated = stores(kind)
    proc = run_cli(populated, "models", "list")
    assert proc.returncode == 0, proc.stderr
    assert "classifier" in proc.stdout and "@champion" in proc.stdout
    proc = run_cli(populated, "models", "show", "classifier", "--json")
    data = json.loads(proc.stdout)
    assert data["model"]["aliases"] == {"champion": "1"}
    assert [(v["version"], v["current_stage"]) for v in data["versions"]] == [("2", "None"), ("1", "Production")]
    table = run_cli(populated, "models", "show", "classifier").stdout
    assert "Production" in table and "@champion" in table and populated["best"] in table


def test_errors_are_one_line_and_exit_1(populated: dict[str, str]) -> None:
    for args, needle in (
        (("runs", "show", "0" * 32), "0" * 32),
        (("runs", "show", "not-a-run-id"), "run_id"),
        (("runs", "list", "--experiment", "no-such-experiment"), "no-such-experiment"),
        (("runs", "search", "-e", "vision", "--filter", "metrics.acc >>> 1"), "error"),
        (("models", "show", "missing-model"), "missing-model"),
    ):
        proc = run_cli(populated, *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert "Traceback" not in proc.stderr and needle in proc.stderr


def test_secrets_never_reach_the_terminal(tmp_path: Path) -> None:
    uri = "postgresql://bob:hunter2@127.0.0.1:1/none"
    proc = storekit(tmp_path, "--tracking-uri", uri, "experiments", "list")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout


def test_output_helpers_redact_and_encode() -> None:
    from storekit.cli._output import redact_message, to_jsonable
    from storekit.entities import Metric

    text = redact_message("cannot reach postgresql+psycopg://bob:hunter2@db:5432/x or s3://k:sec@b/p")
    assert "hunter2" not in text and "sec@" not in text and "bob:***@db" in text
    assert to_jsonable(Metric("m", float("nan"), 1, 2)) == {
        "key": "m",
        "value": "NaN",
        "timestamp": 1,
        "step": 2,
        "model_id": None,
    }
    assert to_jsonable([float("inf"), -float("inf"), 1.5]) == ["Infinity", "-Infinity", 1.5]


HOSTILE_TAG = "\x1b[2J\x1b]0;pwned\x07clear\rme\u202eevil"


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store whose data (written by 'other people') holds credentials and terminal escape sequences."""
    root = tmp_path_factory.mktemp("hostile")
    uri = make_store_uri("sqlite", root)
    client = TrackingClient(uri)
    exp_id = client.create_experiment("leaky", artifact_location="s3://AKIAKEY:s3cr3tKey@bucket/prefix")
    run = client.create_run(exp_id, run_name="run")
    run_id = run.info.run_id
    client.set_tag(run_id, "note", HOSTILE_TAG)
    client.log_param(run_id, "db", "postgresql://alice:pgpassw0rd@db.internal:5432/x")
    client.set_terminated(run_id)
    client.create_registered_model("m")
    client.create_model_version("m", "https://user:tokpassw0rd@host/models/1", run_id=run_id)
    client.close()
    return {"uri": uri, "cwd": str(root), "exp_id": exp_id, "run_id": run_id}


_SECRETS = ("s3cr3tKey", "pgpassw0rd", "tokpassw0rd")


@pytest.mark.parametrize(
    "args",
    [
        ("experiments", "list", "--view", "all"),
        ("runs", "list", "--experiment", "leaky"),
        ("runs", "search", "--experiment", "leaky", "--filter", "tags.note != 'x'"),
        ("runs", "show", "{run_id}"),
        ("models", "list"),
        ("models", "show", "m"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_listings_redact_secrets_and_escape_control_characters(
    hostile_store: dict[str, str], args: tuple[str, ...], as_json: bool
) -> None:
    argv = [a.format(**hostile_store) for a in args] + (["--json"] if as_json else [])
    proc = storekit(Path(hostile_store["cwd"]), "--tracking-uri", hostile_store["uri"], *argv)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for secret in _SECRETS:
        assert secret not in out, (argv, secret)
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out, argv
    if as_json:
        json.loads(proc.stdout)  # still valid JSON; control characters are JSON escapes
    if args[:2] == ("runs", "show"):
        assert ("\\x1b[2J" in out) if not as_json else ("\\u001b[2J" in out)  # shown, not executed
