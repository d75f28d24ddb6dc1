"""A run killed with SIGKILL in the middle of a stream's transaction leaves no partial rows and no
stale locks; the next run marks it failed as abandoned and finishes the work without duplicates.

On SQLite only, to keep the suite fast: the transactions are the same on PostgreSQL, and that the
server frees a killed run's advisory locks is shown by test_locks.
"""

from __future__ import annotations

import signal

import pytest

from pipelines import Command, execute
from pipelines.bookkeeping import ABANDONED
from tests.production.conftest import (
    SCORED_ROWS,
    StreamRows,
    each_stream_done_once,
    rows_per_stream,
    runs_by_id,
    start_cli,
    wait_for,
    write_toml,
)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'anomaly.db'}"


def test_run_killed_mid_stream_is_marked_abandoned_and_the_next_run_completes(three_stream_config, tmp_path):
    url = three_stream_config.storage.db
    marker = tmp_path / "inside-second-transaction"
    killed = start_cli(
        "tests/production/killable_run.py",
        str(write_toml(three_stream_config, tmp_path / "pipeline.toml")),
        str(marker),
    )
    try:
        wait_for(marker.exists, timeout=120, what="the second stream's insert", process=killed)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()

    (first_stream,) = rows_per_stream(url).items()  # the second stream's inserts are gone
    assert first_stream[1] == StreamRows(1, SCORED_ROWS, SCORED_ROWS)
    assert [r.status for r in runs_by_id(url).values()] == ["running"]

    summary = execute(three_stream_config, Command.RUN)

    assert summary.status == "succeeded" and summary.skipped == []
    assert rows_per_stream(url) == each_stream_done_once()
    killed_run, next_run = runs_by_id(url).values()
    assert (killed_run.status, killed_run.error) == ("failed", ABANDONED)
    assert (next_run.status, next_run.n_streams) == ("succeeded", 3)
