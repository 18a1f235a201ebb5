"""The UFTP endpoint: ``POST /shapeshifter/api/v3/message`` (the path shapeshifter-uftp's
services listen on) takes a ``SignedMessage`` from a registered DSO or AGR.

1. The wrapper is read with the hardened parser; not XML or not a SignedMessage: HTTP 400.
2. The sender's public key is looked up by ``(SenderDomain, SenderRole)`` in the endpoint's key
   registry (:attr:`UftpEndpoint.public_keys`, configuration held by the app); an unknown
   sender or a signature that does not verify: HTTP 401 (UFTP's transport rejection), nothing
   written.
3. The inner message must name the same sender and this endpoint as recipient, else it is
   rejected ("Invalid Sender", "Unknown Recipient").
4. FlexRequest → a need, FlexOffer → bids, through the same stores as the JSON API
   (``market_store.add_need``, ``bid_store.submit_bids``: one engine, one set of market rules)
   and Metering → meter readings (``results_store.upload_meter``, what settlement verifies
   delivery on), FlexOfferRevocation → the offer's bids withdrawn (``bid_store.withdraw_bid``),
   D-Prognosis → the resource's declared baseline (``baseline_store.declare``, what settlement
   verifies delivery against), in one transaction; FlexOrderResponse,
   FlexReservationUpdateResponse and FlexSettlementResponse record the answer to a message
   flexcoord sent (``uftp_delivery.record_answer``); the portfolio updates and queries are
   checked against or answered from the register, flexcoord acting as the CRO
   (``uftp_portfolio``). Any issue rejects the message with its reason and rolls everything
   back.
5. The answer is the protocol's response (``FlexOfferResponse`` ...: Result Accepted or
   Rejected with RejectionReason), signed with the endpoint's key, in the HTTP 200 body. A
   response the package cannot write refuses the message with HTTP 400, the reason as text,
   nothing written: an AGRPortfolioQueryResponse must hold a DSO-View with a DSO portfolio, a
   congestion point and a connection, rejected or not (shapeshifter-uftp checks it both when
   writing and when reading), so a rejected AGRPortfolioQuery has none to send. UFTP
   delivers responses asynchronously to the sender's own endpoint; flexcoord answers in the
   same exchange (and a sender ignoring the body loses nothing).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from flexcoord.errors import FlexcoordError, InvalidInputError, Issue
from flexcoord.service import (
    baseline_store,
    bid_store,
    market_store,
    results_store,
    uftp_keys,
    uftp_portfolio,
)
from flexcoord.service.audit import AuditRecord, Outcome, append_event, outcome_of
from flexcoord.service.calls import Services, payload_sha256, services_of
from flexcoord.service.market_schemas import BidStatus, NeedIn
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.results_schemas import MeterUploadIn
from flexcoord.service.tables import BidRow, MarketSessionRow, NeedRow, PartyRow
from flexcoord.service.uftp_own_key import OWN_SIGNING_ROLES, OwnSigningKey, published_list
from flexcoord.service.uftp_schemas import PublishedKeysOut
from flexcoord.standards import uftp

__all__ = [
    "OWN_SIGNING_ROLES",
    "UFTP_KEYS_PATH",
    "UFTP_LOG_LENGTH",
    "UFTP_PATH",
    "DeliveryPolicy",
    "UftpEndpoint",
    "UftpOutcome",
    "load_keys",
    "mount_uftp",
]

UFTP_PATH = "/shapeshifter/api/v3/message"
#: Where flexcoord publishes its own public keys (JSON; UFTP's DNS lookup is not served).
UFTP_KEYS_PATH = "/uftp/keys"
#: How many outcomes ``app.state.uftp_log`` keeps (the newest; a live service runs for months).
UFTP_LOG_LENGTH = 10_000
_XML = "text/xml; charset=utf-8"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPolicy:
    """How flexcoord delivers its messages (:mod:`~flexcoord.service.uftp_delivery`).

    Attributes:
        answer_deadline: How long after an HTTP 200 the recipient's signed response is awaited
            before the message is sent again (the same MessageID: the recipient de-duplicates).
        max_attempts: Attempts in all (transport failures and unanswered sends); then the
            message is ``failed`` (last attempt not delivered) or ``expired`` (delivered,
            never answered).
        base_delay: The wait after the first failed attempt, doubled after each further one.
        max_delay: The longest wait between attempts.
    """

    answer_deadline: timedelta = timedelta(minutes=15)
    max_attempts: int = 12
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        issues = [
            Issue(kind="DeliveryPolicy", object_id="", field=name, value=str(value), message=m)
            for name, value, m in (
                ("max_attempts", self.max_attempts, "must be at least 1"),
                ("answer_deadline", self.answer_deadline, "must be positive"),
                ("base_delay", self.base_delay, "must be positive"),
                ("max_delay", self.max_delay, "must be positive"),
            )
            if (value < 1 if isinstance(value, int) else value <= timedelta(0))
        ]
        if issues:
            raise InvalidInputError(issues)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: ``base_delay · 2^(attempts-1)``,
        at most ``max_delay``."""
        return min(self.base_delay * (1 << min(max(0, attempts - 1), 40)), self.max_delay)

    def answer_wait(self, attempts: int) -> timedelta:
        """How long the answer to the ``attempts``-th send (an HTTP 200) is awaited: the
        answer deadline, or the backoff once that is longer (re-sends slow down like
        transport retries)."""
        return max(self.answer_deadline, self.backoff(attempts))


