"""Alembic environment: migrates the connection handed over by `database.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from flexcoord.service.tables import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through flexcoord.service.database.migrate")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
