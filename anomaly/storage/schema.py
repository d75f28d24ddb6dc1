"""The database schema of PRODUCT.md, as SQLAlchemy 2 typed models.

SQL users, the dashboard and the pipeline all rely on these names: add columns freely, but renaming or
removing one is a breaking change. Every timestamp is UTC. JSON columns hold lists and objects so the
same schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anomaly.storage.types import UTCDateTime

RUN_STATUSES = ("running", "succeeded", "failed")
ANOMALY_STATUSES = ("open", "confirmed", "dismissed")
ALERT_KINDS = ("anomaly", "run_failed")
ALERT_STATUSES = ("pending", "sent")


class Base(DeclarativeBase):
    """Declarative base holding the metadata that Alembic migrations mirror."""


class Run(Base):
    """One invocation of ``anomaly run``/``train``/``score``: what ran, on what config, and how it ended."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    command: Mapped[str] = mapped_column(String(32), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    n_streams: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    n_windows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    n_anomalies: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Stream(Base):
    """One sensor stream; ``last_scored_ts`` is the watermark that makes runs incremental."""

    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(512), unique=True, nullable=False)
    channels: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    frequency: Mapped[str | None] = mapped_column(String(32))
    first_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_scored_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Model(Base):
    """One trained model version of a stream; exactly one per stream is ``active``."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("stream_id", "version", name="uq_models_stream_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    trained_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    trained_to: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    threshold_method: Mapped[str] = mapped_column(String(32), nullable=False)
    val_loss: Mapped[float | None] = mapped_column(Float)
    artifact: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Score(Base):
    """One scored timestamp: its value(s), the error there, and whether it lies in a flagged window.

    The primary key (stream_id, ts, model_id) is also the index for reading a stream's time range; no
    other index on (stream_id, ts) is kept, as each one slows the bulk inserts of every run.
    """

    __tablename__ = "scores"

    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    values: Mapped[list[float] | None] = mapped_column(JSON)
    error: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    is_anomaly: Mapped[bool] = mapped_column(Boolean, nullable=False)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), nullable=False, index=True)


class Anomaly(Base):
    """One anomaly event: adjacent flagged windows merged, with its peak and an analyst's verdict."""

    __tablename__ = "anomalies"
    __table_args__ = (Index("ix_anomalies_stream_start", "stream_id", "start_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), nullable=False)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), nullable=False, index=True)
    start_ts: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_ts: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    peak_ts: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    peak_error: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    severity: Mapped[float] = mapped_column(Float, nullable=False)
    n_windows: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    note: Mapped[str | None] = mapped_column(Text)
    verdict_by: Mapped[str | None] = mapped_column(String(256))
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Window(Base):
    """A stored window with its encoder embedding: every flagged window plus a regular normal sample."""

    __tablename__ = "windows"
    __table_args__ = (Index("ix_windows_stream_start", "stream_id", "start_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), nullable=False)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False, index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), nullable=False, index=True)
    start_ts: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_ts: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    error: Mapped[float] = mapped_column(Float, nullable=False)
    is_anomaly: Mapped[bool] = mapped_column(Boolean, nullable=False)
    anomaly_id: Mapped[int | None] = mapped_column(ForeignKey("anomalies.id"), index=True)
    embedding: Mapped[list[float]] = mapped_column(JSON, nullable=False)
    cluster: Mapped[int | None] = mapped_column(Integer)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    reconstruction: Mapped[list[list[float]] | None] = mapped_column(JSON)


class AlertOutbox(Base):
    """One notification to send: a new anomaly event or a failed run, queued in the transaction that
    stored it and delivered after that transaction committed (the outbox pattern, ``anomaly.alerts``).

    ``delivered_to`` holds fingerprints of the notification URLs that have it, so a retry reaches only
    the URLs that missed it; the row is ``sent`` once every configured URL has it.
    """

    __tablename__ = "alert_outbox"
    __table_args__ = (
        UniqueConstraint("anomaly_id", name="uq_alert_outbox_anomaly"),
        Index("ix_alert_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), nullable=False)
    anomaly_id: Mapped[int | None] = mapped_column(ForeignKey("anomalies.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_to: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