@dataclass(frozen=True, slots=True, kw_only=True)
class UftpEndpoint:
    """flexcoord's UFTP identity and its registry of participants' keys.

    Attributes:
        market: The market's agreements (congestion points, domains, resources, ISPs).
        domain: flexcoord's own Internet domain (the RecipientDomain it accepts).
        private_key: flexcoord's signing key at start (base64, libsodium); what it signs with
            now is ``own_key``.
        public_keys: ``(domain, role)`` → the participant's current public key (base64);
            ``mount_uftp`` loads them into the key table (:mod:`~flexcoord.service.uftp_keys`),
            which the endpoint verifies with: a sender with no valid key there is refused.
        previous_keys: ``(domain, role)`` → its earlier keys, each with the time it stops
            being valid (a rotation).
        sessions: Period (delivery day) → the market session its needs and bids go to; a day
            not named goes to the one session of ``market.product_id`` on that day.
        endpoints: ``(domain, role)`` → the participant's UFTP endpoint URL, where flexcoord
            delivers its FlexOrders and FlexSettlements (:mod:`~flexcoord.service.uftp_delivery`);
            a participant not in it is sent none.
        delivery: The delivery's retry schedule and answer deadline.
        own_previous_keys: flexcoord's own earlier public keys, each with the time it stops
            being announced (a rotation of ``private_key``: it signs with the newest only).
        key_file: The file ``private_key`` was read from (``None``: given in code); the
            administrator's rotation reads it again (``POST /v1/uftp/own-key``).
        own_key: The key flexcoord signs with *now* (:class:`OwnSigningKey`: ``private_key``
            at start, swapped by a rotation without a restart); every signer reads it.
    """

    market: uftp.UftpMarket
    domain: str
    private_key: str = field(repr=False)
    public_keys: Mapping[tuple[str, str], str]
    sessions: Mapping[date, str] = field(default_factory=dict)
    previous_keys: Mapping[tuple[str, str], tuple[tuple[str, datetime], ...]] = field(
        default_factory=dict
    )
    endpoints: Mapping[tuple[str, str], str] = field(default_factory=dict)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    own_previous_keys: tuple[tuple[str, datetime], ...] = ()
    key_file: Path | None = None
    own_key: OwnSigningKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "own_key", OwnSigningKey(self.private_key, self.key_file))


@dataclass(frozen=True, slots=True, kw_only=True)
class UftpOutcome:
    """What the endpoint did with one message (the latest :data:`UFTP_LOG_LENGTH` are kept on
    ``app.state.uftp_log`` for operators and tests): its type, MessageID, result and rejection
    reason."""

    message_type: str
    message_id: str
    accepted: bool
    reason: str | None


