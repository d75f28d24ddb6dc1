"""Indexes for the dashboard's and SQL users' common filters; drop the one the primary key duplicates.

- ``ix_anomalies_status``: anomalies by verdict (the dashboard's status filter, the count of reviewed
  anomalies it polls, the confirmed spans that retraining leaves out).
- ``ix_windows_model_id``: windows by model version (embeddings are only comparable within one model),
  and deleting a model no longer scans every window.
- ``ix_scores_stream_ts`` goes: the primary key (stream_id, ts, model_id) already serves every lookup by
  stream and time range, and each extra index on ``scores``, the bulk table, slows every run's writes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_anomalies_status", "anomalies", ["status"], unique=False)
    op.create_index("ix_windows_model_id", "windows", ["model_id"], unique=False)
    op.drop_index("ix_scores_stream_ts", table_name="scores")


def downgrade() -> None:
    op.create_index("ix_scores_stream_ts", "scores", ["stream_id", "ts"], unique=False)
    op.drop_index("ix_windows_model_id", table_name="windows")
    op.drop_index("ix_anomalies_status", table_name="anomalies")
