"""Messages: each party reads and acknowledges its own; the administrator issues broker
passwords.

A party sees only messages addressed to it: another party's message answers 404 with the words
of an unknown one. Acknowledging is idempotent (200 again, the first time kept); a failed
message, or one whose deadline has passed, answers 409. The same acknowledgement may be
published over MQTT on ``flexcoord/v1/<party>/acks`` (:mod:`flexcoord.service.publisher`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flexcoord.errors import NotFoundError
from flexcoord.service import outbox
from flexcoord.service.broker_config import issue_broker_password
from flexcoord.service.calls import Call, call_of
from flexcoord.service.message_schemas import BrokerCredentialIssued, MessageOut, message_out
from flexcoord.service.outbox import MessageKind, MessageStatus
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation
from flexcoord.service.routes_markets import Limit, Offset
from flexcoord.service.tables import PartyRow

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=problem_responses(401, 403, 422))
_FOUND = problem_responses(404)


@router.get("/messages", name=Operation.MESSAGE_LIST, tags=["messages"])
def list_messages(
    call: Annotated[Call, Depends(call_of(Operation.MESSAGE_LIST))],
    status: Annotated[
        MessageStatus | None, Query(description="Only messages in this status.")
    ] = None,
    kind: Annotated[MessageKind | None, Query(description="Only messages of this kind.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[MessageOut]:
    """The calling party's messages, in creation order."""
    with call.transaction(read_only=True) as session:
        rows = outbox.list_messages(
            session,
            call.principal.party_id,
            status=status,
            kind=kind,
            limit=limit,
            offset=offset,
        )
        return [message_out(r) for r in rows]


@router.get(
    "/messages/{message_id}", name=Operation.MESSAGE_READ, responses=_FOUND, tags=["messages"]
)
def read_message(
    message_id: str, call: Annotated[Call, Depends(call_of(Operation.MESSAGE_READ))]
) -> MessageOut:
    """One of the calling party's messages."""
    with call.transaction(read_only=True) as session:
        return message_out(outbox.get_message(session, call.principal.party_id, message_id))


@router.post(
    "/messages/{message_id}/ack",
    name=Operation.MESSAGE_ACK,
    responses=problem_responses(404, 409),
    tags=["messages"],
)
def acknowledge_message(
    message_id: str, call: Annotated[Call, Depends(call_of(Operation.MESSAGE_ACK))]
) -> MessageOut:
    """Acknowledge one of the calling party's messages (again: the same answer)."""
    with call.transaction() as session:
        row = outbox.acknowledge(session, call.principal.party_id, message_id, now=call.now)
        out = message_out(row)
        call.accept(session, target=f"message:{message_id}", status=200)
        return out


@router.post(
    "/parties/{party_id}/broker-credentials",
    name=Operation.BROKER_CREDENTIAL_ISSUE,
    status_code=201,
    responses=problem_responses(404),
    tags=["credentials"],
)
def issue_broker_credential(
    party_id: str, call: Annotated[Call, Depends(call_of(Operation.BROKER_CREDENTIAL_ISSUE))]
) -> BrokerCredentialIssued:
    """Issue a party's MQTT broker password (administrator), replacing any earlier one; it is
    shown only in this answer and works once the broker's files are written again
    (``flexcoord service broker-config``) and mosquitto reloads them."""
    with call.transaction() as session:
        if session.get(PartyRow, party_id) is None:
            raise NotFoundError(f"Party {party_id!r} is not registered")
        password = issue_broker_password(session, party_id, now=call.now)
        call.accept(session, target=f"broker_credential:{party_id}", status=201)
        return BrokerCredentialIssued.of(party_id, password, call.now)
