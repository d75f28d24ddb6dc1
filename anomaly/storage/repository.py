"""Reads the pipeline needs before it works on a stream: its row, watermark and active model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from anomaly.storage.schema import Model, Stream


@dataclass(frozen=True)
class StreamState:
    """What the database knows of a stream: ``None`` fields when it has never been seen."""

    stream_id: int | None
    last_scored_ts: datetime | None
    active_model_id: int | None
    active_model_artifact: str | None
    latest_version: int


def stream_state(connection: Connection, name: str) -> StreamState:
    """The stored state of stream ``name`` (all ``None`` and version 0 for a new stream)."""
    stream = connection.execute(select(Stream.id, Stream.last_scored_ts).where(Stream.name == name)).first()
    if stream is None:
        return StreamState(None, None, None, None, 0)
    active = connection.execute(
        select(Model.id, Model.artifact).where(Model.stream_id == stream.id, Model.active.is_(True))
    ).first()
    latest = connection.execute(select(func.max(Model.version)).where(Model.stream_id == stream.id)).scalar()
    return StreamState(
        stream_id=stream.id,
        last_scored_ts=stream.last_scored_ts,
        active_model_id=active.id if active else None,
        active_model_artifact=active.artifact if active else None,
        latest_version=latest or 0,
    )