def _snake(name: str) -> str:
    return re.sub(r"(.)([A-Z][a-z])", r"\1_\2", name).lower().replace("-", "_")


def _session_row(session: Session, endpoint: UftpEndpoint, period: date) -> MarketSessionRow:
    session_id = endpoint.sessions.get(period)
    if session_id is not None:
        return market_store.get_session(session, session_id)
    found = session.scalars(
        select(MarketSessionRow).where(
            MarketSessionRow.product_id == endpoint.market.product_id,
            MarketSessionRow.delivery_day == period,
        )
    ).all()
    if len(found) != 1:  # none, or several the Period cannot choose between
        raise ServiceProblem(422, f"Period Out Of Bounds: {period.isoformat()} has no session")
    return found[0]


def _party(session: Session, party_id: str) -> PartyRow:
    row = session.get(PartyRow, party_id)
    if row is None:
        raise ServiceProblem(422, f"UFTP participant {party_id} is not a flexcoord party")
    return row


def _not_expired(msg: Any, now: datetime) -> None:
    """UFTP's "Expiration DateTime Out Of Bounds": a FlexRequest or FlexOffer already expired."""
    try:
        expires = datetime.fromisoformat(msg.expiration_date_time)
    except (TypeError, ValueError):
        raise ServiceProblem(422, "Invalid Message: ExpirationDateTime") from None
    if expires.tzinfo is None or expires <= now:
        raise ServiceProblem(422, "Expiration DateTime Out Of Bounds")


def _store_need(session: Session, endpoint: UftpEndpoint, msg: Any, now: Any) -> None:
    _not_expired(msg, now)
    need = uftp.need_from_flex_request(msg, endpoint.market)
    body = NeedIn.model_validate(
        {
            "id": need.id,
            "location": {"kind": str(need.location.kind), "area_id": need.location.area_id},
            "direction": str(need.direction),
            "quantities": [
                {"start": q.interval.start, "end": q.interval.end, "quantity": q.quantity}
                for q in need.quantities
            ],
        }
    )
    srow = _session_row(session, endpoint, msg.period.to_date())
    market_store.add_need(session, _party(session, need.buyer_id), srow, body, now=now)


def _store_bids(session: Session, endpoint: UftpEndpoint, msg: Any, now: Any) -> None:
    _not_expired(msg, now)
    if msg.flex_request_message_id is not None:
        known = session.scalar(select(NeedRow.id).where(NeedRow.id == msg.flex_request_message_id))
        if known is None:
            raise ServiceProblem(422, "Unknown Reference: FlexRequestMessageID")
    bids = uftp.bids_from_flex_offer(msg, endpoint.market)
    bodies = [bid_store.body_of(b) for b in bids]
    srow = _session_row(session, endpoint, msg.period.to_date())
    bid_store.submit_bids(session, _party(session, bids[0].fsp_id), srow, bodies, now=now)


def _revoke(session: Session, endpoint: UftpEndpoint, msg: Any, now: datetime) -> None:
    """FlexOfferRevocation: withdraw the bids the sender's FlexOffer carried (its exclusive
    set), through the bid store (``bid_store.withdraw_bid``: the JSON API's withdrawal, refused
    once the session's gate has closed)."""
    offer_id = msg.flex_offer_message_id or ""
    owner = _party(
        session, endpoint.market.party_of(msg.sender_domain or "", "FlexOfferRevocation")
    )
    rows = session.scalars(
        select(BidRow)
        .where(BidRow.owner_id == owner.id, BidRow.spec["exclusive_set"].as_string() == offer_id)
        .order_by(BidRow.session_id, BidRow.id)
    ).all()
    if not rows:  # never offered, or another AGR's offer: the same words
        raise ServiceProblem(422, f"Unknown Reference: FlexOfferMessageID {offer_id}")
    live = [r for r in rows if r.status != BidStatus.WITHDRAWN.value]
    if not live:
        raise ServiceProblem(422, f"FlexOffer Cannot Be Revoked: {offer_id} is revoked already")
    for row in live:
        srow = market_store.get_session(session, row.session_id)
        try:
            bid_store.withdraw_bid(session, owner, srow, row.id, now=now)
        except ServiceProblem as err:
            raise ServiceProblem(
                422, f"FlexOffer Cannot Be Revoked: {err.detail}", list(err.issues)
            ) from None


