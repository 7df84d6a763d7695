"""Secrets: no password appears in any error message, log record, repr or command output.

PostgreSQL and MariaDB here use trust/empty passwords, so each test creates a
dedicated user WITH a unique password, runs a workload with it - successes,
refusals, a wrong password, an unreachable port, ``storekit check`` - while
capturing every log record, and drops the user afterwards.  The artifact
servers' credentials (S3 keys, Azure account keys and SAS tokens, SFTP
passwords and passphrases) are checked the same way by
``tests/artifacts/remote_behaviour.py::test_secrets_never_shown`` and
``tests/artifacts/test_sftp.py``.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from storekit.backends.sql.engine import Database, to_sqlalchemy_url
from storekit.cli import cli
from storekit.entities import ExperimentTag, Metric, Param
from storekit.errors import StorekitError
from storekit.integrity import check_store
from storekit.plugins import resolve_registry_store, resolve_tracking_store
from tests.databases import server_uri

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def secret_uri(backend: str) -> Iterator[tuple[str, str]]:
    """``(uri, password)`` of a new database owned by a new user with a unique password."""
    password = f"sk-Secret-{uuid.uuid4().hex[:16]}"
    user = f"sk_user_{uuid.uuid4().hex[:8]}"
    name = f"storekit_secret_{uuid.uuid4().hex[:8]}"
    base = server_uri(backend)
    admin = sa.create_engine(to_sqlalchemy_url(base), isolation_level="AUTOCOMMIT")
    if backend == "postgresql":
        setup = [f"CREATE ROLE {user} LOGIN PASSWORD '{password}'", f'CREATE DATABASE "{name}" OWNER {user}']
        teardown = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f"DROP ROLE IF EXISTS {user}"]
    else:
        setup = [f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"]
        teardown = [f"DROP DATABASE IF EXISTS `{name}`"]
        for host in ("%", "localhost", "127.0.0.1"):
            setup += [
                f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'",
                f"GRANT ALL ON `{name}`.* TO '{user}'@'{host}'",
            ]
            teardown.append(f"DROP USER IF EXISTS '{user}'@'{host}'")
    try:
        with admin.connect() as conn:
            for sql in setup:
                conn.execute(sa.text(sql))
        url = make_url(base).set(username=user, password=password, database=name)
        yield url.render_as_string(hide_password=False), password
    finally:
        with admin.connect() as conn:
            for sql in teardown:
                conn.execute(sa.text(sql))
        admin.dispose()


def _error_texts(exc: BaseException) -> list[str]:
    out, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out += [str(exc), repr(exc)]
        exc = exc.__cause__ or exc.__context__
    return out


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_database_password_never_shown(secret_uri: tuple[str, str], backend: str, caplog, totals: Counter) -> None:
    uri, password = secret_uri
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    store, registry = resolve_tracking_store(uri), resolve_registry_store(uri)
    shown += [repr(store), str(store), repr(registry), repr(Database(uri))]
    experiment_id = store.create_experiment("secret")
    run_id = store.create_run(experiment_id).info.run_id
    store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("p", "a")])
    bad_url = make_url(uri)
    calls = [
        lambda: store.create_experiment("secret"),
        lambda: store.log_batch(run_id, params=[Param("p", "b")]),
        lambda: store.log_batch(run_id, params=[Param("p" * 300, "b")]),
        lambda: store.get_run("0" * 32),
        lambda: store.search_runs([experiment_id], filter_string=f"params.p = '{password}' AND"),
        lambda: store.set_experiment_tag("999999", ExperimentTag("k", "v")),
        lambda: registry.get_registered_model("missing"),
        lambda: resolve_tracking_store(bad_url.set(port=1).render_as_string(hide_password=False)),
        lambda: resolve_tracking_store(bad_url.set(database="no_such_db_x").render_as_string(hide_password=False)),
    ]
    if backend == "mariadb":  # PostgreSQL here trusts every local password
        calls.append(
            lambda: resolve_tracking_store(
                bad_url.set(password=password + "-wrong").render_as_string(hide_password=False)
            )
        )
    errors = 0
    for call in calls:
        with pytest.raises(StorekitError) as info:
            call()
        shown += _error_texts(info.value)
        errors += 1
    report = check_store(uri)
    shown += [str(report.to_dict())]
    result = CliRunner().invoke(cli, ["check", uri])
    shown.append(result.output)
    result = CliRunner().invoke(
        cli, ["--tracking-uri", bad_url.set(port=1).render_as_string(hide_password=False), "experiments", "list"]
    )
    shown.append(result.output)
    store.close()
    registry.close()
    shown += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    text = "\n".join(shown)
    assert password not in text
    assert report.ok
    print(
        f"\n[{backend}] secrets: {errors} errors, {len(caplog.records)} log records, "
        f"{len(shown)} texts scanned; password never shown"
    )
    totals.update({"secret scans (texts)": len(shown)})
