"""The tables of the SQL backend at the current schema revision (SQLAlchemy Core).

This module is the one description of the *current* schema: a new database
is created from it (``create_all``) and stamped with :data:`HEAD_REVISION`.
The Alembic migrations under ``migrations/versions`` describe how older
databases get here; a test checks that migrating the first revision to head
gives exactly these tables.

Strings compare and sort by code point on every database: PostgreSQL string
columns use the ``"C"`` collation, MySQL/MariaDB tables a binary no-pad
collation (see :func:`apply_mysql_collation`), SQLite's default is binary.
Child tables reference runs by the integer ``runs.row_id``, which also serves
as the creation bound of keyset pagination.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .basics import BASE_REVISION, HEAD_REVISION, VERSION_TABLE

__all__ = [
    "HEAD_REVISION",
    "BASE_REVISION",
    "VERSION_TABLE",
    "metadata",
    "Str",
    "Txt",
    "RowId",
    "apply_mysql_collation",
    "experiments",
    "experiment_tags",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "datasets",
    "inputs",
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "logged_models",
    "logged_model_tags",
    "logged_model_params",
    "logged_model_metrics",
    "run_outputs",
    "settings",
    "users",
    "tokens",
    "grants",
]


def Str(length: int) -> sa.types.TypeEngine:
    """A VARCHAR that compares by code point on every database."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def Txt() -> sa.types.TypeEngine:
    """A TEXT that compares by code point on every database."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def RowId() -> sa.types.TypeEngine:
    """A 64-bit autoincrement key (SQLite's INTEGER PRIMARY KEY rowid)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def apply_mysql_collation(conn: sa.engine.Connection, table_names: list[str]) -> None:
    """Give MySQL/MariaDB tables a case-sensitive, no-pad, code-point collation."""
    available = {row[0] for row in conn.exec_driver_sql("SHOW COLLATION LIKE 'utf8mb4%%bin'")}
    for candidate in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin"):
        if candidate in available:
            break
    for name in table_names:
        conn.exec_driver_sql(f"ALTER TABLE {name} CONVERT TO CHARACTER SET utf8mb4 COLLATE {candidate}")


metadata = sa.MetaData()
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", Str(500), nullable=False, unique=True),
    sa.Column("artifact_location", Txt(), nullable=False),
    sa.Column("lifecycle_stage", Str(32), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
    # revision 0007: when it was deleted (NULL: active, or deleted before 0007) and when gc began to purge it
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    sa.Column("purge_time", sa.BigInteger, nullable=True),
    **_MYSQL,
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
    sa.Column("key", Str(250), primary_key=True),
    sa.Column("value", Txt(), nullable=False),
    **_MYSQL,
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("row_id", RowId(), primary_key=True, autoincrement=True),
    sa.Column("run_uuid", Str(32), nullable=False, unique=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("name", Str(500), nullable=True),
    sa.Column("user_id", Str(256), nullable=True),
    sa.Column("status", Str(20), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("lifecycle_stage", Str(32), nullable=False),
    sa.Column("artifact_uri", Txt(), nullable=False),
    # revision 0007: when it was deleted (NULL: active, or deleted before 0007) and when gc began to purge it
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    sa.Column("purge_time", sa.BigInteger, nullable=True),
    # revision 0005: the candidate runs of a search come from this index alone
    sa.Index("ix_runs_experiment_stage_start", "experiment_id", "lifecycle_stage", "start_time", "run_uuid"),
    **_MYSQL,
)


def _run_child(name: str, *columns: sa.Column, **kw: object) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True),
        sa.Column("key", Str(250), primary_key=True),
        *columns,
        **_MYSQL,
    )


params = _run_child("params", sa.Column("value", Txt(), nullable=False))
tags = _run_child("tags", sa.Column("value", Txt(), nullable=False))
# revisions 0004/0005: the runs matching a param or tag condition, from the index alone
sa.Index("ix_params_search", params.c.key, params.c.value, params.c.run_row, mysql_length={"value": 255})
sa.Index("ix_tags_search", tags.c.key, tags.c.value, tags.c.run_row, mysql_length={"value": 255})

#: Metric value columns: ``value`` is finite (0 for NaN/inf), ``kind`` orders
#: -inf (0) < finite (1) < +inf (2) < NaN (3), so (step, timestamp, kind, value)
#: is exactly storekit.entities.metric_order_key.
#: ``run_row`` has no foreign key (revision 0004): points are only inserted in
#: the transaction that has locked their run, and a per-row check halved ingest.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", RowId(), primary_key=True, autoincrement=True),
    sa.Column("run_row", RowId(), nullable=False),
    sa.Column("key", Str(250), nullable=False),
    sa.Column("value", sa.Double(), nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("model_id", Str(64), nullable=True),
    # revision 0009: a history (every returned column, in (step, timestamp, id) order) from the index alone
    sa.Index("ix_metrics_history_covering", "run_row", "key", "step", "timestamp", "id", "kind", "value", "model_id"),
    **_MYSQL,
)

latest_metrics = _run_child(
    "latest_metrics",
    sa.Column("value", sa.Double(), nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("model_id", Str(64), nullable=True),
)
# revisions 0004/0005: the runs matching a metric condition, from the index alone
sa.Index(
    "ix_latest_metrics_search",
    latest_metrics.c.key,
    latest_metrics.c.kind,
    latest_metrics.c.value,
    latest_metrics.c.run_row,
)

# --- revision 0002: datasets and run inputs ---------------------------------
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_id", RowId(), primary_key=True, autoincrement=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("name", Str(500), nullable=False),
    sa.Column("digest", Str(64), nullable=False),
    sa.Column("source_type", Str(64), nullable=False),
    sa.Column("source", Txt(), nullable=False),
    sa.Column("schema", Txt(), nullable=True),
    sa.Column("profile", Txt(), nullable=True),
    sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_name_digest"),
    **_MYSQL,
)

inputs = sa.Table(
    "inputs",
    metadata,
    sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True),
    sa.Column("dataset_id", RowId(), sa.ForeignKey("datasets.dataset_id"), primary_key=True),
    sa.Column("context", Str(250), primary_key=True),
    sa.Column("tags_json", Txt(), nullable=False),
    **_MYSQL,
)

