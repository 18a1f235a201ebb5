"""Alembic environment: migrates the connection handed over by `database.migrate`."""

from __future__ import annotations

from alembic import context
from alembic.config import Config

from flexcoord.service.tables import Base


def run(config: Config) -> None:
    """Run the migrations on the connection :func:`flexcoord.service.database.migrate` gave."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through flexcoord.service.database.migrate")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()


# Alembic executes this file with its context proxy installed; imported any other way (pytest's
# doctest collection over src/), there is no migration to run.
_config: Config | None = getattr(context, "config", None)
if _config is not None:
    run(_config)
