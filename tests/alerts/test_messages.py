"""The text of alert messages, the dashboard link they carry, the retry schedule, and [alerts] config."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from anomaly.alerts import (
    AnomalyAlert,
    RunFailureAlert,
    alert_message,
    digest_message,
    retry_delay,
    url_fingerprint,
)
from anomaly.alerts.delivery import MAX_RETRY_DELAY
from anomaly.alerts.messages import DASHBOARD_ANOMALY_PAGE, DIGEST_LINES, anomaly_link
from anomaly.config import AlertsConfig, config_from_dict
from anomaly.errors import ConfigError
from tests.conftest import ROOT

EVENT = AnomalyAlert(
    anomaly_id=17,
    stream="plant/b",
    severity=2.4137,
    start=datetime(2026, 1, 4, 11, 20, tzinfo=UTC),
    end=datetime(2026, 1, 4, 12, 10, tzinfo=UTC),
    peak_error=0.15312,
    threshold=0.063441,
)


def test_one_event_says_stream_severity_span_peak_against_threshold_and_links_to_it():
    message = alert_message(EVENT, pipeline="sample", dashboard_url="http://ops.example.com:8501")
    assert message.title == "[sample] Anomaly on plant/b (severity 2.41)"
    assert message.body.splitlines() == [
        "plant/b, 2026-01-04 11:20 to 12:10 UTC",
        "peak error 0.1531 vs threshold 0.06344 (severity 2.41)",
        "http://ops.example.com:8501/anomaly?anomaly=17",
    ]
    assert message.kind == "warning"


def test_spans_over_midnight_and_of_one_step_and_without_a_dashboard_the_event_is_named():
    event = AnomalyAlert(**{**EVENT.__dict__, "end": datetime(2026, 1, 5, 0, 30, tzinfo=UTC)})
    body = alert_message(event, pipeline="p", dashboard_url=None).body
    assert "2026-01-04 11:20 to 2026-01-05 00:30 UTC" in body
    assert body.splitlines()[-1] == "anomaly #17 (open it with 'anomaly dashboard')"
    one_step = AnomalyAlert(**{**EVENT.__dict__, "end": EVENT.start})
    assert alert_message(one_step, pipeline="p", dashboard_url=None).body.startswith(
        "plant/b, 2026-01-04 11:20 UTC\n"
    )


def test_the_link_opens_the_dashboards_anomaly_page_with_the_event_preselected():
    """The link follows the dashboard's routing: the page registered for views/anomaly.py and the query
    parameter its selectbox reads. Fails when either is renamed without updating the link."""
    app = (ROOT / "dashboard" / "app.py").read_text()
    page = re.search(r'st\.Page\("views/anomaly\.py".*?url_path="([^"]+)"', app, re.S)
    view = (ROOT / "dashboard" / "views" / "anomaly.py").read_text()
    param = re.search(r'linked_selectbox\(.*?,\s*"([a-z_]+)",\s*_label\)', view, re.S)
    assert page and param
    assert page[1] == DASHBOARD_ANOMALY_PAGE
    assert (
        anomaly_link("https://dash.example.com/ops", 5)
        == f"https://dash.example.com/ops/{page[1]}?{param[1]}=5"
    )


def test_a_failed_run_gives_its_one_line_reason():
    failure = RunFailureAlert(run_id=4, command="run", error="1 of 2 streams failed: bad row 7\ntraceback")
    message = alert_message(failure, pipeline="p", dashboard_url="http://d")
    assert message.title == "[p] Run #4 failed"
    assert message.body.splitlines() == ["run run #4 failed: 1 of 2 streams failed: bad row 7", "http://d/"]
    assert message.kind == "failure"
    long = alert_message(RunFailureAlert(4, "run", "x" * 1000), pipeline="p", dashboard_url=None).body
    assert len(long) < 400 and long.endswith("...")


def test_a_digest_counts_events_and_failures_and_lists_the_most_severe_first():
    events = [
        AnomalyAlert(**{**EVENT.__dict__, "anomaly_id": i, "stream": f"s{i % 3}", "severity": 1.0 + i})
        for i in range(DIGEST_LINES + 5)
    ]
    failure = RunFailureAlert(run_id=9, command="run", error="source unreadable")
    message = digest_message([*events, failure], pipeline="p", dashboard_url="http://d")
    assert message.title == f"[p] {len(events)} new anomalies on 3 streams, 1 failed run"
    lines = message.body.splitlines()
    assert lines[0] == "run #9 failed: source unreadable"
    assert lines[1].startswith(f"s{(len(events) - 1) % 3}: severity {len(events):.2f}, ")
    assert lines[1].endswith(f"http://d/anomaly?anomaly={len(events) - 1}")
    assert len(lines) == DIGEST_LINES + 1
    assert lines[-1] == f"... and {len(events) + 1 - DIGEST_LINES} more: http://d/anomalies"


def test_retries_wait_longer_after_each_failure_up_to_a_cap():
    first = timedelta(minutes=1)
    assert [retry_delay(n, first) for n in (1, 2, 3)] == [first, 2 * first, 4 * first]
    assert retry_delay(30, first) == MAX_RETRY_DELAY
    assert retry_delay(3, timedelta(0)) == timedelta(0)


def test_fingerprints_are_stable_and_hide_the_url():
    url = "slack://T1/B2/secret-token/#ops"
    assert url_fingerprint(url) == url_fingerprint(url) != url_fingerprint(url + "x")
    assert "secret" not in url_fingerprint(url)


def test_alerts_are_off_without_urls_and_filter_streams_by_glob():
    assert not AlertsConfig().enabled and not AlertsConfig().covers("plant/a")
    alerts = AlertsConfig(urls=("json://h/x",), streams=("plant/*", "pump_?"))
    assert alerts.covers("plant/a") and alerts.covers("pump_7")
    assert not alerts.covers("other/plant/a") and not alerts.covers("pump_77")
    assert AlertsConfig(urls=("json://h/x",)).covers("anything")


def test_alerts_config_rejects_what_is_not_a_url_and_tidies_the_dashboard_url():
    with pytest.raises(ConfigError, match=r"alerts\.urls.*not a notification URL"):
        config_from_dict({"source": {"path": "x.csv"}, "alerts": {"urls": ["hooks.slack.com/abc"]}})
    with pytest.raises(ConfigError, match=r"alerts\.dashboard_url"):
        config_from_dict({"source": {"path": "x.csv"}, "alerts": {"dashboard_url": "dash:8501"}})
    with pytest.raises(ConfigError, match=r"alerts\.digest_over"):
        config_from_dict({"source": {"path": "x.csv"}, "alerts": {"digest_over": -1}})
    config = config_from_dict(
        {"source": {"path": "x.csv"}, "alerts": {"dashboard_url": "http://d:8501/", "retry_after": "5min"}}
    )
    assert config.alerts.dashboard_url == "http://d:8501"
    assert config.alerts.retry_after == timedelta(minutes=5)


def test_the_recorded_config_hides_notification_urls_and_the_dump_reads_back():
    raw = {
        "source": {"path": "x.csv"},
        "alerts": {
            "urls": ["mailtos://user:hunter2@example.com", "slack://T1/B2/token"],
            "retry_after": "2h",
        },
    }
    config = config_from_dict(raw)
    recorded = config.recorded()
    assert recorded["alerts"]["urls"] == ["mailtos://***", "slack://***"]
    assert "hunter2" not in str(recorded) and "token" not in str(recorded)
    assert config_from_dict(config.model_dump(mode="json")) == config
