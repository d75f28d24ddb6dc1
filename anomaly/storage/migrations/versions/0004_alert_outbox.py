"""The alert outbox: one row per notification to send (a new anomaly event, a failed run).

Rows are queued in the transaction that stores what they announce and delivered after it committed,
so a crash in between delays a notification instead of losing it; the unique ``anomaly_id`` keeps an
event from being queued twice. Existing anomalies get no rows: enabling alerts never announces history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from anomaly.storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("anomaly_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_to", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["anomaly_id"], ["anomalies.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("anomaly_id", name="uq_alert_outbox_anomaly"),
    )
    op.create_index("ix_alert_outbox_due", "alert_outbox", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alert_outbox_due", table_name="alert_outbox")
    op.drop_table("alert_outbox")
