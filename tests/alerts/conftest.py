"""Real local receivers for alert tests: an HTTP server for Apprise's ``json://`` webhooks and an SMTP
server (aiosmtpd) for ``mailto://`` email, both on 127.0.0.1, each able to refuse the next attempts;
plus the fast pipeline (the rolling z-score detector, no training) that alerts tests run.
"""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from anomaly.config import PipelineConfig
from anomaly.storage.database import open_engine
from anomaly.storage.schema import AlertOutbox, Anomaly
from tests.conftest import sensor_frame, tiny_config, write_long_csv


@dataclass
class Webhook:
    """An HTTP receiver: ``received`` holds the JSON bodies it accepted (Apprise's ``json://`` sends
    ``{"title", "message", "type", ...}``) with the request's ``path`` added; it answers 500 to the next
    ``refuse_next`` requests, and takes ``delay_s`` over each."""

    port: int
    received: list[dict] = field(default_factory=list)
    refused: int = 0
    refuse_next: int = 0
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "hook") -> str:
        """The Apprise URL that posts to ``/path`` on this receiver."""
        return f"json://127.0.0.1:{self.port}/{path}"

    def titles(self) -> list[str]:
        """The titles of the messages accepted so far, in arrival order."""
        return [payload["title"] for payload in self.received]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A running HTTP receiver on a free local port."""
    receiver = Webhook(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(receiver.delay_s)
            with receiver.lock:
                refuse = receiver.refuse_next > 0
                if refuse:
                    receiver.refuse_next -= 1
                    receiver.refused += 1
                else:
                    receiver.received.append({**payload, "path": self.path})
            self.send_response(500 if refuse else 200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``received``."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """An SMTP receiver: ``messages`` holds the mails it accepted; it answers 451 (try again later)
    to the next ``refuse_next`` mails."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refused: int = 0
    refuse_next: int = 0

    @property
    def url(self) -> str:
        """The Apprise URL that mails ops@example.com through this server, without TLS or login."""
        return f"mailto://127.0.0.1:{self.port}?from=alerts@example.com&to=ops@example.com"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            self.refused += 1
            return "451 4.3.0 mailbox busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def mail_text(message: EmailMessage) -> str:
    """The plain-text part of a mail Apprise sent."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("the mail has no text/plain part")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A running SMTP receiver on a free local port."""
    receiver = Mailbox(port=_free_port())
    controller = Controller(receiver, hostname="127.0.0.1", port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


def spiky_csv(path: Path, *, spikes: dict[str, list[int]], n: int = 600, rows: int | None = None) -> Path:
    """A long CSV with one ``n``-row stream per key of ``spikes``, each with a spike at the given rows;
    with ``rows``, only each stream's first ``rows`` rows (a later call writes the rest)."""
    frames = []
    for seed, (name, starts) in enumerate(spikes.items(), start=1):
        frame = sensor_frame(name, n=n, seed=seed)
        for start in starts:
            frame.loc[start : start + 2, "value"] += 6.0
        frames.append(frame.iloc[:rows])
    return write_long_csv(path, frames)


def alerting_config(data: Path, tmp_path: Path, db_url: str, **alerts: object) -> PipelineConfig:
    """The tiny pipeline with the rolling z-score detector (no training: a run takes a fraction of a
    second once imports are done), storing into ``db_url``, with ``[alerts]`` set to ``alerts``."""
    alerts = {"retry_after": "0s", "dashboard_url": "http://dash.test:8501", **alerts}
    config = tiny_config(data, tmp_path, storage={"db": db_url}, alerts=alerts)
    return config.model_copy(update={"detector": "rolling_zscore"})


def outbox_rows(url: str) -> list:
    """Every outbox row, oldest first."""
    engine = open_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(AlertOutbox).order_by(AlertOutbox.id)).all()
    engine.dispose()
    return rows


def stored_anomalies(url: str) -> list:
    """Every stored anomaly event, by id."""
    engine = open_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(Anomaly).order_by(Anomaly.id)).all()
    engine.dispose()
    return rows
