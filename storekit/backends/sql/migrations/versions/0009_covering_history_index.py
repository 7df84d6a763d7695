"""A covering index for metric histories: a 100-point history is read from the index alone.

``ix_metrics_history`` held ``(run_row, key, step, timestamp)``, so each point
of a history cost one table lookup for its value, kind and model id; reading
100 points was bound by those lookups.  ``ix_metrics_history_covering`` holds
every column a history returns, in the order a history is read
(``step, timestamp, id``), so the read is one index range scan with no sort.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_OLD = ("ix_metrics_history", ["run_row", "key", "step", "timestamp"])
_NEW = ("ix_metrics_history_covering", ["run_row", "key", "step", "timestamp", "id", "kind", "value", "model_id"])


def upgrade() -> None:
    op.create_index(_NEW[0], "metrics", _NEW[1])
    op.drop_index(_OLD[0], table_name="metrics")


def downgrade() -> None:
    op.create_index(_OLD[0], "metrics", _OLD[1])
    op.drop_index(_NEW[0], table_name="metrics")
