"""Parties and their credentials: registered by the administrator; each party rotates and
revokes its own keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import NotFoundError
from flexcoord.service.calls import Call, call_of
from flexcoord.service.credentials import IssuedKey, issue_key, revoke_key, rotate_key
from flexcoord.service.problems import problem_responses
from flexcoord.service.register_store import conflict
from flexcoord.service.roles import Operation
from flexcoord.service.schemas import (
    CredentialIssued,
    CredentialRevoked,
    CredentialRotated,
    PartyIn,
    PartyOut,
    WhoAmI,
)
from flexcoord.service.tables import PartyRow

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=problem_responses(401, 403, 422))
Limit = Annotated[int, Query(ge=1, le=1000, description="Most items returned.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items skipped (in id order).")]


def _party_out(row: PartyRow) -> PartyOut:
    return PartyOut(id=row.id, name=row.name, role=row.role, created_at=row.created_at)  # type: ignore[arg-type]


def _issued(key: IssuedKey) -> CredentialIssued:
    return CredentialIssued(
        party_id=key.party_id, key_id=key.key_id, api_key=key.api_key, created_at=key.created_at
    )


@router.post(
    "/parties",
    name=Operation.PARTY_CREATE,
    status_code=201,
    responses=problem_responses(409),
    tags=["parties"],
)
def create_party(
    body: PartyIn, call: Annotated[Call, Depends(call_of(Operation.PARTY_CREATE))]
) -> PartyOut:
    """Register a party (administrator). Issue its first key with the credentials call."""
    with call.transaction() as session:
        if session.get(PartyRow, body.id) is not None:
            raise conflict("Party", body.id)
        row = PartyRow(id=body.id, name=body.name, role=body.role.value, created_at=call.now)
        session.add(row)
        session.flush()
        out = _party_out(row)
        call.accept(session, target=f"party:{row.id}", status=201, response=out)
        return out


@router.get("/parties", name=Operation.PARTY_LIST, tags=["parties"])
def list_parties(
    call: Annotated[Call, Depends(call_of(Operation.PARTY_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[PartyOut]:
    """Every party, in id order (administrator)."""
    with call.transaction(read_only=True) as session:
        rows = session.scalars(select(PartyRow).order_by(PartyRow.id).limit(limit).offset(offset))
        return [_party_out(r) for r in rows]


def _party(session: Session, party_id: str) -> PartyRow:
    row = session.get(PartyRow, party_id)
    if row is None:
        raise NotFoundError(f"Party {party_id!r} is not registered")
    return row


@router.get(
    "/parties/{party_id}",
    name=Operation.PARTY_READ,
    responses=problem_responses(404),
    tags=["parties"],
)
def read_party(
    party_id: str, call: Annotated[Call, Depends(call_of(Operation.PARTY_READ))]
) -> PartyOut:
    """One party (administrator)."""
    with call.transaction(read_only=True) as session:
        return _party_out(_party(session, party_id))


@router.post(
    "/parties/{party_id}/credentials",
    name=Operation.CREDENTIAL_ISSUE,
    status_code=201,
    responses=problem_responses(404),
    tags=["credentials"],
)
def issue_credential(
    party_id: str, call: Annotated[Call, Depends(call_of(Operation.CREDENTIAL_ISSUE))]
) -> CredentialIssued:
    """Issue a new API key to a party (administrator); the key is shown only in this answer."""
    with call.transaction() as session:
        party = _party(session, party_id)
        key = issue_key(session, party.id, now=call.now)
        call.accept(session, target=f"credential:{key.key_id}", status=201)
        return _issued(key)


@router.get("/me", name=Operation.WHOAMI, tags=["credentials"])
def whoami(call: Annotated[Call, Depends(call_of(Operation.WHOAMI))]) -> WhoAmI:
    """The calling party, its role and the key id used."""
    p = call.principal
    return WhoAmI(party_id=p.party_id, role=p.role, key_id=p.key_id)


@router.post(
    "/me/credentials/rotate",
    name=Operation.CREDENTIAL_ROTATE,
    status_code=201,
    tags=["credentials"],
)
def rotate_credential(
    call: Annotated[Call, Depends(call_of(Operation.CREDENTIAL_ROTATE))],
) -> CredentialRotated:
    """Issue a new key for the caller; the key used for this call keeps working for the grace
    period (24 h by default), then stops."""
    with call.transaction() as session:
        key, until = rotate_key(
            session, call.principal, now=call.now, grace=call.services.settings.key_rotation_grace
        )
        call.accept(session, target=f"credential:{key.key_id}", status=201)
        return CredentialRotated(
            **_issued(key).model_dump(),
            previous_key_id=call.principal.key_id,
            previous_valid_until=until,
        )


@router.delete(
    "/me/credentials/{key_id}",
    name=Operation.CREDENTIAL_REVOKE,
    responses=problem_responses(404),
    tags=["credentials"],
)
def revoke_credential(
    key_id: str, call: Annotated[Call, Depends(call_of(Operation.CREDENTIAL_REVOKE))]
) -> CredentialRevoked:
    """Revoke one of the caller's own keys now (another party's key is not found)."""
    with call.transaction() as session:
        at = revoke_key(session, call.principal.party_id, key_id, now=call.now)
        call.accept(session, target=f"credential:{key_id}", status=200)
        return CredentialRevoked(key_id=key_id, revoked_at=at)
