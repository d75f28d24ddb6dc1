"""Alerts from real pipeline runs to real local receivers: one message per new event across re-runs,
digests, failed runs, retries of a receiver that was down, and a run that never fails for a delivery.

Each test runs on a SQLite file and on a fresh PostgreSQL database (``database_url``).
"""

from __future__ import annotations

import re
import socket
import threading

import pytest
from sqlalchemy import select

from anomaly.alerts import url_fingerprint
from anomaly.errors import AnomalyError
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Stream
from pipelines import Command, execute
from pipelines.alerting import deliver_alerts
from tests.alerts.conftest import (
    Mailbox,
    Webhook,
    alerting_config,
    mail_text,
    outbox_rows,
    spiky_csv,
    stored_anomalies,
)
from tests.conftest import sensor_frame, write_long_csv

LINK = re.compile(r"http://dash\.test:8501/anomaly\?anomaly=(\d+)")


def _linked_ids(texts: list[str]) -> list[int]:
    """The anomaly ids the messages link to, one per link, in order."""
    return [int(match) for text in texts for match in LINK.findall(text)]


def _closed_port_url() -> str:
    """A webhook URL where nothing listens: every delivery to it fails at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"json://127.0.0.1:{port}/down"


def test_each_new_event_is_announced_once_across_reruns(tmp_path, database_url, webhook: Webhook):
    spikes = {"plant/a": [250], "plant/b": [300, 560]}
    data = spiky_csv(tmp_path / "s.csv", spikes=spikes, rows=500)
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], digest_over=100)

    first = execute(config, Command.RUN)
    events = [a.id for a in stored_anomalies(database_url)]
    assert first.status == "succeeded" and events
    assert sorted(_linked_ids([p["message"] for p in webhook.received])) == events
    assert first.alerts.sent == len(events) and first.alerts.failed == 0

    again = execute(config, Command.RUN)  # nothing new: nothing sent
    assert again.alerts.sent == 0 and len(webhook.received) == len(events)

    spiky_csv(data, spikes=spikes)  # the rest of the rows arrive, with plant/b's second spike
    execute(config, Command.RUN)
    all_events = [a.id for a in stored_anomalies(database_url)]
    assert len(all_events) > len(events)
    assert sorted(_linked_ids([p["message"] for p in webhook.received])) == all_events
    rows = outbox_rows(database_url)
    assert sorted(r.anomaly_id for r in rows) == all_events
    assert all(r.status == "sent" and r.attempts == 1 and r.last_error is None for r in rows)
    assert all(r.delivered_to == [url_fingerprint(webhook.url())] for r in rows)


def test_many_events_at_once_become_one_digest(tmp_path, database_url, webhook: Webhook):
    spikes = {"plant/a": [100, 250, 400, 550], "plant/b": [150, 300, 450]}
    data = spiky_csv(tmp_path / "s.csv", spikes=spikes)
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], digest_over=3)

    summary = execute(config, Command.RUN)

    events = stored_anomalies(database_url)
    assert len(events) > 3
    (digest,) = webhook.received
    assert digest["title"] == f"[pipeline] {len(events)} new anomalies on 2 streams"
    assert sorted(_linked_ids([digest["message"]])) == [e.id for e in events]
    assert summary.alerts.sent == 1
    assert all(r.status == "sent" for r in outbox_rows(database_url))


def test_a_receiver_that_was_down_gets_each_alert_on_a_later_run(tmp_path, database_url, webhook: Webhook):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()])
    webhook.refuse_next = 1

    first = execute(config, Command.RUN)

    assert first.status == "succeeded"  # a delivery failure never fails the run
    assert webhook.refused == 1 and webhook.received == []
    assert first.alerts.failed == 1 and first.alerts.waiting.count == len(stored_anomalies(database_url))
    pending = outbox_rows(database_url)
    assert pending and all(r.status == "pending" and r.attempts == 1 for r in pending)
    assert all("500" in r.last_error and webhook.url() in r.last_error for r in pending)

    second = execute(config, Command.RUN)

    assert second.alerts.sent == len(pending) and second.alerts.waiting.count == 0
    assert sorted(_linked_ids([p["message"] for p in webhook.received])) == [r.anomaly_id for r in pending]
    delivered = outbox_rows(database_url)
    assert all(r.status == "sent" and r.attempts == 2 and r.sent_at is not None for r in delivered)
    assert all("500" in r.last_error for r in delivered)  # the failure stays on record
    execute(config, Command.RUN)
    assert len(webhook.received) == len(pending)


def test_a_retry_waits_for_its_backoff(tmp_path, database_url, webhook: Webhook):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], retry_after="1h")
    webhook.refuse_next = 1
    execute(config, Command.RUN)
    (row, *_) = outbox_rows(database_url)
    assert row.next_attempt_at - row.last_attempt_at == config.alerts.retry_after

    later = execute(config, Command.RUN)  # within the hour: not retried

    assert later.alerts.sent == later.alerts.failed == 0 and webhook.received == []
    assert outbox_rows(database_url)[0].attempts == 1


def test_email_through_smtp_including_a_first_attempt_the_server_refuses(
    tmp_path, database_url, mailbox: Mailbox
):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[mailbox.url])
    mailbox.refuse_next = 1

    execute(config, Command.RUN)
    assert mailbox.refused == 1 and mailbox.messages == []
    (row, *_) = outbox_rows(database_url)
    assert row.status == "pending" and row.attempts == 1 and row.last_error

    execute(config, Command.RUN)
    execute(config, Command.RUN)

    events = stored_anomalies(database_url)
    assert len(mailbox.messages) == len(events)
    event = max(events, key=lambda e: e.severity)
    mail = next(m for m in mailbox.messages if f"anomaly={event.id}" in mail_text(m))
    assert mail["Subject"] == f"[pipeline] Anomaly on plant/b (severity {event.severity:.2f})"
    assert mail["To"] == "ops@example.com"
    text = mail_text(mail)
    assert f"peak error {event.peak_error:.4g} vs threshold {event.threshold:.4g}" in text
    assert f"plant/b, {event.start_ts:%Y-%m-%d %H:%M}" in text and "UTC" in text
    assert all(r.status == "sent" and r.attempts == 2 for r in outbox_rows(database_url))


def test_a_run_with_failed_streams_sends_its_reason(tmp_path, database_url, webhook: Webhook):
    good = sensor_frame("plant/good", seed=1)
    good.loc[300:302, "value"] += 6.0
    bad = sensor_frame("plant/bad", seed=2).astype({"value": object})
    bad.loc[100, "value"] = "broken"
    data = write_long_csv(tmp_path / "s.csv", [good, bad])
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], digest_over=100)

    first = execute(config, Command.RUN)
    second = execute(config, Command.RUN)

    assert first.status == second.status == "failed"
    failures = [p for p in webhook.received if p["type"] == "failure"]
    assert [p["title"] for p in failures] == [
        f"[pipeline] Run #{first.run_id} failed",
        f"[pipeline] Run #{second.run_id} failed",
    ]
    reason = failures[0]["message"].splitlines()[0]
    assert reason.startswith(f"run run #{first.run_id} failed: 1 of 2 streams failed: ")
    assert "plant/bad" in reason and "'broken'" in reason
    events = [a.id for a in stored_anomalies(database_url)]
    assert events and sorted(_linked_ids([p["message"] for p in webhook.received])) == events


def test_a_run_that_cannot_start_its_streams_still_reports_itself(tmp_path, database_url, webhook: Webhook):
    config = alerting_config(tmp_path / "missing.csv", tmp_path, database_url, urls=[webhook.url()])

    with pytest.raises(AnomalyError) as raised:
        execute(config, Command.RUN)

    (failure,) = webhook.received
    assert failure["title"] == "[pipeline] Run #1 failed"
    assert str(raised.value).splitlines()[0][:100] in failure["message"]


def test_a_second_url_that_fails_is_retried_alone(tmp_path, database_url, webhook: Webhook):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    down = _closed_port_url()
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url("a"), down])

    execute(config, Command.RUN)
    execute(config, Command.RUN)

    events = [a.id for a in stored_anomalies(database_url)]
    assert events and sorted(_linked_ids([p["message"] for p in webhook.received])) == events  # not twice
    rows = outbox_rows(database_url)
    assert all(r.status == "pending" and r.attempts == 2 and "Connection error" in r.last_error for r in rows)
    assert all(r.delivered_to == [url_fingerprint(webhook.url("a"))] for r in rows)

    fixed = config.model_copy(
        update={"alerts": config.alerts.model_copy(update={"urls": (webhook.url("a"), webhook.url("b"))})}
    )
    execute(fixed, Command.RUN)

    assert sorted(p["path"] for p in webhook.received) == ["/a"] * len(events) + ["/b"] * len(events)
    assert all(r.status == "sent" for r in outbox_rows(database_url))


def test_removing_the_url_that_missed_alerts_completes_them_without_sending(
    tmp_path, database_url, webhook: Webhook
):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url(), _closed_port_url()])
    execute(config, Command.RUN)
    received = len(webhook.received)

    alone = config.model_copy(update={"alerts": config.alerts.model_copy(update={"urls": (webhook.url(),)})})
    execute(alone, Command.RUN)

    assert len(webhook.received) == received > 0
    assert all(r.status == "sent" for r in outbox_rows(database_url))


def test_overlapping_delivery_passes_send_each_alert_once(
    tmp_path, database_url, webhook: Webhook, monkeypatch
):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/a": [200, 450], "plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], digest_over=100)
    monkeypatch.setattr("pipelines.runner.deliver_alerts", lambda engine, config: None)
    execute(config, Command.RUN)  # the alerts are queued, not sent
    assert webhook.received == [] and outbox_rows(database_url)
    webhook.delay_s = 0.2  # long enough for the two passes to overlap

    engine = open_engine(database_url)
    passes = [threading.Thread(target=deliver_alerts, args=(engine, config)) for _ in range(2)]
    for delivery in passes:
        delivery.start()
    for delivery in passes:
        delivery.join()
    engine.dispose()

    events = [a.id for a in stored_anomalies(database_url)]
    assert len(events) >= 2
    assert sorted(_linked_ids([p["message"] for p in webhook.received])) == events


def test_without_alerts_nothing_is_queued(tmp_path, database_url):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[])
    summary = execute(config, Command.RUN)
    assert summary.alerts is None and stored_anomalies(database_url)
    assert outbox_rows(database_url) == []


def test_only_events_of_the_chosen_streams_and_severity_are_queued(tmp_path, database_url, webhook: Webhook):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/a": [250], "pump/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], streams=["pump/*"])
    execute(config, Command.RUN)
    events = stored_anomalies(database_url)
    pump = [e.id for e in events if e.stream_id == _stream_id(database_url, "pump/b")]
    assert pump and len(pump) < len(events)
    assert sorted(r.anomaly_id for r in outbox_rows(database_url)) == pump

    severe = spiky_csv(tmp_path / "t.csv", spikes={"plant/c": [250]})
    strict = alerting_config(severe, tmp_path, database_url, urls=[webhook.url()], min_severity=1e9)
    execute(strict, Command.RUN)
    assert sorted(r.anomaly_id for r in outbox_rows(database_url)) == pump


def _stream_id(url: str, name: str) -> int:
    engine = open_engine(url)
    with engine.connect() as connection:
        stream_id = connection.execute(select(Stream.id).where(Stream.name == name)).scalar_one()
    engine.dispose()
    return stream_id
