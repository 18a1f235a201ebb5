"""Fixtures of the service tests: a migrated SQLite file per test, the app over it, parties."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings, create_app, open_engine
from flexcoord.service.bootstrap import init_admin

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A pinned server clock a test moves forward."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "flexcoord.db"
    open_engine(f"sqlite:///{path}", migrate_schema=True).dispose()
    return path


POSTGRES_URL = os.environ.get("FLEXCOORD_TEST_POSTGRES_URL")
_POSTGRES = pytest.param(
    "postgres",
    marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(POSTGRES_URL is None, reason="FLEXCOORD_TEST_POSTGRES_URL is not set"),
    ],
)


@functools.cache
def worker_postgres(url: str) -> str:
    """The URL of this pytest worker's own database on the server of ``url``, created if
    missing: the suite runs files on two xdist workers at once, and two workers emptying one
    database deadlock."""
    # the run's id too: two test runs on one server (two checkouts, CI beside a developer)
    # must not empty each other's databases
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"p{os.getpid()}")[:12]
    name = f"flexcoord_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    server = make_url(url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    atexit.register(_drop_database, server, name)
    return server.set(database=name).render_as_string(hide_password=False)


def _drop_database(server: URL, name: str) -> None:
    """Drop this worker's database when its process ends (the server may be gone by then)."""
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    except Exception:  # best effort at exit: a stopped server drops nothing
        pass


def _fresh_postgres(server_url: str) -> str:
    """This worker's PostgreSQL database emptied and migrated (each test starts from nothing)."""
    url = worker_postgres(server_url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    open_engine(url, migrate_schema=True).dispose()
    return url


@pytest.fixture(params=["sqlite", _POSTGRES])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> str:
    """A migrated database per test: a SQLite file, and PostgreSQL when CI provides one."""
    if request.param == "postgres":
        assert POSTGRES_URL is not None
        return _fresh_postgres(POSTGRES_URL)
    target = tmp_path / "flexcoord.db"
    shutil.copy(migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


@dataclass
class Api:
    """The app under test and the keys of the parties a test created."""

    client: TestClient
    app: FastAPI
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, party_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[party_id]}"}

    def as_(self, party_id: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.auth(party_id), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def party(self, party_id: str, role: str) -> str:
        """Register a party through the admin and issue its key."""
        r = self.as_(
            "admin",
            "POST",
            "/v1/parties",
            json={"id": party_id, "name": party_id.upper(), "role": role},
        )
        assert r.status_code == 201, r.text
        r = self.as_("admin", "POST", f"/v1/parties/{party_id}/credentials")
        assert r.status_code == 201, r.text
        self.keys[party_id] = r.json()["api_key"]
        return self.keys[party_id]


@pytest.fixture
def api(database_url: str, engine: Engine, clock: Clock) -> Iterator[Api]:
    admin = init_admin(engine, party_id="admin", name="Admin", now=clock())
    app = create_app(ServiceSettings(database_url=database_url, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, app=app, keys={"admin": admin.api_key})


def audit_events(api: Api, operation: str) -> list[tuple[str | None, str, int]]:
    """``(target, outcome, status)`` of every audit event of ``operation``, in chain order."""
    from flexcoord.service.tables import AuditEventRow

    with Session(api.app.state.services.engine) as s:
        rows = s.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.operation == operation)
            .order_by(AuditEventRow.seq)
        )
        return [(r.target, r.outcome, r.status) for r in rows]


def grid(api: Api, dso: str = "dso-a", *, area: str = "mv-a", points: int = 2) -> None:
    """A DSO with one MV area behind ``trafo:<area>`` and connection points ``cp-<area>-<n>``."""
    api.party(dso, "dso")
    r = api.as_(
        dso,
        "POST",
        "/v1/grid-areas",
        json={
            "id": area,
            "bus_ids": list(range(1, points + 1)),
            "coupling_point_ids": [f"trafo:{area}"],
        },
    )
    assert r.status_code == 201, r.text
    for n in range(1, points + 1):
        r = api.as_(
            dso,
            "POST",
            "/v1/connection-points",
            json={
                "id": f"cp-{area}-{n}",
                "bus": n,
                "area_id": area,
                "coupling_point_id": f"trafo:{area}",
            },
        )
        assert r.status_code == 201, r.text


def unit_body(unit_id: str, point: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": unit_id,
        "connection_point_id": point,
        "technology": "pv",
        "p_min_mw": 0.0,
        "p_max_mw": 0.5,
        **extra,
    }
