"""What flexcoord sends over UFTP after a session clears and settles: one signed FlexOrder per
bid of a UFTP participant awarded activation, one signed FlexReservationUpdate per bid awarded
availability (reserved capacity), and one signed FlexSettlement per participant.

Both are read from what the service stored (awards of the clearing, the bids, the statements and
the verifications :func:`~flexcoord.service.settlement_job.session_verifications` settles on),
mapped by :mod:`flexcoord.standards.uftp` and signed with the endpoint's key. Delivery to the
AGR's endpoint (with the package's client, or the outbox) is the caller's.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import Bid, MtuQuantity, ProductKind
from flexcoord.operations import Money
from flexcoord.operations.statements import LineKind, PartyRole, SettlementLine, Statement
from flexcoord.service import bid_store, market_store, results_store
from flexcoord.service.settlement_job import session_verifications
from flexcoord.service.tables import AwardRow, StatementRow
from flexcoord.service.uftp_endpoint import UftpEndpoint
from flexcoord.standards import uftp

__all__ = [
    "SignedOut",
    "flex_orders",
    "flex_reservation_updates",
    "flex_settlements",
    "order_reference",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedOut:
    """A signed UFTP message flexcoord sends: its recipient, type, MessageID, the
    ``SignedMessage`` XML and the message's own XML before signing (what the delivery outbox
    keeps: shapeshifter-uftp's client seals it again at each attempt, to the same bytes)."""

    recipient_domain: str
    message_type: str
    message_id: str
    xml: bytes
    payload: bytes


def order_reference(session_id: str, bid_id: str) -> str:
    """The OrderReference of the FlexOrder of ``bid_id`` cleared in ``session_id``."""
    return f"{session_id}/{bid_id}"


def _signed(endpoint: UftpEndpoint, message: Any, recipient: str) -> SignedOut:
    from shapeshifter_uftp.uftp import SignedMessage  # noqa: PLC0415 - loads with the endpoint

    body = uftp.seal(message, endpoint.own_key.private_key)
    role = "DSO"  # flexcoord orders and settles on the DSO's behalf
    xml = uftp.to_xml(SignedMessage(sender_domain=endpoint.domain, sender_role=role, body=body))
    return SignedOut(
        recipient_domain=recipient,
        message_type=type(message).__name__,
        message_id=message.message_id,
        xml=xml,
        payload=uftp.to_xml(message),
    )


def _offer_id(bid: Bid) -> str | None:
    """The FlexOffer that carried ``bid`` (its exclusive set, a UUID), or ``None`` for a bid
    submitted through the JSON API (its FlexOrder is then sent unsolicited)."""
    try:
        return str(uuid.UUID(bid.exclusive_set or ""))
    except ValueError:
        return None


def flex_orders(
    session: Session, endpoint: UftpEndpoint, session_id: str, *, now: datetime
) -> tuple[SignedOut, ...]:
    """A signed FlexOrder for each bid of a UFTP participant the session's clearing awarded
    activation (its awards as the ordered ISPs, citing the FlexOffer that carried the bid).
    Availability awards are reservations, not orders: :func:`flex_reservation_updates`."""
    srow = market_store.get_session(session, session_id)
    awards = [a for a in _uftp_awards(session, endpoint, session_id) if a.kind == _ACTIVATION]
    by_bid = results_store.awards_by_bid(awards)
    bids = bid_store.domain_bids(session, srow, [owner for owner, _ in by_bid])
    out = []
    for (owner, bid_id), ordered in sorted(by_bid.items()):
        bid = bids[bid_id]
        recipient = endpoint.market.domain_of(owner)
        envelope = uftp.Envelope.new(endpoint.domain, recipient, at=now)
        exported = uftp.flex_order(
            ordered,
            bid,
            endpoint.market,
            envelope=envelope,
            flex_offer_message_id=_offer_id(bid),
            order_reference=order_reference(session_id, bid_id),
        )
        out.append(_signed(endpoint, exported.message, recipient))
    return tuple(out)


_ACTIVATION = ProductKind.ACTIVATION.value


def _uftp_awards(session: Session, endpoint: UftpEndpoint, session_id: str) -> list[AwardRow]:
    """The session's awards to UFTP participants, by participant, bid and MTU."""
    return list(
        session.scalars(
            select(AwardRow)
            .where(
                AwardRow.session_id == session_id, AwardRow.owner_id.in_(endpoint.market.domains)
            )
            .order_by(AwardRow.owner_id, AwardRow.bid_id, AwardRow.mtu_start)
        )
    )