def _store_baseline(session: Session, endpoint: UftpEndpoint, msg: Any, now: datetime) -> None:
    """D-Prognosis → the declared baseline of the AGR's resource at the congestion point
    (``baseline_store.declare``: what settlement verifies delivery against)."""
    values = uftp.baseline_from_d_prognosis(msg, endpoint.market)
    fsp_id = endpoint.market.party_of(msg.sender_domain or "", "D-Prognosis")
    unit_id = endpoint.market.resource_of(fsp_id, msg.congestion_point, "D-Prognosis")
    baseline_store.declare(
        session,
        _party(session, fsp_id),
        unit_id,
        values,
        source=baseline_store.D_PROGNOSIS,
        message_id=msg.message_id or "",
        now=now,
    )


def _store_meter(session: Session, endpoint: UftpEndpoint, msg: Any, now: Any) -> None:
    unit_id, series = uftp.meter_from_metering(msg, endpoint.market)
    owner = _party(session, endpoint.market.party_of(msg.sender_domain or "", "Metering"))
    body = MeterUploadIn.model_validate(
        {
            "readings": [
                {"unit_id": unit_id, "start": r.interval.start, "end": r.interval.end, "mw": r.mw}
                for r in series.readings
            ]
        }
    )
    results_store.upload_meter(session, owner, body, now=now)


def _dispatch(
    session: Session, endpoint: UftpEndpoint, msg: Any, now: Any, role: str
) -> dict[str, Any]:
    """Map and store one verified message (``role``: the sender's, from the SignedMessage);
    the fields its response carries beyond the result (a portfolio query's answer). Raises on
    any issue (the caller rolls back)."""
    from shapeshifter_uftp.uftp import (  # noqa: PLC0415 - the package loads with the endpoint
        DPrognosis,
        FlexOffer,
        FlexOfferRevocation,
        FlexOrderResponse,
        FlexRequest,
        FlexReservationUpdateResponse,
        FlexSettlementResponse,
        Metering,
        TestMessage,
    )

    if type(msg).__name__ in uftp_portfolio.PORTFOLIO_MESSAGES:  # flexcoord as the CRO
        return uftp_portfolio.portfolio_message(session, endpoint, msg, role)
    if isinstance(msg, FlexRequest):
        _store_need(session, endpoint, msg, now)
    elif isinstance(msg, FlexOffer):
        _store_bids(session, endpoint, msg, now)
    elif isinstance(msg, DPrognosis):
        _store_baseline(session, endpoint, msg, now)
    elif isinstance(msg, FlexOfferRevocation):
        _revoke(session, endpoint, msg, now)
    elif isinstance(msg, Metering):
        _store_meter(session, endpoint, msg, now)
    elif isinstance(
        msg, FlexOrderResponse | FlexReservationUpdateResponse | FlexSettlementResponse
    ):
        from flexcoord.service.uftp_delivery import record_answer  # noqa: PLC0415 - a cycle

        record_answer(session, msg, now=now)
    elif not isinstance(msg, TestMessage):
        raise ServiceProblem(422, f"Invalid Message: {type(msg).__name__} is not handled here")
    return {}


def _reason(err: Exception) -> str:
    if isinstance(err, ServiceProblem):
        text = err.detail + "".join(f"; {i.field}: {i.message}" for i in err.issues[:3])
    elif isinstance(err, InvalidInputError):
        text = "; ".join(f"{i.kind} {i.field}: {i.message}" for i in err.issues[:3])
    else:
        text = str(err)
    return text[:500]


