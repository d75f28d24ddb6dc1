"""``launch`` runs ``streamlit run`` on the app with the database URL in the environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard import launch as launch_module


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
    assert command[5:] == ["--server.headless", "true", "--server.port", "8600"]
    assert env["ANOMALY_DB_URL"] == "sqlite:///x.db"
    assert "--server.port" not in launch_module.streamlit_command(None)


def test_dashboard_does_not_import_tensorflow() -> None:
    code = ("import sys; import dashboard.queries, dashboard.charts, dashboard.data, dashboard.launch; "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=launch_module.APP_PATH.parents[1])
    assert result.stdout.strip() == "False"
