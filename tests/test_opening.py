"""Opening stores and backend failures: the defects a new user hit, each reproduced for real.

* a password with an unescaped ``@`` is read the same way by redaction and the driver;
* a read-only SQLite file, a read-only directory, a role without write rights:
  a :class:`StorekitError` without SQL text (real unprivileged processes and real roles);
* read-only commands never create a store at a mistyped path;
* permanent failures (unknown role or database, refused password) are not retried;
* a run ended by Ctrl-C outside a ``with`` block is KILLED;
* ``dir(storekit)`` shows only public names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

import storekit
from storekit.backends.file import FileTrackingStore
from storekit.backends.sql import SqlRegistryStore, SqlTrackingStore
from storekit.backends.sql.engine import Database, to_sqlalchemy_url
from storekit.client import TrackingClient
from storekit.entities import RunStatus
from storekit.errors import BackendUnavailableError, InvalidParameterError, StorekitError, StoreNotFoundError
from storekit.uri import redact_uri
from tests.databases import DatabaseFactory, server_uri

STOREKIT = str(Path(sys.executable).with_name("storekit"))
NOBODY = 65534


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("STOREKIT_")}


def storekit_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``storekit`` console script, run as a user would."""
    return subprocess.run([STOREKIT, *args], cwd=cwd, capture_output=True, text=True, env=_clean_env(), timeout=120)


# --- an unescaped @ in a password ---------------------------------------------------------------


def test_driver_and_redaction_read_the_same_password() -> None:
    url = to_sqlalchemy_url("postgresql://user:pa@ss@db.example:5433/mydb")
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user",
        "pa@ss",
        "db.example",
        5433,
        "mydb",
    )
    assert redact_uri("postgresql://user:pa@ss@db.example:5433/mydb") == "postgresql://user:***@db.example:5433/mydb"
    assert to_sqlalchemy_url("postgresql://user:pa%40ss@h/db").password == "pa@ss"
    assert to_sqlalchemy_url("mysql://u:a/b?c#d@h/db").password == "a/b?c#d"
    assert to_sqlalchemy_url("postgresql://user@h/db").password is None


def test_password_with_an_at_sign_never_reaches_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Database, "attempts", 2)
    monkeypatch.setattr(Database, "backoff", 0.01)
    with pytest.raises(BackendUnavailableError) as err:
        SqlTrackingStore("postgresql://postgres:pa@ss@127.0.0.1:1/test")
    text = str(err.value) + repr(err.value)
    assert "pa@ss" not in text and "ss@" not in text, text
    assert "127.0.0.1" in text and "postgres:***@" in text


# --- read-only files, directories and roles ----------------------------------------------------------

#: run a child without the capabilities that let root ignore file permissions
_UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def run_unprivileged(code: str, cwd: Path) -> dict[str, str]:
    """Run ``code`` in a process that file permissions apply to (even as root); returns its JSON line."""
    prefix = _UNPRIVILEGED if os.geteuid() == 0 else []
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


_TRY_WRITE = """
    import json
    from storekit.plugins import resolve_tracking_store
    try:
        store = resolve_tracking_store({uri!r})
        store.create_experiment("x")
        print(json.dumps({{"outcome": "written"}}))
    except Exception as exc:
        print(json.dumps({{"outcome": type(exc).__name__, "storekit": isinstance(exc, __import__("storekit").StorekitError),
                           "message": str(exc)}}))
"""


