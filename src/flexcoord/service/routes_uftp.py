"""UFTP operations: the participants of the UFTP configuration and their keys in the key table,
add (rotate) and retire a participant's key (administrator); the UFTP outbox, what flexcoord
delivers and where each message is (administrator and market operator), and send a message
again or cancel one (administrator, :mod:`~flexcoord.service.uftp_outbox`); rotate flexcoord's
own signing key to the one in its key file, without a restart (administrator,
:mod:`~flexcoord.service.uftp_own_key`).

The participants are the ones of the configuration ``serve --uftp-config`` mounted
(:func:`~flexcoord.service.uftp_endpoint.mount_uftp`); without one there are none (the list is
empty, a participant's routes answer 404). A key the API adds or changes is the API's from then
on: a restart with the configuration file does not undo it (:mod:`~flexcoord.service.uftp_keys`).
Every change is one transaction with its audit event (target ``uftp-key:<domain>/<role>``);
a bad request changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.service import uftp_keys, uftp_outbox
from flexcoord.service.calls import Call, call_of
from flexcoord.service.problems import ServiceProblem, problem_responses
from flexcoord.service.roles import Operation
from flexcoord.service.routes_markets import Limit, Offset
from flexcoord.service.tables import UftpOutboxRow
from flexcoord.service.uftp_delivery import DeliveryStatus
from flexcoord.service.uftp_own_key import published_list
from flexcoord.service.uftp_schemas import (
    PublishedKeysOut,
    UftpKeyIn,
    UftpOutboxOut,
    UftpOwnKeyIn,
    UftpParticipantOut,
    key_out,
    outbox_out,
)

if TYPE_CHECKING:
    from datetime import datetime

    from flexcoord.service.uftp_endpoint import UftpEndpoint

__all__ = ["router"]

router = APIRouter(prefix="/v1/uftp", responses=problem_responses(401, 403, 422))


def _endpoint(request: Request) -> UftpEndpoint | None:
    found: UftpEndpoint | None = getattr(request.app.state, "uftp_endpoint", None)
    return found


def _participants(endpoint: UftpEndpoint | None) -> list[tuple[str, str, str]]:
    """``(party_id, domain, role)`` of every configured participant, in party and role order."""
    if endpoint is None:
        return []
    party_of = {domain: party for party, domain in endpoint.market.domains.items()}
    return sorted(
        (party_of[domain], domain, role)
        for domain, role in endpoint.public_keys
        if domain in party_of
    )


def _out(
    session: Session, endpoint: UftpEndpoint, who: tuple[str, str, str], now: datetime
) -> UftpParticipantOut:
    party_id, domain, role = who
    rows = uftp_keys.participant_rows(session, domain, role)
    rows.sort(key=lambda r: (r.valid_until is not None, -r.seq))  # the current key first
    return UftpParticipantOut(
        party_id=party_id,
        domain=domain,
        role=role,
        endpoint=endpoint.endpoints.get((domain, role)),
        keys=[key_out(r, now) for r in rows],
    )


def _participant(
    endpoint: UftpEndpoint | None, party_id: str, role: str | None
) -> tuple[str, str, str]:
    """The configured participant ``party_id`` (in ``role``, needed when it has several)."""
    mine = [p for p in _participants(endpoint) if p[0] == party_id]
    if not mine:
        message = "is not a UFTP participant of this service"
        raise ServiceProblem(
            404,
            f"Party {party_id!r} {message}",
            [
                Issue(
                    kind="UftpParticipant",
                    object_id=party_id,
                    field="party_id",
                    value=party_id,
                    message=message,
                )
            ],
        )
    if role is not None:
        mine = [p for p in mine if p[2] == role]
    if len(mine) != 1:
        roles = sorted(p[2] for p in _participants(endpoint) if p[0] == party_id)
        message = f"must be one of the party's UFTP roles {roles}"
        raise ServiceProblem(
            422,
            f"role {message}",
            [
                Issue(
                    kind="UftpParticipant",
                    object_id=party_id,
                    field="role",
                    value=role,
                    message=message,
                )
            ],
        )
    return mine[0]


@router.get("/participants", name=Operation.UFTP_PARTICIPANT_LIST, tags=["uftp"])
def list_participants(
    call: Annotated[Call, Depends(call_of(Operation.UFTP_PARTICIPANT_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[UftpParticipantOut]:
    """The UFTP participants and every key of theirs (administrator), in party id order."""
    endpoint = _endpoint(call.request)
    if endpoint is None:  # no UFTP configuration mounted: no participants
        return []
    chosen = _participants(endpoint)[offset : offset + limit]
    with call.transaction(read_only=True) as session:
        return [_out(session, endpoint, who, call.now) for who in chosen]


@router.post(
    "/participants/{party_id}/keys",
    name=Operation.UFTP_KEY_ADD,
    status_code=201,
    responses=problem_responses(404, 409),
    tags=["uftp"],
)
def add_key(
    party_id: str,
    body: UftpKeyIn,
    call: Annotated[Call, Depends(call_of(Operation.UFTP_KEY_ADD))],
) -> UftpParticipantOut:
    """Give a participant a new current key (administrator): a rotation when
    ``previous_valid_until`` is given (the keys valid until now stay valid until then), a
    replacement when not (they are retired now)."""
    endpoint = _endpoint(call.request)
    who = _participant(endpoint, party_id, body.role)
    assert endpoint is not None
    with call.transaction() as session:
        uftp_keys.add_key(
            session,
            who[1],
            who[2],
            body.public_key,
            previous_valid_until=body.previous_valid_until,
            now=call.now,
        )
        out = _out(session, endpoint, who, call.now)
        call.accept(session, target=f"uftp-key:{who[1]}/{who[2]}", status=201, response=out)
        return out


@router.delete(
    "/participants/{party_id}/keys/{key_sha256}",
    name=Operation.UFTP_KEY_RETIRE,
    responses=problem_responses(404, 409),
    tags=["uftp"],
)
def retire_key(
    party_id: str,
    key_sha256: str,
    call: Annotated[Call, Depends(call_of(Operation.UFTP_KEY_RETIRE))],
) -> UftpParticipantOut:
    """Retire one of a participant's keys now (administrator): messages signed with it are
    refused from now on. ``key_sha256`` is the key's id in the participant list."""
    endpoint = _endpoint(call.request)
    entries = [p for p in _participants(endpoint) if p[0] == party_id]
    _participant(endpoint, party_id, entries[0][2] if entries else None)  # 404 if none
    assert endpoint is not None
    with call.transaction() as session:
        who = next(  # the party's role holding the key (a party may have several roles)
            (
                w
                for w in entries
                if any(
                    uftp_keys.key_sha256(r.public_key) == key_sha256
                    for r in uftp_keys.participant_rows(session, w[1], w[2])
                )
            ),
            entries[0],
        )
        uftp_keys.retire_key(session, who[1], who[2], key_sha256, now=call.now)
        out = _out(session, endpoint, who, call.now)
        call.accept(session, target=f"uftp-key:{who[1]}/{who[2]}", status=200, response=out)
        return out


