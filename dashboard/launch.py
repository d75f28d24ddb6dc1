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


def streamlit_command(port: int | None) -> list[str]:
    """The command line that serves the app headless, on ``port`` or Streamlit's default (8501)."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.headless", "true"]
    if port is not None:
        command += ["--server.port", str(port)]
    return command


def launch(db_url: str, port: int | None) -> int:
    """Serve the dashboard for ``db_url`` until it is stopped; returns Streamlit's exit code."""
    environment = {**os.environ, DB_URL_VARIABLE: db_url}
    try:
        return subprocess.run(streamlit_command(port), env=environment, check=False).returncode
    except KeyboardInterrupt:
        return 130
