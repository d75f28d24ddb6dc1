"""The schema round-trips through SQLite and PostgreSQL: UTC timestamps, JSON columns, constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from anomaly.storage.database import has_schema, open_engine, upgrade_schema
from anomaly.storage.schema import Anomaly, Run, Score, Stream, Window
from pipelines import Command, execute
from tests.conftest import UNJUDGED_ROWS, insert_stream_with_model, tiny_config


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return request.getfixturevalue("postgres_url")


def test_every_table_round_trips(database_url):
    engine = open_engine(database_url)
    upgrade_schema(engine)
    upgrade_schema(engine)  # idempotent
    assert has_schema(engine)
    local = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(Run)
            .values(started_at=local, status="running", command="run", config={"a": [1, 2]})
            .returning(Run.id)
        ).scalar_one()
        stream_id, model_id = insert_stream_with_model(
            connection,
            "plant/pump 1",
            local,
            channels=["p", "q"],
            params={"units": 8},
            artifact="m/v1",
            frequency="10min",
        )
        connection.execute(
            insert(Score),
            [
                {
                    "stream_id": stream_id,
                    "ts": local + timedelta(minutes=10 * i),
                    "model_id": model_id,
                    "values": [1.0, 2.0],
                    "error": 0.1,
                    "threshold": 0.5,
                    "is_anomaly": False,
                    "run_id": run_id,
                }
                for i in range(3)
            ],
        )
        anomaly_id = connection.execute(
            insert(Anomaly)
            .values(
                stream_id=stream_id,
                model_id=model_id,
                run_id=run_id,
                start_ts=local,
                end_ts=local,
                peak_ts=local,
                peak_error=1.0,
                threshold=0.5,
                severity=2.0,
                n_windows=1,
                status="open",
            )
            .returning(Anomaly.id)
        ).scalar_one()
        connection.execute(
            insert(Window).values(
                stream_id=stream_id,
                model_id=model_id,
                run_id=run_id,
                start_ts=local,
                end_ts=local,
                error=1.0,
                is_anomaly=True,
                anomaly_id=anomaly_id,
                embedding=[0.5, -0.25],
                cluster=1,
                x=0.1,
                y=0.2,
                reconstruction=[[1.0, 2.0]],
            )
        )
    with engine.connect() as connection:
        run = connection.execute(select(Run)).one()
        assert run.started_at == local and run.started_at.tzinfo == UTC
        assert run.config == {"a": [1, 2]}
        assert connection.execute(select(Stream.channels)).scalar_one() == ["p", "q"]
        assert [s.ts.hour for s in connection.execute(select(Score).order_by(Score.ts))] == [10, 10, 10]
        window = connection.execute(select(Window)).one()
        assert window.embedding == [0.5, -0.25] and window.reconstruction == [[1.0, 2.0]]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(Score).values(
                stream_id=stream_id,
                ts=local,
                model_id=model_id,
                error=0.2,
                threshold=0.5,
                is_anomaly=False,
                run_id=run_id,
            )
        )
    engine.dispose()


def test_naive_timestamps_are_refused(database_url):
    engine = open_engine(database_url)
    upgrade_schema(engine)
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as connection:
        connection.execute(
            insert(Run).values(started_at=datetime(2026, 1, 1), status="running", command="run", config={})
        )
    engine.dispose()


def test_pipeline_runs_twice_on_the_database_without_duplicates(database_url, tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path).with_overrides(db=database_url)
    assert execute(config, Command.RUN).status == "succeeded"
    assert execute(config, Command.RUN).status == "succeeded"
    engine = open_engine(database_url)
    with engine.connect() as connection:
        assert len(connection.execute(select(Score.ts)).all()) == 1200 - 2 * UNJUDGED_ROWS
        assert len(connection.execute(select(Run.id)).all()) == 2
    engine.dispose()
