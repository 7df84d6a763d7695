"""Every SQL statement is bounded by the statement timeout, and a stopped statement is not retried."""

from __future__ import annotations

import time

import pytest

from storekit.backends.sql.engine import Database, statement_timeout
from storekit.errors import BackendUnavailableError

#: A statement that runs for minutes: a recursive count to 10^9 (MariaDB caps recursion at
#: max_recursive_iterations, so there it is a 10^10-row join of its sequence tables).
ENDLESS = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT count(*) FROM c"
ENDLESS_MARIADB = "SELECT count(*) FROM seq_1_to_100000 a, seq_1_to_100000 b WHERE a.seq + b.seq > 7"


def test_a_long_statement_is_stopped_with_a_typed_error_and_not_retried(db_uri: str) -> None:
    db = Database(db_uri, statement_timeout=0.5)
    try:
        assert db.run(lambda conn: conn.exec_driver_sql("SELECT 1").scalar(), write=False) == 1
        started = time.monotonic()
        endless = ENDLESS_MARIADB if db.dialect == "mysql" else ENDLESS
        with pytest.raises(BackendUnavailableError, match=r"statement timeout of 0.5 s") as info:
            db.run(lambda conn: conn.exec_driver_sql(endless).scalar(), write=False)
        elapsed = time.monotonic() - started
        assert "STOREKIT_SQL_STATEMENT_TIMEOUT" in str(info.value)
        assert "SELECT" not in str(info.value)  # never SQL text
        # one attempt: a retried timeout would take at least six times as long
        assert elapsed < 2.5 * 1 + 0.5 * 5, elapsed
        # the connection is usable again afterwards
        assert db.run(lambda conn: conn.exec_driver_sql("SELECT 2").scalar(), write=False) == 2
    finally:
        db.dispose()


def test_the_timeout_comes_from_the_environment_with_a_safe_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREKIT_SQL_STATEMENT_TIMEOUT", raising=False)
    assert statement_timeout() == 120.0
    monkeypatch.setenv("STOREKIT_SQL_STATEMENT_TIMEOUT", "7.5")
    assert statement_timeout() == 7.5
    monkeypatch.setenv("STOREKIT_SQL_STATEMENT_TIMEOUT", "0")
    assert statement_timeout() is None  # explicitly off
    monkeypatch.setenv("STOREKIT_SQL_STATEMENT_TIMEOUT", "soon")
    assert statement_timeout() == 120.0  # a typo never turns the bound off
    assert statement_timeout(3) == 3.0
