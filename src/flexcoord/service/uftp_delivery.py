"""Delivering flexcoord's UFTP messages to the participants' endpoints, at least once.

flexcoord (as the DSO's platform) sends each AGR its FlexOrders and FlexReservationUpdates
after a clearing and its FlexSettlement after a settlement. They go through a transactional
outbox of their own (:class:`~flexcoord.service.tables.UftpOutboxRow`; the MQTT outbox's
pattern, with UFTP's transport, retry schedule and answers):

1. **Enqueue** (:func:`enqueue_orders`, :func:`enqueue_settlements`): the worker builds the
   messages (:mod:`flexcoord.service.uftp_outbound`) and writes them *in the transaction of the
   clearing's results* (or the settlement's statements): they commit with them or not at all.
   A participant without an ``endpoint`` in the configuration gets none. A message that cannot
   be built is logged and audited (``uftp.enqueue``, rejected); the clearing still commits.
2. **Deliver** (:class:`UftpDelivery`): each due ``pending`` message is claimed (its attempt
   counted, ``next_attempt_at`` pushed past a lease, committed), then sent by shapeshifter-uftp's
   own client (``ShapeshifterDsoAgrClient.send_flex_order`` …: it seals the message with
   flexcoord's key and POSTs the SignedMessage; Ed25519 being deterministic, every attempt sends
   the same bytes, until flexcoord's key is rotated). HTTP 200 → ``sent``. Anything else (no
   connection, a timeout, a non-200 status) is a transport failure: tried again after
   ``base_delay · 2^(attempt-1)`` (capped at ``max_delay``), ``failed`` after
   ``max_attempts``. A process that dies mid-send leaves the message due again once the lease
   passes. Every attempt is an audit event
   (``uftp.deliver.<Type>``: the recipient's HTTP status, or 503 when it could not be reached).
   The schedule is the endpoint's :class:`~flexcoord.service.uftp_endpoint.DeliveryPolicy`.
3. **Answer deadline**: a ``sent`` message whose response has not come
   ``answer_deadline`` after its HTTP 200 (or the backoff, once that is longer) is sent again,
   the same MessageID and bytes (the recipient's de-duplication makes that safe), as one more
   attempt. A message still unanswered when its last attempt's deadline passes is
   ``expired``: an ERROR log line and an audit event ``uftp.expire.<Type>`` (failed, 504).
4. **Answer** (:func:`record_answer`, called by the endpoint): UFTP answers asynchronously; the
   AGR's signed FlexOrderResponse / FlexReservationUpdateResponse / FlexSettlementResponse arrives
   at flexcoord's endpoint, which verifies its signature; its Result moves the message to
   ``accepted`` or ``rejected`` (with RejectionReason; a rejected message is not sent again) in the
   endpoint's transaction, with an audit event ``uftp.answer.<Type>`` (accepted / rejected). An
   answer may arrive before the sender recorded its HTTP 200, or after the message expired; it
   counts all the same.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.errors import FlexcoordError
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.calls import payload_sha256
from flexcoord.service.logs import LOGGER_NAME
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.tables import UftpOutboxRow
from flexcoord.standards import uftp

if TYPE_CHECKING:
    from flexcoord.service.uftp_endpoint import UftpEndpoint

__all__ = [
    "DeliveryStatus",
    "UftpDelivery",
    "enqueue_orders",
    "enqueue_settlements",
    "record_answer",
]

_LOG = logging.getLogger(LOGGER_NAME)
#: The audit status of an attempt that reached no endpoint (no connection, a timeout).
_UNREACHABLE: Final = 503
#: The audit status of a message that expired unanswered.
_NO_ANSWER: Final = 504


class DeliveryStatus(StrEnum):
    """Where a UFTP message flexcoord sends is."""

    PENDING = "pending"  # to send (again) at next_attempt_at
    SENT = "sent"  # the recipient's endpoint answered HTTP 200; its response is awaited
    ACCEPTED = "accepted"  # the recipient's signed response: Accepted
    REJECTED = "rejected"  # the recipient's signed response: Rejected (not sent again)
    FAILED = "failed"  # max_attempts, the last a transport failure
    EXPIRED = "expired"  # max_attempts, delivered, but no answer by the last answer deadline
    CANCELLED = "cancelled"  # cancelled by an operator before it was sent (never sent again)


#: The states in which the delivery thread picks a message up once ``next_attempt_at`` passes.
_SCHEDULED: Final = (DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value)


def _audit(  # noqa: PLR0913 - the event's fields
    session: Session,
    *,
    now: datetime,
    party_id: str | None,
    operation: str,
    target: str,
    payload: bytes,
    outcome: Outcome,
    status: int,
) -> None:
    append_event(
        session,
        AuditRecord(
            at=now,
            party_id=party_id,
            credential_id=None,
            operation=operation[:64],
            target=target[:200],
            request_id=uuid.uuid4().hex,
            payload_sha256=payload_sha256(payload),
            outcome=outcome,
            status=status,
        ),
    )


def _enqueue(
    session: Session,
    endpoint: UftpEndpoint,
    subject_id: str,
    build: Callable[[], tuple[Any, ...]],
    now: datetime,
) -> int:
    """Write the messages ``build`` returns (``SignedOut``s) into the outbox; how many."""
    parties = {domain: party for party, domain in endpoint.market.domains.items()}
    try:
        with session.begin_nested():
            built = build()
    except (FlexcoordError, LookupError, ValueError) as err:
        _LOG.error("UFTP messages not built: %s", err, extra={"subject_id": subject_id})
        _audit(
            session,
            now=now,
            party_id=None,
            operation="uftp.enqueue",
            target=subject_id,
            payload=str(err).encode(),
            outcome=Outcome.REJECTED,
            status=422,
        )
        return 0
    n = 0
    for out in built:
        role = "AGR"  # FlexOrder and FlexSettlement go from the DSO to an AGR
        if (out.recipient_domain, role) not in endpoint.endpoints:
            _LOG.warning(
                "UFTP participant has no endpoint: %s not sent",
                out.message_type,
                extra={"recipient": out.recipient_domain, "subject_id": subject_id},
            )
            continue
        session.add(
            UftpOutboxRow(
                message_id=out.message_id,
                party_id=parties[out.recipient_domain],
                message_type=out.message_type,
                subject_id=subject_id,
                recipient_domain=out.recipient_domain,
                recipient_role=role,
                payload=out.payload.decode(),
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        n += 1
    return n


def enqueue_orders(
    session: Session, endpoint: UftpEndpoint, session_id: str, *, now: datetime
) -> int:
    """Enqueue the messages of the session's clearing, FlexOrders (activation awarded) and
    FlexReservationUpdates (availability awarded), in the caller's transaction, the one that
    writes the awards; how many."""
    from flexcoord.service.uftp_outbound import (  # noqa: PLC0415 - the worker's side
        flex_orders,
        flex_reservation_updates,
    )

    return _enqueue(
        session,
        endpoint,
        f"session:{session_id}",
        lambda: (
            flex_orders(session, endpoint, session_id, now=now)
            + flex_reservation_updates(session, endpoint, session_id, now=now)
        ),
        now,
    )


def enqueue_settlements(
    session: Session, endpoint: UftpEndpoint, session_id: str, *, now: datetime
) -> int:
    """Enqueue the FlexSettlements of the session's settlement (in the caller's transaction,
    the one that writes the statements); how many."""
    from flexcoord.service.uftp_outbound import (  # noqa: PLC0415 - the worker's side
        flex_settlements,
    )

    return _enqueue(
        session,
        endpoint,
        f"session:{session_id}",
        lambda: flex_settlements(session, endpoint, session_id, now=now),
        now,
    )


#: Response type → (the message type it answers, the attribute naming that message).
_ANSWERS: Final = {
    "FlexOrderResponse": ("FlexOrder", "flex_order_message_id"),
    "FlexSettlementResponse": ("FlexSettlement", "flex_settlement_message_id"),
    "FlexReservationUpdateResponse": (
        "FlexReservationUpdate",
        "flex_reservation_update_message_id",
    ),
}


def record_answer(session: Session, message: Any, *, now: datetime) -> UftpOutboxRow:
    """Record a participant's verified response to a message flexcoord sent (in the caller's
    transaction, with an audit event).

    Raises:
        ServiceProblem: 422, the response names no message flexcoord sent to its sender
            ("Unknown Reference"), or that message was answered already.
    """
    name = type(message).__name__
    answered, attribute = _ANSWERS[name]
    referenced = getattr(message, attribute, None) or ""
    row = session.scalars(
        select(UftpOutboxRow)
        .where(
            UftpOutboxRow.message_id == referenced,
            UftpOutboxRow.message_type == answered,
            UftpOutboxRow.recipient_domain == (message.sender_domain or ""),
        )
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise ServiceProblem(422, f"Unknown Reference: {answered}MessageID {referenced}")
    if row.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.REJECTED):
        raise ServiceProblem(422, f"Invalid Message: {answered} {referenced} is answered already")
    accepted = str(message.result) == "Accepted"
    row.status = (DeliveryStatus.ACCEPTED if accepted else DeliveryStatus.REJECTED).value
    row.answered_at = now
    row.rejection_reason = None if accepted else (message.rejection_reason or "")[:500]
    _audit(
        session,
        now=now,
        party_id=row.party_id,
        operation=f"uftp.answer.{answered}",
        target=f"uftp:{row.message_id}",
        payload=uftp.to_xml(message),
        outcome=Outcome.ACCEPTED if accepted else Outcome.REJECTED,
        status=200 if accepted else 422,
    )
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt: the message, the recipient's HTTP status (``None``: not reached)
    and the error."""

    message_id: str
    status: int | None
    error: str | None


