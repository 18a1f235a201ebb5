"""The UFTP participants' public keys in the database, with rotation.

The endpoint verifies a SignedMessage with the keys of ``(SenderDomain, SenderRole)`` valid
now (:func:`valid_keys`; any of them may verify it). The UFTP configuration is where keys come
from: :func:`load` (``mount_uftp`` calls it at start) brings the table to the configuration:

* a participant's ``public_key`` is its current key (valid with no end);
* each of its ``previous_keys`` stays valid until the ``valid_until`` the configuration states
  (a rotation: the AGR signs with the new key while messages signed with the old one, in
  flight or re-sent, still verify until then);
* a stored key the configuration no longer names is retired at once (``valid_until`` = now):
  dropping a key from the file revokes it.

Every change is an audit event ``uftp.key`` (target ``uftp-key:<domain>/<role>``, the key's
SHA-256 as payload).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.calls import payload_sha256
from flexcoord.service.tables import UftpKeyRow

__all__ = ["load", "valid_keys"]


def _audit(session: Session, domain: str, role: str, key: str, now: datetime) -> None:
    append_event(
        session,
        AuditRecord(
            at=now,
            party_id=None,
            credential_id=None,
            operation="uftp.key",
            target=f"uftp-key:{domain}/{role}"[:200],
            request_id=uuid.uuid4().hex,
            payload_sha256=payload_sha256(key.encode()),
            outcome=Outcome.ACCEPTED,
            status=200,
        ),
    )


def load(
    engine: Engine,
    current: Mapping[tuple[str, str], str],
    previous: Mapping[tuple[str, str], tuple[tuple[str, datetime], ...]],
    *,
    now: datetime,
) -> int:
    """Bring the key table to the configuration (module docstring), in one transaction; how
    many keys changed. ``current``: ``(domain, role)`` → the current key; ``previous``: its
    earlier keys and when each stops being valid."""
    wanted: dict[tuple[str, str, str], datetime | None] = {}
    for (domain, role), key in current.items():
        for old, ends in previous.get((domain, role), ()):
            wanted[(domain, role, old)] = ends
        wanted[(domain, role, key)] = None
    changed = 0
    with Session(engine) as session, session.begin():
        session.connection()  # SQLite: BEGIN IMMEDIATE, the audit chain's write lock
        rows = {(r.domain, r.role, r.public_key): r for r in session.scalars(select(UftpKeyRow))}
        for (domain, role, key), until in wanted.items():
            row = rows.get((domain, role, key))
            if row is None:
                session.add(
                    UftpKeyRow(
                        domain=domain,
                        role=role,
                        public_key=key,
                        valid_from=now,
                        valid_until=until,
                        created_at=now,
                    )
                )
            elif row.valid_until != until:
                row.valid_until = until
            else:
                continue
            _audit(session, domain, role, key, now)
            changed += 1
        for (domain, role, key), row in rows.items():
            if (domain, role, key) in wanted:
                continue
            if row.valid_until is None or row.valid_until > now:
                row.valid_until = now  # no longer configured: retired at once
                _audit(session, domain, role, key, now)
                changed += 1
    return changed


def valid_keys(session: Session, domain: str, role: str, now: datetime) -> list[str]:
    """The public keys of ``(domain, role)`` valid at ``now``, the current one first."""
    rows = session.scalars(
        select(UftpKeyRow)
        .where(
            UftpKeyRow.domain == domain,
            UftpKeyRow.role == role,
            UftpKeyRow.valid_from <= now,
            or_(UftpKeyRow.valid_until.is_(None), UftpKeyRow.valid_until > now),
        )
        .order_by(UftpKeyRow.valid_until.is_not(None), UftpKeyRow.seq.desc())
    ).all()
    return [r.public_key for r in rows]
