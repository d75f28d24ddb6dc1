"""The README's screenshots, taken from what the README's own first command produces.

Run from the repository root, after ``.venv/bin/anomaly run pipelines/sample.toml`` has filled
``./anomaly.db``::

    .venv/bin/python docs/screenshots.py

It starts ``anomaly dashboard`` on that database as a user would (so the sidebar shows
``sqlite:///anomaly.db``, the toolbar is the viewer's), opens the pages in the system's headless
Chromium (Playwright, from the ``test`` extra) and overwrites ``docs/img/*.png``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
WIDTH = 1200
STARTUP_TIMEOUT_S = 60
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# Every Plotly chart on the page has data and at least one drawn trace.
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
def serve_dashboard(db_url: str) -> Iterator[str]:
    """``anomaly dashboard --db db_url`` on a free loopback port; yields its base URL once healthy."""
    port = _free_port()
    command = [sys.executable, "-m", "anomaly.cli", "dashboard", "--db", db_url, "--port", str(port)]
    # A session of its own: stopping it stops Streamlit, the command's child, too.
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
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
                raise SystemExit(
                    f"the dashboard did not start: {server.stderr.read() if server.stderr else ''}"
                )
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def _shoot(page, url: str, title: str, path: Path, height: int) -> None:
    """``url`` in a window ``height`` pixels tall (Streamlit scrolls inside the page, so a full-page
    screenshot shows no more than the window)."""
    page.set_viewport_size({"width": WIDTH, "height": height})
    page.goto(url)
    page.wait_for_selector(f"h1:has-text('{title}')")
    page.wait_for_selector(IDLE)
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    if page.locator("[data-testid='stException']").count():
        raise SystemExit(f"{url} shows an exception")
    page.screenshot(path=path, full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", default="sqlite:///anomaly.db", help="database to show (default: ./anomaly.db)"
    )
    args = parser.parse_args()
    if args.db == "sqlite:///anomaly.db" and not (ROOT / "anomaly.db").exists():
        raise SystemExit("no ./anomaly.db: run '.venv/bin/anomaly run pipelines/sample.toml' first")
    os.chdir(ROOT)
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with serve_dashboard(args.db) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(60_000)
        _shoot(page, f"{base}/stream", "Stream", IMAGES / "stream_view.png", height=900)
        _shoot(page, f"{base}/embeddings", "Embeddings", IMAGES / "embeddings.png", height=1080)
        browser.close()


if __name__ == "__main__":
    main()