def _response(  # noqa: PLR0913 - the endpoint, the message, its outcome, the signing key
    endpoint: UftpEndpoint,
    inner: Any,
    reason: str | None,
    now: datetime,
    answer: dict[str, Any],
    private_key: str,
) -> bytes | None:
    from shapeshifter_uftp.uftp import (  # noqa: PLC0415 - the package loads with the endpoint
        AcceptedRejected,
        FlexOrderSettlementStatus,
        FlexSettlement,
        SignedMessage,
        destination_map,
        request_response_map,
    )

    response_type = request_response_map.get(type(inner))
    if response_type is None:
        return None
    name = type(inner).__name__
    envelope = uftp.Envelope.new(endpoint.domain, inner.sender_domain, at=now)
    fields: dict[str, Any] = {
        **envelope.fields(),
        "conversation_id": inner.conversation_id,
        "result": AcceptedRejected.ACCEPTED if reason is None else AcceptedRejected.REJECTED,
        "rejection_reason": reason,
        f"{_snake(name)}_message_id": inner.message_id,
    }
    if isinstance(inner, FlexSettlement):
        fields["flex_order_settlement_statuses"] = [
            FlexOrderSettlementStatus(order_reference=s.order_reference, disposition="Accepted")
            for s in inner.flex_order_settlements
        ]
    if name == "TestMessage":
        fields.pop("test_message_message_id")
    if name in ("DsoPortfolioQuery", "AgrPortfolioQuery"):  # the query's day, answered or not
        fields |= {"time_zone": inner.time_zone, "period": inner.period}
    fields |= answer
    message = response_type(**fields)
    sealed = uftp.seal(message, private_key)
    role = destination_map.get(type(inner), "DSO")
    return uftp.to_xml(SignedMessage(sender_domain=endpoint.domain, sender_role=role, body=sealed))


def _audit(  # noqa: PLR0913 - the store, then the event's fields
    services: Services,
    session: Session | None,
    *,
    party_id: str | None,
    operation: str,
    target: str | None,
    request_id: str,
    body: bytes,
    outcome: Outcome,
    status: int,
) -> None:
    """One event of the audit chain for a UFTP message: inside ``session``'s transaction (the
    change it records), or in its own when nothing was changed."""
    record = AuditRecord(
        at=services.settings.clock(),
        party_id=party_id,
        credential_id=None,  # authenticated by its signature, not by an API key
        operation=operation[:64],
        target=None if target is None else target[:200],
        request_id=request_id,
        payload_sha256=payload_sha256(body),
        outcome=outcome,
        status=status,
    )
    if session is not None:
        append_event(session, record)
        return
    with Session(services.engine) as own:
        own.connection()  # SQLite: BEGIN IMMEDIATE, the chain's write lock
        append_event(own, record)
        own.commit()


