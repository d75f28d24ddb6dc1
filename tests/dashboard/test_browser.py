"""The dashboard served by ``streamlit run`` and driven in headless Chromium, page by page.

Needs the system Chromium (``apt-get install chromium``); Playwright cannot download browsers here.
The database comes from the ``pipeline_db_url`` fixture, so nothing below assumes particular data:
stream names and anomaly ids are read from the database. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import APP_PATH, ROOT
from sqlalchemy import select

from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly
from dashboard import queries

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 30_000
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


@pytest.fixture
def served_app(pipeline_db_url: str) -> Iterator[str]:
    """The app on a free port, started as users start it; yields its base URL once healthy."""
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "streamlit.log").open("w")
    server = subprocess.Popen(command, env={**os.environ, "ANOMALY_DB_URL": pipeline_db_url},
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
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
def page(served_app: str):
    if not CHROMIUM.exists():
        # .ci/run installs it, so in CI a missing browser is a failure; elsewhere say how to get it.
        message = "system Chromium not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        yield page
        browser.close()


def open_page(page, url: str, title: str, charts: int = 0) -> None:
    """Load ``url``, wait until the script has finished and ``charts`` Plotly charts are drawn."""
    page.goto(url)
    page.wait_for_selector(f"h1:has-text('{title}')")
    page.wait_for_selector(IDLE)
    if charts:
        page.wait_for_function(CHARTS_DRAWN, arg=charts)
    assert page.locator("[data-testid='stException']").count() == 0, f"exception shown on {url}"


def test_every_page_renders_and_confirming_updates_the_database(
    page, served_app: str, pipeline_db_url: str
) -> None:
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
    page.get_by_label("Note").fill("checked in the browser test")
    page.locator(".st-key-confirm button").click()
    page.wait_for_selector(f"text=Anomaly #{anomaly_id} marked confirmed")
    with engine.connect() as connection:
        status, note = connection.execute(
            select(Anomaly.status, Anomaly.note).where(Anomaly.id == anomaly_id)
        ).one()
    engine.dispose()
    assert status == "confirmed"
    assert note == "checked in the browser test"
    assert page.locator("[data-testid='stException']").count() == 0
