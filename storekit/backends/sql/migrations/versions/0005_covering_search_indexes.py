"""Covering search indexes: a filter is answered from indexes alone.

The indexes of revision 0004 lacked the run reference, so every matching
index entry cost a table lookup (a filter on a metric of 100,000 runs read
100,000 table rows).  They now end in ``run_row``, and the runs index leads
with ``(experiment_id, lifecycle_stage)``, so the candidate runs of a search
and the run sets of its conditions come from index entries only.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: tables whose ``value`` is TEXT, which MySQL/MariaDB index by prefix only
_TEXT_VALUES = {"params", "tags"}
#: (old name, new name, table, new columns)
_CHANGES = (
    ("ix_runs_experiment_start", "ix_runs_experiment_stage_start", "runs",
     ["experiment_id", "lifecycle_stage", "start_time", "run_uuid"]),
    ("ix_latest_metrics_key_value", "ix_latest_metrics_search", "latest_metrics",
     ["key", "kind", "value", "run_row"]),
    ("ix_params_key_value", "ix_params_search", "params", ["key", "value", "run_row"]),
    ("ix_tags_key_value", "ix_tags_search", "tags", ["key", "value", "run_row"]),
)
_OLD_COLUMNS = {
    "ix_runs_experiment_start": ["experiment_id", "start_time", "run_uuid"],
    "ix_latest_metrics_key_value": ["key", "kind", "value"],
    "ix_params_key_value": ["key", "value"],
    "ix_tags_key_value": ["key", "value"],
}


def _prefix(table: str) -> dict:
    return {"mysql_length": {"value": 255}} if table in _TEXT_VALUES else {}


def upgrade() -> None:
    for old, new, table, columns in _CHANGES:
        # create first: on MySQL/MariaDB the runs index backs the experiments foreign key
        op.create_index(new, table, columns, **_prefix(table))
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for old, new, table, _columns in _CHANGES:
        op.create_index(old, table, _OLD_COLUMNS[old], **_prefix(table))
        op.drop_index(new, table_name=table)
