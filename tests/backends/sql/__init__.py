"""Tests of the SQL backend (SQLite, PostgreSQL, MariaDB)."""
