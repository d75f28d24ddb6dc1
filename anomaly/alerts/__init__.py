"""Alerts: notifications of new anomaly events and failed runs, configured by ``[alerts]``.

The roles, and where the database parts live (the library does not touch the database):

- ``anomaly.config.AlertsConfig``: the URLs (Apprise), which events (severity, stream globs), the
  digest threshold, the dashboard's base URL for links, the retry delay.
- ``messages``: the records an alert is made from and the text of each kind of message.
- ``delivery``: sending one message to one URL, URL fingerprints, the retry schedule.
- ``anomaly.storage.outbox``: the ``alert_outbox`` table's reads and writes; a row is queued in the
  same transaction as the anomaly (``storage.writer``) or the failed run (``pipelines.bookkeeping``).
- ``pipelines.alerting``: after a run's streams committed, delivers every due row, once per URL, under
  a lock shared by all runs, and records attempts and errors for retries by later runs.
"""

from __future__ import annotations

from anomaly.alerts.delivery import SendResult, retry_delay, send, send_trial, url_fingerprint
from anomaly.alerts.messages import (
    Alert,
    AnomalyAlert,
    Message,
    RunFailureAlert,
    alert_message,
    digest_message,
    trial_message,
)

__all__ = [
    "Alert",
    "AnomalyAlert",
    "Message",
    "RunFailureAlert",
    "SendResult",
    "alert_message",
    "digest_message",
    "retry_delay",
    "send",
    "send_trial",
    "trial_message",
    "url_fingerprint",
]
