"""Alembic environment: run by gateway.core.db.migrate() with an open connection, or by the
`alembic` command (`-c gateway/core/migrations/alembic.ini`) with a URL, to write revisions."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.core.db import create_engine_for
from gateway.core.models import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine_for(config.get_main_option("sqlalchemy.url") or "sqlite:///modemgate.db")
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
