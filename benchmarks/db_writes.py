"""Bulk writes of score rows: the pipeline's Core executemany against an ORM ``add()`` loop.

Prints rows per second on SQLite (a file) and PostgreSQL (a scratch database on 127.0.0.1:5432,
when it answers), and the ratio to the ORM loop measured in the same run.

    .venv/bin/python benchmarks/db_writes.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Model, Run, Score, Stream

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _prepare(url: str) -> tuple[int, int, int]:
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


def _rows(n: int, start: datetime, ids: tuple[int, int, int]) -> list[dict]:
    run_id, stream_id, model_id = ids
    return [
        {
            "stream_id": stream_id,
            "ts": start + timedelta(minutes=i),
            "model_id": model_id,
            "value": float(i % 97),
            "values": None,
            "error": 0.01 * (i % 13),
            "threshold": 1.0,
            "is_anomaly": False,
            "run_id": run_id,
        }
        for i in range(n)
    ]


def _bulk(url: str, rows: list[dict]) -> float:
    engine = open_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Score), rows)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(rows) / elapsed


def _orm(url: str, rows: list[dict]) -> float:
    engine = open_engine(url)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        for row in rows:
            session.add(Score(**row))
            session.flush()  # one INSERT per row, as code that adds and flushes objects one by one does
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(rows) / elapsed


def measure(url: str, n: int) -> tuple[float, float]:
    ids = _prepare(url)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    bulk = _bulk(url, _rows(n, base, ids))
    orm = _orm(url, _rows(max(n // 10, 1000), base + timedelta(days=400), ids))
    return bulk, orm


def _line(database: str, bulk: float, orm: float) -> str:
    label = f"{database}:"
    return f"{label:12s}bulk {bulk:10,.0f} rows/s  ORM add loop {orm:8,.0f} rows/s  ratio {bulk / orm:5.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bulk, orm = measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.rows)
        print(_line("sqlite", bulk, orm))
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        print(f"postgresql: not measured ({str(exc.orig).splitlines()[0]})")
        return
    try:
        bulk, orm = measure(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", args.rows)
        print(_line("postgresql", bulk, orm))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
