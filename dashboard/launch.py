"""Starting the dashboard as ``streamlit run``, for the ``anomaly dashboard`` command.

Streamlit apps run as scripts under Streamlit's own server, so the dashboard is a subprocess; the
database URL travels in ``ANOMALY_DB_URL`` (not on the command line, where a password would show in
the process list).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
DB_URL_VARIABLE = "ANOMALY_DB_URL"
# Loopback unless the user says otherwise: the dashboard has no TLS of its own, so reaching it from
# other machines is meant to go through a reverse proxy (README, Access).
DEFAULT_ADDRESS = "127.0.0.1"


def streamlit_command(port: int | None, address: str = DEFAULT_ADDRESS) -> list[str]:
    """The command line that serves the app headless on ``address``, on ``port`` or Streamlit's
    default (8501).

    Given as flags, not a ``.streamlit/config.toml``, so they hold from any working directory: the
    toolbar in viewer mode (no Deploy button or developer menu), and no usage statistics sent by the
    browser.
    """
    command = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.headless", "true",
               "--server.address", address, "--client.toolbarMode", "viewer",
               "--browser.gatherUsageStats", "false"]
    if port is not None:
        command += ["--server.port", str(port)]
    return command


def launch(db_url: str, port: int | None, address: str = DEFAULT_ADDRESS) -> int:
    """Serve the dashboard for ``db_url`` until it is stopped; returns Streamlit's exit code."""
    environment = {**os.environ, DB_URL_VARIABLE: db_url}
    try:
        return subprocess.run(streamlit_command(port, address), env=environment, check=False).returncode
    except KeyboardInterrupt:
        return 130
