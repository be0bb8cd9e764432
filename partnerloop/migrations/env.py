"""Alembic environment: the URL comes from the caller (partnerloop.migrate) or from Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from partnerloop.models import Base

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    from partnerloop.config import get_settings
    from partnerloop.db import get_engine

    with get_engine(get_settings()).connect() as fresh:
        run_migrations(fresh)
else:
    run_migrations(connection)
