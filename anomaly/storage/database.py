"""Connecting to the database and bringing its schema up to date.

Connection problems become one-line ``DatabaseError`` messages (password hidden) instead of driver
tracebacks, and the schema is migrated with Alembic from the migrations shipped inside the package,
so ``anomaly db upgrade`` works from any working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from anomaly.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def describe_url(url: str) -> str:
    """The URL as safe to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def error_reason(exc: SQLAlchemyError) -> str:
    """The first line of what the database driver said, without SQLAlchemy's wrapping and SQL dump."""
    original = getattr(exc, "orig", None)
    return str(original if original is not None else exc).strip().splitlines()[0]


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_engine(url: str) -> Engine:
    """An engine for ``url`` that has been checked to answer, so later failures are real write errors.

    SQLite gets foreign keys switched on and a busy timeout so two processes wait for each other
    instead of failing at once.
    """
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"database URL {describe_url(url)!r} is not usable: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot connect to database {describe_url(url)}: {error_reason(exc)}") from None
    return engine


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision`` (the newest by default); safe to call on every run.

    An older ``revision`` such as "0001" builds a database as a previous release left it, which is how
    the tests check that upgrading keeps existing rows.
    """
    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not migrate database {describe_url(str(engine.url))}: {exc}") from None


def has_schema(engine: Engine) -> bool:
    """Whether the pipeline's tables exist (the dashboard uses this to tell an empty database apart)."""
    return inspect(engine).has_table("runs")