# --- registry ----------------------------------------------------------------
registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("model_row", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", Str(500), nullable=False, unique=True),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("description", Txt(), nullable=True),
    sa.Column("next_version", sa.Integer, nullable=False),
    **_MYSQL,
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column("model_row", sa.Integer, sa.ForeignKey("registered_models.model_row"), primary_key=True),
    sa.Column("key", Str(250), primary_key=True),
    sa.Column("value", Txt(), nullable=False),
    **_MYSQL,
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model_row", sa.Integer, sa.ForeignKey("registered_models.model_row"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("description", Txt(), nullable=True),
    sa.Column("user_id", Str(256), nullable=True),
    sa.Column("current_stage", Str(20), nullable=False),
    sa.Column("source", Txt(), nullable=True),
    sa.Column("run_id", Str(32), nullable=True),
    sa.Column("status", Str(32), nullable=False),
    sa.Column("model_id", Str(64), nullable=True),
    **_MYSQL,
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("model_row", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", Str(250), primary_key=True),
    sa.Column("value", Txt(), nullable=False),
    sa.ForeignKeyConstraint(["model_row", "version"], ["model_versions.model_row", "model_versions.version"]),
    **_MYSQL,
)

registered_model_aliases = sa.Table(
    "registered_model_aliases",
    metadata,
    sa.Column("model_row", sa.Integer, sa.ForeignKey("registered_models.model_row"), primary_key=True),
    sa.Column("alias", Str(255), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    **_MYSQL,
)

# --- revision 0003: logged models and run outputs ------------------------------
#: ``model_row`` is the integer key child tables use and the creation bound of
#: keyset pagination; ``model_id`` is the public ``m-<hex>`` id.
logged_models = sa.Table(
    "logged_models",
    metadata,
    sa.Column("model_row", RowId(), primary_key=True, autoincrement=True),
    sa.Column("model_id", Str(64), nullable=False, unique=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
    sa.Column("name", Str(500), nullable=False),
    sa.Column("artifact_location", Txt(), nullable=False),
    sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
    sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
    sa.Column("model_type", Str(500), nullable=True),
    sa.Column("source_run_id", Str(32), nullable=True),
    sa.Column("status", Str(20), nullable=False),
    sa.Column("status_message", Txt(), nullable=True),
    sa.Column("lifecycle_stage", Str(32), nullable=False),
    sa.Index("ix_logged_models_experiment_created", "experiment_id", "creation_timestamp"),
    **_MYSQL,
)


def _model_child(name: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("model_row", RowId(), sa.ForeignKey("logged_models.model_row"), primary_key=True),
        sa.Column("key", Str(250), primary_key=True),
        *columns,
        **_MYSQL,
    )


logged_model_tags = _model_child("logged_model_tags", sa.Column("value", Txt(), nullable=False))
logged_model_params = _model_child("logged_model_params", sa.Column("value", Txt(), nullable=False))
#: The latest point per key of the metrics that named the model (same encoding as ``metrics``).
logged_model_metrics = _model_child(
    "logged_model_metrics",
    sa.Column("value", sa.Double(), nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
)

#: Logged models a run produced, in the order they were first recorded (``position``).
run_outputs = sa.Table(
    "run_outputs",
    metadata,
    sa.Column("run_row", RowId(), sa.ForeignKey("runs.row_id"), primary_key=True),
    sa.Column("model_row", RowId(), sa.ForeignKey("logged_models.model_row"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    **_MYSQL,
)


#: Values of the store itself (``page_token_secret``: the key its page tokens are signed with).
settings = sa.Table(
    "storekit_settings",
    metadata,
    sa.Column("name", Str(64), primary_key=True),
    sa.Column("value", Str(256), nullable=False),
    **_MYSQL,
)


#: Accounts of ``storekit server`` (revision 0008): users with argon2id password hashes,
#: bearer tokens (only their SHA-256), and per-resource grants (see :mod:`storekit.accounts`).
#: No foreign keys to ``storekit_users`` (MySQL cannot re-collate string columns they reference):
#: deleting a user deletes their tokens and grants in the same transaction.
users = sa.Table(
    "storekit_users",
    metadata,
    sa.Column("username", Str(64), primary_key=True),
    sa.Column("password_hash", Str(256), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    **_MYSQL,
)

tokens = sa.Table(
    "storekit_tokens",
    metadata,
    sa.Column("token_id", Str(32), primary_key=True),
    sa.Column("sha256", Str(64), nullable=False, unique=True),
    sa.Column("username", Str(64), nullable=False),
    sa.Column("name", Str(100), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=True),
    **_MYSQL,
)

grants = sa.Table(
    "storekit_grants",
    metadata,
    sa.Column("username", Str(64), primary_key=True),
    sa.Column("kind", Str(32), primary_key=True),
    sa.Column("resource_id", Str(500), primary_key=True),
    sa.Column("permission", Str(32), nullable=False),
    sa.Index("ix_storekit_grants_resource", "kind", "resource_id"),
    **_MYSQL,
)
