"""Phase timings: the timer's arithmetic, and which phases a cold and a scheduled run report."""

from __future__ import annotations

import time

import pytest

from anomaly.timing import PhaseTimer, summed_phases
from pipelines import Command, execute
from tests.conftest import sensor_frame, tiny_config, write_long_csv


def test_a_phase_entered_twice_counts_both_times_also_when_it_raises():
    timer = PhaseTimer()
    with timer.phase("a"):
        time.sleep(0.01)
    with pytest.raises(ValueError), timer.phase("a"):
        time.sleep(0.01)
        raise ValueError
    with timer.phase("b"):
        pass
    assert timer.seconds["a"] >= 0.02
    assert 0 <= timer.seconds["b"] < timer.seconds["a"]


def test_summed_phases_adds_per_name():
    assert summed_phases([{"a": 1.0, "b": 2.0}, {"a": 0.5}, {}]) == {"a": 1.5, "b": 2.0}


def test_cold_and_scheduled_runs_report_their_phases(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path)
    cold = execute(config, Command.RUN)
    stream_phases = {"prepare", "train", "save", "score", "embed", "write"}
    for outcome in cold.outcomes:
        assert set(outcome.work.phases) == stream_phases
        assert outcome.work.train_seconds == outcome.work.phases["train"] > 0
    totals = cold.phase_seconds
    assert set(totals) == stream_phases | {"load"}
    assert totals["train"] == pytest.approx(sum(o.work.phases["train"] for o in cold.outcomes))
    assert all(seconds > 0 for seconds in totals.values())

    write_long_csv(
        two_stream_csv, [sensor_frame("plant/a", n=612, seed=1), sensor_frame("plant/b", n=612, seed=2)]
    )
    scheduled = execute(config, Command.RUN)
    for outcome in scheduled.outcomes:
        assert set(outcome.work.phases) == {"prepare", "model_load", "score", "embed", "write"}
        assert outcome.work.train_seconds == 0.0

    nothing_new = execute(config, Command.RUN)  # no model is loaded for a stream with nothing to score
    for outcome in nothing_new.outcomes:
        assert set(outcome.work.phases) == {"prepare", "write"}