def _reserved(bid: Bid, rows: list[AwardRow]) -> uftp.Reservation:
    """What stays reserved of ``bid``: per MTU of the bid the availability awarded (the MW of
    every market and buyer that bought it summed), 0 where nothing was (released)."""
    awarded: dict[datetime, float] = {}
    for a in rows:
        awarded[a.mtu_start] = awarded.get(a.mtu_start, 0.0) + a.quantity_mw
    return uftp.Reservation(
        bid_id=bid.id,
        reference="",
        direction=bid.direction,
        quantities=tuple(
            MtuQuantity(interval=q.interval, quantity=round(awarded.get(q.interval.start, 0.0), 6))
            for q in bid.quantities
        ),
    )


def flex_reservation_updates(
    session: Session, endpoint: UftpEndpoint, session_id: str, *, now: datetime
) -> tuple[SignedOut, ...]:
    """A signed FlexReservationUpdate for each bid of a UFTP participant the session's clearing
    awarded availability: per ISP of the bid the reserved power (0: released), the bid as the
    ContractID, Reference ``session/bid`` (as the FlexOrder's OrderReference)."""
    srow = market_store.get_session(session, session_id)
    by_bid: dict[tuple[str, str], list[AwardRow]] = {}
    for a in _uftp_awards(session, endpoint, session_id):
        if ProductKind(a.kind).has_availability:
            by_bid.setdefault((a.owner_id, a.bid_id), []).append(a)
    bids = bid_store.domain_bids(session, srow, sorted({owner for owner, _ in by_bid}))
    out = []
    for (owner, bid_id), rows in sorted(by_bid.items()):
        reservation = dataclasses.replace(
            _reserved(bids[bid_id], rows), reference=order_reference(session_id, bid_id)
        )
        recipient = endpoint.market.domain_of(owner)
        envelope = uftp.Envelope.new(endpoint.domain, recipient, at=now)
        exported = uftp.flex_reservation_update(
            reservation, bids[bid_id], endpoint.market, envelope=envelope
        )
        out.append(_signed(endpoint, exported.message, recipient))
    return tuple(out)


def _statement(party_id: str, spec: dict[str, Any]) -> Statement:
    def decimal(text: str) -> Decimal | None:
        return Decimal(text) if text else None

    lines = [
        SettlementLine(
            auction_id=row["auction_id"],
            party_role=PartyRole(row["party_role"]),
            party_id=row["party_id"],
            counterparty_id=row["counterparty_id"],
            bid_id=row["bid_id"],
            mtu=row["mtu"],
            kind=LineKind(row["kind"]),
            quantity=decimal(row["quantity"]),
            unit_price_eur=decimal(row["unit_price_eur"]),
            amount=Money.of(Decimal(row["amount_eur"])),
        )
        for row in spec["lines"]
        if row["party_role"] == PartyRole.FSP
    ]
    return Statement.of(PartyRole.FSP, party_id, lines)


def flex_settlements(
    session: Session, endpoint: UftpEndpoint, session_id: str, *, now: datetime
) -> tuple[SignedOut, ...]:
    """A signed FlexSettlement for each UFTP participant with a statement in the settled
    session: per awarded bid its price, penalty and per-ISP powers (baseline, ordered,
    metered, delivered, deficiency) from the verifications the statement was settled on."""
    srow = market_store.get_session(session, session_id)
    verifications = session_verifications(session, srow)
    out = []
    fsps = {v.fsp_id for v in verifications}
    for party_id in sorted(p for p in endpoint.market.domains if p in fsps):
        row = session.get(StatementRow, (session_id, party_id))
        if row is None:
            continue
        statement = _statement(party_id, row.spec)
        prefix = f"{party_id}/"
        mine = [
            dataclasses.replace(v, bid_id=v.bid_id.removeprefix(prefix))
            for v in verifications
            if v.fsp_id == party_id
        ]
        bids = bid_store.domain_bids(session, srow, [party_id])
        orders = {
            v.bid_id: (
                order_reference(session_id, v.bid_id),
                _congestion_point(endpoint, party_id, bids[v.bid_id].resource_id),
            )
            for v in mine
        }
        settled = uftp.order_settlements(statement, mine, orders=orders)
        recipient = endpoint.market.domain_of(party_id)
        envelope = uftp.Envelope.new(endpoint.domain, recipient, at=now)
        exported = uftp.flex_settlement(settled, endpoint.market, envelope=envelope)
        out.append(_signed(endpoint, exported.message, recipient))
    return tuple(out)


def _congestion_point(endpoint: UftpEndpoint, fsp_id: str, resource_id: str) -> str:
    """The congestion point where the FSP's resource sits (``UftpMarket.resources``)."""
    for (fsp, address), resource in endpoint.market.resources.items():
        if (fsp, resource) == (fsp_id, resource_id):
            return address
    raise LookupError(f"{fsp_id}'s resource {resource_id} has no congestion point")
