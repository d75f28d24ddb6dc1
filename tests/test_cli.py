"""The ``anomaly`` command as users and schedulers call it: help, exit codes, one-line errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from anomaly.cli import main


def _anomaly(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "anomaly.cli", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.mark.parametrize("command", [[], ["run"], ["train"], ["score"], ["db", "upgrade"], ["dashboard"]])
def test_every_command_has_help(command):
    result = _anomaly(*command, "--help")
    assert result.returncode == 0
    assert "usage: anomaly" in result.stdout


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from anomaly.cli import build_parser; build_parser(); print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_bad_config_is_one_line_on_stderr_and_exit_2(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text('[source]\npath = "x.csv"\n[window]\nlength = 1\n')
    result = _anomaly("run", str(config), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ") and "window.length" in result.stderr


def test_missing_config_and_data(tmp_path):
    result = _anomaly("run")
    assert result.returncode == 2 and "--data" in result.stderr
    result = _anomaly(
        "run", "--data", str(tmp_path / "missing.csv"), "--db", f"sqlite:///{tmp_path / 'a.db'}"
    )
    assert result.returncode == 2 and "missing.csv" in result.stderr and "not found" in result.stderr


def test_database_down_is_exit_2_without_password(tmp_path):
    result = _anomaly("db", "upgrade", "--db", "postgresql+psycopg://u:hunter2@127.0.0.1:9/x")
    assert result.returncode == 2
    assert "cannot connect" in result.stderr and "hunter2" not in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path):
    result = _anomaly("db", "upgrade", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.returncode == 0, result.stderr
    tables = {row[0] for row in sqlite3.connect(tmp_path / "a.db").execute("select name from sqlite_master")}
    assert {"runs", "streams", "models", "scores", "anomalies", "windows"} <= tables


def test_db_url_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANOMALY_DB_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "env.db").exists()


def test_run_with_data_override_and_failed_stream_exit_code(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(
        '[source]\npath = "unused.csv"\n[window]\nlength = 16\ntrain_stride = 4\n'
        "[model]\nunits = 8\nepochs = 2\n"
    )
    data = tmp_path / "wide.csv"
    rows = ["timestamp,good,short"] + [
        f"2026-01-01T{h:02d}:{m:02d}:00Z,{(h * 60 + m) % 17},{1 if h == 0 and m < 50 else ''}"
        for h in range(24)
        for m in range(0, 60, 10)
    ]
    data.write_text("\n".join(rows) + "\n")
    args = ["run", str(config), "--data", str(data), "--db", f"sqlite:///{tmp_path / 'a.db'}"]
    exit_code = main([*args, "--models", str(tmp_path / "models")])
    out = capsys.readouterr()
    assert exit_code == 1
    assert "ok      good" in out.out and "FAILED  short" in out.out
    assert "1 stream(s) failed" in out.err

