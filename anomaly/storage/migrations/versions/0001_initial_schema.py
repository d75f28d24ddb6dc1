"""Initial schema: runs, streams, models, scores, anomalies, windows (PRODUCT.md).

Revision ID: 0001
Revises:
Create Date: 2026-11-27 02:45:39.199942
"""

import sqlalchemy as sa
from alembic import op

from anomaly.storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("n_streams", sa.Integer(), nullable=False),
        sa.Column("n_windows", sa.Integer(), nullable=False),
        sa.Column("n_anomalies", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("frequency", sa.String(length=32), nullable=True),
        sa.Column("first_ts", UTCDateTime(), nullable=True),
        sa.Column("last_ts", UTCDateTime(), nullable=True),
        sa.Column("last_scored_ts", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("trained_from", UTCDateTime(), nullable=False),
        sa.Column("trained_to", UTCDateTime(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("threshold_method", sa.String(length=32), nullable=False),
        sa.Column("val_loss", sa.Float(), nullable=True),
        sa.Column("artifact", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stream_id", "version", name="uq_models_stream_version"),
    )
    op.create_index(op.f("ix_models_stream_id"), "models", ["stream_id"], unique=False)
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("start_ts", UTCDateTime(), nullable=False),
        sa.Column("end_ts", UTCDateTime(), nullable=False),
        sa.Column("peak_ts", UTCDateTime(), nullable=False),
        sa.Column("peak_error", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("severity", sa.Float(), nullable=False),
        sa.Column("n_windows", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_anomalies_run_id"), "anomalies", ["run_id"], unique=False)
    op.create_index("ix_anomalies_stream_start", "anomalies", ["stream_id", "start_ts"], unique=False)
    op.create_table(
        "scores",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("values", sa.JSON(), nullable=True),
        sa.Column("error", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("is_anomaly", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("stream_id", "ts", "model_id"),
    )
    op.create_index(op.f("ix_scores_run_id"), "scores", ["run_id"], unique=False)
    op.create_index("ix_scores_stream_ts", "scores", ["stream_id", "ts"], unique=False)
    op.create_table(
        "windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("start_ts", UTCDateTime(), nullable=False),
        sa.Column("end_ts", UTCDateTime(), nullable=False),
        sa.Column("error", sa.Float(), nullable=False),
        sa.Column("is_anomaly", sa.Boolean(), nullable=False),
        sa.Column("anomaly_id", sa.Integer(), nullable=True),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("reconstruction", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["anomaly_id"],
            ["anomalies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_windows_anomaly_id"), "windows", ["anomaly_id"], unique=False)
    op.create_index(op.f("ix_windows_run_id"), "windows", ["run_id"], unique=False)
    op.create_index("ix_windows_stream_start", "windows", ["stream_id", "start_ts"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_windows_stream_start", table_name="windows")
    op.drop_index(op.f("ix_windows_run_id"), table_name="windows")
    op.drop_index(op.f("ix_windows_anomaly_id"), table_name="windows")
    op.drop_table("windows")
    op.drop_index("ix_scores_stream_ts", table_name="scores")
    op.drop_index(op.f("ix_scores_run_id"), table_name="scores")
    op.drop_table("scores")
    op.drop_index("ix_anomalies_stream_start", table_name="anomalies")
    op.drop_index(op.f("ix_anomalies_run_id"), table_name="anomalies")
    op.drop_table("anomalies")
    op.drop_index(op.f("ix_models_stream_id"), table_name="models")
    op.drop_table("models")
    op.drop_table("streams")
    op.drop_table("runs")