def handle(
    services: Services, endpoint: UftpEndpoint, body: bytes, request_id: str = ""
) -> tuple[int, bytes, UftpOutcome | None]:
    """One SignedMessage: its HTTP status, the answer's body and what was done (synchronous:
    run in the thread pool). Every message leaves one event in the audit chain: a transport
    refusal (400, 401) on its own, an accepted message with its change, a rejected one after
    the rollback."""
    from shapeshifter_uftp.uftp import SignedMessage  # noqa: PLC0415

    def refuse(status: int, text: str) -> tuple[int, bytes, None]:
        _audit(
            services,
            None,
            party_id=None,
            operation="uftp.message",
            target=None,
            request_id=request_id,
            body=body,
            outcome=outcome_of(status),
            status=status,
        )
        return status, text.encode(), None

    try:
        signed = uftp.parse_xml(body)
    except InvalidInputError as err:
        return refuse(400, _reason(err))
    if not isinstance(signed, SignedMessage):
        return refuse(400, "not a SignedMessage")
    with Session(services.engine) as session:
        keys = uftp_keys.valid_keys(
            session, signed.sender_domain, str(signed.sender_role), services.settings.clock()
        )
    if not keys:
        return refuse(401, "unknown sender: no valid public key registered")
    inner: Any = None
    for key in keys:  # the current key first, then the rotated ones still valid
        try:
            inner = uftp.unseal(signed.body, key)
            break
        except InvalidInputError as err:
            if err.issues[0].field != "signature":
                return refuse(400, _reason(err))
            failure = err
    if inner is None:
        return refuse(401, _reason(failure))
    name = type(inner).__name__
    parties = {domain: party for party, domain in endpoint.market.domains.items()}
    reason: str | None = None
    if inner.sender_domain != signed.sender_domain:
        reason = "Invalid Sender"
    elif inner.recipient_domain != endpoint.domain:
        reason = "Unknown Recipient"
    answer: dict[str, Any] = {}
    with Session(services.engine, expire_on_commit=False) as session:
        session.connection()  # SQLite: BEGIN IMMEDIATE, as every writing route
        if reason is None:
            try:
                role = str(signed.sender_role)
                answer = _dispatch(session, endpoint, inner, services.settings.clock(), role)
            except (FlexcoordError, ServiceProblem, ValueError) as err:
                session.rollback()
                session.connection()
                reason, answer = _reason(err), {}
        status = 200
        key = endpoint.own_key.sync(session, endpoint.domain, services.settings.clock())
        try:  # signed with the key current now (a rotation counts from the next answer)
            response = _response(endpoint, inner, reason, services.settings.clock(), answer, key)
        except ValueError as err:  # a response the package cannot write (module docstring)
            session.rollback()
            session.connection()
            status, reason = 400, reason or _reason(err)
            response = reason.encode()
        outcome = Outcome.ACCEPTED if reason is None else Outcome.REJECTED
        _audit(
            services,
            session,
            party_id=parties.get(signed.sender_domain),
            operation=f"uftp.{name}",
            target=f"uftp:{inner.message_id or ''}",
            request_id=request_id,
            body=body,
            outcome=outcome,
            status=status,
        )
        session.commit()
    done = UftpOutcome(
        message_type=name, message_id=inner.message_id or "", accepted=reason is None, reason=reason
    )
    return status, response or b"", done


def load_keys(engine: Engine, endpoint: UftpEndpoint, now: datetime) -> int:
    """Bring the key table to ``endpoint``: its participants' keys and flexcoord's own (the
    public key of ``private_key`` current, ``own_previous_keys`` announced until their end),
    by the one rotation of :func:`uftp_keys.load`; how many keys changed."""
    own = (endpoint.domain, uftp_keys.OWN_ROLE)
    return uftp_keys.load(
        engine,
        {**endpoint.public_keys, own: endpoint.own_key.public_key},
        {**endpoint.previous_keys, own: endpoint.own_previous_keys},
        now=now,
    )


def _published(services: Services, domain: str) -> PublishedKeysOut:
    with Session(services.reader) as session:
        return published_list(session, domain, services.settings.clock())


def mount_uftp(app: FastAPI, endpoint: UftpEndpoint) -> None:
    """Add the UFTP endpoint to a flexcoord app (``create_app``'s), for ``endpoint``, and
    ``GET /uftp/keys`` (flexcoord's public keys, no API key needed); the participants' keys
    and flexcoord's own are loaded into the key table first (:func:`load_keys`)."""
    services: Services = app.state.services
    load_keys(services.engine, endpoint, services.settings.clock())
    app.state.uftp_log = deque(maxlen=UFTP_LOG_LENGTH)
    app.state.uftp_endpoint = endpoint

    async def keys(request: Request) -> PublishedKeysOut:
        """flexcoord's UFTP public keys valid now: the one it signs with first, then rotated
        ones still announced (each with its ``valid_until``)."""
        return await run_in_threadpool(_published, services_of(request), endpoint.domain)

    app.add_api_route(UFTP_KEYS_PATH, keys, methods=["GET"], name="uftp_keys", tags=["uftp"])

    async def receive(request: Request) -> Response:
        body = await request.body()
        request_id = getattr(request.state, "request_id", "")
        status, answer, outcome = await run_in_threadpool(
            handle, services_of(request), endpoint, body, request_id
        )
        request.state.audited = True
        if outcome is not None:
            app.state.uftp_log.append(outcome)
        media = _XML if status == 200 else "text/plain"
        return Response(content=answer, status_code=status, media_type=media)

    app.add_api_route(
        UFTP_PATH, receive, methods=["POST"], include_in_schema=False, name="uftp_message"
    )
