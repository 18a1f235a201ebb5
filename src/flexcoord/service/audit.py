"""The audit trail: one append-only, hash-chained event per state-changing request.

Every POST, PUT, PATCH and DELETE, accepted or denied, appends one :class:`AuditRecord` as an
``audit_event`` row: who (party and credential), what (operation and target), when (UTC,
milliseconds), the request id, the SHA-256 of the request body, the outcome and the HTTP status.
An accepted change and its event are written in the same transaction, so neither exists without
the other; a denied request writes its event alone.

The chain: event ``n`` stores ``prev_sha256`` (event ``n-1``'s hash; 64 zeros for the first)
and ``sha256``, the SHA-256 of its canonical JSON (:func:`event_sha256`). The one ``audit_head``
row holds the last number and hash; an append locks it, so events are numbered one at a time on
PostgreSQL as on SQLite. :func:`verify_chain` recomputes everything and reports every edited,
inserted or deleted row (a deleted tail shows against the head row). Database triggers refuse
UPDATE and DELETE on ``audit_event``. What a chain cannot show is a rewrite of the *whole*
chain and head by someone holding the database: keep the printed head hash elsewhere (an
anchor) and compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import Issue
from flexcoord.service.tables import AuditEventRow, AuditHeadRow

__all__ = [
    "GENESIS_SHA256",
    "AuditRecord",
    "ChainReport",
    "Outcome",
    "append_event",
    "event_sha256",
    "outcome_of",
    "verify_chain",
]

#: The ``prev_sha256`` of the first event (as the initial migration writes it into the head).
GENESIS_SHA256: Final = "0" * 64
_BATCH: Final = 1000


class Outcome(StrEnum):
    """How a state-changing request ended."""

    ACCEPTED = "accepted"  # 2xx: the change is stored
    DENIED = "denied"  # 401, 403, 404: who asked may not do this (or the object is not theirs)
    REJECTED = "rejected"  # other 4xx: the request was invalid
    FAILED = "failed"  # 5xx: the service failed; nothing was changed
    REPLAYED = "replayed"  # a retry with the same Idempotency-Key and body: the stored answer


def outcome_of(status: int) -> Outcome:
    """The outcome an HTTP status stands for.

    Example:
        >>> [outcome_of(s).value for s in (201, 404, 422, 503)]
        ['accepted', 'denied', 'rejected', 'failed']
    """
    if status < 400:
        return Outcome.ACCEPTED
    if status in (401, 403, 404):
        return Outcome.DENIED
    return Outcome.REJECTED if status < 500 else Outcome.FAILED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """What one audit event says (the chain fields are added by :func:`append_event`).

    Attributes:
        at: When the request was handled (aware UTC; stored to the millisecond).
        party_id: The authenticated party, ``None`` if authentication failed.
        credential_id: The key id used, ``None`` if none was valid.
        operation: The operation's name (:class:`~flexcoord.service.roles.Operation` value,
            or ``"METHOD /path"`` for a request that matched no route).
        target: The object changed (``"unit:u1"``), ``None`` if none.
        request_id: The request id (also returned in the ``X-Request-ID`` header).
        payload_sha256: SHA-256 of the request body as received.
        outcome: :class:`Outcome`.
        status: The HTTP status answered.
    """

    at: datetime
    party_id: str | None
    credential_id: str | None
    operation: str
    target: str | None
    request_id: str
    payload_sha256: str
    outcome: Outcome
    status: int


def _millisecond(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def event_sha256(row: AuditEventRow) -> str:
    """The hash of an event: SHA-256 of the canonical JSON of every field but ``sha256``.

    Example:
        >>> from datetime import UTC
        >>> row = AuditEventRow(seq=1, at=datetime(2026, 6, 1, tzinfo=UTC), party_id="a",
        ...     credential_id="k", operation="unit.create", target="unit:u1", request_id="r",
        ...     payload_sha256="0" * 64, outcome="accepted", status=201,
        ...     prev_sha256=GENESIS_SHA256)
        >>> len(event_sha256(row)), event_sha256(row) == event_sha256(row)
        (64, True)
    """
    fields = {
        "seq": row.seq,
        "at": row.at.isoformat(timespec="milliseconds"),
        "party_id": row.party_id,
        "credential_id": row.credential_id,
        "operation": row.operation,
        "target": row.target,
        "request_id": row.request_id,
        "payload_sha256": row.payload_sha256,
        "outcome": row.outcome,
        "status": row.status,
        "prev_sha256": row.prev_sha256,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def append_event(session: Session, record: AuditRecord) -> AuditEventRow:
    """Append ``record`` to the chain inside the session's transaction (not committed here).

    Locks the head row (``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already holds
    the write lock), so concurrent appends take numbers one after the other.
    """
    head = session.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
    ).scalar_one()
    row = AuditEventRow(
        seq=head.seq + 1,
        at=_millisecond(record.at),
        party_id=record.party_id,
        credential_id=record.credential_id,
        operation=record.operation,
        target=record.target,
        request_id=record.request_id,
        payload_sha256=record.payload_sha256,
        outcome=record.outcome.value,
        status=record.status,
        prev_sha256=head.sha256,
    )
    row.sha256 = event_sha256(row)
    session.add(row)
    head.seq, head.sha256 = row.seq, row.sha256
    session.flush()
    return row


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainReport:
    """What :func:`verify_chain` found.

    Attributes:
        events: Number of events read.
        head_sha256: The hash the head row names (keep it elsewhere to anchor the chain).
        issues: One issue per broken link (empty: the chain is intact).
    """

    events: int
    head_sha256: str
    issues: tuple[Issue, ...]

    @property
    def intact(self) -> bool:
        """Whether no edited, inserted or deleted event was found."""
        return not self.issues


def _event_issue(seq: int | str, field: str, value: object, message: str) -> Issue:
    return Issue(kind="AuditEvent", object_id=str(seq), field=field, value=value, message=message)


def _rows(session: Session) -> Iterator[AuditEventRow]:
    after = None
    while True:
        query = select(AuditEventRow).order_by(AuditEventRow.seq).limit(_BATCH)
        if after is not None:
            query = query.where(AuditEventRow.seq > after)
        batch = session.execute(query).scalars().all()
        yield from batch
        if len(batch) < _BATCH:
            return
        after = batch[-1].seq


def _link_issues(row: AuditEventRow, expected_seq: int, prev_sha256: str) -> list[Issue]:
    issues = []
    if row.seq != expected_seq:
        issues.append(
            _event_issue(
                row.seq,
                "seq",
                row.seq,
                f"follows event {expected_seq - 1}: an event is missing before it",
            )
        )
    if row.prev_sha256 != prev_sha256:
        issues.append(
            _event_issue(
                row.seq,
                "prev_sha256",
                row.prev_sha256,
                "does not name the previous event's hash: a row was deleted or inserted",
            )
        )
    if event_sha256(row) != row.sha256:
        issues.append(
            _event_issue(
                row.seq,
                "sha256",
                row.sha256,
                "does not match the event's content: the row was edited",
            )
        )
    return issues


def verify_chain(session: Session) -> ChainReport:
    """Recompute the chain from the first event and report every broken link.

    Example: see ``tests/service/test_audit.py`` (an edit, an insert and a delete each detected).
    """
    head = session.get(AuditHeadRow, 1)
    issues: list[Issue] = []
    if head is None:
        issues.append(_event_issue("head", "seq", None, "the audit head row is missing"))
    prev, expected, count = GENESIS_SHA256, 1, 0
    for row in _rows(session):
        count += 1
        issues += _link_issues(row, expected, prev)
        prev, expected = row.sha256, row.seq + 1
    if head is not None and (head.seq != expected - 1 or head.sha256 != prev):
        issues.append(
            _event_issue(
                "head",
                "seq",
                head.seq,
                f"names event {head.seq} but the chain ends at event {expected - 1}: "
                "events were deleted or appended around the head",
            )
        )
    return ChainReport(events=count, head_sha256=head.sha256 if head else "", issues=tuple(issues))
