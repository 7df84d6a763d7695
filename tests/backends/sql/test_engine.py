"""URI handling, driver hints, unavailable servers and redaction."""

from __future__ import annotations

import importlib.util
import multiprocessing
import time

import pytest

from storekit.backends.sql import SqlTrackingStore
from storekit.backends.sql.engine import Database, to_sqlalchemy_url
from storekit.entities import Metric
from storekit.errors import BackendUnavailableError, UnknownSchemeError


@pytest.mark.parametrize(
    "uri, driver",
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("mysql://u@h/db", "mysql+pymysql"),
        ("mariadb://u@h/db", "mysql+pymysql"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_default_drivers(uri, driver):
    assert to_sqlalchemy_url(uri).drivername == driver


def test_missing_driver_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a))
    with pytest.raises(UnknownSchemeError, match=r"pip install 'storekit\[postgres\]'"):
        to_sqlalchemy_url("postgresql://u@h/db")


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://postgres:s3cretpw@127.0.0.1:1/test",
        "mysql://root:s3cretpw@127.0.0.1:1/test",
    ],
)
def test_unreachable_server_raises_backend_unavailable_without_password(uri, monkeypatch):
    monkeypatch.setattr(Database, "attempts", 3)
    monkeypatch.setattr(Database, "backoff", 0.01)
    start = time.monotonic()
    with pytest.raises(BackendUnavailableError) as err:
        SqlTrackingStore(uri)
    assert time.monotonic() - start < 30
    text = str(err.value) + repr(err.value)
    assert "s3cretpw" not in text and "***" in text and "3 attempts" in text
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_refused_credentials_are_unavailable(monkeypatch, new_database_uri):
    monkeypatch.setattr(Database, "attempts", 2)
    monkeypatch.setattr(Database, "backoff", 0.01)
    uri = new_database_uri("mariadb").replace("root@", "nobody_here:wrongpw@")
    with pytest.raises(BackendUnavailableError) as err:
        SqlTrackingStore(uri)
    assert "wrongpw" not in str(err.value)


def test_repr_redacts():
    db = Database("postgresql://u:pw@h/db")
    assert "pw@" not in repr(db) and "***" in repr(db)


def _writer(uri: str, run_id: str, worker: int, n: int) -> None:
    store = SqlTrackingStore(uri)
    for i in range(n):
        store.log_batch(run_id, [Metric(f"w{worker}", float(i), i, i)])


def test_several_processes_logging_to_one_sqlite_file_lose_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path}/shared.db"
    store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
    run = store.create_run(store.create_experiment("e"))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(uri, run.info.run_id, w, 60)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    for w in range(3):
        assert [m.value for m in store.get_metric_history(run.info.run_id, f"w{w}")] == [float(i) for i in range(60)]
    assert store.get_run(run.info.run_id).data.metrics == {f"w{w}": 59.0 for w in range(3)}


def test_threads_share_one_store(store, uniq):
    from concurrent.futures import ThreadPoolExecutor

    run = store.create_run(store.create_experiment(uniq("e")))
    rid = run.info.run_id
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: store.log_batch(rid, [Metric("m", float(i), i, i)]), range(40)))
    assert len(store.get_metric_history(rid, "m")) == 40
    assert store.get_run(rid).data.metrics["m"] == 39.0


def test_driver_errors_from_the_raw_cursor_are_translated_and_retried(store, uniq):
    """The write hot path uses the driver's cursor: its errors get the same handling as SQLAlchemy's."""
    from storekit.errors import AlreadyExistsError

    db = store._db
    exp = store.create_experiment(uniq("exp"))
    run_id = store.create_run(exp).info.run_id
    other = store.create_run(exp).info.run_id
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"

    def duplicate_run(conn):
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute(f"UPDATE runs SET run_uuid = {mark} WHERE run_uuid = {mark}", (run_id, other))

    with pytest.raises(AlreadyExistsError):  # unique violation -> AlreadyExistsError, rolled back
        db.run(duplicate_run)
    assert store.get_run(other).info.run_id == other

    calls = []
    transient = {"sqlite": "database is locked", "postgresql": "40P01", "mariadb": 1213}

    def flaky(conn):
        calls.append(1)
        if len(calls) == 1:  # a deadlock-like failure straight from the driver, once
            dbapi = db.engine.dialect.loaded_dbapi
            if db.dialect == "sqlite":
                raise dbapi.OperationalError(transient["sqlite"])
            if db.dialect == "postgresql":
                err = dbapi.errors.DeadlockDetected("deadlock detected")
                assert err.sqlstate == transient["postgresql"]
                raise err
            raise dbapi.OperationalError(transient["mariadb"], "Deadlock found")
        return "done"

    assert db.run(flaky) == "done" and len(calls) == 2


@pytest.mark.parametrize("backend_name", ["postgresql", "mariadb"])
def test_pooled_connections_killed_while_idle_are_replaced_without_a_ping(backend_name, new_database_uri, tmp_path):
    """No ping at checkout: connections the server dropped while they sat in the pool fail their
    transaction's first statement, and the transaction is retried on a fresh connection."""
    from concurrent.futures import ThreadPoolExecutor

    import sqlalchemy as sa

    uri = new_database_uri(backend_name)
    store = SqlTrackingStore(uri, default_artifact_root=tmp_path.as_uri())
    try:
        assert store._db.engine.pool._pre_ping is False
        run_id = store.create_run(store.create_experiment("idle")).info.run_id
        with ThreadPoolExecutor(4) as pool:  # several connections in the pool
            list(pool.map(lambda i: store.log_batch(run_id, [Metric("m", float(i), i, i)]), range(8)))
        url = store._db.url
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the server drops every connection of the store
            if backend_name == "postgresql":
                killed = conn.exec_driver_sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).scalar()
            else:
                ids = (
                    conn.exec_driver_sql(
                        "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                    )
                    .scalars()
                    .all()
                )
                for pid in ids:
                    conn.exec_driver_sql(f"KILL {int(pid)}")
                killed = len(ids)
        admin.dispose()
        assert killed >= 1
        time.sleep(0.5)
        with ThreadPoolExecutor(4) as pool:  # every call succeeds: the dead connections are replaced
            list(pool.map(lambda i: store.log_batch(run_id, [Metric("m", float(i), i, i)]), range(8, 16)))
        assert store.get_run(run_id).data.metrics["m"] == 15.0
        assert sorted(m.step for m in store.get_metric_history(run_id, "m")) == list(range(16))
    finally:
        store.close()


@pytest.mark.parametrize("backend_name", ["postgresql", "mariadb"])
def test_connections_of_concurrent_transactions_stay_pooled(backend_name, new_database_uri, tmp_path):
    """A server's handler threads run many transactions at once: their connections are kept for reuse,
    not closed after each transaction past SQLAlchemy's default of 5 (a new server backend each time)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from storekit.backends.sql.engine import SERVER_POOL_SIZE

    store = SqlTrackingStore(new_database_uri(backend_name), default_artifact_root=tmp_path.as_uri())
    try:
        db = store._db
        together = 12
        assert SERVER_POOL_SIZE >= together
        gate = threading.Barrier(together, timeout=60)

        def txn(conn):
            gate.wait()  # every transaction holds its connection at the same time
            return conn.exec_driver_sql("SELECT 1").scalar()

        with ThreadPoolExecutor(together) as pool:
            assert list(pool.map(lambda _i: db.run(txn), range(together))) == [1] * together
        assert db.engine.pool.checkedin() == together  # all kept open, none closed on return
    finally:
        store.close()
