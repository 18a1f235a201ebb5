"""API keys: issued once, stored hashed, looked up by their public key id, rotated with grace.

A key reads ``fck_<key id>_<secret>``: the key id (16 hex digits) is public and indexed, the
secret is 256 random bits (``secrets.token_urlsafe(32)``). Only the SHA-256 of the secret is
stored; a presented key is checked with :func:`hmac.compare_digest` against it (and an unknown
key id is compared against a dummy, so timing does not tell known key ids from unknown ones).
A plain hash suffices because the secret has 256 bits of entropy: there is nothing to
brute-force that a slow password hash would protect (``docs/service.md`` gives the reasoning).

Rotation issues a new key and marks the old one revoked *at* ``now + grace``: both work during
the grace period (as UFTP publishes both keys for about a day), then only the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import NotFoundError
from flexcoord.service.roles import Role
from flexcoord.service.tables import CredentialRow, PartyRow

__all__ = [
    "KEY_PREFIX",
    "IssuedKey",
    "Principal",
    "authenticate",
    "issue_key",
    "parse_key",
    "revoke_key",
    "rotate_key",
]

#: How every flexcoord API key starts.
KEY_PREFIX: Final = "fck"
_KEY: Final = re.compile(rf"^{KEY_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})$")
_DUMMY_SHA256: Final = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller: a party, its role and the key it used."""

    party_id: str
    role: Role
    key_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedKey:
    """A newly issued key: ``api_key`` is shown once and never stored."""

    party_id: str
    key_id: str
    api_key: str
    created_at: datetime


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(api_key: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else ``None``.

    Example:
        >>> parse_key("fck_0123456789abcdef_" + "A" * 43)[0]
        '0123456789abcdef'
        >>> parse_key("fck_short_x") is None
        True
    """
    match = _KEY.match(api_key)
    return None if match is None else (match.group(1), match.group(2))


def issue_key(session: Session, party_id: str, *, now: datetime) -> IssuedKey:
    """A new key for ``party_id``, added to the session (the caller commits)."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    session.add(
        CredentialRow(
            key_id=key_id,
            party_id=party_id,
            secret_sha256=_sha256(secret),
            created_at=now,
            revoked_at=None,
        )
    )
    return IssuedKey(
        party_id=party_id, key_id=key_id, api_key=f"{KEY_PREFIX}_{key_id}_{secret}", created_at=now
    )


def _valid_at(row: CredentialRow, now: datetime) -> bool:
    return row.revoked_at is None or now < row.revoked_at


def authenticate(session: Session, api_key: str, *, now: datetime) -> Principal | None:
    """The principal holding ``api_key`` at ``now``; ``None`` for any unknown, malformed,
    wrong or revoked key (the caller answers 401 without saying which)."""
    parsed = parse_key(api_key)
    if parsed is None:
        return None
    key_id, secret = parsed
    found = session.execute(
        select(CredentialRow, PartyRow.role)
        .join(PartyRow, PartyRow.id == CredentialRow.party_id)
        .where(CredentialRow.key_id == key_id)
    ).first()
    stored = found[0].secret_sha256 if found is not None else _DUMMY_SHA256
    matches = hmac.compare_digest(stored, _sha256(secret))
    if found is None or not matches or not _valid_at(found[0], now):
        return None
    return Principal(party_id=found[0].party_id, role=Role(found[1]), key_id=key_id)


def rotate_key(
    session: Session, principal: Principal, *, now: datetime, grace: timedelta
) -> tuple[IssuedKey, datetime]:
    """A new key for the principal's party; the key used is revoked at ``now + grace``
    (or earlier, if it already was). Returns the new key and the old key's end."""
    old = session.get(CredentialRow, principal.key_id, with_for_update=True)
    assert old is not None  # the principal was authenticated with it in this request
    end = now + grace
    if old.revoked_at is None or old.revoked_at > end:
        old.revoked_at = end
    return issue_key(session, principal.party_id, now=now), old.revoked_at


def revoke_key(session: Session, party_id: str, key_id: str, *, now: datetime) -> datetime:
    """Revoke the party's key ``key_id`` now; returns when it stopped working.

    Raises:
        NotFoundError: no such key of this party (another party's key is "not found" too).
    """
    row = session.get(CredentialRow, key_id, with_for_update=True)
    if row is None or row.party_id != party_id:
        raise NotFoundError(f"Credential {key_id!r} is not registered")
    if row.revoked_at is None or row.revoked_at > now:
        row.revoked_at = now
    return row.revoked_at
