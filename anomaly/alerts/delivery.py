"""Sending one message to one notification URL through Apprise, and the retry schedule after failures.

Each URL is sent to on its own, so that the outcome (and the reason of a failure, from Apprise's own
log) is known per URL: a retry then goes only to the URLs that missed a message. URLs hold tokens and
passwords, so they are shown in Apprise's privacy form and stored only as fingerprints.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from anomaly.alerts.messages import Message, trial_message

MAX_RETRY_DELAY = timedelta(hours=6)


@dataclass(frozen=True)
class SendResult:
    """How sending to one URL went: ``url`` as safe to show, ``error`` None on success."""

    url: str
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the receiver accepted the message."""
        return self.error is None


def url_fingerprint(url: str) -> str:
    """A stable short digest of ``url``, to record who has a message without storing its secrets."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: ``first``, doubling, at most 6 h."""
    return min(first * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def send(url: str, message: Message) -> SendResult:
    """Send ``message`` to ``url``; never raises: a failure comes back with Apprise's reason."""
    import apprise

    notifier = apprise.Apprise()
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        if not notifier.add(url):
            return SendResult(_scheme_only(url), "not a notification URL Apprise can use (see its docs)")
        shown = notifier[0].url(privacy=True).split("?", 1)[0]
        try:
            result = notifier.notify(title=message.title, body=message.body, notify_type=message.kind)
        except Exception as exc:  # a plugin's bug must not cost the run, nor the other URLs, anything
            return SendResult(shown, f"{type(exc).__name__}: {exc}")
    if result:
        return SendResult(shown, None)
    reasons = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    return SendResult(shown, reasons[-1] if reasons else "the receiver did not accept the message")


def _scheme_only(url: str) -> str:
    return url.split("://", 1)[0] + "://***"


def send_trial(urls: tuple[str, ...], *, pipeline: str, dashboard_url: str | None) -> list[SendResult]:
    """Send the test message to each of ``urls``, for ``anomaly alerts test``: one result per URL."""
    message = trial_message(pipeline=pipeline, dashboard_url=dashboard_url)
    return [send(url, message) for url in urls]