def test_read_only_sqlite_file_is_a_storekit_error(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    SqlTrackingStore(f"sqlite:///{db}").close()
    db.chmod(0o444)  # only the database file is read-only
    before = db.read_bytes()
    result = run_unprivileged(_TRY_WRITE.format(uri=f"sqlite:///{db}"), tmp_path)
    assert result["storekit"], result
    assert result["outcome"] == "BackendUnavailableError", result
    assert "read-only" in result["message"] and "INSERT" not in result["message"], result
    assert db.read_bytes() == before


def test_read_only_directory_is_a_storekit_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    FileTrackingStore(str(ro / "existing")).close()
    for path in (ro, ro / "existing"):
        path.chmod(0o555)
    try:
        for uri in (str(ro / "file-store"), f"sqlite:///{ro / 'new.db'}", str(ro / "existing")):
            result = run_unprivileged(_TRY_WRITE.format(uri=uri), tmp_path)
            assert result["storekit"] and result["outcome"] == "BackendUnavailableError", (uri, result)
            assert "SQL" not in result["message"] and "Traceback" not in result["message"], result
        assert "permission denied" in result["message"], result
        assert sorted(p.name for p in ro.iterdir()) == ["existing"]
    finally:
        for path in (ro, ro / "existing"):
            path.chmod(0o755)


@pytest.fixture(params=["postgresql", "mariadb"])
def read_only_role(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """``(owner URI, URI of a role that may read but not write)`` of a storekit database on a server."""
    backend = request.param
    factory = DatabaseFactory(backend, server_uri(backend))
    role, password = f"sk_ro_{uuid.uuid4().hex[:8]}", f"pw{uuid.uuid4().hex[:8]}"
    owner = factory.create()
    SqlTrackingStore(owner).close()
    admin = sa.create_engine(to_sqlalchemy_url(owner), isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(owner)
    with admin.connect() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{url.database}" TO {role}')
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
            conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        else:
            conn.exec_driver_sql(f"CREATE USER '{role}'@'%%' IDENTIFIED BY '{password}'")
            conn.exec_driver_sql(f"GRANT SELECT ON `{url.database}`.* TO '{role}'@'%%'")
    admin.dispose()
    reader = url.set(username=role, password=password).render_as_string(hide_password=False)
    try:
        yield owner, reader
    finally:
        factory.drop_all()
        server = sa.create_engine(to_sqlalchemy_url(server_uri(backend)), isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
            else:
                conn.exec_driver_sql(f"DROP USER IF EXISTS '{role}'@'%%'")
        server.dispose()


def test_role_without_write_rights_is_a_storekit_error(read_only_role: tuple[str, str]) -> None:
    owner, reader = read_only_role
    with SqlTrackingStore(owner) as store:
        exp = store.create_experiment("readable")
    store = SqlTrackingStore(reader)  # opening (and reading) works
    try:
        assert store.get_experiment(exp).name == "readable"
        with pytest.raises(StorekitError) as err:
            store.create_experiment("refused")
        message = str(err.value)
        assert isinstance(err.value, BackendUnavailableError), message
        assert "write" in message, message
        for statement_text in ("INSERT INTO", "[SQL", "VALUES", "SELECT "):  # no statement, only the reason
            assert statement_text not in message, message
        assert sa.engine.make_url(reader).password not in message
        assert err.value.__cause__ is None
    finally:
        store.close()


# --- permanent failures are not retried -----------------------------------------------------------


@pytest.fixture
def counted_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sleeps: list[int] = []
    monkeypatch.setattr(Database, "backoff", 0.01)
    real = Database._sleep
    monkeypatch.setattr(Database, "_sleep", lambda self, attempt: (sleeps.append(attempt), real(self, attempt)))
    return sleeps


@pytest.mark.parametrize(
    "backend, change, error",
    [
        ("postgresql", lambda u: u.set(username="no_such_role_sk"), BackendUnavailableError),
        ("postgresql", lambda u: u.set(database="no_such_database_sk"), StoreNotFoundError),
        ("mariadb", lambda u: u.set(password="wrong-password-sk"), BackendUnavailableError),
        ("mariadb", lambda u: u.set(username="no_such_user_sk", password="pw-sk"), BackendUnavailableError),
        ("mariadb", lambda u: u.set(database="no_such_database_sk"), StoreNotFoundError),
    ],
)
def test_permanent_failures_are_not_retried(backend: str, change, error, counted_sleeps: list[int]) -> None:
    uri = change(sa.engine.make_url(server_uri(backend))).render_as_string(hide_password=False)
    with pytest.raises(error) as err:
        SqlTrackingStore(uri)
    assert counted_sleeps == [], f"a permanent failure was retried: {err.value}"
    assert "wrong-password-sk" not in str(err.value)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_a_request_that_can_never_succeed_is_invalid_at_once(
    backend: str, tmp_path: Path, counted_sleeps: list[int]
) -> None:
    """70,000 experiment ids exceed PostgreSQL's 65,535 bound values: no retries, no "unavailable"."""
    factory = DatabaseFactory(backend, server_uri(backend)) if backend != "sqlite" else None
    uri = factory.create() if factory else f"sqlite:///{tmp_path / 'many.db'}"
    try:
        with SqlTrackingStore(uri) as store:
            exp = store.create_experiment("e")
            run = store.create_run(exp, user_id="u", start_time=None, tags={}, run_name=None)
            ids = [str(i) for i in range(1, 70_001)]
            try:
                found = store.search_runs(ids, max_results=10)
            except InvalidParameterError as exc:
                assert backend == "postgresql" and "65,535" in str(exc), exc
            else:
                assert [r.info.run_id for r in found] == [run.info.run_id]
        assert counted_sleeps == []
    finally:
        if factory:
            factory.drop_all()


def test_transient_failures_are_still_retried(counted_sleeps: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Database, "attempts", 3)
    with pytest.raises(BackendUnavailableError, match="3 attempts"):
        SqlTrackingStore("postgresql://postgres@127.0.0.1:1/test")
    assert counted_sleeps == [0, 1]


# --- read-only commands do not create stores ----------------------------------------------------------


@pytest.mark.parametrize("target", ["sqlite:///typo.db", "typo-store", " "])
@pytest.mark.parametrize(
    "command",
    [
        ("experiments", "list"),
        ("runs", "list", "-e", "0"),
        ("runs", "search", "-e", "0"),
        ("models", "list"),
        ("runs", "show", "0" * 32),
        ("check",),
    ],
)
def test_read_only_commands_do_not_create_stores(tmp_path: Path, target: str, command: tuple[str, ...]) -> None:
    if command == ("check",):
        args = ["check", target]
    elif command[0] == "models":
        args = ["--registry-uri", target, *command]
    else:
        args = ["--tracking-uri", target, *command]
    proc = storekit_cli(tmp_path, *args)
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    assert "no storekit store" in proc.stderr or "does not exist" in proc.stdout + proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == [], f"storekit {' '.join(args)} created {list(tmp_path.iterdir())}"


def test_read_only_client_reads_an_existing_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'real.db'}"
    with TrackingClient(uri) as writer:
        writer.create_experiment("present")
    with TrackingClient(uri, create_stores=False) as reader:
        assert [e.name for e in reader.search_experiments()] == ["present"]
    with pytest.raises(StoreNotFoundError, match="does not exist"):
        TrackingClient(f"sqlite:///{tmp_path / 'missing.db'}", create_stores=False).search_experiments()
    with pytest.raises(StoreNotFoundError):
        SqlRegistryStore(f"sqlite:///{tmp_path / 'missing.db'}", create=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.db"]


# --- Ctrl-C outside a with block ---------------------------------------------------------------------


@pytest.mark.parametrize("in_with_block", [False, True])
@pytest.mark.parametrize(
    "ending, status",
    [
        ("raise KeyboardInterrupt", RunStatus.KILLED),
        ("raise RuntimeError('boom')", RunStatus.FAILED),
        ("pass", RunStatus.FINISHED),
    ],
)
def test_how_the_program_ended_decides_the_status_of_an_open_run(
    tmp_path: Path, ending: str, status: RunStatus, in_with_block: bool
) -> None:
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    start = "with fluent.start_run() as run:" if in_with_block else "if True:\n    run = fluent.start_run()"
    script = (
        "import storekit.fluent as fluent\n"
        f"fluent.set_tracking_uri({uri!r})\n"
        f"{start}\n"
        "    print(run.info.run_id, flush=True)\n"
        f"    {ending}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=120
    )
    run_id = proc.stdout.strip().splitlines()[-1]
    info = TrackingClient(uri).get_run(run_id).info
    assert info.status == status and info.end_time is not None


# --- the package's public face ------------------------------------------------------------------------


def test_dir_shows_only_public_names() -> None:
    names = set(dir(storekit))
    assert not names & {"Any", "importlib", "annotations", "TYPE_CHECKING"}, sorted(names)
    assert {"TrackingClient", "ForeignStoreError", "StoreNotFoundError", "resolve_tracking_store"} <= names
    assert storekit.TrackingClient is TrackingClient


def test_plugin_guide_documents_the_integrity_hook_and_create() -> None:
    guide = (Path(__file__).resolve().parents[1] / "docs" / "writing-a-plugin.md").read_text()
    for needle in ("check_integrity", "IntegrityReport", "create=False", "ForeignStoreError", "StoreNotFoundError"):
        assert needle in guide, needle
