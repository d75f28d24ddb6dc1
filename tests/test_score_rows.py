"""The fast score inserts (binary COPY on PostgreSQL, executemany on SQLite) store byte for byte what
SQLAlchemy's Core insert stores, inside the caller's transaction, and refuse duplicates as it does."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Run, Score, Stream
from anomaly.storage.score_rows import ScoreRows, insert_scores, insert_scores_portably
from tests.conftest import insert_stream_with_model

# Everything as the database keeps it: text of timestamps and JSON, the storage class on SQLite.
STORED = {
    "sqlite": 'SELECT ts, typeof(ts), value, "values", typeof("values"), error, threshold, is_anomaly, '
    "typeof(is_anomaly), model_id, run_id FROM scores WHERE stream_id = :stream_id ORDER BY ts",
    "postgresql": 'SELECT ts::text, value, "values"::text, "values" IS NULL, error, threshold, is_anomaly, '
    "model_id, run_id FROM scores WHERE stream_id = :stream_id ORDER BY ts",
}


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = open_engine(database_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def _rows(ids: tuple[int, int], run_id: int, n_channels: int, n_rows: int = 500) -> ScoreRows:
    """Awkward values: a non-UTC zone across its DST switch, microseconds, a far-future timestamp,
    negative zero, tiny and huge floats, errors exactly at the threshold."""
    rng = np.random.default_rng(n_channels)
    timestamps = pd.date_range("2026-03-29 00:59:59.123456", periods=n_rows, freq="37s", tz="Europe/Berlin")
    timestamps = timestamps.append(
        pd.DatetimeIndex([pd.Timestamp("2199-12-31 23:59:59.999999", tz="Europe/Berlin")])
    )
    values = rng.normal(size=(n_rows + 1, n_channels)) * 10.0 ** rng.integers(-300, 300, (n_rows + 1, 1))
    values[0] = -0.0
    errors = np.abs(rng.normal(size=n_rows + 1))
    errors[::7] = 0.5
    stream_id, model_id = ids
    return ScoreRows(stream_id, model_id, run_id, 0.5, timestamps, values, errors)


def _stored(connection: Connection, stream_id: int) -> list[tuple]:
    statement = text(STORED[connection.dialect.name])
    return [tuple(row) for row in connection.execute(statement, {"stream_id": stream_id})]


@pytest.mark.parametrize("n_channels", [1, 3])
def test_fast_insert_stores_exactly_what_the_core_insert_stores(engine, n_channels):
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(Run)
            .values(started_at=datetime.now(UTC), status="running", command="run", config={})
            .returning(Run.id)
        ).scalar_one()
        fast, portable = (
            insert_stream_with_model(connection, name, datetime.now(UTC)) for name in ("fast", "portable")
        )
        fast_rows, portable_rows = _rows(fast, run_id, n_channels), _rows(portable, run_id, n_channels)
        assert insert_scores(connection, fast_rows) == len(fast_rows) == 501
        insert_scores_portably(connection, portable_rows)
    with engine.connect() as connection:
        stored = _stored(connection, fast[0])
        assert stored == [(*row[:-2], fast[1], run_id) for row in _stored(connection, portable[0])]
        read = connection.execute(select(Score).where(Score.stream_id == fast[0]).order_by(Score.ts)).all()
    assert [row.ts for row in read] == list(fast_rows.timestamps.tz_convert("UTC").to_pydatetime())
    assert all(row.ts.tzinfo == UTC for row in read)
    if n_channels == 1:
        assert [row.value for row in read] == fast_rows.values[:, 0].tolist()
        assert all(row.values is None for row in read)
    else:
        assert [row.values for row in read] == fast_rows.values.tolist()
        assert all(row.value is None for row in read)
    assert [row.is_anomaly for row in read] == (fast_rows.errors > 0.5).tolist()


def test_a_duplicate_row_fails_the_transaction_and_leaves_nothing(engine):
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(Run)
            .values(started_at=datetime.now(UTC), status="running", command="run", config={})
            .returning(Run.id)
        ).scalar_one()
        ids = insert_stream_with_model(connection, "plant/a", datetime.now(UTC))
        insert_scores(connection, _rows(ids, run_id, 1, n_rows=10))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(Stream).values(name="plant/b", channels=["value"]))
        insert_scores(connection, _rows(ids, run_id, 1, n_rows=20))
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Score)).scalar_one() == 11
        assert connection.execute(select(func.count()).select_from(Stream)).scalar_one() == 1


def test_nothing_to_insert_runs_no_statement(engine):
    empty = ScoreRows(1, 1, 1, 0.5, pd.DatetimeIndex([], tz="UTC"), np.empty((0, 1)), np.empty(0))
    with engine.begin() as connection:
        assert insert_scores(connection, empty) == 0


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="naive"):
        ScoreRows(
            1, 1, 1, 0.5, pd.date_range("2026-01-01", periods=2, freq="1min"), np.zeros((2, 1)), np.zeros(2)
        )
