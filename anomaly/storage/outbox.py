"""The ``alert_outbox`` table: queueing notifications inside the caller's transaction, reading the due
ones, and recording each delivery attempt.

Queueing happens in the transaction that stores what a row announces, so an anomaly or a failed run
and its notification are committed together or not at all; the unique ``anomaly_id`` keeps an event
from being queued twice. Delivery (``pipelines.alerting``) runs later and only ever moves rows forward:
``pending`` until every configured URL has the message, then ``sent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from anomaly.alerts.messages import Alert, AnomalyAlert, RunFailureAlert
from anomaly.storage.schema import AlertOutbox, Anomaly, Run, Stream

ERROR_CHARS = 1000


@dataclass(frozen=True)
class PendingAlert:
    """An outbox row due for delivery: its id, attempts so far, the URL fingerprints that have it."""

    outbox_id: int
    attempts: int
    delivered_to: frozenset[str]
    alert: Alert


@dataclass(frozen=True)
class Undelivered:
    """Alerts not yet delivered to every URL, and the latest failure among them (None if none yet)."""

    count: int
    last_error: str | None
    last_attempt_at: datetime | None


def queue_anomaly_alerts(
    connection: Connection, run_id: int, anomaly_ids: Iterable[int], now: datetime
) -> int:
    """Queue one notification per anomaly in ``anomaly_ids``; returns how many were queued."""
    rows = [_new_row("anomaly", run_id, now, anomaly_id=anomaly_id) for anomaly_id in anomaly_ids]
    if rows:
        connection.execute(insert(AlertOutbox), rows)
    return len(rows)


def queue_run_failure(connection: Connection, run_id: int, now: datetime) -> None:
    """Queue the notification that run ``run_id`` failed (its reason is read from ``runs.error``)."""
    connection.execute(insert(AlertOutbox).values(**_new_row("run_failed", run_id, now)))


def _new_row(kind: str, run_id: int, now: datetime, anomaly_id: int | None = None) -> dict:
    return {
        "kind": kind,
        "run_id": run_id,
        "anomaly_id": anomaly_id,
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "delivered_to": [],
    }


def due_alerts(connection: Connection, now: datetime) -> list[PendingAlert]:
    """Every pending row whose next attempt is due, oldest first, with what its message needs."""
    statement = (
        select(
            AlertOutbox.id,
            AlertOutbox.kind,
            AlertOutbox.attempts,
            AlertOutbox.delivered_to,
            Anomaly.id.label("anomaly_id"),
            Stream.name,
            Anomaly.severity,
            Anomaly.start_ts,
            Anomaly.end_ts,
            Anomaly.peak_error,
            Anomaly.threshold,
            Run.id.label("run_id"),
            Run.command,
            Run.error,
        )
        .join(Run, Run.id == AlertOutbox.run_id)
        .outerjoin(Anomaly, Anomaly.id == AlertOutbox.anomaly_id)
        .outerjoin(Stream, Stream.id == Anomaly.stream_id)
        .where(AlertOutbox.status == "pending", AlertOutbox.next_attempt_at <= now)
        .order_by(AlertOutbox.id)
    )
    return [
        PendingAlert(row.id, row.attempts, frozenset(row.delivered_to), _alert(row))
        for row in connection.execute(statement)
    ]


def _alert(row) -> Alert:
    if row.kind == "run_failed":
        return RunFailureAlert(run_id=row.run_id, command=row.command, error=row.error or "")
    return AnomalyAlert(
        anomaly_id=row.anomaly_id,
        stream=row.name,
        severity=row.severity,
        start=row.start_ts,
        end=row.end_ts,
        peak_error=row.peak_error,
        threshold=row.threshold,
    )


def record_delivered(
    connection: Connection,
    pending: Iterable[PendingAlert],
    fingerprint: str,
    required: frozenset[str],
    now: datetime,
) -> None:
    """Note that the URL with ``fingerprint`` has these alerts; a row whose URLs now include every one
    of ``required`` (those configured) becomes ``sent``."""
    for alert in pending:
        current = connection.execute(
            select(AlertOutbox.delivered_to).where(AlertOutbox.id == alert.outbox_id)
        ).scalar_one()
        delivered = sorted({*current, fingerprint})
        values: dict = {"delivered_to": delivered}
        if required <= set(delivered):
            values.update(status="sent", sent_at=now)
        connection.execute(update(AlertOutbox).where(AlertOutbox.id == alert.outbox_id).values(**values))


def record_complete(connection: Connection, outbox_ids: Iterable[int], now: datetime) -> None:
    """Mark rows ``sent`` that every configured URL already has (a URL that missed them was removed)."""
    ids = list(outbox_ids)
    if ids:
        connection.execute(
            update(AlertOutbox)
            .where(AlertOutbox.id.in_(ids), AlertOutbox.status == "pending")
            .values(status="sent", sent_at=now)
        )


def record_attempt(
    connection: Connection, alert: PendingAlert, *, now: datetime, error: str | None, retry_at: datetime
) -> None:
    """Count one delivery attempt of ``alert``; a failed one keeps its error and waits until ``retry_at``."""
    values: dict = {"attempts": AlertOutbox.attempts + 1, "last_attempt_at": now}
    if error is not None:
        values.update(last_error=error[:ERROR_CHARS], next_attempt_at=retry_at)
    connection.execute(update(AlertOutbox).where(AlertOutbox.id == alert.outbox_id).values(**values))


def undelivered(connection: Connection) -> Undelivered:
    """How many alerts still wait for delivery, and the last error one of them met."""
    count = connection.execute(
        select(func.count()).select_from(AlertOutbox).where(AlertOutbox.status == "pending")
    ).scalar_one()
    latest = connection.execute(
        select(AlertOutbox.last_error, AlertOutbox.last_attempt_at)
        .where(AlertOutbox.status == "pending", AlertOutbox.last_error.is_not(None))
        .order_by(AlertOutbox.last_attempt_at.desc(), AlertOutbox.id.desc())
        .limit(1)
    ).first()
    return Undelivered(count, *(latest if latest is not None else (None, None)))
