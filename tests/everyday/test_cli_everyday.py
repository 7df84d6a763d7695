"""``storekit runs history|export|compare|delete|restore``, ``runs list --tree``, ``experiments create|...``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storekit.cli import cli
from storekit.client import TrackingClient
from storekit.entities import LifecycleStage, Metric, Param, RunTag, ViewType
from storekit.fluent import PARENT_RUN_ID_TAG


@pytest.fixture(params=["file", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A store with experiment "exp": a parent run with two children, and one other run."""
    uri = str(tmp_path / "store") if request.param == "file" else f"sqlite:///{tmp_path / 'store.db'}"
    with TrackingClient(uri) as client:
        eid = client.create_experiment("exp", artifact_location=(tmp_path / "art").as_uri())
        parent = client.create_run(eid, run_name="parent", start_time=1_700_000_000_000).info.run_id
        kids = []
        for i in range(2):
            kid = client.create_run(
                eid, run_name=f"child{i}", start_time=1_700_000_000_001 + i, tags={PARENT_RUN_ID_TAG: parent}
            ).info.run_id
            client.log_batch(
                kid,
                metrics=[Metric("loss", 1.0 / (s + 1) + i, 1_700_000_000_000 + s, s) for s in range(3)],
                params=[Param("lr", f"0.{i + 1}"), Param("seed", "7")],
                tags=[RunTag("secret", "postgresql://bob:hunter2@db/x")],
            )
            kids.append(kid)
        other = client.create_run(eid, run_name="other", start_time=1_700_000_000_009).info.run_id
    return {"uri": uri, "eid": eid, "parent": parent, "kid0": kids[0], "kid1": kids[1], "other": other}


def sk(store: dict[str, str], *args: str) -> "tuple[int, str, str]":
    result = CliRunner().invoke(cli, ["--tracking-uri", store["uri"], *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_history_table_and_json(store: dict[str, str]) -> None:
    code, out, err = sk(store, "runs", "history", store["kid1"], "loss", "--json")
    assert code == 0, err
    points = json.loads(out)
    assert [p["step"] for p in points] == [0, 1, 2]
    assert [p["value"] for p in points] == [2.0, 1.5, pytest.approx(1 / 3 + 1)]
    code, out, _ = sk(store, "runs", "history", store["kid1"], "loss")
    assert code == 0 and "Step" in out and "1.5" in out
    code, _, err = sk(store, "runs", "history", "f" * 32, "loss")
    assert code == 1 and err.startswith("error:")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_formats(store: dict[str, str], tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"runs.{fmt}"
    code, _, err = sk(store, "runs", "export", "--experiment", "exp", "--format", fmt, "-o", str(target))
    assert code == 0, err
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(target.read_text())))
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in target.read_text().splitlines()]
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(target).to_pylist()
    assert len(rows) == 4
    by_id = {r["run_id"]: r for r in rows}
    kid = by_id[store["kid0"]]
    assert str(kid["params.lr"]) == "0.1" and float(kid["metrics.loss"]) == pytest.approx(1 / 3)
    assert kid["tags.secret"] == "postgresql://bob:***@db/x"  # credentials never leave redacted
    assert "hunter2" not in target.read_bytes().decode("latin-1")


def test_export_to_stdout_and_parquet_needs_a_file(store: dict[str, str]) -> None:
    code, out, err = sk(store, "runs", "export", "-e", "exp", "--format", "jsonl")
    assert code == 0, err
    assert len(out.splitlines()) == 4
    code, _, err = sk(store, "runs", "export", "-e", "exp", "--format", "parquet")
    assert code == 1 and "--output" in err


