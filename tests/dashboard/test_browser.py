"""The dashboard served as ``anomaly dashboard`` serves it and driven in headless Chromium.

Needs the system Chromium (``apt-get install chromium``); Playwright cannot download browsers here.
Every page is checked on the ``pipeline_db_url`` database (the real sample pipeline's), so nothing
below assumes particular data: stream names and anomaly ids are read from the database. Signing in
and changing a verdict are checked on the smaller synthetic database. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT
from sqlalchemy import select

from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly
from dashboard import queries
from dashboard.access import PASSWORD_HASH_VARIABLE, USERS_VARIABLE
from dashboard.launch import streamlit_command
from dashboard.passwords import hash_password

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 30_000
ALICE_PASSWORD = "correct horse battery"
RECORDED_BY_ALICE = re.compile(r"^Marked confirmed by alice on \d{4}-\d\d-\d\d")
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# Every chart on the page is drawn by Plotly (gd.data set) with at least one non-empty trace in the SVG.
CHARTS_DRAWN = """(count) => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.length >= count && plots.every(p => p.data && p.data.length > 0
        && p.querySelectorAll('.trace path, .trace .point').length > 0);
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serve(db_url: str, **sign_in: str) -> Iterator[str]:
    """The app on a free port, started with the command ``anomaly dashboard`` runs and the sign-in
    variables ``sign_in`` only; yields its base URL once healthy."""
    port = _free_port()
    environment = {name: value for name, value in os.environ.items()
                   if name not in (USERS_VARIABLE, PASSWORD_HASH_VARIABLE)}
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "streamlit.log").open("w")
    environment.update(sign_in, ANOMALY_DB_URL=db_url)
    server = subprocess.Popen(streamlit_command(port), env=environment, stdout=log, stderr=subprocess.STDOUT,
                              cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy; see {ARTIFACTS / 'streamlit.log'}")
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def served_app(pipeline_db_url: str) -> Iterator[str]:
    """The sample pipeline's results, served with no sign-in configured."""
    with _serve(pipeline_db_url) as base:
        yield base


@pytest.fixture
def served_with_sign_in(db_url: str) -> Iterator[str]:
    """The synthetic database, served with one analyst, alice, who has a password."""
    with _serve(db_url, **{USERS_VARIABLE: f"alice:{hash_password(ALICE_PASSWORD)}"}) as base:
        yield base


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        # .ci/run installs it, so in CI a missing browser is a failure; elsewhere say how to get it.
        message = "system Chromium not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(chromium):
    """A page in a browser context of its own: its own cookies, so its own dashboard session."""
    page = chromium.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    return page


@pytest.fixture
def page(chromium):
    return new_page(chromium)


def sign_in(page, name: str, password: str) -> None:
    """Open the sidebar's sign-in box, fill it in and submit it."""
    form = page.locator(".st-key-sign_in_form")
    if not form.is_visible():
        page.get_by_text("Sign in to confirm or dismiss").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator(".st-key-sign_in button").click()
    page.wait_for_selector(IDLE)


def open_page(page, url: str, title: str, charts: int = 0) -> None:
    """Load ``url``, wait until the script has finished and ``charts`` Plotly charts are drawn."""
    page.goto(url)
    page.wait_for_selector(f"h1:has-text('{title}')")
    page.wait_for_selector(IDLE)
    if charts:
        page.wait_for_function(CHARTS_DRAWN, arg=charts)
    assert page.locator("[data-testid='stException']").count() == 0, f"exception shown on {url}"


def assert_no_verdict_controls(page) -> None:
    for key in ("confirm", "dismiss", "reopen"):
        assert page.locator(f".st-key-{key}").count() == 0, f"a {key} control is shown"
    assert page.locator("textarea").count() == 0, "the note can be edited"


def assert_viewer_toolbar(page) -> None:
    """No Deploy button nor developer menu entries: the toolbar is in viewer mode."""
    assert page.locator("[data-testid='stAppDeployButton']").count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0


def test_every_page_renders_read_only_without_a_sign_in(page, served_app: str, pipeline_db_url: str) -> None:
    engine = open_engine(pipeline_db_url)
    stream = queries.streams(engine)["name"].iloc[0]
    target = queries.anomalies(engine, statuses=["open"]).iloc[0]
    anomaly_id = int(target["id"])
    quoted = urllib.parse.quote(stream, safe="")

    open_page(page, f"{served_app}/overview", "Overview")
    page.wait_for_selector("[data-testid='stDataFrame'] >> nth=1")
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)

    open_page(page, f"{served_app}/anomalies", "Anomalies")
    page.wait_for_selector("[data-testid='stDataFrame']")
    page.wait_for_selector(".st-key-download button:has-text('Download CSV')")
    page.screenshot(path=ARTIFACTS / "anomalies.png", full_page=True)

    open_page(page, f"{served_app}/stream?stream={quoted}", "Stream", charts=1)
    page.screenshot(path=ARTIFACTS / "stream_view.png", full_page=True)

    open_page(page, f"{served_app}/embeddings", "Embeddings", charts=1)
    page.screenshot(path=ARTIFACTS / "embeddings.png", full_page=True)
    page.locator(".st-key-embedding_mode").get_by_text("Across streams").click()
    page.wait_for_selector("text=shape of its stored values")
    page.wait_for_selector(IDLE)
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    assert page.locator("[data-testid='stException']").count() == 0, "exception in the cross-stream view"
    page.screenshot(path=ARTIFACTS / "embeddings_across_streams.png", full_page=True)

    open_page(page, f"{served_app}/anomaly?anomaly={anomaly_id}", "Anomaly detail", charts=1)
    page.screenshot(path=ARTIFACTS / "anomaly_detail.png", full_page=True)
    assert_no_verdict_controls(page)
    assert_viewer_toolbar(page)
    page.get_by_text("Read-only. To enable verdicts, configure a sign-in").wait_for()
    with engine.connect() as connection:
        status = connection.execute(select(Anomaly.status).where(Anomaly.id == anomaly_id)).scalar_one()
    assert status == "open"
    engine.dispose()


