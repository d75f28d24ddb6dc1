"""The built-in scheduler: intervals, fixed-rate slots, overruns, stop signals and exit codes, with a
fake clock and a fake run; then two real runs of the tiny pipeline."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest

import pipelines.runner as runner
from anomaly.cli import build_parser
from anomaly.errors import ConfigError, DataError
from pipelines.runner import RunSummary, StreamOutcome
from pipelines.schedule import parse_interval, run_every
from tests.conftest import tiny_config
from tests.production.conftest import runs_by_id


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400), (" 1.5H ", 5400)]
)
def test_parse_interval(text, seconds):
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["15", "m", "0m", "-5m", "15 minutes", "1w", ""])
def test_bad_interval_says_what_is_expected(text):
    with pytest.raises(ConfigError, match=r"e\.g\. 30s, 15m, 1h"):
        parse_interval(text)


class FakeTime:
    """A clock that only ``sleep`` and the fake runs move forward."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.naps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds

    def run_every(self, config, interval: timedelta, **kwargs) -> int:
        """``run_every`` on this clock."""
        return run_every(config, interval, sleep=self.sleep, clock=self.clock, **kwargs)


def fake_runs(monkeypatch, fake_time: FakeTime, durations: list[float], results=None):
    """Replace ``execute`` by runs lasting ``durations`` (s); record when each started."""
    starts = []
    results = iter(results or ["ok"] * len(durations))

    def execute(config, command):
        starts.append(fake_time.now)
        fake_time.now += durations[len(starts) - 1]
        result = next(results)
        if isinstance(result, Exception):
            raise result
        if callable(result):
            result()
        error = "broken" if result == "failed" else None
        return RunSummary(len(starts), "failed" if error else "succeeded", [StreamOutcome("s", None, error)])

    monkeypatch.setattr(runner, "execute", execute)
    return starts


def test_runs_start_on_fixed_slots_whatever_they_last(monkeypatch, tmp_path):
    fake_time = FakeTime()
    starts = fake_runs(monkeypatch, fake_time, [10, 50, 1, 30])
    code = fake_time.run_every(tiny_config(tmp_path, tmp_path), timedelta(minutes=1), max_runs=4)
    assert code == 0
    assert [start - 1000 for start in starts] == [0, 60, 120, 180]
    assert max(fake_time.naps) <= 1.0  # short naps, so that a stop signal is noticed soon


def test_an_overrun_starts_the_next_run_at_once_and_drops_missed_slots(monkeypatch, tmp_path, caplog):
    fake_time = FakeTime()
    starts = fake_runs(monkeypatch, fake_time, [150, 5, 5])
    fake_time.run_every(tiny_config(tmp_path, tmp_path), timedelta(minutes=1), max_runs=3)
    assert [start - 1000 for start in starts] == [0, 150, 180]
    assert "longer than the interval" in caplog.text and "1 slot(s) dropped" in caplog.text


def test_exit_code_is_the_last_runs_and_errors_do_not_stop_the_schedule(monkeypatch, tmp_path, caplog):
    fake_time = FakeTime()
    config = tiny_config(tmp_path, tmp_path)
    fake_runs(monkeypatch, fake_time, [1, 1, 1], ["ok", DataError("no such file"), "failed"])
    assert fake_time.run_every(config, timedelta(seconds=5), max_runs=3) == 1
    assert "run failed: no such file" in caplog.text
    fake_runs(monkeypatch, fake_time, [1, 1], ["ok", DataError("no such file")])
    assert fake_time.run_every(config, timedelta(seconds=5), max_runs=2) == 2


def test_sigterm_during_a_run_stops_the_schedule_after_that_run(monkeypatch, tmp_path):
    fake_time = FakeTime()
    handler_before = signal.getsignal(signal.SIGTERM)
    starts = fake_runs(
        monkeypatch, fake_time, [1, 1, 1], ["ok", lambda: os.kill(os.getpid(), signal.SIGTERM), "ok"]
    )
    code = fake_time.run_every(tiny_config(tmp_path, tmp_path), timedelta(seconds=5))
    assert code == 0 and len(starts) == 2
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_schedule_command_line():
    parser = build_parser()
    args = parser.parse_args(["schedule", "pipeline.toml", "--every", "15m", "--max-runs", "2"])
    assert (args.every, args.max_runs, args.config.name) == (timedelta(minutes=15), 2, "pipeline.toml")
    with pytest.raises(SystemExit):
        parser.parse_args(["schedule", "pipeline.toml", "--every", "soon"])


def test_two_real_runs_score_once(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path)
    naps = []
    assert run_every(config, timedelta(milliseconds=1), max_runs=2, sleep=naps.append) == 0
    runs = runs_by_id(config.storage.db)
    assert [(r.status, r.n_streams) for r in runs.values()] == [("succeeded", 2), ("succeeded", 2)]
