"""Limits and outages: an oversized body is refused unread; an unreachable database answers
503 with Retry-After, and readiness says so, while health still answers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings, create_app, make_engine
from flexcoord.service.bootstrap import init_admin
from flexcoord.service.calls import Services
from flexcoord.service.logs import LOGGER_NAME, JsonFormatter
from flexcoord.service.tables import AuditEventRow
from tests.service.conftest import Api, Clock, unit_body


def test_a_body_over_the_limit_is_refused_unread_and_audited(
    database_url: str, engine: Engine, clock: Clock
) -> None:
    key = init_admin(engine, party_id="admin", name="A", now=clock()).api_key
    app = create_app(ServiceSettings(database_url=database_url, clock=clock, max_body_bytes=200))
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        small = client.post(
            "/v1/parties", headers=headers, json={"id": "p", "name": "P", "role": "fsp"}
        )
        big = client.post(
            "/v1/parties", headers=headers, json={"id": "q", "name": "Q" * 200, "role": "fsp"}
        )
    assert small.status_code == 201
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    assert big.json()["detail"] == "the request body is larger than 200 bytes"
    with Session(engine) as session:
        last = session.scalars(select(AuditEventRow).order_by(AuditEventRow.seq.desc())).first()
    assert last is not None and (last.outcome, last.status) == ("rejected", 413)


def test_an_unreachable_database_answers_503_with_retry_after(api: Api, tmp_path: Path) -> None:
    api.party("fsp-a", "fsp")
    services: Services = api.app.state.services
    broken = make_engine(f"sqlite:///{tmp_path}")  # a folder: every connection fails
    api.app.state.services = Services.over(services.settings, broken)
    try:
        r = api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp"))
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "5"
        assert "sqlite" not in r.text.lower()  # nothing internal reaches the client
        assert api.client.get("/ready").status_code == 503
        assert api.client.get("/health").status_code == 200
    finally:
        api.app.state.services = services
        broken.dispose()
    assert api.client.get("/ready").status_code == 200
    assert api.as_("fsp-a", "GET", "/v1/units").status_code == 200


def test_each_request_logs_one_json_line_with_its_request_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.party("fsp-a", "fsp")
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        r = api.as_("fsp-a", "GET", "/v1/units", headers={"X-Request-ID": "trace-7"})
    [record] = [rec for rec in caplog.records if getattr(rec, "request_id", None) == "trace-7"]
    line = json.loads(JsonFormatter().format(record))
    assert r.status_code == 200
    assert {k: line[k] for k in ("request_id", "status", "party_id", "operation", "path")} == {
        "request_id": "trace-7",
        "status": 200,
        "party_id": "fsp-a",
        "operation": "unit.list",
        "path": "/v1/units",
    }
    assert line["duration_ms"] >= 0


def test_a_nul_character_in_a_query_or_the_path_is_refused_naming_it(api: Api) -> None:
    """PostgreSQL cannot compare text with a NUL: such a filter is refused before any query
    (found by T17, the schemathesis battery, on GET /v1/grid-prequalifications)."""
    api.party("tso-a", "tso")
    r = api.as_("tso-a", "GET", "/v1/grid-prequalifications?resource_id=u%001")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    [issue] = r.json()["errors"]
    assert (issue["kind"], issue["object_id"], issue["message"]) == (
        "query",
        "resource_id",
        "must not hold a NUL character",
    )
    r = api.as_("tso-a", "GET", "/v1/units/u%001")
    assert r.status_code == 422
    assert r.json()["errors"][0]["kind"] == "path"
    ok = api.as_("tso-a", "GET", "/v1/grid-prequalifications?resource_id=u1")
    assert ok.status_code == 200
