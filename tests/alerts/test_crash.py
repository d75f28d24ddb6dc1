"""A run killed with SIGKILL loses no alert and sends none twice: killed after its commit but before
delivery, the next run delivers each alert once; killed inside a stream's transaction, the next run
also reports the killed run as failed (abandoned)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from pipelines import Command, execute
from pipelines.bookkeeping import ABANDONED
from tests.alerts.conftest import Webhook, alerting_config, outbox_rows, spiky_csv, stored_anomalies
from tests.production.conftest import runs_by_id, start_cli, wait_for, write_toml

LINK = re.compile(r"/anomaly\?anomaly=(\d+)")


def _linked_ids(webhook: Webhook) -> list[int]:
    return sorted(int(i) for payload in webhook.received for i in LINK.findall(payload["message"]))


def _kill_when(script: str, config_file: Path, marker: Path) -> None:
    """Run ``script CONFIG MARKER`` and SIGKILL it as soon as it writes MARKER."""
    process = start_cli(script, str(config_file), str(marker))
    try:
        wait_for(marker.exists, timeout=120, what=f"{script} to reach its hang", process=process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_killed_between_commit_and_delivery_the_next_run_delivers_each_alert_once(
    tmp_path, database_url, webhook: Webhook
):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/a": [250], "plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], digest_over=100)
    marker = tmp_path / "committed"

    _kill_when("tests/alerts/killable_delivery.py", write_toml(config, tmp_path / "p.toml"), marker)

    events = [a.id for a in stored_anomalies(database_url)]
    assert events and webhook.received == []
    assert [r.status for r in outbox_rows(database_url)] == ["pending"] * len(events)
    assert [r.status for r in runs_by_id(database_url).values()] == ["succeeded"]

    execute(config, Command.RUN)
    execute(config, Command.RUN)

    assert _linked_ids(webhook) == events
    assert all(r.status == "sent" and r.attempts == 1 for r in outbox_rows(database_url))


def test_killed_inside_a_stream_the_next_run_reports_it_and_loses_no_alert(
    tmp_path, database_url, webhook: Webhook
):
    data = spiky_csv(tmp_path / "s.csv", spikes={"plant/a": [250], "plant/b": [300]})
    config = alerting_config(data, tmp_path, database_url, urls=[webhook.url()], digest_over=100)
    marker = tmp_path / "inside-second-transaction"

    _kill_when("tests/production/killable_run.py", write_toml(config, tmp_path / "p.toml"), marker)
    first_stream_events = [a.id for a in stored_anomalies(database_url)]
    assert len(outbox_rows(database_url)) == len(first_stream_events) > 0

    execute(config, Command.RUN)
    execute(config, Command.RUN)

    killed, *_ = runs_by_id(database_url).values()
    assert (killed.status, killed.error) == ("failed", ABANDONED)
    failures = [p for p in webhook.received if p["type"] == "failure"]
    assert [p["title"] for p in failures] == [f"[pipeline] Run #{killed.id} failed"]
    assert ABANDONED in failures[0]["message"]
    events = [a.id for a in stored_anomalies(database_url)]
    assert len(events) > len(first_stream_events)
    assert _linked_ids(webhook) == events