@router.get("/outbox", name=Operation.UFTP_OUTBOX_LIST, tags=["uftp"])
def list_outbox(  # noqa: PLR0913 - the call, three filters, the page
    call: Annotated[Call, Depends(call_of(Operation.UFTP_OUTBOX_LIST))],
    status: Annotated[
        DeliveryStatus | None, Query(description="Only messages in this status.")
    ] = None,
    recipient: Annotated[
        str | None, Query(max_length=64, description="Only messages to this party id.")
    ] = None,
    message_type: Annotated[
        str | None, Query(max_length=40, description="Only messages of this UFTP type.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[UftpOutboxOut]:
    """The UFTP messages flexcoord delivers, in creation order, with their delivery status,
    attempts, next attempt and last error (administrator, market operator)."""
    query = select(UftpOutboxRow).order_by(UftpOutboxRow.seq)
    if status is not None:
        query = query.where(UftpOutboxRow.status == status.value)
    if recipient is not None:
        query = query.where(UftpOutboxRow.party_id == recipient)
    if message_type is not None:
        query = query.where(UftpOutboxRow.message_type == message_type)
    with call.transaction(read_only=True) as session:
        rows = session.scalars(query.limit(limit).offset(offset))
        return [outbox_out(r) for r in rows]


@router.post(
    "/outbox/{uftp_message_id}/resend",
    name=Operation.UFTP_OUTBOX_RESEND,
    responses=problem_responses(404, 409),
    tags=["uftp"],
)
def resend_message(
    uftp_message_id: str,
    call: Annotated[Call, Depends(call_of(Operation.UFTP_OUTBOX_RESEND))],
) -> UftpOutboxOut:
    """Send a UFTP message again now (administrator): an ``expired`` or ``failed`` one as the
    same message (same MessageID: the recipient de-duplicates), a ``rejected`` one as a new
    message (new MessageID and TimeStamp, ``replaces_message_id`` naming it). The answer is
    the message that will be sent."""
    with call.transaction() as session:
        row = uftp_outbox.resend(session, uftp_message_id, now=call.now)
        out = outbox_out(row)
        call.accept(session, target=f"uftp:{uftp_message_id}", status=200, response=out)
        return out


@router.post(
    "/outbox/{uftp_message_id}/cancel",
    name=Operation.UFTP_OUTBOX_CANCEL,
    responses=problem_responses(404, 409),
    tags=["uftp"],
)
def cancel_message(
    uftp_message_id: str,
    call: Annotated[Call, Depends(call_of(Operation.UFTP_OUTBOX_CANCEL))],
) -> UftpOutboxOut:
    """Cancel a ``pending`` UFTP message (administrator): ``cancelled``, never sent again."""
    with call.transaction() as session:
        row = uftp_outbox.cancel(session, uftp_message_id, now=call.now)
        out = outbox_out(row)
        call.accept(session, target=f"uftp:{uftp_message_id}", status=200, response=out)
        return out


def _own_key_problem(status: int, domain: str, value: object, message: str) -> ServiceProblem:
    return ServiceProblem(
        status,
        f"private_key_file {message}",
        [
            Issue(
                kind="UftpOwnKey",
                object_id=domain,
                field="private_key_file",
                value=value,
                message=message,
            )
        ],
    )


@router.post(
    "/own-key",
    name=Operation.UFTP_OWN_KEY_ROTATE,
    responses=problem_responses(404, 409),
    tags=["uftp"],
)
def rotate_own_key(
    body: UftpOwnKeyIn,
    call: Annotated[Call, Depends(call_of(Operation.UFTP_OWN_KEY_ROTATE))],
) -> PublishedKeysOut:
    """Rotate flexcoord's signing key to the one the operator wrote into its
    ``private_key_file`` (administrator), without a restart: the next message flexcoord signs
    (an answer, a delivery attempt) uses it, ``GET /uftp/keys`` names it current at once, and
    the earlier key stays published until ``previous_valid_until`` (left out: retired now).
    The answer is the published list."""
    endpoint = _endpoint(call.request)
    if endpoint is None:
        message = "is not served: no UFTP configuration is mounted"
        raise ServiceProblem(
            404,
            f"UFTP {message}",
            [Issue(kind="UftpOwnKey", object_id="", field="domain", value=None, message=message)],
        )
    own, domain = endpoint.own_key, endpoint.domain
    try:
        private, public = own.read_file()
    except InvalidInputError as err:
        issue = err.issues[0]
        raise _own_key_problem(409, domain, issue.value, issue.message) from None
    where = str(own.key_file)
    with call.transaction() as session:
        rows = uftp_keys.participant_rows(session, domain, uftp_keys.OWN_ROLE)
        if public == own.public_key:
            message = "holds the key flexcoord signs with already: write the new key into it first"
            raise _own_key_problem(409, domain, where, message)
        if any(r.public_key == public for r in rows):
            message = "holds an earlier key of flexcoord's (a retired key is not brought back)"
            raise _own_key_problem(409, domain, where, message)
        uftp_keys.add_key(
            session,
            domain,
            uftp_keys.OWN_ROLE,
            public,
            previous_valid_until=body.previous_valid_until,
            now=call.now,
        )
        out = published_list(session, domain, call.now)
        call.accept(
            session, target=f"uftp-key:{domain}/{uftp_keys.OWN_ROLE}", status=200, response=out
        )
    own.adopt(private)  # committed: sign with it from now on
    return out
