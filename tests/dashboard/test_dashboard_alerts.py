"""The overview tells when alerts did not reach their receivers: how many, and the last error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from streamlit.testing.v1 import AppTest

from anomaly.storage.database import open_engine
from anomaly.storage.schema import AlertOutbox, Anomaly
from tests.conftest import ROOT

APP_PATH = ROOT / "dashboard" / "app.py"
WHEN = datetime(2024, 3, 12, 8, 30, tzinfo=UTC)


def _queue(url: str, *, sent: int, failing: int, error: str = "json://hooks/x: error=500.") -> None:
    """Outbox rows for the fixture's anomalies: ``sent`` delivered ones, then ``failing`` pending ones."""
    engine = open_engine(url)
    with engine.begin() as connection:
        anomalies = connection.execute(select(Anomaly.id, Anomaly.run_id).order_by(Anomaly.id)).all()
        rows = [
            {
                "kind": "anomaly",
                "run_id": run_id,
                "anomaly_id": anomaly_id,
                "created_at": WHEN,
                "status": "sent" if number < sent else "pending",
                "attempts": 1 if number < sent else 3,
                "next_attempt_at": WHEN,
                "last_attempt_at": None if number < sent else WHEN,
                "last_error": None if number < sent else error,
                "delivered_to": [],
            }
            for number, (anomaly_id, run_id) in enumerate(anomalies[: sent + failing])
        ]
        connection.execute(insert(AlertOutbox), rows)
    engine.dispose()


def _overview(url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("ANOMALY_DB_URL", url)
    app = AppTest.from_file(str(APP_PATH), default_timeout=30).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_the_overview_shows_undelivered_alerts_with_the_last_error(db_url, monkeypatch):
    _queue(db_url, sent=1, failing=2)
    app = _overview(db_url, monkeypatch)
    (warning,) = [w.value for w in app.warning if "alert" in w.value]
    assert warning == (
        "2 alert(s) not delivered yet; the next run retries. Last error (2024-03-12 08:30 UTC): "
        "json://hooks/x: error=500."
    )


def test_the_overview_says_nothing_of_alerts_once_all_are_delivered(db_url, monkeypatch):
    _queue(db_url, sent=3, failing=0)
    app = _overview(db_url, monkeypatch)
    assert not [w for w in [*app.warning, *app.info] if "alert" in w.value]