def test_only_a_signed_in_browser_changes_a_verdict_and_its_name_is_recorded(
    chromium, served_with_sign_in: str, db_url: str
) -> None:
    engine = open_engine(db_url)
    anomaly_id = int(queries.anomalies(engine, statuses=["open"]).iloc[0]["id"])
    url = f"{served_with_sign_in}/anomaly?anomaly={anomaly_id}"
    visitor, analyst = new_page(chromium), new_page(chromium)

    open_page(visitor, url, "Anomaly detail", charts=1)
    assert_no_verdict_controls(visitor)
    assert_viewer_toolbar(visitor)
    visitor.get_by_text("Read-only: sign in (sidebar) to confirm or dismiss.").wait_for()
    sign_in(visitor, "alice", "not her password")
    visitor.get_by_text("Wrong name or password.").wait_for()
    assert_no_verdict_controls(visitor)

    open_page(analyst, url, "Anomaly detail", charts=1)
    sign_in(analyst, "alice", ALICE_PASSWORD)
    analyst.get_by_text("Signed in as alice").wait_for()
    analyst.get_by_label("Note").fill("checked in the browser test")
    analyst.locator(".st-key-confirm button").click()
    analyst.get_by_text(f"Anomaly #{anomaly_id} marked confirmed by alice.").wait_for()
    analyst.get_by_text(RECORDED_BY_ALICE).wait_for()
    assert analyst.locator("[data-testid='stException']").count() == 0
    with engine.connect() as connection:
        status, note, by, at = connection.execute(
            select(Anomaly.status, Anomaly.note, Anomaly.verdict_by, Anomaly.verdict_at)
            .where(Anomaly.id == anomaly_id)
        ).one()
    engine.dispose()
    assert (status, note, by) == ("confirmed", "checked in the browser test", "alice")
    assert abs((datetime.now(UTC) - at).total_seconds()) < 120

    # The visitor's session stays read-only (it sees the new verdict after a reload, with its author).
    open_page(visitor, url, "Anomaly detail", charts=1)
    assert_no_verdict_controls(visitor)
    visitor.get_by_text(RECORDED_BY_ALICE).wait_for()

    analyst.locator(".st-key-sign_out button").click()
    analyst.get_by_text("Sign in to confirm or dismiss").wait_for()
    analyst.wait_for_selector(IDLE)
    assert_no_verdict_controls(analyst)
