"""Writing one stream's results in one transaction, so a failure leaves no partial rows.

Rows are inserted in bulk rather than through ORM ``add`` loops: the scores, most of the rows, through
``score_rows.insert_scores`` (binary COPY on PostgreSQL, a plain executemany on SQLite); windows and
anomalies, a few per stream, with Core ``insert``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, select, update

from anomaly.data.types import PreparedStream
from anomaly.results import Event, StreamAnalysis
from anomaly.storage.outbox import queue_anomaly_alerts
from anomaly.storage.schema import Anomaly, Model, Stream, Window
from anomaly.storage.score_rows import ScoreRows, insert_scores


@dataclass(frozen=True)
class NewModel:
    """A model version trained in this run, to be recorded (and made active) with the stream's results."""

    version: int
    trained_from: datetime
    trained_to: datetime
    params: dict[str, Any]
    threshold: float
    threshold_method: str
    val_loss: float | None
    artifact: str


@dataclass(frozen=True)
class WrittenCounts:
    """How many rows one stream added, for the ``runs`` row and the log."""

    scores: int
    windows: int
    anomalies: int


def write_stream_results(
    connection: Connection,
    *,
    run_id: int,
    stream: PreparedStream,
    new_model: NewModel | None,
    active_model_id: int | None,
    analysis: StreamAnalysis | None,
    alert_min_severity: float | None = None,
) -> WrittenCounts:
    """Record ``stream``, an optional new model version and an optional analysis, inside the caller's
    transaction. Exactly one of ``new_model`` and ``active_model_id`` names the model in use.

    With ``alert_min_severity`` set, every new event at least that severe gets its notification queued
    in the alert outbox, in this same transaction: the event and its alert are stored together or not
    at all. An event that continues the stream's open anomaly (``Event.continues``) extends that row
    and is neither counted nor alerted again."""
    stream_id = _upsert_stream(connection, stream)
    model_id = _insert_model(connection, stream_id, new_model) if new_model else active_model_id
    if analysis is None or model_id is None:
        return WrittenCounts(0, 0, 0)
    # Rows are turned into datetimes only where a row is written: a long history scored a few rows at
    # a time must not pay for converting all of it on every run.
    timestamps = stream.values.index
    n_scores = _insert_scores(connection, run_id, stream_id, model_id, stream, analysis)
    anomaly_ids = _write_anomalies(connection, run_id, stream_id, model_id, analysis, timestamps)
    new_events = [
        (anomaly_id, event)
        for anomaly_id, event in zip(anomaly_ids, analysis.events, strict=True)
        if not event.continues
    ]
    if alert_min_severity is not None:
        alerted = [anomaly_id for anomaly_id, event in new_events if event.severity >= alert_min_severity]
        queue_anomaly_alerts(connection, run_id, alerted, datetime.now(UTC))
    n_windows = _insert_windows(connection, run_id, stream_id, model_id, analysis, anomaly_ids, timestamps)
    scored_rows = analysis.scored_rows
    if len(scored_rows):
        last_scored_ts = timestamps[scored_rows[-1]].to_pydatetime()
        connection.execute(update(Stream).where(Stream.id == stream_id).values(last_scored_ts=last_scored_ts))
    return WrittenCounts(scores=n_scores, windows=n_windows, anomalies=len(new_events))


def _upsert_stream(connection: Connection, stream: PreparedStream) -> int:
    index = stream.values.index
    first_ts, last_ts = index[0].to_pydatetime(), index[-1].to_pydatetime()
    fields = {"channels": stream.channels, "frequency": _frequency_label(stream.frequency.total_seconds())}
    existing = connection.execute(
        select(Stream.id, Stream.first_ts, Stream.last_ts).where(Stream.name == stream.name)
    ).first()
    if existing is None:
        return connection.execute(
            insert(Stream)
            .values(name=stream.name, first_ts=first_ts, last_ts=last_ts, **fields)
            .returning(Stream.id)
        ).scalar_one()
    # A source that now holds only part of the history (old files rotated away, late rows) must not
    # shrink the span the stream is known to cover.
    first_ts = min(existing.first_ts, first_ts) if existing.first_ts else first_ts
    last_ts = max(existing.last_ts, last_ts) if existing.last_ts else last_ts
    connection.execute(
        update(Stream).where(Stream.id == existing.id).values(first_ts=first_ts, last_ts=last_ts, **fields)
    )
    return existing.id