@dataclass(kw_only=True)
class UftpDelivery:
    """Sends the due messages of the UFTP outbox (module docstring).

    ``endpoint`` is flexcoord's UFTP identity (its key signs, ``endpoints`` says where each
    participant listens, ``delivery`` the retry schedule and answer deadline); ``clock`` the
    server clock; a claimed message is due again after ``lease`` (a sender that died
    mid-send).
    """

    engine: Engine
    endpoint: UftpEndpoint
    clock: Callable[[], datetime]
    lease: timedelta = timedelta(minutes=5)
    timeout_s: float = 10.0
    batch: int = 50
    poll_s: float = 2.0
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def _expire(self, session: Session, row: UftpOutboxRow, now: datetime) -> None:
        """The last attempt's answer deadline passed (or, the policy lowered, no attempt is
        left): ``expired`` if it was delivered, else ``failed``; logged and audited."""
        delivered = row.status == DeliveryStatus.SENT.value
        row.status = (DeliveryStatus.EXPIRED if delivered else DeliveryStatus.FAILED).value
        _LOG.error(
            "UFTP message %s after %d attempts",
            "not answered" if delivered else "not delivered",
            row.attempts,
            extra={"message_id": row.message_id, "party_id": row.party_id},
        )
        _audit(
            session,
            now=now,
            party_id=row.party_id,
            operation=f"uftp.expire.{row.message_type}",
            target=f"uftp:{row.message_id}",
            payload=row.payload.encode(),
            outcome=Outcome.FAILED,
            status=_NO_ANSWER if delivered else _UNREACHABLE,
        )

    def _claim(self) -> list[tuple[str, int]]:
        """Take the due messages: pending ones, and sent ones whose answer deadline passed
        (each an attempt more); expire those with no attempt left."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            rows = session.scalars(
                select(UftpOutboxRow)
                .where(
                    UftpOutboxRow.status.in_(_SCHEDULED),
                    UftpOutboxRow.next_attempt_at <= now,
                )
                .order_by(UftpOutboxRow.seq)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for row in rows:
                if row.attempts >= self.endpoint.delivery.max_attempts:
                    self._expire(session, row, now)
                    continue
                if row.status == DeliveryStatus.SENT.value:
                    _LOG.warning(
                        "UFTP message not answered in time: sending it again",
                        extra={"message_id": row.message_id, "attempt": row.attempts + 1},
                    )
                row.attempts += 1
                row.next_attempt_at = now + self.lease
                claimed.append((row.message_id, row.attempts))
            return claimed

    def _send(self, row: UftpOutboxRow, key: str) -> Attempt:
        """One POST through shapeshifter-uftp's client, signed with ``key``."""
        import requests  # noqa: PLC0415 - with the package, only where messages are sent
        from shapeshifter_uftp.client import client_map  # noqa: PLC0415
        from shapeshifter_uftp.exceptions import ClientTransportException  # noqa: PLC0415
        from shapeshifter_uftp.uftp import UsefRole  # noqa: PLC0415

        url = self.endpoint.endpoints.get((row.recipient_domain, row.recipient_role))
        if url is None:
            return Attempt(row.message_id, None, "no endpoint configured for the recipient")
        message = uftp.parse_xml(row.payload.encode())
        client = client_map[(UsefRole.DSO, UsefRole(row.recipient_role))](
            sender_domain=self.endpoint.domain,
            signing_key=key,
            recipient_domain=row.recipient_domain,
            recipient_endpoint=url,
        )
        client.request_timeout = self.timeout_s
        send = getattr(client, "send_" + _snake(row.message_type))
        try:
            send(message)
        except ClientTransportException as err:
            status = err.response.status_code if err.response is not None else None
            return Attempt(row.message_id, status, str(err)[:500])
        except requests.RequestException as err:
            return Attempt(row.message_id, None, f"{type(err).__name__}: {err}"[:500])
        return Attempt(row.message_id, 200, None)

    def _record(self, attempt: Attempt) -> None:
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            row = session.scalars(
                select(UftpOutboxRow)
                .where(UftpOutboxRow.message_id == attempt.message_id)
                .with_for_update()
            ).one()
            policy = self.endpoint.delivery
            waiting = row.status in _SCHEDULED  # else: answered already, nothing to schedule
            if attempt.error is None:
                if waiting:
                    row.status = DeliveryStatus.SENT.value
                    row.next_attempt_at = now + policy.answer_wait(row.attempts)
                row.sent_at, row.last_error = now, None
                outcome = Outcome.ACCEPTED
            else:
                row.last_error = attempt.error
                if waiting and row.attempts >= policy.max_attempts:
                    row.status = DeliveryStatus.FAILED.value
                    _LOG.error(
                        "UFTP message not delivered after %d attempts",
                        row.attempts,
                        extra={"message_id": row.message_id, "party_id": row.party_id},
                    )
                elif waiting:  # a re-send after an unanswered 200 that fails: undelivered again
                    row.status = DeliveryStatus.PENDING.value
                    row.next_attempt_at = now + policy.backoff(row.attempts)
                outcome = Outcome.FAILED
            _audit(
                session,
                now=now,
                party_id=row.party_id,
                operation=f"uftp.deliver.{row.message_type}",
                target=f"uftp:{row.message_id}",
                payload=row.payload.encode(),
                outcome=outcome,
                status=attempt.status if attempt.status is not None else _UNREACHABLE,
            )

    def run_once(self) -> list[Attempt]:
        """Send every due message once; the attempts."""
        done = []
        for message_id, _ in self._claim():
            with Session(self.engine, expire_on_commit=False) as session:
                row = session.scalars(
                    select(UftpOutboxRow).where(UftpOutboxRow.message_id == message_id)
                ).one()
                own = self.endpoint.own_key  # the key current now: a rotation counts at once
                key = own.sync(session, self.endpoint.domain, self.clock())
            attempt = self._send(row, key)
            self._record(attempt)
            if attempt.error is not None:
                _LOG.warning(
                    "UFTP delivery failed: %s",
                    attempt.error,
                    extra={"message_id": message_id, "attempt": row.attempts},
                )
            done.append(attempt)
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database is away: log, and try again
                _LOG.exception("UFTP delivery step failed")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        """Deliver in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="flexcoord-uftp", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the thread (an attempt under way ends first, up to ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
