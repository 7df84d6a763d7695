"""storekit never writes into a store that is not its own (MLflow's, or anyone else's).

Real MLflow 3.17.2 writes the stores (an ``mlruns/`` tree, SQLite, PostgreSQL
and MariaDB databases); every way storekit can open them - the store
classes, ``resolve_*`` with and without ``create``, ``storekit check``, the
read-only commands and ``storekit db upgrade`` - must raise
:class:`ForeignStoreError` naming MLflow and ``storekit import-mlflow``, and
the store must be unchanged afterwards: byte for byte (file hashes and
modification times of every file) or row for row (every table's rows).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit.backends.file import FileRegistryStore, FileTrackingStore
from storekit.backends.sql import SqlRegistryStore, SqlTrackingStore
from storekit.backends.sql.engine import to_sqlalchemy_url
from storekit.cli import cli
from storekit.errors import ForeignStoreError, StorekitError, StoreNotFoundError
from storekit.integrity import check_store
from storekit.plugins import resolve_registry_store, resolve_tracking_store
from tests.databases import DatabaseFactory, server_uri

#: Writes a small but complete MLflow store at each URI given: experiment, run, param, metric, model.
_MAKE_MLFLOW_STORES = r"""
import os, sys
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ["MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK"] = "true"
from mlflow import MlflowClient
for uri in sys.argv[1:]:
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("mlflow-experiment", tags={"team": "cv"})
    run = client.create_run(exp, run_name="mlflow-run")
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_metric(run.info.run_id, "loss", 0.5, step=1)
    client.set_terminated(run.info.run_id)
    client.create_registered_model("mlflow-model")
    client.create_model_version("mlflow-model", "s3://bucket/model", run_id=run.info.run_id)
print("ok")
"""


def _mlflow_uri(uri: str) -> str:
    """The URI MLflow's SQLAlchemy store needs for a storekit database URI (explicit drivers)."""
    if uri.startswith("postgresql://"):
        return "postgresql+psycopg://" + uri[len("postgresql://") :]
    if uri.startswith("mysql://"):
        return "mysql+pymysql://" + uri[len("mysql://") :]
    return uri


