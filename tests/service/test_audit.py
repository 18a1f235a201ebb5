"""The audit trail: one event per state-changing request, in the change's transaction; the
chain reveals any edited, inserted or deleted row."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flexcoord.cli.app import app as cli
from flexcoord.service import verify_chain
from flexcoord.service.audit import event_sha256
from flexcoord.service.tables import AuditEventRow, UnitRow
from tests.service.conftest import Api, grid, unit_body


def _events(engine: Engine) -> list[AuditEventRow]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)))


def test_every_state_changing_request_writes_exactly_one_event(api: Api, engine: Engine) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    before = len(_events(engine))
    body = json.dumps(unit_body("u1", "cp-mv-a-1")).encode()
    sent = [
        api.client.post(
            "/v1/units",
            content=body,
            headers={
                **api.auth("fsp-a"),
                "content-type": "application/json",
                "X-Request-ID": "req-1",
            },
        ),
        api.client.post("/v1/units", content=body, headers={"content-type": "application/json"}),
        api.as_("dso-a", "POST", "/v1/units", json={}),
        api.as_("fsp-a", "DELETE", "/v1/units/nothing"),
        api.as_("fsp-a", "POST", "/v1/units", json={"id": "u2"}),
        api.as_(
            "fsp-a", "POST", "/v1/units", content=body, headers={"content-type": "application/json"}
        ),
        api.as_("fsp-a", "GET", "/v1/units"),  # a read: no event
    ]
    assert [r.status_code for r in sent] == [201, 401, 403, 404, 422, 409, 200]
    events = _events(engine)[before:]
    assert [(e.outcome, e.status, e.party_id, e.operation) for e in events] == [
        ("accepted", 201, "fsp-a", "unit.create"),
        ("denied", 401, None, "unit.create"),
        ("denied", 403, "dso-a", "unit.create"),
        ("denied", 404, "fsp-a", "unit.delete"),
        ("rejected", 422, "fsp-a", "unit.create"),
        ("rejected", 409, "fsp-a", "unit.create"),
    ]
    assert [e.request_id for e in events] == [r.headers["X-Request-ID"] for r in sent[:-1]]
    assert events[0].request_id == "req-1"
    assert events[0].target == "unit:u1"
    assert events[0].payload_sha256 == hashlib.sha256(body).hexdigest()
    assert events[0].credential_id == api.keys["fsp-a"].split("_")[1]
    assert all(e.at.tzinfo is not None for e in events)


def test_a_change_whose_event_cannot_be_written_is_not_stored(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid(api)
    api.party("fsp-a", "fsp")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store broken")

    monkeypatch.setattr("flexcoord.service.calls.append_event", broken)
    r = api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp-mv-a-1"))
    assert r.status_code == 500
    assert "audit" not in r.text  # nothing internal reaches the client
    with Session(engine) as session:
        assert session.scalars(select(UnitRow)).all() == []
    assert (_events(engine)[-1].outcome, _events(engine)[-1].status) == ("failed", 500)


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET status = 200", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_change_an_event(api: Api, engine: Engine, statement: str) -> None:
    with engine.connect() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text(statement))


def _tamper(database_url: str, *statements: str) -> None:
    """Change the file behind the service's back, as someone holding the database could."""
    if not database_url.startswith("sqlite:///"):
        pytest.skip("tampering is rehearsed on the SQLite file")
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as raw:
        raw.execute("DROP TRIGGER audit_event_no_update")
        raw.execute("DROP TRIGGER audit_event_no_delete")
        for statement in statements:
            raw.execute(statement)


TAMPERING: dict[str, tuple[tuple[str, ...], str]] = {
    "edit a field": (("UPDATE audit_event SET status = 299 WHERE seq = 3",), "sha256"),
    "delete a row": (("DELETE FROM audit_event WHERE seq = 3",), "seq"),
    "delete the last row": (
        ("DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)",),
        "seq",
    ),
    "insert a row": (
        (
            "UPDATE audit_event SET seq = seq + 100000 WHERE seq >= 3",
            "UPDATE audit_event SET seq = seq - 99999 WHERE seq >= 100000",
            "INSERT INTO audit_event SELECT 3, at, party_id, credential_id, operation, target, "
            "'forged', payload_sha256, outcome, status, prev_sha256, printf('%064d', 1) "
            "FROM audit_event WHERE seq = 2",
        ),
        "sha256",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_with_any_row_is_detected(
    api: Api, engine: Engine, database_url: str, case: str
) -> None:
    grid(api)
    with Session(engine) as session:
        intact = verify_chain(session)
    assert intact.intact and intact.events == len(_events(engine)) >= 5
    statements, field = TAMPERING[case]
    _tamper(database_url, *statements)
    with Session(engine) as session:
        report = verify_chain(session)
    assert not report.intact
    assert field in {i.field for i in report.issues}, report.issues


def _verify(database_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url])
    return result.exit_code, result.output


def test_audit_verify_exits_0_on_an_intact_chain_and_3_naming_the_row_on_a_broken_one(
    api: Api, engine: Engine, database_url: str
) -> None:
    grid(api)
    code, out = _verify(database_url)
    assert code == 0, out
    assert f"audit chain intact: {len(_events(engine))} events" in out
    engine.dispose()
    _tamper(database_url, "UPDATE audit_event SET target = 'unit:other' WHERE seq = 2")
    code, out = _verify(database_url)
    assert code == 3, out
    assert "AuditEvent '2': sha256=" in out
    assert "the row was edited" in out


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    api: Api, engine: Engine, database_url: str
) -> None:
    grid(api)
    forged = _events(engine)[2]
    forged.party_id = "someone-else"
    _tamper(
        database_url,
        f"UPDATE audit_event SET party_id = 'someone-else', "
        f"sha256 = '{event_sha256(forged)}' WHERE seq = {forged.seq}",
    )
    with Session(engine) as session:
        report = verify_chain(session)
    assert [(i.object_id, i.field) for i in report.issues] == [(str(forged.seq + 1), "prev_sha256")]


def test_a_well_forged_insertion_breaks_the_link_after_it(
    api: Api, engine: Engine, database_url: str
) -> None:
    grid(api)
    events = _events(engine)
    forged = AuditEventRow(
        seq=3,
        at=events[1].at,
        party_id="admin",
        credential_id=None,
        operation="party.create",
        target="party:ghost",
        request_id="forged",
        payload_sha256="0" * 64,
        outcome="accepted",
        status=201,
        prev_sha256=events[1].sha256,
    )
    forged.sha256 = event_sha256(forged)
    _tamper(
        database_url,
        "UPDATE audit_event SET seq = seq + 100000 WHERE seq >= 3",
        "UPDATE audit_event SET seq = seq - 99999 WHERE seq >= 100000",
        "INSERT INTO audit_event (seq, at, party_id, credential_id, operation, target, "
        "request_id, payload_sha256, outcome, status, prev_sha256, sha256) VALUES "
        f"(3, '{events[1].at.strftime('%Y-%m-%d %H:%M:%S.%f')}', 'admin', NULL, 'party.create', "
        f"'party:ghost', 'forged', '{'0' * 64}', 'accepted', 201, '{events[1].sha256}', "
        f"'{forged.sha256}')",
    )
    with Session(engine) as session:
        report = verify_chain(session)
    found = [(i.object_id, i.field) for i in report.issues]
    assert found[0] == ("4", "prev_sha256")  # the forged row itself hashes correctly...
    assert "3" not in {object_id for object_id, _ in found}
    assert ("4", "sha256") in found  # ...but renumbering the rows after it changed their content
