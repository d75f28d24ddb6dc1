"""Bulk writes of score rows: the pipeline's insert path against a Core executemany and an ORM loop.

For SQLite (a file) and PostgreSQL (a scratch database on 127.0.0.1:5432, when it answers) it times,
in the same run, from the stream's columns (numpy arrays) to a committed transaction:

- ``bulk``: ``anomaly.storage.score_rows.insert_scores``, what ``anomaly run`` uses (binary COPY on
  PostgreSQL, executemany of plain tuples on SQLite);
- ``core``: SQLAlchemy Core ``insert`` with one parameter dict per row (the previous path);
- ``orm``: ``Session.add`` and ``flush`` per row, as code that adds objects one by one does (on a
  tenth of the rows, at least 1000: it is that slow).

It prints one line per database and, last, one JSON line (``measure``'s result) for benchmarks/run.py.

    .venv/bin/python benchmarks/db_writes.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, create_engine, insert, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Model, Run, Score, Stream
from anomaly.storage.score_rows import ScoreRows, insert_scores, insert_scores_portably

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _prepare(url: str) -> tuple[int, int, int]:
    """A run, a stream and its model for the score rows to point at: (run_id, stream_id, model_id)."""
    engine = open_engine(url)
    upgrade_schema(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(Run).values(started_at=now, status="running", command="run", config={}).returning(Run.id)
        ).scalar_one()
        stream_id = connection.execute(
            insert(Stream).values(name="bench", channels=["value"]).returning(Stream.id)
        ).scalar_one()
        model_id = connection.execute(
            insert(Model)
            .values(
                stream_id=stream_id,
                version=1,
                created_at=now,
                trained_from=now,
                trained_to=now,
                params={},
                threshold=1.0,
                threshold_method="block_maxima",
                artifact="-",
                active=True,
            )
            .returning(Model.id)
        ).scalar_one()
    engine.dispose()
    return run_id, stream_id, model_id


def _score_rows(n: int, start: str, ids: tuple[int, int, int]) -> ScoreRows:
    """``n`` rows a minute apart from ``start``, as a univariate stream's analysis produces them."""
    run_id, stream_id, model_id = ids
    steps = np.arange(n)
    return ScoreRows(
        stream_id=stream_id,
        model_id=model_id,
        run_id=run_id,
        threshold=1.0,
        timestamps=pd.date_range(start, periods=n, freq="1min", tz="UTC"),
        values=(steps % 97).astype(float).reshape(-1, 1),
        errors=0.01 * (steps % 13) + 0.9,
    )


def _timed(url: str, write: Callable[[Connection], None], n_rows: int) -> float:
    """Rows per second of ``write`` in one transaction, commit included."""
    engine = open_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        write(connection)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return n_rows / elapsed


def _orm_loop(rows: ScoreRows) -> Callable[[Connection], None]:
    objects = [
        {
            "stream_id": rows.stream_id,
            "ts": ts,
            "model_id": rows.model_id,
            "value": value,
            "error": error,
            "threshold": rows.threshold,
            "is_anomaly": error > rows.threshold,
            "run_id": rows.run_id,
        }
        for ts, value, error in zip(
            rows.timestamps.to_pydatetime(), rows.values[:, 0].tolist(), rows.errors.tolist(), strict=True
        )
    ]

    def write(connection: Connection) -> None:
        with Session(bind=connection) as session:
            for row in objects:
                session.add(Score(**row))
                session.flush()  # one INSERT per row

    return write


def measure_database(url: str, rows: int) -> dict[str, float]:
    """Rows per second of the three paths on the (empty or benchmark-only) database at ``url``."""
    ids = _prepare(url)
    core = _score_rows(rows, "2026-01-01", ids)
    bulk = _score_rows(rows, "2027-01-01", ids)
    orm = _score_rows(max(rows // 10, 1000), "2028-01-01", ids)
    # The pipeline's path goes second, into a table that already holds ``rows`` rows, not an empty one.
    core_speed = _timed(url, lambda connection: insert_scores_portably(connection, core), rows)
    bulk_speed = _timed(url, lambda connection: insert_scores(connection, bulk), rows)
    return {"bulk": bulk_speed, "core": core_speed, "orm": _timed(url, _orm_loop(orm), len(orm))}


@contextmanager
def _scratch_postgres() -> Iterator[str | None]:
    """The URL of a new PostgreSQL database, dropped afterwards; None when no server answers."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        print(f"postgresql: not measured ({str(exc.orig).splitlines()[0]})")
        admin.dispose()
        yield None
        return
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _line(database: str, speeds: dict[str, float]) -> str:
    return (
        f"{database + ':':12s}bulk {speeds['bulk']:10,.0f} rows/s  core {speeds['core']:8,.0f} rows/s  "
        f"ORM add loop {speeds['orm']:7,.0f} rows/s  bulk/core {speeds['bulk'] / speeds['core']:4.1f}x  "
        f"bulk/ORM {speeds['bulk'] / speeds['orm']:5.1f}x"
    )


def measure(rows: int = 100_000) -> dict[str, float | None]:
    """Score rows per second written by the pipeline's path on SQLite and PostgreSQL, and its ratio to
    the Core executemany and the ORM loop timed in the same run (PostgreSQL's are None without a
    server); prints one line per database as it goes."""
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure_database(f"sqlite:///{Path(folder) / 'bench.db'}", rows)
    print(_line("sqlite", sqlite))
    with _scratch_postgres() as url:
        postgres = measure_database(url, rows) if url else None
    if postgres:
        print(_line("postgresql", postgres))
    result: dict[str, float | None] = {"rows": rows}
    for name, speeds in (("sqlite", sqlite), ("postgres", postgres)):
        result[f"db_rows_per_s_{name}"] = round(speeds["bulk"]) if speeds else None
        for other in ("core", "orm"):
            result[f"db_{other}_rows_per_s_{name}"] = round(speeds[other]) if speeds else None
            result[f"db_ratio_vs_{other}_{name}"] = (
                round(speeds["bulk"] / speeds[other], 2) if speeds else None
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    print(json.dumps(measure(parser.parse_args().rows)))


if __name__ == "__main__":
    main()
