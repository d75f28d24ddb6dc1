"""Reads the pipeline needs before it works on a stream: its row, watermark, active model and the
analyst verdicts that shape its next training data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, select

from anomaly.results import OpenEvent
from anomaly.storage.schema import Anomaly, Model, Stream, Window

EXCLUDED_FROM_TRAINING = ("confirmed",)
"""Anomaly statuses whose rows are kept out of a stream's retraining data.

Confirmed anomalies are real faults: training on them would teach the model that they are normal.
Dismissed ones are false alarms, i.e. normal behaviour the model had not learnt yet; keeping them in
the training data is exactly what stops the next version from flagging them again.
"""


@dataclass(frozen=True)
class ActiveModelInfo:
    """What retraining decisions need to know of a stream's active model version.

    ``created_at`` is when it was trained (UTC), ``trained_from`` and ``trained_to`` the first and last
    timestamps of its training data, ``reference_errors`` the quantiles of its held-out window errors
    (empty for models recorded before they were kept).
    """

    model_id: int
    version: int
    created_at: datetime
    trained_from: datetime
    trained_to: datetime
    artifact: str
    reference_errors: tuple[float, ...]


@dataclass(frozen=True)
class StreamState:
    """What the database knows of a stream: ``None`` fields when it has never been seen.

    ``confirmed_spans`` are the (start, end) timestamps of anomalies an analyst confirmed, which
    retraining keeps out of the training data (see ``EXCLUDED_FROM_TRAINING``). ``frequency`` (the
    grid step, as ``streams.frequency`` writes it) and ``channels`` are those of the last run.
    ``open_event`` is the latest anomaly the active model raised, which new flagged windows of that
    model may continue (``anomaly.results.OpenEvent``); ``stream_state`` leaves it unread (the read
    plan does not need it), ``with_open_event`` adds it for the stream's job.
    """

    stream_id: int | None
    last_scored_ts: datetime | None
    latest_version: int
    active_model: ActiveModelInfo | None = None
    confirmed_spans: tuple[tuple[datetime, datetime], ...] = ()
    frequency: str | None = None
    channels: tuple[str, ...] | None = None
    open_event: OpenEvent | None = None

    @property
    def active_model_id(self) -> int | None:
        """Id of the model scoring this stream now, if any."""
        return self.active_model.model_id if self.active_model else None


def stream_state(connection: Connection, name: str) -> StreamState:
    """The stored state of stream ``name`` (all ``None`` and version 0 for a new stream)."""
    stream = connection.execute(
        select(Stream.id, Stream.last_scored_ts, Stream.frequency, Stream.channels).where(Stream.name == name)
    ).first()
    if stream is None:
        return StreamState(None, None, 0)
    active = active_model_info(connection, stream.id)
    latest = connection.execute(select(func.max(Model.version)).where(Model.stream_id == stream.id)).scalar()
    return StreamState(
        stream_id=stream.id,
        last_scored_ts=stream.last_scored_ts,
        latest_version=latest or 0,
        active_model=active,
        confirmed_spans=tuple(reviewed_anomaly_spans(connection, stream.id)),
        frequency=stream.frequency,
        channels=tuple(stream.channels),
    )


def with_open_event(connection: Connection, state: StreamState) -> StreamState:
    """``state`` with its ``open_event``: the latest anomaly of its active model, if any."""
    if state.stream_id is None or state.active_model is None:
        return state
    return replace(state, open_event=latest_anomaly(connection, state.stream_id, state.active_model.model_id))


def latest_anomaly(connection: Connection, stream_id: int, model_id: int) -> OpenEvent | None:
    """The latest anomaly that model ``model_id`` raised on stream ``stream_id``, with the start of its
    last flagged window (two indexed lookups, whatever the history's length)."""
    anomaly = connection.execute(
        select(Anomaly.id, Anomaly.severity)
        .where(Anomaly.stream_id == stream_id, Anomaly.model_id == model_id)
        .order_by(Anomaly.start_ts.desc(), Anomaly.id.desc())
        .limit(1)
    ).first()
    if anomaly is None:
        return None
    last_window_start = connection.execute(
        select(func.max(Window.start_ts)).where(Window.anomaly_id == anomaly.id)
    ).scalar()
    if last_window_start is None:
        return None
    return OpenEvent(
        last_window_start=pd.Timestamp(last_window_start), severity=anomaly.severity, anomaly_id=anomaly.id
    )


def stream_names(connection: Connection) -> list[str]:
    """Every stream the database knows, by name."""
    return list(connection.execute(select(Stream.name).order_by(Stream.name)).scalars())


def active_model_info(connection: Connection, stream_id: int | None) -> ActiveModelInfo | None:
    """The active model version of stream ``stream_id``; ``None`` for a new stream or one without."""
    if stream_id is None:
        return None
    row = connection.execute(
        select(
            Model.id,
            Model.version,
            Model.created_at,
            Model.trained_from,
            Model.trained_to,
            Model.artifact,
            Model.params,
        ).where(Model.stream_id == stream_id, Model.active.is_(True))
    ).first()
    if row is None:
        return None
    return ActiveModelInfo(
        model_id=row.id,
        version=row.version,
        created_at=row.created_at,
        trained_from=row.trained_from,
        trained_to=row.trained_to,
        artifact=row.artifact,
        reference_errors=tuple(float(error) for error in (row.params or {}).get("reference_errors", [])),
    )


def reviewed_anomaly_spans(
    connection: Connection, stream_id: int | None, statuses: Sequence[str] = EXCLUDED_FROM_TRAINING
) -> list[tuple[datetime, datetime]]:
    """The (start_ts, end_ts) of the stream's anomalies with one of ``statuses``, in time order.

    By default only confirmed anomalies, the ones retraining must not learn from; dismissed false
    alarms stay in the training data on purpose (see ``EXCLUDED_FROM_TRAINING``).
    """
    if stream_id is None:
        return []
    rows = connection.execute(
        select(Anomaly.start_ts, Anomaly.end_ts)
        .where(Anomaly.stream_id == stream_id, Anomaly.status.in_(list(statuses)))
        .distinct()
        .order_by(Anomaly.start_ts, Anomaly.end_ts)
    )
    return [(row.start_ts, row.end_ts) for row in rows]
