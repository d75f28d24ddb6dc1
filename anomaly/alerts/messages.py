"""What a notification says: one new anomaly event, a failed run, a digest of many, or a test.

Messages are short plain text (email subjects, chat previews and webhooks all show the first lines):
the stream, the severity, when, the peak error against the threshold, and a link that opens the event
on the dashboard's "Anomaly detail" page (``/anomaly?anomaly=<id>``, see ``dashboard/app.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DASHBOARD_ANOMALY_PAGE = "anomaly"
"""The url_path of the dashboard's anomaly page, whose ``anomaly`` query parameter preselects an event."""
DASHBOARD_ANOMALIES_PAGE = "anomalies"
DIGEST_LINES = 20
"""A digest lists at most this many alerts, most severe first, then says how many more there are."""
REASON_CHARS = 300


@dataclass(frozen=True)
class AnomalyAlert:
    """A new anomaly event, as stored in the ``anomalies`` table. Times are UTC."""

    anomaly_id: int
    stream: str
    severity: float
    start: datetime
    end: datetime
    peak_error: float
    threshold: float


@dataclass(frozen=True)
class RunFailureAlert:
    """A run that ended ``failed``, with the one-line reason of its ``runs.error``."""

    run_id: int
    command: str
    error: str


Alert = AnomalyAlert | RunFailureAlert


@dataclass(frozen=True)
class Message:
    """One notification: ``kind`` is Apprise's notification type ('info', 'warning' or 'failure')."""

    title: str
    body: str
    kind: str


def anomaly_link(dashboard_url: str | None, anomaly_id: int) -> str:
    """Where the dashboard shows event ``anomaly_id``; without a dashboard URL, how to find it."""
    if dashboard_url is None:
        return f"anomaly #{anomaly_id} (open it with 'anomaly dashboard')"
    return f"{dashboard_url}/{DASHBOARD_ANOMALY_PAGE}?anomaly={anomaly_id}"


def _span(start: datetime, end: datetime) -> str:
    """'2026-01-04 11:20 to 12:10 UTC', the end's date repeated only when it differs; one time for an
    event of one step."""
    if end == start:
        return f"{start:%Y-%m-%d %H:%M} UTC"
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M} to {end_text} UTC"


def _reason(error: str) -> str:
    """The failure's first line, cut to a length a chat preview shows."""
    line = error.strip().splitlines()[0] if error.strip() else "no reason recorded"
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "..."


def alert_message(alert: Alert, *, pipeline: str, dashboard_url: str | None) -> Message:
    """The message announcing one alert on its own."""
    if isinstance(alert, RunFailureAlert):
        body = f"{alert.command} run #{alert.run_id} failed: {_reason(alert.error)}"
        if dashboard_url is not None:
            body += f"\n{dashboard_url}/"
        return Message(f"[{pipeline}] Run #{alert.run_id} failed", body, "failure")
    return Message(
        title=f"[{pipeline}] Anomaly on {alert.stream} (severity {alert.severity:.2f})",
        body=(
            f"{alert.stream}, {_span(alert.start, alert.end)}\n"
            f"peak error {alert.peak_error:.4g} vs threshold {alert.threshold:.4g} "
            f"(severity {alert.severity:.2f})\n"
            f"{anomaly_link(dashboard_url, alert.anomaly_id)}"
        ),
        kind="warning",
    )


def digest_message(alerts: list[Alert], *, pipeline: str, dashboard_url: str | None) -> Message:
    """One message for many alerts: counts in the title, then one line each (failed runs first, then
    the most severe events), at most ``DIGEST_LINES`` of them."""
    failures = [a for a in alerts if isinstance(a, RunFailureAlert)]
    events = sorted(
        (a for a in alerts if isinstance(a, AnomalyAlert)), key=lambda a: (-a.severity, a.anomaly_id)
    )
    parts = []
    if events:
        n_streams = len({event.stream for event in events})
        parts.append(f"{len(events)} new anomalies on {n_streams} stream{'s' if n_streams > 1 else ''}")
    if failures:
        parts.append(f"{len(failures)} failed run{'s' if len(failures) > 1 else ''}")
    lines = [f"run #{f.run_id} failed: {_reason(f.error)}" for f in failures] + [
        f"{e.stream}: severity {e.severity:.2f}, {_span(e.start, e.end)}, "
        f"{anomaly_link(dashboard_url, e.anomaly_id)}"
        for e in events
    ]
    shown = lines[:DIGEST_LINES]
    if len(lines) > len(shown):
        more = f"... and {len(lines) - len(shown)} more"
        if dashboard_url is not None:
            more += f": {dashboard_url}/{DASHBOARD_ANOMALIES_PAGE}"
        shown.append(more)
    return Message(f"[{pipeline}] {', '.join(parts)}", "\n".join(shown), "failure" if failures else "warning")


def trial_message(*, pipeline: str, dashboard_url: str | None) -> Message:
    """What ``anomaly alerts test`` sends: proof that a URL reaches its receiver."""
    body = f"Alerts of pipeline {pipeline!r} reach this address."
    if dashboard_url is not None:
        body += f"\nDashboard: {dashboard_url}/"
    return Message(f"[{pipeline}] Test alert", body, "info")