@pytest.fixture(scope="module")
def mlflow_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """storekit URIs of stores MLflow 3.17.2 wrote: ``file``, ``sqlite``, ``postgresql``, ``mariadb``."""
    base = tmp_path_factory.mktemp("mlflow")
    factories = {b: DatabaseFactory(b, server_uri(b)) for b in ("postgresql", "mariadb")}
    try:
        uris = {
            "file": str(base / "mlruns"),
            "sqlite": f"sqlite:///{base / 'sqlite' / 'mlflow.db'}",
            "postgresql": factories["postgresql"].create(),
            "mariadb": factories["mariadb"].create(),
        }
        (base / "sqlite").mkdir()
        targets = [Path(uris["file"]).as_uri()] + [_mlflow_uri(uris[k]) for k in ("sqlite", "postgresql", "mariadb")]
        proc = subprocess.run(
            [sys.executable, "-c", _MAKE_MLFLOW_STORES, *targets], cwd=base, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, (
            f"MLflow could not write its stores (is mlflow==3.17.2 installed?):\n{proc.stderr[-4000:]}"
        )
        assert (Path(uris["file"]) / "0" / "meta.yaml").is_file()
        yield uris
    finally:
        for factory in factories.values():
            factory.drop_all()


# --- snapshots: what "unchanged" means ------------------------------------------------------------


def tree_snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every file and directory under ``root``: kind, size, modification time and content hash."""
    found: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            found[str(path.relative_to(root))] = (path.is_dir(), st.st_size, st.st_mtime_ns, digest)
    return found


def database_snapshot(uri: str) -> dict[str, Any]:
    """Every table of a server database with all of its rows (sorted), read through SQLAlchemy."""
    engine = sa.create_engine(to_sqlalchemy_url(uri))
    try:
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            return {t: sorted(map(repr, conn.execute(sa.text(f"SELECT * FROM {t}")).all())) for t in tables}
    finally:
        engine.dispose()


def snapshot(kind: str, uri: str) -> Any:
    """The state of a store that a refused open must leave exactly as it was."""
    if kind == "file":
        return tree_snapshot(Path(uri))
    if kind == "sqlite":
        return tree_snapshot(Path(uri[len("sqlite:///") :]).parent)  # the file and any -wal/-journal beside it
    return database_snapshot(uri)


# --- every way of opening a store -------------------------------------------------------------


def _cli(*args: str) -> Callable[[str], Any]:
    def invoke(uri: str) -> Any:
        argv = [a.replace("URI", uri) for a in args]
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code != 0, f"storekit {' '.join(args)} succeeded on a foreign store: {result.output}"
        assert "storekit import-mlflow" in result.output, result.output
        assert "Traceback" not in result.output
        return result

    invoke.__name__ = "storekit " + " ".join(args)
    return invoke


def _raises(open_: Callable[[str], Any]) -> Callable[[str], Any]:
    def attempt(uri: str) -> Any:
        with pytest.raises(ForeignStoreError) as err:
            store = open_(uri)
            store.close()
        message = str(err.value)
        assert "MLflow" in message and "storekit import-mlflow" in message, message
        return err

    return attempt


OPENERS: dict[str, Callable[[str], Any]] = {
    "tracking store": _raises(resolve_tracking_store),
    "registry store": _raises(resolve_registry_store),
    "tracking store, create=False": _raises(lambda u: resolve_tracking_store(u, create=False)),
    "registry store, create=False": _raises(lambda u: resolve_registry_store(u, create=False)),
    "check_store": _raises(lambda u: check_store(u)),
    "experiments list": _cli("--tracking-uri", "URI", "experiments", "list"),
    "runs list": _cli("--tracking-uri", "URI", "runs", "list", "-e", "0"),
    "models list": _cli("--registry-uri", "URI", "models", "list"),
    "check": _cli("check", "URI"),
}


@pytest.mark.parametrize("kind", ["file", "sqlite", "postgresql", "mariadb"])
def test_mlflow_stores_are_refused_and_left_untouched(mlflow_stores: dict[str, str], kind: str) -> None:
    uri = mlflow_stores[kind]
    before = snapshot(kind, uri)
    assert before, "the MLflow store is empty"
    openers = dict(OPENERS)
    if kind != "file":
        openers["db upgrade"] = _db_upgrade
    for name, open_ in openers.items():
        open_(uri)
        assert snapshot(kind, uri) == before, f"{name} changed the MLflow {kind} store"


def _db_upgrade(uri: str) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert result.exit_code != 0 and "import-mlflow" in result.output, result.output


def test_the_error_names_what_was_found_and_hides_the_password(mlflow_stores: dict[str, str]) -> None:
    with pytest.raises(ForeignStoreError, match=r"mlruns/ directory: found 0/meta\.yaml") as err:
        FileTrackingStore(mlflow_stores["file"])
    assert f"storekit import-mlflow {mlflow_stores['file']}" in str(err.value)
    with pytest.raises(ForeignStoreError, match="MLflow tracking database.*schema revision") as err:
        SqlTrackingStore(mlflow_stores["sqlite"])
    uri = mlflow_stores["mariadb"].replace("root@", "root:s3cretpw@")
    with pytest.raises(StorekitError) as err:
        SqlRegistryStore(uri)
    assert "s3cretpw" not in str(err.value)


# --- other foreign data -------------------------------------------------------------------------


def test_a_directory_with_other_files_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "data").mkdir()
    before = tree_snapshot(tmp_path)
    for open_ in (FileTrackingStore, FileRegistryStore, lambda p: FileTrackingStore(p, create=False)):
        with pytest.raises(ForeignStoreError, match="not a storekit store.*2 entries") as err:
            open_(str(tmp_path))
        assert "import-mlflow" not in str(err.value)
        assert tree_snapshot(tmp_path) == before


def test_a_sqlite_file_given_as_a_file_store_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    SqlTrackingStore(f"sqlite:///{db}").close()
    before = tree_snapshot(tmp_path)
    with pytest.raises(ForeignStoreError, match="sqlite:///"):
        FileTrackingStore(str(db))
    assert tree_snapshot(tmp_path) == before


def test_foreign_sqlite_files_are_refused(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE experiments (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO experiments (name) VALUES ('theirs')")
    conn.close()
    text = tmp_path / "notes.db"
    text.write_text("this is not a database at all, just some text long enough" * 20)
    before = tree_snapshot(tmp_path)
    with pytest.raises(ForeignStoreError, match="1 tables \\(experiments\\)"):
        SqlTrackingStore(f"sqlite:///{other}")
    with pytest.raises(ForeignStoreError, match="not a SQLite database"):
        SqlTrackingStore(f"sqlite:///{text}")
    assert tree_snapshot(tmp_path) == before


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_foreign_server_databases_are_refused(backend: str) -> None:
    factory = DatabaseFactory(backend, server_uri(backend))
    try:
        uri = factory.create()
        engine = sa.create_engine(to_sqlalchemy_url(uri))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"))
            conn.execute(sa.text("INSERT INTO invoices VALUES (1, 42)"))
        engine.dispose()
        before = database_snapshot(uri)
        for open_ in (SqlTrackingStore, SqlRegistryStore, lambda u: SqlTrackingStore(u, create=False)):
            with pytest.raises(ForeignStoreError, match="not a storekit store.*invoices"):
                open_(uri)
            assert database_snapshot(uri) == before
    finally:
        factory.drop_all()


# --- empty locations still become stores ----------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_an_empty_database_becomes_a_store(backend: str, tmp_path: Path) -> None:
    factory = DatabaseFactory(backend, server_uri(backend)) if backend != "sqlite" else None
    try:
        if factory is None:
            (tmp_path / "empty.db").write_bytes(b"")  # an empty file is an empty SQLite database
            uri = f"sqlite:///{tmp_path / 'empty.db'}"
        else:
            uri = factory.create()
        with pytest.raises(StoreNotFoundError, match="no storekit store"):
            SqlTrackingStore(uri, create=False)
        store = SqlTrackingStore(uri)
        exp = store.create_experiment("first")
        store.close()
        again = SqlTrackingStore(uri, create=False)
        assert again.get_experiment(exp).name == "first"
        again.close()
    finally:
        if factory is not None:
            factory.drop_all()


def test_an_empty_directory_becomes_a_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    with pytest.raises(StoreNotFoundError, match="the directory is empty"):
        FileTrackingStore(str(root), create=False)
    assert list(root.iterdir()) == []
    store = FileTrackingStore(str(root))
    exp = store.create_experiment("first")
    store.close()
    registry = FileRegistryStore(str(root), create=False)
    registry.create_registered_model(f"m-{uuid.uuid4().hex[:6]}")
    registry.close()
    assert FileTrackingStore(str(root), create=False).get_experiment(exp).name == "first"


def test_an_mlruns_tree_is_not_used_as_an_artifact_root(mlflow_stores: dict[str, str], tmp_path: Path) -> None:
    mlruns = Path(mlflow_stores["file"])
    before = tree_snapshot(mlruns)
    artifact_root = mlruns.as_uri()
    for open_ in (
        lambda: SqlTrackingStore(f"sqlite:///{tmp_path / 'a.db'}", default_artifact_root=artifact_root),
        lambda: FileTrackingStore(str(tmp_path / "store"), default_artifact_root=artifact_root),
    ):
        with pytest.raises(ForeignStoreError, match="used as the artifact root"):
            open_()
    assert tree_snapshot(mlruns) == before
    assert list(tmp_path.iterdir()) == [], "nothing was created before the refusal"
