"""Who set an anomaly's verdict and when: the signed-in analyst's name and the time of the change.

Both columns are nullable: anomalies reviewed before this revision, and open ones, have neither.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from anomaly.storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(sa.Column("verdict_by", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("verdict_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("verdict_at")
        batch.drop_column("verdict_by")
