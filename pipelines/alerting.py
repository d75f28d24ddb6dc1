"""Delivering the alert outbox after a run's streams are committed: each due alert reaches each
configured URL once, many at once become one digest, failures wait for a later run.

Exactly once, per URL:
- Alerts are queued in the transactions that store their anomaly or failed run, so a crash before
  delivery leaves them ``pending`` and the next run sends them.
- One delivery pass at a time: every run delivers under the lock ``alerts`` (``pipelines.locks``),
  released by the OS or the server if the process dies, so overlapping runs take turns, and each
  reads the outbox only once it holds the lock.
- A URL that accepted a message is recorded (its fingerprint) right after, in its own transaction, so
  a retry goes only to the URLs that missed it. Only a process killed between a receiver's acceptance
  and that commit can make it send one message twice: no notification service takes part in a
  database transaction.

A failed delivery never fails the run: it is logged, its error and attempt counted in the row, and the
row waits ``retry_delay`` (doubling) before a later run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from anomaly.alerts import Message, alert_message, digest_message, retry_delay, send, url_fingerprint
from anomaly.config import AlertsConfig, PipelineConfig
from anomaly.errors import AnomalyError
from anomaly.storage.database import error_reason
from anomaly.storage.outbox import (
    PendingAlert,
    Undelivered,
    due_alerts,
    record_attempt,
    record_complete,
    record_delivered,
    undelivered,
)
from pipelines.locks import locked

ALERTS_LOCK = "alerts"

log = logging.getLogger("anomaly")


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery pass did: messages sent and failed, and what is still undelivered after it.

    ``error`` is set when the pass itself could not run (e.g. the database went away); the alerts
    then stay queued for the next run.
    """

    sent: int
    failed: int
    waiting: Undelivered | None
    error: str | None = None

    def summary(self) -> str:
        """One line for the run's report."""
        if self.error is not None:
            return f"alerts: not delivered this run: {self.error}"
        line = f"alerts: {self.sent} message(s) sent"
        if self.failed:
            line += f", {self.failed} failed"
        if self.waiting is not None and self.waiting.count:
            line += f"; {self.waiting.count} alert(s) undelivered, last error: {self.waiting.last_error}"
        return line


def deliver_alerts(engine: Engine, config: PipelineConfig) -> DeliveryReport | None:
    """Deliver every due alert to every URL of ``config.alerts``; None when alerts are off.

    Never raises for a delivery or database problem: the run that calls this has already succeeded
    or failed on its own account.
    """
    if not config.alerts.enabled:
        return None
    try:
        with locked(engine, ALERTS_LOCK):
            return _deliver_due(engine, config.alerts, config.name)
    except (AnomalyError, SQLAlchemyError) as exc:
        reason = error_reason(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
        log.error("alerts: delivery pass failed, alerts stay queued: %s", reason)
        return DeliveryReport(sent=0, failed=0, waiting=None, error=reason)


def _deliver_due(engine: Engine, alerts: AlertsConfig, pipeline: str) -> DeliveryReport:
    now = datetime.now(UTC)
    with engine.connect() as connection:
        due = due_alerts(connection, now)
    required = frozenset(url_fingerprint(url) for url in alerts.urls)
    with engine.begin() as connection:
        record_complete(connection, (a.outbox_id for a in due if required <= a.delivered_to), now)
    attempted: dict[int, PendingAlert] = {}
    errors: dict[int, list[str]] = {}
    sent = failed = 0
    for url in alerts.urls:
        fingerprint = url_fingerprint(url)
        missing = [alert for alert in due if fingerprint not in alert.delivered_to]
        attempted.update((alert.outbox_id, alert) for alert in missing)
        for message, covered in _messages(missing, alerts, pipeline):
            result = send(url, message)
            if not result.ok:
                # The receiver is down or refuses: the rest for it waits too, rather than each message
                # waiting out its own timeout.
                failed += 1
                log.warning("alerts: delivery to %s failed: %s", result.url, result.error)
                unsent = missing[missing.index(covered[0]) :]
                for alert in unsent:
                    errors.setdefault(alert.outbox_id, []).append(f"{result.url}: {result.error}")
                break
            sent += 1
            with engine.begin() as connection:
                record_delivered(connection, covered, fingerprint, required, now)
    with engine.begin() as connection:
        for outbox_id, alert in attempted.items():
            error = "; ".join(errors[outbox_id]) if outbox_id in errors else None
            retry_at = now + retry_delay(alert.attempts + 1, alerts.retry_after)
            record_attempt(connection, alert, now=now, error=error, retry_at=retry_at)
        waiting = undelivered(connection)
    if sent:
        log.info("alerts: %d message(s) sent", sent)
    return DeliveryReport(sent=sent, failed=failed, waiting=waiting)


def _messages(
    alerts: list[PendingAlert], config: AlertsConfig, pipeline: str
) -> list[tuple[Message, list[PendingAlert]]]:
    """The messages for these alerts, each with the alerts it carries: one each, or one digest of all
    when there are more than ``digest_over``."""
    link = config.dashboard_url
    if not alerts:
        return []
    if len(alerts) > config.digest_over:
        return [(digest_message([a.alert for a in alerts], pipeline=pipeline, dashboard_url=link), alerts)]
    return [(alert_message(a.alert, pipeline=pipeline, dashboard_url=link), [a]) for a in alerts]
