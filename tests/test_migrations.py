"""Alembic migrations: an empty database reaches head, an older one upgrades keeping its rows, and the
migrated schema is exactly the ORM's, so a schema change without a migration fails here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, insert, inspect, select

from anomaly.cli import main
from anomaly.storage.database import MIGRATIONS_DIR, open_engine, upgrade_schema
from anomaly.storage.schema import Anomaly, Base, Run, Score, Window
from tests.conftest import insert_stream_with_model

ADDED_IN_0002 = {("anomalies", "ix_anomalies_status"), ("windows", "ix_windows_model_id")}
DROPPED_IN_0002 = {("scores", "ix_scores_stream_ts")}
ADDED_IN_0003 = {("anomalies", "verdict_by"), ("anomalies", "verdict_at")}
TABLES_ADDED_IN_0004 = {"alert_outbox"}


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _head() -> str:
    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _tables(engine: Engine) -> list[str]:
    """The ORM's tables that exist in the database (an older revision lacks the newer ones)."""
    return [name for name in Base.metadata.tables if inspect(engine).has_table(name)]


def _indexes(engine: Engine) -> set[tuple[str, str]]:
    inspector = inspect(engine)
    return {(table, index["name"]) for table in _tables(engine) for index in inspector.get_indexes(table)}


def _fill(connection: Connection) -> None:
    """Rows in every table, two streams with scores, an anomaly with its window, a reviewed verdict."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    run_id = connection.execute(
        insert(Run)
        .values(started_at=start, status="succeeded", command="run", config={"window": 16}, n_streams=2)
        .returning(Run.id)
    ).scalar_one()
    for number, channels in enumerate((["value"], ["p", "q"])):
        stream_id, model_id = insert_stream_with_model(
            connection,
            f"plant/{number}",
            start,
            channels=channels,
            params={"units": 8},
            artifact=f"models/{number}/v1",
            frequency="10min",
            first_ts=start,
        )
        univariate = len(channels) == 1
        connection.execute(
            insert(Score),
            [
                {
                    "stream_id": stream_id,
                    "ts": start + timedelta(minutes=10 * i),
                    "model_id": model_id,
                    "value": float(i) if univariate else None,
                    "values": None if univariate else [float(i), -float(i)],
                    "error": 0.1 * i,
                    "threshold": 0.5,
                    "is_anomaly": i > 5,
                    "run_id": run_id,
                }
                for i in range(8)
            ],
        )
        anomaly_id = connection.execute(
            insert(Anomaly)
            .values(
                stream_id=stream_id,
                model_id=model_id,
                run_id=run_id,
                start_ts=start + timedelta(minutes=60),
                end_ts=start + timedelta(minutes=70),
                peak_ts=start + timedelta(minutes=70),
                peak_error=0.7,
                threshold=0.5,
                severity=1.4,
                n_windows=1,
                status="confirmed" if number else "open",
                note="pump trip" if number else None,
            )
            .returning(Anomaly.id)
        ).scalar_one()
        connection.execute(
            insert(Window).values(
                stream_id=stream_id,
                model_id=model_id,
                run_id=run_id,
                start_ts=start,
                end_ts=start + timedelta(minutes=70),
                error=0.7,
                is_anomaly=True,
                anomaly_id=anomaly_id,
                embedding=[0.5, -0.25],
                cluster=0,
                x=0.1,
                y=0.2,
                reconstruction=[[1.0], [2.0]],
            )
        )


def _columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {name: {column["name"] for column in inspector.get_columns(name)} for name in _tables(engine)}


def _all_rows(engine: Engine, columns: dict[str, set[str]]) -> dict[str, list[tuple]]:
    """Every row of the tables in ``columns``, in the given columns of each (those an older revision has)."""
    rows = {}
    with engine.connect() as connection:
        for name in columns:
            table = Base.metadata.tables[name]
            selected = [column for column in table.columns if column.name in columns[name]]
            statement = select(*selected).order_by(*table.primary_key)
            rows[name] = [tuple(row) for row in connection.execute(statement)]
    return rows


def test_db_upgrade_brings_an_empty_database_to_head(database_url):
    assert main(["db", "upgrade", "--db", database_url]) == 0
    engine = open_engine(database_url)
    assert _revision(engine) == _head()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert _indexes(engine) >= ADDED_IN_0002
    engine.dispose()


def test_a_filled_database_at_0001_upgrades_to_head_keeping_every_row(database_url):
    engine = open_engine(database_url)
    upgrade_schema(engine, "0001")
    assert _revision(engine) == "0001"
    indexes = _indexes(engine)
    assert indexes >= DROPPED_IN_0002 and indexes.isdisjoint(ADDED_IN_0002)
    with engine.begin() as connection:
        _fill(connection)
    columns_at_0001 = _columns(engine)
    before = _all_rows(engine, columns_at_0001)
    upgrade_schema(engine)
    assert _revision(engine) == _head()
    assert _all_rows(engine, columns_at_0001) == before
    at_head = _columns(engine)
    added = {(name, column) for name in columns_at_0001 for column in at_head[name] - columns_at_0001[name]}
    assert added == ADDED_IN_0003
    assert set(at_head) - set(columns_at_0001) == TABLES_ADDED_IN_0004
    assert _all_rows(engine, at_head)["alert_outbox"] == []  # enabling alerts never announces history
    with engine.connect() as connection:
        verdicts = connection.execute(select(Anomaly.verdict_by, Anomaly.verdict_at)).all()
    assert verdicts and all(verdict == (None, None) for verdict in verdicts)
    assert sum(len(rows) for rows in before.values()) == 1 + 2 * (1 + 1 + 8 + 1 + 1)
    indexes = _indexes(engine)
    assert indexes >= ADDED_IN_0002 and indexes.isdisjoint(DROPPED_IN_0002)
    engine.dispose()


def test_the_migrated_schema_is_exactly_the_orm_schema(database_url):
    """Fails when schema.py changes without a migration (or a migration without schema.py)."""
    engine = open_engine(database_url)
    upgrade_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_0001_then_upgrade_round_trips(database_url):
    engine = open_engine(database_url)
    upgrade_schema(engine, "0001")
    at_0001 = _indexes(engine), _columns(engine)
    upgrade_schema(engine)
    command.downgrade(_alembic_config(database_url), "0001")
    assert _revision(engine) == "0001" and (_indexes(engine), _columns(engine)) == at_0001
    upgrade_schema(engine)
    assert _revision(engine) == _head()
    engine.dispose()
