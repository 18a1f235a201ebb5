"""Fixtures of the reliability battery: one migrated database (PostgreSQL when
``FLEXCOORD_TEST_POSTGRES_URL`` is set, else a SQLite file) with its first administrator."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flexcoord.service import open_engine
from flexcoord.service.bootstrap import init_admin
from tests.service.conftest import POSTGRES_URL, _fresh_postgres


@dataclass(frozen=True)
class Database:
    """A migrated database for a live server, and the first administrator's key."""

    url: str
    admin_key: str
    backend: str


def fresh_database(tmp_path: Path, template: Path, *, postgres: bool) -> str:
    """An empty migrated database: this worker's PostgreSQL database, or a SQLite file."""
    if postgres:
        assert POSTGRES_URL is not None
        return _fresh_postgres(POSTGRES_URL)
    target = tmp_path / "battery.db"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def live_database(tmp_path: Path, migrated_template: Path) -> Database:
    """The database a live server runs on: PostgreSQL when available, else SQLite."""
    postgres = POSTGRES_URL is not None
    url = fresh_database(tmp_path, migrated_template, postgres=postgres)
    engine = open_engine(url)
    try:
        admin = init_admin(engine, party_id="admin", name="Admin", now=datetime.now(UTC))
    finally:
        engine.dispose()
    return Database(
        url=url, admin_key=admin.api_key, backend="postgresql" if postgres else "sqlite"
    )
