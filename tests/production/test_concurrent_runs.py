"""Two runs on one database at once never work on the same stream: the later one skips the streams
the earlier one holds (it does not wait), and every stream ends with one model and one score per
timestamp."""

from __future__ import annotations

import threading

import pipelines.runner as runner
from pipelines import Command, execute
from tests.production.conftest import (
    each_stream_done_once,
    rows_per_stream,
    runs_by_id,
)


def test_a_run_skips_the_stream_another_run_is_working_on(three_stream_config, monkeypatch):
    first_holds_a, first_may_go_on = threading.Event(), threading.Event()
    compute_stream = runner.compute_stream

    def pausing_on_first_a(raw, state, config, command):
        if raw.name == "plant/a" and not first_holds_a.is_set():
            first_holds_a.set()  # called under plant/a's stream lock (in-process executor)
            assert first_may_go_on.wait(timeout=60)
        return compute_stream(raw, state, config, command)

    monkeypatch.setattr(runner, "compute_stream", pausing_on_first_a)
    first_summary = []
    first = threading.Thread(target=lambda: first_summary.append(execute(three_stream_config, Command.RUN)))
    first.start()
    try:
        assert first_holds_a.wait(timeout=60)
        second = execute(three_stream_config, Command.RUN)
    finally:
        first_may_go_on.set()
        first.join(timeout=120)
    (first_run,) = first_summary

    assert second.skipped == ["plant/a"]
    assert [o.name for o in second.outcomes] == ["plant/b", "plant/c"] and not second.failures
    assert first_run.skipped == [] and not first_run.failures
    trained = {o.name: o.work.trained_version for o in first_run.outcomes}
    assert trained == {"plant/a": 1, "plant/b": None, "plant/c": None}  # b and c were already done
    assert rows_per_stream(three_stream_config.storage.db) == each_stream_done_once()
    runs = runs_by_id(three_stream_config.storage.db)
    assert [(r.status, r.n_streams) for r in runs.values()] == [("succeeded", 3), ("succeeded", 2)]
