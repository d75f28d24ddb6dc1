"""Named locks on both databases: exclusive between runs and threads, free again once released or
when the holder is killed; and the run lock that tells a dead ``running`` run from a live one."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Run
from pipelines.bookkeeping import ABANDONED, finish_run, mark_abandoned_runs, started_run
from pipelines.locks import NoLock, advisory_key, named_lock, try_locked
from tests.production.conftest import runs_by_id, start_cli, wait_for


@pytest.fixture
def engine(db_url):
    engine = open_engine(db_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def test_advisory_keys_are_stable_signed_64_bit_and_distinct():
    assert advisory_key("stream:plant/a") == 8543331959579612611  # the same in every process
    assert advisory_key("stream:plant/a") != advisory_key("stream:plant/b")
    assert all(-(2**63) <= advisory_key(f"run:{n}") < 2**63 for n in range(100))


def test_lock_is_exclusive_until_released(engine):
    first, second = named_lock(engine, "stream:x"), named_lock(engine, "stream:x")
    assert first.acquire()
    assert not second.acquire()
    assert named_lock(engine, "stream:y").acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_lock_excludes_another_thread(engine):
    with try_locked(engine, "stream:x") as mine:
        results = []
        thread = threading.Thread(target=lambda: results.append(named_lock(engine, "stream:x").acquire()))
        thread.start()
        thread.join()
    assert mine and results == [False]


@pytest.mark.postgres
def test_advisory_lock_of_a_killed_process_is_freed_by_the_server(postgres_url):
    """(On SQLite the kernel frees an flock at once: test_crash_recovery relies on it.)"""
    holder = start_cli(
        "-c",
        "import sys, time\n"
        "from anomaly.storage.database import open_engine\n"
        "from pipelines.locks import named_lock\n"
        "assert named_lock(open_engine(sys.argv[1]), 'stream:x').acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(600)\n",
        postgres_url,
    )
    engine = open_engine(postgres_url)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert not named_lock(engine, "stream:x").acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = named_lock(engine, "stream:x")
    wait_for(lock.acquire, timeout=10, what="the server to end the killed holder's session")
    lock.release()
    engine.dispose()


def test_a_private_in_memory_database_needs_no_lock():
    engine = open_engine("sqlite://")
    assert isinstance(named_lock(engine, "stream:x"), NoLock)
    engine.dispose()


def test_running_run_without_its_lock_is_marked_abandoned_and_a_live_one_is_not(engine, db_url):
    with engine.begin() as connection:  # as left by a process killed mid-run: its lock died with it
        dead_id = connection.execute(
            insert(Run)
            .values(started_at=datetime(2026, 1, 1, tzinfo=UTC), status="running", command="run", config={})
            .returning(Run.id)
        ).scalar_one()
    with started_run(engine, "run", {}) as live_id:
        assert mark_abandoned_runs(engine) == [dead_id]
        assert mark_abandoned_runs(engine) == []
        finish_run(engine, live_id, status="succeeded", n_streams=0, n_windows=0, n_anomalies=0, error=None)
    runs = runs_by_id(db_url)
    assert (runs[dead_id].status, runs[dead_id].error) == ("failed", ABANDONED)
    assert runs[dead_id].finished_at is not None
    assert (runs[live_id].status, runs[live_id].error) == ("succeeded", None)
