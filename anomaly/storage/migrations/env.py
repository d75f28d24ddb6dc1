"""Alembic environment: runs migrations on the connection handed over by ``upgrade_schema``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from anomaly.storage.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as new_connection:
        _run(new_connection)
