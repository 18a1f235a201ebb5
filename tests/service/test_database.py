"""The database: safe settings on every connection, refused when unsafe, migrated at start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import event, inspect
from typer.testing import CliRunner

from flexcoord.cli.app import app as cli
from flexcoord.errors import InvalidInputError
from flexcoord.service import ServiceSettings, create_app, durability_issues, make_engine
from flexcoord.service.database import open_engine, schema_issues
from flexcoord.service.tables import Base
from tests.service.conftest import worker_postgres

POSTGRES_URL = os.environ.get("FLEXCOORD_TEST_POSTGRES_URL")


def test_every_sqlite_connection_is_wal_full_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        settings = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys")
        }
    engine.dispose()
    assert settings == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}


def test_weakened_settings_are_found_and_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")

    @event.listens_for(engine, "connect")
    def _weaken(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    found = {(i.field, i.value) for i in durability_issues(engine)}
    engine.dispose()
    assert found == {("synchronous", 1), ("foreign_keys", 0)}


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(InvalidInputError) as err:
        open_engine("sqlite://", migrate_schema=True)
    assert [(i.field, i.value) for i in err.value.issues] == [("journal_mode", "memory")]


def test_serve_refuses_an_unsafe_database_with_exit_2() -> None:
    result = CliRunner().invoke(cli, ["serve", "--database-url", "sqlite://"])
    assert result.exit_code == 2
    assert "journal_mode='memory' must be wal" in result.output


def test_an_unknown_driver_or_unreadable_url_is_one_clear_error() -> None:
    for url in ("nosuchdb://x", "not a url"):
        with pytest.raises(InvalidInputError) as err:
            open_engine(url)
        assert err.value.issues[0].field == "url"


def test_a_password_never_appears_in_an_error() -> None:
    with pytest.raises(InvalidInputError) as err:
        open_engine("postgresql+psycopg://user:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(err.value)
    assert "user:***@127.0.0.1:1/db" in str(err.value)


def test_migration_builds_the_schema_and_an_unmigrated_database_is_refused(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    assert [i.field for i in schema_issues(engine)] == ["schema"]
    engine.dispose()
    with pytest.raises(InvalidInputError, match="is not at migration"):
        create_app(ServiceSettings(database_url=url))
    engine = open_engine(url, migrate_schema=True)
    assert schema_issues(engine) == []
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"party", "credential", "unit", "resource_group", "audit_event"} <= tables


def test_the_migrations_build_exactly_the_tables_of_the_models(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'a.db'}", migrate_schema=True)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_service_init_uses_the_environment_url_and_makes_one_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLEXCOORD_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    first = CliRunner().invoke(cli, ["service", "init", "--admin-id", "root"])
    assert first.exit_code == 0, first.output
    key = first.stdout.strip().splitlines()[-1]
    assert (tmp_path / "env.db").exists() and not (tmp_path / "flexcoord.db").exists()
    again = CliRunner().invoke(cli, ["service", "init"])
    assert again.exit_code == 2
    assert "has an administrator already" in again.output
    app = create_app(ServiceSettings.from_environment(None))
    with TestClient(app) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["party_id"] == "root" and me["role"] == "admin"


def test_service_init_defaults_to_flexcoord_db_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLEXCOORD_DATABASE_URL", raising=False)
    assert CliRunner().invoke(cli, ["service", "init"]).exit_code == 0
    assert (tmp_path / "flexcoord.db").exists()


@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None, reason="FLEXCOORD_TEST_POSTGRES_URL is not set")
def test_postgresql_is_checked_migrated_and_served() -> None:
    assert POSTGRES_URL is not None
    url = worker_postgres(POSTGRES_URL)
    engine = open_engine(url, migrate_schema=True)
    assert durability_issues(engine) == []
    engine.dispose()
    app = create_app(ServiceSettings(database_url=url))
    with TestClient(app) as client:
        assert client.get("/ready").json() == {"status": "ready"}


def test_audit_verify_of_a_missing_sqlite_file_refuses_and_creates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nowhere.db"
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", f"sqlite:///{path}"])
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
    assert not path.exists()
