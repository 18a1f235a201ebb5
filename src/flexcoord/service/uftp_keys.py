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

flexcoord's own keys rotate the same way, in the same table, under its own domain and the role
:data:`OWN_ROLE` (``*``: it signs in every role, DSO, AGR or CRO, with one key): the public key
of its ``private_key_file`` is current, the configuration's top-level ``previous_keys`` stay
announced until their ``valid_until``. :func:`published_keys` lists them for participants
(``GET /uftp/keys``). No SignedMessage names role ``*``, so an own key never verifies a
message received.

The administrator changes participants' keys through the API too (:func:`add_key`: a new
current key, the earlier ones valid until a stated time or retired at once; :func:`retire_key`).
A key the API added or changed is ``source = admin``: the configuration no longer touches it at
a start (neither resets its end nor retires it), so a restart never undoes the API, as long as
its participant is in the configuration (a participant dropped from the file loses every key).

Every change at start is an audit event ``uftp.key`` (target ``uftp-key:<domain>/<role>``, the
key's SHA-256 as payload); an API change is the request's own audit event, on the same target.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from flexcoord.errors import Issue
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.calls import payload_sha256
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.tables import UftpKeyRow

__all__ = [
    "OWN_ROLE",
    "KeySource",
    "add_key",
    "key_problem",
    "key_sha256",
    "load",
    "participant_rows",
    "published_keys",
    "retire_key",
    "valid_keys",
    "valid_rows",
]

#: The role of flexcoord's own keys in the key table (it signs in every role with one key).
OWN_ROLE = "*"


class KeySource(StrEnum):
    """Who manages a key row."""

    CONFIG = "config"  # the configuration file, at each start
    ADMIN = "admin"  # the admin API (the configuration leaves it alone)


def key_sha256(public_key: str) -> str:
    """A key's id: the SHA-256 (hex) of its base64 text (the ``uftp.key`` events' payload)."""
    return payload_sha256(public_key.encode())


def key_problem(text: str, n_bytes: int) -> str | None:
    """What is wrong with a base64 key of ``n_bytes`` bytes (``None``: nothing).

    Example:
        >>> key_problem("bm90IGEga2V5", 32), key_problem("not base64!", 32)
        ('is 9 bytes, not a 32-byte key', 'is not base64')
    """
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "is not base64"
    if len(key) != n_bytes:
        return f"is {len(key)} bytes, not a {n_bytes}-byte key"
    return None


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
    """Bring the key table's configured keys to the configuration (module docstring), in one
    transaction; how many keys changed (keys of ``source = admin`` are left alone while their
    participant is in ``current``).
    ``current``: ``(domain, role)`` → the current key; ``previous``: its
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
            elif row.source == KeySource.ADMIN or row.valid_until == until:
                continue  # the API's decision stands, or nothing to change
            else:
                row.valid_until = until
            _audit(session, domain, role, key, now)
            changed += 1
        for (domain, role, key), row in rows.items():
            kept = row.source == KeySource.ADMIN and (domain, role) in current
            if (domain, role, key) in wanted or kept:
                continue
            if row.valid_until is None or row.valid_until > now:
                row.valid_until = now  # no longer configured: retired at once
                _audit(session, domain, role, key, now)
                changed += 1
    return changed


def valid_keys(session: Session, domain: str, role: str, now: datetime) -> list[str]:
    """The public keys of ``(domain, role)`` valid at ``now``, the current one first."""
    return [r.public_key for r in valid_rows(session, domain, role, now)]


def published_keys(session: Session, domain: str, now: datetime) -> list[UftpKeyRow]:
    """flexcoord's own keys valid at ``now`` (``domain`` its UFTP domain), the current one
    (the one it signs with) first, then the rotated ones still announced, newest first."""
    return valid_rows(session, domain, OWN_ROLE, now)


def valid_rows(session: Session, domain: str, role: str, now: datetime) -> list[UftpKeyRow]:
    """The key rows of ``(domain, role)`` valid at ``now``, the current one first."""
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
    return list(rows)


def participant_rows(session: Session, domain: str, role: str) -> list[UftpKeyRow]:
    """Every key row of ``(domain, role)``, retired ones too, newest first (locked for
    update where the database can)."""
    return list(
        session.scalars(
            select(UftpKeyRow)
            .where(UftpKeyRow.domain == domain, UftpKeyRow.role == role)
            .order_by(UftpKeyRow.seq.desc())
            .with_for_update()
        )
    )


def _key_field(field: str, value: object, message: str, who: str) -> Issue:
    return Issue(kind="UftpKey", object_id=who, field=field, value=value, message=message)


def add_key(  # noqa: PLR0913 - the participant, the key, the rotation's end, the clock
    session: Session,
    domain: str,
    role: str,
    public_key: str,
    *,
    previous_valid_until: datetime | None,
    now: datetime,
) -> UftpKeyRow:
    """Make ``public_key`` the current key of ``(domain, role)`` (in the caller's
    transaction); every earlier key still valid stays valid until ``previous_valid_until``
    (``None``: retired now; an earlier end is kept, never extended).

    Raises:
        ServiceProblem: 422, the key is not a 32-byte base64 key or the end is in the past;
            409, the key is one of the participant's already (current, previous or retired:
            a retired key is not brought back). Nothing is changed.
    """
    who = f"{domain}/{role}"
    wrong = key_problem(public_key, 32)
    if wrong is not None:
        raise ServiceProblem(
            422, f"public_key {wrong}", [_key_field("public_key", "…", wrong, who)]
        )
    if previous_valid_until is not None and previous_valid_until < now:
        message = f"is before now ({now.isoformat()})"
        raise ServiceProblem(
            422,
            f"previous_valid_until {message}",
            [_key_field("previous_valid_until", previous_valid_until, message, who)],
        )
    rows = participant_rows(session, domain, role)
    if any(r.public_key == public_key.strip() for r in rows):
        message = f"is already a key of {who}"
        raise ServiceProblem(
            409, f"public_key {message}", [_key_field("public_key", "…", message, who)]
        )
    until = now if previous_valid_until is None else previous_valid_until
    for row in rows:
        if row.valid_until is None or row.valid_until > until:
            row.valid_until, row.source = until, KeySource.ADMIN.value
    row = UftpKeyRow(
        domain=domain,
        role=role,
        public_key=public_key.strip(),
        valid_from=now,
        valid_until=None,
        created_at=now,
        source=KeySource.ADMIN.value,
    )
    session.add(row)
    session.flush()
    return row


def retire_key(session: Session, domain: str, role: str, sha256: str, *, now: datetime) -> None:
    """Retire the key of ``(domain, role)`` whose :func:`key_sha256` is ``sha256`` now (in
    the caller's transaction).

    Raises:
        ServiceProblem: 404, no such key of the participant; 409, it is retired already.
    """
    who = f"{domain}/{role}"
    row = next(
        (r for r in participant_rows(session, domain, role) if key_sha256(r.public_key) == sha256),
        None,
    )
    if row is None:
        message = f"is no key of {who}"
        raise ServiceProblem(
            404, f"key {message}", [_key_field("key_sha256", sha256, message, who)]
        )
    if row.valid_until is not None and row.valid_until <= now:
        message = f"is retired already (since {row.valid_until.isoformat()})"
        raise ServiceProblem(
            409, f"key {message}", [_key_field("key_sha256", sha256, message, who)]
        )
    row.valid_until, row.source = now, KeySource.ADMIN.value
    session.flush()
