"""``anomaly dashboard``: ``launch`` runs ``streamlit run`` on the app with the database URL in the
environment, bound to loopback by default; ``hash-password`` makes the sign-in's hashes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from anomaly.cli import main
from dashboard import launch as launch_module
from dashboard.passwords import verify_password


def test_launch_passes_url_in_environment_and_returns_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_run(command, env, check):
        calls.append((command, env))
        return subprocess.CompletedProcess(command, 3)

    monkeypatch.setattr(launch_module.subprocess, "run", fake_run)
    assert launch_module.launch("sqlite:///x.db", 8600) == 3
    (command, env), = calls
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert command[4].endswith("dashboard/app.py")
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags == {"--server.headless": "true", "--server.address": "127.0.0.1", "--server.port": "8600",
                     "--client.toolbarMode": "viewer", "--browser.gatherUsageStats": "false"}
    assert env["ANOMALY_DB_URL"] == "sqlite:///x.db"
    assert "--server.port" not in launch_module.streamlit_command(None)
    everywhere = launch_module.streamlit_command(None, "0.0.0.0")
    assert everywhere[everywhere.index("--server.address") + 1] == "0.0.0.0"


def test_anomaly_dashboard_binds_to_loopback_unless_given_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(launch_module, "launch", lambda *args: calls.append(args) or 0)
    assert main(["dashboard", "--db", "sqlite:///x.db"]) == 0
    assert main(["dashboard", "--db", "sqlite:///x.db", "--port", "8600", "--address", "0.0.0.0"]) == 0
    assert calls == [("sqlite:///x.db", None, "127.0.0.1"), ("sqlite:///x.db", 8600, "0.0.0.0")]


def test_dashboard_does_not_import_tensorflow() -> None:
    code = ("import sys; import dashboard.queries, dashboard.charts, dashboard.data, dashboard.launch; "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=launch_module.APP_PATH.parents[1])
    assert result.stdout.strip() == "False"


def test_hash_password_prints_a_hash_of_the_first_line_of_stdin() -> None:
    command = [sys.executable, "-m", "anomaly.cli", "dashboard", "hash-password"]
    cwd = launch_module.APP_PATH.parents[1]
    result = subprocess.run(command, input="tr0ub4dor &3\nignored\n", capture_output=True, text=True,
                            cwd=cwd, check=False)
    assert result.returncode == 0, result.stderr
    (encoded,) = result.stdout.split()
    assert verify_password("tr0ub4dor &3", encoded) and not verify_password("ignored", encoded)
    empty = subprocess.run(command, input="\n", capture_output=True, text=True, cwd=cwd, check=False)
    assert empty.returncode == 2 and empty.stderr.strip() == "error: the password is empty"