def _frequency_label(seconds: float) -> str:
    """A readable sampling interval such as '10min', '1h' or '30s'."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _insert_model(connection: Connection, stream_id: int, model: NewModel) -> int:
    connection.execute(update(Model).where(Model.stream_id == stream_id).values(active=False))
    return connection.execute(
        insert(Model)
        .values(
            stream_id=stream_id,
            version=model.version,
            created_at=datetime.now(UTC),
            trained_from=model.trained_from,
            trained_to=model.trained_to,
            params=model.params,
            threshold=model.threshold,
            threshold_method=model.threshold_method,
            val_loss=model.val_loss,
            artifact=model.artifact,
            active=True,
        )
        .returning(Model.id)
    ).scalar_one()


def _insert_scores(
    connection: Connection,
    run_id: int,
    stream_id: int,
    model_id: int,
    stream: PreparedStream,
    analysis: StreamAnalysis,
) -> int:
    rows = analysis.scored_rows
    return insert_scores(
        connection,
        ScoreRows(
            stream_id=stream_id,
            model_id=model_id,
            run_id=run_id,
            threshold=float(analysis.threshold),
            timestamps=stream.values.index[rows],
            values=stream.values.to_numpy(dtype=float)[rows],
            errors=analysis.row_errors[rows],
        ),
    )


def _write_anomalies(
    connection: Connection,
    run_id: int,
    stream_id: int,
    model_id: int,
    analysis: StreamAnalysis,
    timestamps: pd.DatetimeIndex,
) -> list[int]:
    """The anomaly row of each event: a new one, or, for an event that continues the open anomaly,
    that row extended (``_extend_anomaly``)."""
    ids = []
    for event in analysis.events:
        if event.continues and analysis.open_event is not None:
            open_id = analysis.open_event.anomaly_id
            ids.append(_extend_anomaly(connection, open_id, event, analysis, timestamps))
            continue
        ids.append(
            connection.execute(
                insert(Anomaly)
                .values(
                    stream_id=stream_id,
                    model_id=model_id,
                    run_id=run_id,
                    start_ts=timestamps[event.first_row].to_pydatetime(),
                    end_ts=timestamps[event.last_row].to_pydatetime(),
                    peak_ts=timestamps[event.peak_row].to_pydatetime(),
                    peak_error=event.peak_error,
                    threshold=analysis.threshold,
                    severity=event.severity,
                    n_windows=event.n_windows,
                    status="open",
                )
                .returning(Anomaly.id)
            ).scalar_one()
        )
    return ids


def _extend_anomaly(
    connection: Connection,
    anomaly_id: int,
    event: Event,
    analysis: StreamAnalysis,
    timestamps: pd.DatetimeIndex,
) -> int:
    """Extend stored anomaly ``anomaly_id`` by ``event``, its continuation: a later end, more windows,
    and its peak where the continuation rises higher. Its run, model and analyst status stay."""
    stored = connection.execute(
        select(Anomaly.end_ts, Anomaly.severity, Anomaly.n_windows).where(Anomaly.id == anomaly_id)
    ).one()
    fields: dict[str, Any] = {
        "end_ts": max(pd.Timestamp(stored.end_ts), timestamps[event.last_row]).to_pydatetime(),
        "n_windows": stored.n_windows + event.n_windows,
    }
    if event.severity > stored.severity:
        fields |= {
            "peak_ts": timestamps[event.peak_row].to_pydatetime(),
            "peak_error": event.peak_error,
            "threshold": analysis.threshold,
            "severity": event.severity,
        }
    connection.execute(update(Anomaly).where(Anomaly.id == anomaly_id).values(**fields))
    return anomaly_id


def _insert_windows(
    connection: Connection,
    run_id: int,
    stream_id: int,
    model_id: int,
    analysis: StreamAnalysis,
    anomaly_ids: list[int],
    timestamps: pd.DatetimeIndex,
) -> int:
    kept = analysis.kept
    if len(kept.starts) == 0:
        return 0
    length = kept.window_length
    start_ts = timestamps[kept.starts].to_pydatetime()
    end_ts = timestamps[kept.starts + length - 1].to_pydatetime()
    parameters = [
        {
            "stream_id": stream_id,
            "model_id": model_id,
            "run_id": run_id,
            "start_ts": start_ts[i],
            "end_ts": end_ts[i],
            "error": float(kept.errors[i]),
            "is_anomaly": bool(kept.flagged[i]),
            "anomaly_id": anomaly_ids[kept.event[i]] if kept.event[i] >= 0 else None,
            "embedding": [round(float(v), 6) for v in kept.embeddings[i]],
            "cluster": int(kept.clusters[i]),
            "x": float(kept.xy[i, 0]),
            "y": float(kept.xy[i, 1]),
            "reconstruction": (
                None if kept.reconstructions is None else np.round(kept.reconstructions[i], 6).tolist()
            ),
        }
        for i in range(len(kept.starts))
    ]
    connection.execute(insert(Window), parameters)
    return len(parameters)
