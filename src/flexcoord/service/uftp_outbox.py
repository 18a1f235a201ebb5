"""Operators' actions on the UFTP outbox (:mod:`~flexcoord.service.uftp_delivery`): send a
message again now, or cancel one not sent yet.

**Re-send** (:func:`resend`). What UFTP requires depends on what the recipient did with the
message:

* ``expired`` (delivered, never answered) and ``failed`` (never delivered): the *same*
  message, the same MessageID and bytes, goes out again with a fresh round of attempts
  (``attempts`` back to 0, due now). The recipient may have processed it and lost its answer;
  a UFTP implementation de-duplicates on MessageID (the reference Shapeshifter library drops a
  MessageID it has processed before), so the same MessageID can never make a FlexOrder count
  twice, while a new MessageID would.
* ``rejected``: the recipient processed the message and answered Rejected; sent again under
  its MessageID it is a duplicate the recipient ignores. A re-send is therefore a *new* UFTP
  message: the stored message with a new MessageID and TimeStamp (the ConversationID and
  every other attribute kept), a new outbox row whose ``replaces_message_id`` names the
  rejected one, which stays ``rejected``. A rejected message is re-sent once (a second re-send
  re-sends the new row).

Anything else (``pending``, ``sent``: the delivery acts on it already; ``accepted``;
``cancelled``) is refused with 409.

**Cancel** (:func:`cancel`): a ``pending`` message becomes ``cancelled`` and the delivery never
picks it up again. An attempt under way at that moment (claimed by the delivery thread) may
still reach the recipient; its answer, if one comes, is recorded as for any message.

Both run in the caller's transaction; the route's audit event (target ``uftp:<MessageID>`` of
the row acted on) commits with the change or not at all.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import Issue
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.tables import UftpOutboxRow
from flexcoord.service.uftp_delivery import DeliveryStatus
from flexcoord.standards import uftp

__all__ = ["RESENT_AS_NEW", "RESENT_AS_SAME", "cancel", "get_row", "resend"]

#: Statuses re-sent as the same message (same MessageID): the recipient may hold it already.
RESENT_AS_SAME: Final = frozenset({DeliveryStatus.EXPIRED, DeliveryStatus.FAILED})
#: Statuses re-sent as a new message (new MessageID): the recipient answered the old one.
RESENT_AS_NEW: Final = frozenset({DeliveryStatus.REJECTED})


def _problem(
    status: int, message_id: str, field: str, value: object, message: str
) -> ServiceProblem:
    return ServiceProblem(
        status,
        f"UFTP message {message_id!r}: {field} {message}",
        [
            Issue(
                kind="UftpMessage", object_id=message_id, field=field, value=value, message=message
            )
        ],
    )


def get_row(session: Session, message_id: str) -> UftpOutboxRow:
    """The outbox row of ``message_id``, locked for update where the database can.

    Raises:
        ServiceProblem: 404, flexcoord sent no UFTP message of that MessageID.
    """
    row = session.scalars(
        select(UftpOutboxRow).where(UftpOutboxRow.message_id == message_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise _problem(404, message_id, "message_id", message_id, "is no UFTP message of flexcoord")
    return row


def _refuse(row: UftpOutboxRow, action: str, allowed: str) -> ServiceProblem:
    return _problem(
        409,
        row.message_id,
        "status",
        row.status,
        f"is {row.status}: only {allowed} can be {action}",
    )


def resend(session: Session, message_id: str, *, now: datetime) -> UftpOutboxRow:
    """Send ``message_id`` again now (module docstring); the row that will be sent: the same
    row (expired, failed) or a new one (rejected). Not committed here.

    Raises:
        ServiceProblem: 404, no such message; 409, its status allows no re-send, or the
            rejected message was re-sent already (``replaces_message_id`` of another row).
    """
    row = get_row(session, message_id)
    status = DeliveryStatus(row.status)
    if status in RESENT_AS_SAME:
        row.status = DeliveryStatus.PENDING.value
        row.attempts, row.next_attempt_at, row.last_error = 0, now, None
        session.flush()
        return row
    if status not in RESENT_AS_NEW:
        raise _refuse(row, "re-sent", "expired, failed or rejected messages")
    earlier = session.scalar(
        select(UftpOutboxRow.message_id).where(UftpOutboxRow.replaces_message_id == message_id)
    )
    if earlier is not None:
        raise _problem(
            409, message_id, "message_id", message_id, f"was re-sent already as {earlier}"
        )
    message: Any = uftp.parse_xml(row.payload.encode())
    new_id = str(uuid.uuid4())
    renewed = dataclasses.replace(
        message, message_id=new_id, time_stamp=now.astimezone(UTC).isoformat()
    )
    new = UftpOutboxRow(
        message_id=new_id,
        party_id=row.party_id,
        message_type=row.message_type,
        subject_id=row.subject_id,
        recipient_domain=row.recipient_domain,
        recipient_role=row.recipient_role,
        payload=uftp.to_xml(renewed).decode(),
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        replaces_message_id=row.message_id,
    )
    session.add(new)
    session.flush()
    return new


def cancel(session: Session, message_id: str, *, now: datetime) -> UftpOutboxRow:
    """Cancel the pending message ``message_id``: ``cancelled``, never sent again (an attempt
    under way may still arrive: module docstring). Not committed here.

    Raises:
        ServiceProblem: 404, no such message; 409, it is not pending.
    """
    row = get_row(session, message_id)
    if row.status != DeliveryStatus.PENDING.value:
        raise _refuse(row, "cancelled", "pending messages")
    row.status = DeliveryStatus.CANCELLED.value
    row.next_attempt_at = now
    session.flush()
    return row
