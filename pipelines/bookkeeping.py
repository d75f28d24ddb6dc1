"""The ``runs`` row: written (committed) when a run starts, completed when it ends.

Committing the row first means a run that dies is still visible as ``running`` with its start time,
and every failure ends with its message in ``runs.error`` for the dashboard and for SQL alerting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from anomaly.errors import DatabaseError
from anomaly.storage.schema import Run


def start_run(engine: Engine, command: str, config: dict[str, Any]) -> int:
    """Insert a ``running`` row and return its id."""
    try:
        with engine.begin() as connection:
            return connection.execute(
                insert(Run)
                .values(started_at=datetime.now(UTC), status="running", command=command, config=config)
                .returning(Run.id)
            ).scalar_one()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not record the run: {_first_line(exc)}") from None


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    n_streams: int,
    n_windows: int,
    n_anomalies: int,
    error: str | None,
) -> None:
    """Close the run row with its outcome and counts."""
    try:
        with engine.begin() as connection:
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
        raise DatabaseError(f"could not record the end of run {run_id}: {_first_line(exc)}") from None


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original if original is not None else exc).strip().splitlines()[0]
