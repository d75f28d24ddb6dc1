"""The ``runs`` row: written (committed) when a run starts, completed when it ends.

Committing the row first means a run that dies is still visible as ``running`` with its start time,
and every failure ends with its message in ``runs.error`` for the dashboard and for SQL alerting.

A run holds its run lock (``pipelines.locks``) from before its row is visible until after its row is
closed, and the lock dies with the process. So a ``running`` row whose lock is free belongs to a
process that was killed (SIGKILL, OOM killer, power loss): the next run marks it failed as abandoned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from anomaly.errors import DatabaseError, LockedError
from anomaly.storage.database import error_reason
from anomaly.storage.outbox import queue_run_failure
from anomaly.storage.schema import Run
from pipelines.locks import named_lock, run_lock_name

ABANDONED = "abandoned: the process stopped before finishing"

log = logging.getLogger("anomaly")


@contextmanager
def started_run(engine: Engine, command: str, config: dict[str, Any]) -> Iterator[int]:
    """Insert a ``running`` row and yield its id, holding the run lock until the block ends.

    The lock is taken before the row is committed: another run can never see this row ``running``
    with its lock free, which is what ``mark_abandoned_runs`` takes as proof of death. Close the row
    with ``finish_run`` inside the block, so the lock outlives the ``running`` status.
    """
    try:
        with engine.connect() as connection:
            run_id = connection.execute(
                insert(Run)
                .values(started_at=datetime.now(UTC), status="running", command=command, config=config)
                .returning(Run.id)
            ).scalar_one()
            lock = named_lock(engine, run_lock_name(run_id))
            if not lock.acquire():
                raise LockedError(f"run {run_id} is locked by another process: was a run id reused?")
            try:
                connection.commit()
            except SQLAlchemyError:
                lock.release(forget=True)
                raise
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not record the run: {error_reason(exc)}") from None
    try:
        yield run_id
    finally:
        lock.release(forget=True)


def mark_abandoned_runs(engine: Engine, *, queue_alerts: bool = False) -> list[int]:
    """Mark failed every ``running`` run whose process is gone (its run lock is free); return their ids.

    ``finished_at`` becomes the time this was noticed: when the process died is not recorded anywhere.
    With ``queue_alerts``, each one's failure notification is queued in the same transaction.
    """
    try:
        with engine.connect() as connection:
            candidates = connection.execute(select(Run.id).where(Run.status == "running")).scalars().all()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not read the runs table: {error_reason(exc)}") from None
    abandoned = []
    for run_id in candidates:
        lock = named_lock(engine, run_lock_name(run_id))
        if not lock.acquire():
            continue
        try:
            with engine.begin() as connection:
                marked = connection.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status == "running")
                    .values(finished_at=datetime.now(UTC), status="failed", error=ABANDONED)
                ).rowcount
                if marked and queue_alerts:
                    queue_run_failure(connection, run_id, datetime.now(UTC))
        except SQLAlchemyError as exc:
            raise DatabaseError(f"could not mark run {run_id} abandoned: {error_reason(exc)}") from None
        finally:
            lock.release(forget=True)
        if marked:
            log.warning("run %d: %s; marked failed", run_id, ABANDONED)
            abandoned.append(run_id)
    return abandoned


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    n_streams: int,
    n_windows: int,
    n_anomalies: int,
    error: str | None,
    queue_alert: bool = False,
) -> None:
    """Close the run row with its outcome and counts; with ``queue_alert``, a failed run's notification
    is queued in the same transaction, so the failure is never recorded without it."""
    try:
        with engine.begin() as connection:
            if status == "failed" and queue_alert:
                queue_run_failure(connection, run_id, datetime.now(UTC))
            connection.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    finished_at=datetime.now(UTC),
                    status=status,
                    n_streams=n_streams,
                    n_windows=n_windows,
                    n_anomalies=n_anomalies,
                    error=error,
                )
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not record the end of run {run_id}: {error_reason(exc)}") from None
