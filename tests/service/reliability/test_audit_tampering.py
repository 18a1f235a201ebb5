"""T25, audit tampering on SQLite and PostgreSQL: an edit of every column of an event, a
forged row inserted in the middle or appended after the head, a row deleted at the start, in
the middle or at the tail, two events swapped, the table emptied: ``verify_chain`` and
``flexcoord audit verify`` detect each one.

``tests/service/test_audit.py`` covers the triggers refusing UPDATE and DELETE, and on SQLite
one edited field, the re-hashed edit and the well-forged insertion; this file runs every
column and both databases. The attacker holds the database: on SQLite it drops the triggers,
on PostgreSQL it disables them (``ALTER TABLE ... DISABLE TRIGGER USER``, as the table owner)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flexcoord.cli.app import app as cli
from flexcoord.service import verify_chain
from flexcoord.service.audit import event_sha256
from flexcoord.service.tables import AuditEventRow
from tests.service.conftest import Api, grid, unit_body

Tamper = Callable[[Session, list[AuditEventRow]], None]
MIDDLE = 4
E = AuditEventRow


def _edit(column: str, value: Callable[[Any], Any]) -> Tamper:
    def tamper(session: Session, events: list[AuditEventRow]) -> None:
        old = getattr(events[MIDDLE - 1], column)
        session.execute(update(E).where(E.seq == MIDDLE).values({column: value(old)}))

    return tamper


#: A changed value for every column of ``audit_event`` (of the column's type).
EDITS: dict[str, Callable[[Any], Any]] = {
    "seq": lambda old: old + 1000,
    "at": lambda old: old + timedelta(seconds=1),
    "party_id": lambda old: "mallory" if old != "mallory" else "admin",
    "credential_id": lambda old: "0123456789abcdef" if old != "0123456789abcdef" else None,
    "operation": lambda old: "party.list",
    "target": lambda old: "unit:forged",
    "request_id": lambda old: "forged-request",
    "payload_sha256": lambda old: "f" * 64,
    "outcome": lambda old: "denied" if old != "denied" else "accepted",
    "status": lambda old: old + 1,
    "prev_sha256": lambda old: "e" * 64,
    "sha256": lambda old: "d" * 64,
}


def _row(events: list[AuditEventRow], seq: int, prev_sha256: str) -> dict[str, Any]:
    """A forged event well hashed for its place (what an attacker knowing the scheme writes)."""
    model = events[0]
    forged = AuditEventRow(
        seq=seq,
        at=model.at,
        party_id="admin",
        credential_id=None,
        operation="party.create",
        target="party:ghost",
        request_id="forged",
        payload_sha256="0" * 64,
        outcome="accepted",
        status=201,
        prev_sha256=prev_sha256,
    )
    forged.sha256 = event_sha256(forged)
    return {c.key: getattr(forged, c.key) for c in AuditEventRow.__table__.columns}


def _renumber(session: Session, from_seq: int, by: int) -> None:
    """Shift events from ``from_seq`` on by ``by`` (in two steps: the key stays unique)."""
    session.execute(update(E).where(E.seq >= from_seq).values(seq=E.seq + 100_000))
    session.execute(update(E).where(E.seq >= 100_000).values(seq=E.seq - 100_000 + by))


def _insert_middle(session: Session, events: list[AuditEventRow]) -> None:
    _renumber(session, MIDDLE, 1)
    session.execute(insert(E).values(_row(events, MIDDLE, events[MIDDLE - 2].sha256)))


def _append_after_head(session: Session, events: list[AuditEventRow]) -> None:
    session.execute(insert(E).values(_row(events, len(events) + 1, events[-1].sha256)))


def _delete(where: Callable[[list[AuditEventRow]], int]) -> Tamper:
    def tamper(session: Session, events: list[AuditEventRow]) -> None:
        session.execute(delete(E).where(E.seq == where(events)))

    return tamper


def _swap(session: Session, events: list[AuditEventRow]) -> None:
    a, b = MIDDLE, MIDDLE + 1
    session.execute(update(E).where(E.seq == a).values(seq=-1))
    session.execute(update(E).where(E.seq == b).values(seq=a))
    session.execute(update(E).where(E.seq == -1).values(seq=b))


def _empty(session: Session, events: list[AuditEventRow]) -> None:
    session.execute(delete(E))


TAMPERING: dict[str, Tamper] = {
    **{f"edit {column}": _edit(column, value) for column, value in EDITS.items()},
    "insert a forged row in the middle": _insert_middle,
    "append a forged row after the head": _append_after_head,
    "delete the first row": _delete(lambda events: 1),
    "delete a middle row": _delete(lambda events: MIDDLE),
    "delete the last row": _delete(len),
    "swap two rows": _swap,
    "empty the table": _empty,
}


def test_the_cases_cover_every_column_of_audit_event() -> None:
    assert set(EDITS) == {c.key for c in AuditEventRow.__table__.columns}


def _chain(api: Api) -> None:
    """A chain with accepted, denied and rejected events (null and non-null fields)."""
    grid(api)
    api.party("fsp-a", "fsp")
    assert api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp-mv-a-1")).is_success
    assert api.client.post("/v1/units", json={}).status_code == 401
    assert api.as_("fsp-a", "POST", "/v1/units", json={"id": "u2"}).status_code == 422


def _disable_triggers(engine: Engine, database_url: str) -> Session:
    """A session on a database whose append-only triggers the attacker switched off."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as raw:
            raw.execute("DROP TRIGGER audit_event_no_update")
            raw.execute("DROP TRIGGER audit_event_no_delete")
        raw.close()
        return Session(engine)
    session = Session(engine)
    session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    return session


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_with_the_chain_is_detected(
    api: Api, engine: Engine, database_url: str, case: str, record_property: Any
) -> None:
    _chain(api)
    with Session(engine) as session:
        events = list(session.scalars(select(E).order_by(E.seq)))
        assert verify_chain(session).intact
    assert len(events) >= MIDDLE + 3
    with _disable_triggers(engine, database_url) as session:
        TAMPERING[case](session, events)
        session.commit()
    with Session(engine) as session:
        report = verify_chain(session)
    engine.dispose()
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url])
    found = [f"{i.object_id}.{i.field}" for i in report.issues]
    record_property("issues", len(found))
    assert not report.intact, f"{case}: not detected in {len(events)} events"
    assert result.exit_code == 3, (case, result.output)
    assert "audit chain broken" in result.output, result.output