def test_compare_marks_differences(store: dict[str, str]) -> None:
    code, out, err = sk(store, "runs", "compare", store["kid0"], store["kid1"], "--json")
    assert code == 0, err
    data = json.loads(out)
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["params.lr"]["values"] == ["0.1", "0.2"] and rows["params.lr"]["differs"] is True
    assert rows["params.seed"]["differs"] is False
    assert rows["metrics.loss"]["differs"] is True
    code, out, _ = sk(store, "runs", "compare", store["kid0"], store["kid1"])
    assert code == 0
    lr_line = next(line for line in out.splitlines() if "params.lr" in line)
    seed_line = next(line for line in out.splitlines() if "params.seed" in line)
    assert "≠" in lr_line and "≠" not in seed_line
    code, _, err = sk(store, "runs", "compare", store["kid0"])
    assert code == 1 and "at least 2" in err


def test_list_parent_column_and_tree(store: dict[str, str]) -> None:
    code, out, err = sk(store, "runs", "list", "-e", "exp", "--json")
    assert code == 0, err
    code, out, _ = sk(store, "runs", "list", "-e", "exp")
    assert "Parent" in out
    kid_line = next(line for line in out.splitlines() if store["kid0"] in line)
    assert store["parent"] in kid_line
    code, out, _ = sk(store, "runs", "list", "-e", "exp", "--tree", "--json")
    forest = json.loads(out)
    tops = {n["run_id"]: n for n in forest}
    assert set(tops) == {store["parent"], store["other"]}
    assert {c["run_id"] for c in tops[store["parent"]]["children"]} == {store["kid0"], store["kid1"]}
    code, out, _ = sk(store, "runs", "list", "-e", "exp", "--tree")
    lines = out.splitlines()
    parent_line = next(i for i, line in enumerate(lines) if store["parent"] in line)
    kid_line_no = next(i for i, line in enumerate(lines) if store["kid0"] in line)
    indent = lambda s: len(s) - len(s.lstrip(" │├└─"))  # noqa: E731
    assert kid_line_no > parent_line and indent(lines[kid_line_no]) > indent(lines[parent_line])


def test_runs_delete_and_restore(store: dict[str, str]) -> None:
    code, out, err = sk(store, "runs", "delete", store["other"])
    assert code == 0, err
    with TrackingClient(store["uri"]) as client:
        assert client.get_run(store["other"]).info.lifecycle_stage == LifecycleStage.DELETED
    code, _, err = sk(store, "runs", "restore", store["other"])
    assert code == 0, err
    with TrackingClient(store["uri"]) as client:
        assert client.get_run(store["other"]).info.lifecycle_stage == LifecycleStage.ACTIVE
    code, _, err = sk(store, "runs", "delete", "0" * 32)
    assert code == 1 and err.startswith("error:")


def test_experiments_create_rename_delete_restore(store: dict[str, str]) -> None:
    code, out, err = sk(store, "experiments", "create", "fresh")
    assert code == 0 and "fresh" in out, err
    code, _, err = sk(store, "experiments", "rename", "fresh", "renamed")
    assert code == 0, err
    code, _, err = sk(store, "experiments", "delete", "renamed")
    assert code == 0, err
    with TrackingClient(store["uri"]) as client:
        exp = client.get_experiment_by_name("renamed")
        assert exp is not None and exp.lifecycle_stage == LifecycleStage.DELETED
        deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
        assert [e.name for e in deleted] == ["renamed"]
    code, _, err = sk(store, "experiments", "restore", exp.experiment_id)
    assert code == 0, err
    with TrackingClient(store["uri"]) as client:
        assert client.get_experiment(exp.experiment_id).lifecycle_stage == LifecycleStage.ACTIVE
    code, _, err = sk(store, "experiments", "create", "exp")
    assert code == 1 and "exp" in err  # taken


def test_read_only_commands_never_create_a_store(tmp_path: Path) -> None:
    missing = {"uri": str(tmp_path / "nowhere")}
    for args in (
        ("runs", "history", "0" * 32, "loss"),
        ("runs", "export", "-e", "x"),
        ("runs", "compare", "0" * 32, "1" * 32),
        ("runs", "delete", "0" * 32),
        ("experiments", "delete", "x"),
    ):
        code, _, err = sk(missing, *args)
        assert code == 1 and err.startswith("error:"), args
    assert not (tmp_path / "nowhere").exists()
