"""Needs ↔ FlexRequest, bids ↔ FlexOffer, awards ↔ FlexOrder, reservations ↔
FlexReservationUpdate (the validate phase of UFTP), with the shapeshifter-uftp dataclasses.

=====================  ==============================================================
UFTP                   flexcoord
=====================  ==============================================================
FlexRequest            one :class:`~flexcoord.domain.Need` (one direction, one period)
  MessageID            ``Need.id`` (a UUID; another id travels as a name-based UUID)
  SenderDomain         ``Need.buyer_id`` (through :attr:`UftpMarket.domains`)
  CongestionPoint      ``Need.location`` (through :attr:`UftpMarket.congestion_points`)
  ServiceType          ``Need.product_id``
  TimeStamp            ``Need.created_at``
  ISP Requested        an MTU quantity > 0: ``MinPower = MaxPower = ∓q`` W
  ISP Available        an MTU quantity 0 (``MinPower = MaxPower = 0``)
FlexOffer              the bids of one exclusive set (or one bid)
  MessageID            ``Bid.exclusive_set`` (every option's, even a single one)
  OfferOption          one :class:`~flexcoord.domain.Bid`
    OptionReference    ``Bid.id``
    ISP Power          ``Bid.quantities`` with ``Bid.direction`` as the sign
    Price              ``activation_price_eur_per_mwh`` × the option's MWh (4 decimals)
    MinActivationFactor  1.00: indivisible; else ``min_acceptance`` / smallest quantity
  TimeStamp            ``Bid.submitted_at``
  SenderDomain         ``Bid.fsp_id``; ``Bid.resource_id`` from :attr:`UftpMarket.resources`
FlexOrder              the awards of one bid (one option ordered)
  OptionReference      ``Award.bid_id``
  ISP Power            ``Award.quantity_mw`` per MTU (``Award.mtu``)
  Price                Σ ``Award.payment_eur``; ``price_eur_per_mwh`` = Price / MWh
  ActivationFactor     ordered / offered power of the option (≥ its MinActivationFactor)
FlexReservationUpdate  a :class:`Reservation`: what stays reserved of an availability bid
  ContractID           ``Reservation.bid_id``
=====================  ==============================================================
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Final

from shapeshifter_uftp.uftp import (
    AvailableRequested,
    FlexOffer,
    FlexOfferOption,
    FlexOfferOptionISP,
    FlexOrder,
    FlexOrderISP,
    FlexRequest,
    FlexRequestISP,
    FlexReservationUpdate,
    FlexReservationUpdateISP,
)
from xsdata.models.datatype import XmlDate, XmlDuration

from flexcoord.clearing.result import Award
from flexcoord.domain import Bid, Direction, Need
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.domain.time import Interval
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.standards.uftp._common import (
    Envelope,
    Exported,
    UftpMarket,
    decimal_of,
    direction_of,
    intervals_of,
    isp_of,
    message_id_for,
    mw_of,
    period_of,
    signed_w,
)

__all__ = [
    "Reservation",
    "awards_from_flex_order",
    "bids_from_flex_offer",
    "flex_offer",
    "flex_order",
    "flex_request",
    "flex_reservation_update",
    "need_from_flex_request",
    "reservation_from_flex_reservation_update",
]

_FACTOR: Final = Decimal("0.01")
_PRICE: Final = Decimal("0.0001")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    """What stays reserved of an awarded availability bid (a ``FlexReservationUpdate``).

    Attributes:
        bid_id: The availability bid (the bilateral contract of UFTP).
        reference: The DSO's reference of this update.
        direction: UP or DOWN.
        quantities: Reserved MW per ISP (0: released).
    """

    bid_id: str
    reference: str
    direction: Direction
    quantities: tuple[MtuQuantity, ...]


def _issue(message: str, field_name: str, value: object, text: str) -> Issue:
    return Issue(kind=message, object_id=message, field=field_name, value=value, message=text)


def _xml_time(t: datetime) -> str:
    return t.isoformat()


def _parse_time(text: str, message: str, field_name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            [_issue(message, field_name, text, "is not an ISO 8601 date-time")]
        ) from None
    if value.tzinfo is None:
        raise InvalidInputError([_issue(message, field_name, text, "has no time zone")])
    from datetime import UTC  # noqa: PLC0415 - kept beside its one use

    return value.astimezone(UTC)


def _check_market(msg: object, market: UftpMarket, message: str) -> date:
    duration = msg.isp_duration  # type: ignore[attr-defined]
    issues = []
    if XmlDuration(f"PT{int(market.isp_duration.total_seconds() // 60)}M") != duration:
        issues.append(_issue(message, "ISP-Duration", str(duration), "is not the market's ISP"))
    if msg.time_zone != market.time_zone:  # type: ignore[attr-defined]
        issues.append(
            _issue(message, "TimeZone", msg.time_zone, "is not the market's time zone")  # type: ignore[attr-defined]
        )
    if issues:
        raise InvalidInputError(issues)
    period: XmlDate = msg.period  # type: ignore[attr-defined]
    return period.to_date()


def _period(intervals: Sequence[Interval], market: UftpMarket, what: str) -> date:
    days = {period_of(i, market) for i in intervals}
    if len(days) != 1:
        raise InvalidInputError(
            [_issue(what, "quantities", sorted(map(str, days)), "must lie in one Period (day)")]
        )
    return days.pop()


def _flex_fields(market: UftpMarket, period: date, congestion_point: str) -> dict[str, object]:
    minutes = int(market.isp_duration.total_seconds() // 60)
    return {
        "isp_duration": XmlDuration(f"PT{minutes}M"),
        "time_zone": market.time_zone,
        "period": XmlDate.from_date(period),
        "congestion_point": congestion_point,
    }


def _expand(
    isps: Sequence[object], period: date, market: UftpMarket, message: str
) -> list[tuple[Interval, object]]:
    out: list[tuple[Interval, object]] = []
    for isp in isps:
        for interval in intervals_of(isp.start, isp.duration, period, market, message):  # type: ignore[attr-defined]
            out.append((interval, isp))
    out.sort(key=lambda pair: pair[0].start)
    for (a, _), (b, _) in itertools.pairwise(out):
        if a == b:
            raise InvalidInputError([_issue(message, "ISP", str(a), "is given twice")])
    return out


def _one_direction(powers: Sequence[int], message: str) -> Direction:
    signs = {direction_of(p) for p in powers if p != 0}
    if len(signs) != 1:
        raise InvalidInputError(
            [_issue(message, "ISP", list(powers), "must all point one way (one direction)")]
        )
    return signs.pop()


# --------------------------------------------------------------------------- FlexRequest


def flex_request(  # noqa: PLR0913 - the need, then the message's keywords
    need: Need,
    market: UftpMarket,
    *,
    recipient_domain: str,
    conversation_id: str,
    revision: int,
    expires_at: datetime,
) -> Exported:
    """The FlexRequest publishing ``need`` to one AGR.

    Not carried: the price caps, the expected activation share, and a non-UUID need id (the
    AGR knows the need by the name-based MessageID).
    """
    message_id, id_carried = message_id_for(need.id)
    intervals = [q.interval for q in need.quantities]
    period = _period(intervals, market, f"Need {need.id}")
    isps = [
        FlexRequestISP(
            disposition=AvailableRequested.REQUESTED
            if q.quantity > 0
            else AvailableRequested.AVAILABLE,
            min_power=signed_w(q.quantity, need.direction),
            max_power=signed_w(q.quantity, need.direction),
            start=isp_of(q.interval, period, market),
        )
        for q in need.quantities
    ]
    envelope = Envelope(
        sender_domain=market.domain_of(need.buyer_id),
        recipient_domain=recipient_domain,
        message_id=message_id,
        conversation_id=conversation_id,
        time_stamp=need.created_at,
    )
    msg = FlexRequest(
        **envelope.fields(),
        **_flex_fields(market, period, market.congestion_point_of(need.location)),
        isps=isps,
        revision=revision,
        expiration_date_time=_xml_time(expires_at),
        service_type=need.product_id,
    )
    lost = [f"Need {need.id}.id: not a UUID, sent as MessageID {message_id}"] * (not id_carried)
    for name in (
        "activation_price_cap_eur_per_mwh",
        "availability_price_cap_eur_per_mw_h",
        "expected_activation_share",
    ):
        if getattr(need, name) is not None:
            lost.append(f"Need {need.id}.{name}: FlexRequest has no such attribute")
    return Exported(message=msg, not_carried=tuple(lost))


def need_from_flex_request(msg: FlexRequest, market: UftpMarket) -> Need:
    """The need a FlexRequest publishes (its id is the MessageID).

    Raises:
        InvalidInputError: The message does not fit the market (ISP duration, time zone,
            congestion point, sender), an ISP lies outside the period or twice, Requested ISPs
            point both ways, or MinPower ≠ MaxPower on a Requested ISP.
    """
    name = "FlexRequest"
    period = _check_market(msg, market, name)
    location = market.location_of(msg.congestion_point, name)
    buyer = market.party_of(msg.sender_domain or "", name)
    pairs = _expand(msg.isps, period, market, name)
    requested = [isp for _, isp in pairs if isp.disposition == AvailableRequested.REQUESTED]  # type: ignore[attr-defined]
    for isp in requested:
        if isp.min_power != isp.max_power:  # type: ignore[attr-defined]
            raise InvalidInputError(
                [_issue(name, "ISP", isp.start, "a Requested ISP needs MinPower = MaxPower")]  # type: ignore[attr-defined]
            )
    direction = _one_direction([isp.max_power for isp in requested], name)  # type: ignore[attr-defined]
    quantities = [
        {
            "start": interval.start,
            "end": interval.end,
            "quantity": mw_of(abs(isp.max_power))  # type: ignore[attr-defined]
            if isp.disposition == AvailableRequested.REQUESTED  # type: ignore[attr-defined]
            else 0.0,
        }
        for interval, isp in pairs
    ]
    return Need(
        id=msg.message_id or "",
        buyer_id=buyer,
        product_id=msg.service_type or market.product_id,
        location=location,
        direction=direction,
        quantities=quantities,  # type: ignore[arg-type]
        created_at=_parse_time(msg.time_stamp or "", name, "TimeStamp"),
    )


# --------------------------------------------------------------------------- FlexOffer


def _energy_mwh(quantities: Sequence[MtuQuantity]) -> Decimal:
    return sum(
        (
            decimal_of(q.quantity) * Decimal(int(q.interval.duration.total_seconds())) / 3600
            for q in quantities
        ),
        Decimal(0),
    )


def _min_factor(bid: Bid) -> Decimal:
    if not bid.divisible:
        return Decimal("1.00")
    smallest = min(q.quantity for q in bid.quantities)
    floor = decimal_of(bid.min_acceptance or 0.0) / decimal_of(smallest)
    return max(_FACTOR, floor.quantize(_FACTOR, rounding=ROUND_CEILING))


def _bid_losses(bid: Bid) -> list[str]:
    lost = []
    if bid.availability_price_eur_per_mw_h is not None:
        lost.append(f"Bid {bid.id}.availability_price_eur_per_mw_h: a FlexOffer prices activation")
    if bid.parent_bid_id is not None:
        lost.append(f"Bid {bid.id}.parent_bid_id: FlexOffer options cannot be linked")
    if bid.q_mvar_per_mw is not None:
        lost.append(f"Bid {bid.id}.q_mvar_per_mw: UFTP carries active power only")
    if not bid.block and len(bid.quantities) > 1:
        lost.append(f"Bid {bid.id}.block=False: an option is ordered over all its ISPs at once")
    if bid.divisible and bid.min_acceptance is None:
        lost.append(f"Bid {bid.id}.min_acceptance=None: the smallest factor is 0.01")
    return lost


def _option(bid: Bid, period: date, market: UftpMarket) -> FlexOfferOption:
    if bid.activation_price_eur_per_mwh is None:
        raise InvalidInputError(
            [
                _issue(
                    "Bid",
                    "activation_price_eur_per_mwh",
                    None,
                    f"bid {bid.id} has no activation price",
                )
            ]
        )
    price = decimal_of(bid.activation_price_eur_per_mwh) * _energy_mwh(bid.quantities)
    return FlexOfferOption(
        option_reference=bid.id,
        price=price.quantize(_PRICE),
        min_activation_factor=_min_factor(bid),
        isps=[
            FlexOfferOptionISP(
                power=signed_w(q.quantity, bid.direction), start=isp_of(q.interval, period, market)
            )
            for q in bid.quantities
        ],
    )


def flex_offer(  # noqa: PLR0913 - the bids, then the message's keywords
    bids: Sequence[Bid],
    market: UftpMarket,
    *,
    recipient_domain: str,
    conversation_id: str,
    expires_at: datetime,
    flex_request_message_id: str | None = None,
) -> Exported:
    """The FlexOffer of one bid, or of the bids of one exclusive set (its options).

    The bids share FSP, resource, period and exclusive set; the message's TimeStamp is the
    latest ``submitted_at``. ``flex_request_message_id=None`` sends it unsolicited.
    """
    if not bids or len({(b.fsp_id, b.resource_id, b.exclusive_set) for b in bids}) != 1:
        raise InvalidInputError(
            [_issue("FlexOffer", "bids", [b.id for b in bids], "must be one FSP's exclusive set")]
        )
    first = bids[0]
    if len(bids) > 1 and first.exclusive_set is None:
        raise InvalidInputError(
            [_issue("FlexOffer", "bids", [b.id for b in bids], "two options need an exclusive set")]
        )
    period = _period([q.interval for b in bids for q in b.quantities], market, "FlexOffer")
    lost = [loss for b in bids for loss in _bid_losses(b)]
    if first.exclusive_set is not None:
        message_id, carried = message_id_for(first.exclusive_set)
        if not carried:
            lost.append(f"Bid {first.id}.exclusive_set: not a UUID, sent as MessageID {message_id}")
    else:
        message_id = str(uuid.uuid4())
        lost.append(f"Bid {first.id}.exclusive_set=None: read back as the MessageID {message_id}")
    congestion_point = _cp_of(first, market)
    envelope = Envelope(
        sender_domain=market.domain_of(first.fsp_id),
        recipient_domain=recipient_domain,
        message_id=message_id,
        conversation_id=conversation_id,
        time_stamp=max(b.submitted_at for b in bids),
    )
    msg = FlexOffer(
        **envelope.fields(),
        **_flex_fields(market, period, congestion_point),
        offer_options=[_option(b, period, market) for b in bids],
        expiration_date_time=_xml_time(expires_at),
        unsolicited=True if flex_request_message_id is None else None,
        flex_request_message_id=flex_request_message_id,
        contract_id=market.product_id,
        currency=market.currency,
    )
    return Exported(message=msg, not_carried=tuple(lost))


def _bid_of(  # noqa: PLR0913 - one option read in its message's context
    option: FlexOfferOption,
    msg: FlexOffer,
    market: UftpMarket,
    period: date,
    fsp_id: str,
    exclusive_set: str | None,
) -> Bid:
    name = f"FlexOffer OfferOption {option.option_reference}"
    pairs = _expand(option.isps, period, market, name)
    direction = _one_direction([isp.power for _, isp in pairs], name)  # type: ignore[attr-defined]
    quantities = [
        MtuQuantity(interval=i, quantity=mw_of(abs(isp.power)))  # type: ignore[attr-defined]
        for i, isp in pairs
    ]
    energy = _energy_mwh(quantities)
    if energy == 0:
        raise InvalidInputError([_issue(name, "ISP", 0, "offers no power")])
    factor = option.min_activation_factor
    smallest = min(q.quantity for q in quantities)
    return Bid(
        id=option.option_reference,
        fsp_id=fsp_id,
        resource_id=market.resource_of(fsp_id, msg.congestion_point, name),
        product_id=msg.contract_id or market.product_id,
        direction=direction,
        quantities=tuple(quantities),
        submitted_at=_parse_time(msg.time_stamp or "", "FlexOffer", "TimeStamp"),
        activation_price_eur_per_mwh=float(option.price / energy),
        divisible=factor < 1,
        min_acceptance=None if factor >= 1 else float(decimal_of(smallest) * factor),
        exclusive_set=exclusive_set,
        block=len(quantities) > 1,
    )


def bids_from_flex_offer(msg: FlexOffer, market: UftpMarket) -> tuple[Bid, ...]:
    """One bid per OfferOption, all in the exclusive set named by the FlexOffer's MessageID
    (the DSO orders at most one option of a FlexOffer; a FlexOrder cites that MessageID).

    Raises:
        InvalidInputError: As :func:`need_from_flex_request`; also a currency other than the
            market's, or an option offering nothing or pointing both ways.
    """
    name = "FlexOffer"
    period = _check_market(msg, market, name)
    market.location_of(msg.congestion_point, name)
    if msg.currency != market.currency:
        raise InvalidInputError([_issue(name, "Currency", msg.currency, "is not the market's")])
    fsp_id = market.party_of(msg.sender_domain or "", name)
    references = [o.option_reference for o in msg.offer_options]
    if len(set(references)) != len(references):
        raise InvalidInputError([_issue(name, "OptionReference", references, "repeats")])
    exclusive = msg.message_id
    return tuple(_bid_of(o, msg, market, period, fsp_id, exclusive) for o in msg.offer_options)


# --------------------------------------------------------------------------- FlexOrder


def flex_order(  # noqa: PLR0913 - the awards and their bid, then the message's keywords
    awards: Sequence[Award],
    bid: Bid,
    market: UftpMarket,
    *,
    envelope: Envelope,
    flex_offer_message_id: str | None,
    order_reference: str,
) -> Exported:
    """The FlexOrder of a cleared bid: its awards (one per MTU) as the ordered ISPs.

    ``ActivationFactor`` is the ordered over the offered power (the same in every MTU: a UFTP
    option is scaled as a whole); a per-MTU price is not carried, only the total Price.
    ``flex_offer_message_id=None`` sends it unsolicited (a bid no FlexOffer carried).
    """
    by_mtu = {q.interval.start.isoformat(): q for q in bid.quantities}
    if not awards or any(a.bid_id != bid.id or a.mtu not in by_mtu for a in awards):
        raise InvalidInputError(
            [_issue("FlexOrder", "awards", [a.mtu for a in awards], f"are not awards of {bid.id}")]
        )
    intervals = [by_mtu[a.mtu].interval for a in awards]
    period = _period(intervals, market, "FlexOrder")
    factors = {decimal_of(a.quantity_mw) / decimal_of(by_mtu[a.mtu].quantity) for a in awards}
    lost = []
    if len(factors) != 1:
        lost.append(f"Bid {bid.id} awards: not one activation factor; the ISPs carry them")
    prices = {a.price_eur_per_mwh for a in awards}
    if len(prices) != 1:
        lost.append(f"Bid {bid.id} awards: a price per MTU; Price is their total")
    factor = min(max(min(factors), _FACTOR), Decimal(1)).quantize(_FACTOR)
    price = sum((decimal_of(a.payment_eur) for a in awards), Decimal(0))
    msg = FlexOrder(
        **envelope.fields(),
        **_flex_fields(market, period, _cp_of(bid, market)),
        isps=[
            FlexOrderISP(
                power=signed_w(a.quantity_mw, bid.direction),
                start=isp_of(by_mtu[a.mtu].interval, period, market),
            )
            for a in awards
        ],
        flex_offer_message_id=flex_offer_message_id,
        unsolicited=True if flex_offer_message_id is None else None,
        contract_id=bid.product_id,
        price=price.quantize(_PRICE),
        currency=market.currency,
        order_reference=order_reference,
        option_reference=bid.id,
        activation_factor=factor,
    )
    return Exported(message=msg, not_carried=tuple(lost))


def _cp_of(bid: Bid, market: UftpMarket) -> str:
    for (fsp, cp), resource in market.resources.items():
        if (fsp, resource) == (bid.fsp_id, bid.resource_id):
            return cp
    raise InvalidInputError(
        [_issue("FlexOrder", "resource_id", bid.resource_id, "has no congestion point")]
    )


def awards_from_flex_order(msg: FlexOrder, market: UftpMarket) -> tuple[Award, ...]:
    """The awards a FlexOrder orders: one per ISP, each at ``Price`` / ordered MWh.

    Raises:
        InvalidInputError: As :func:`need_from_flex_request`; also an order without an
            OptionReference (an unsolicited order names no flexcoord bid).
    """
    name = "FlexOrder"
    period = _check_market(msg, market, name)
    market.location_of(msg.congestion_point, name)
    if not msg.option_reference:
        raise InvalidInputError([_issue(name, "OptionReference", None, "names no bid")])
    pairs = _expand(msg.isps, period, market, name)
    energy = sum(
        (
            Decimal(abs(isp.power)) / 1_000_000 * Decimal(int(i.duration.total_seconds())) / 3600  # type: ignore[attr-defined]
            for i, isp in pairs
        ),
        Decimal(0),
    )
    unit = msg.price / energy if energy else Decimal(0)
    return tuple(
        Award(
            bid_id=msg.option_reference,
            mtu=i.start.isoformat(),
            quantity_mw=mw_of(abs(isp.power)),  # type: ignore[attr-defined]
            price_eur_per_mwh=float(unit),
            payment_eur=float(
                (
                    unit
                    * Decimal(abs(isp.power))  # type: ignore[attr-defined,operator]
                    / 1_000_000
                    * Decimal(int(i.duration.total_seconds()))
                    / 3600
                ).quantize(_PRICE)
            ),
        )
        for i, isp in pairs
    )


# --------------------------------------------------------------------------- FlexReservationUpdate


def flex_reservation_update(
    reservation: Reservation, bid: Bid, market: UftpMarket, *, envelope: Envelope
) -> Exported:
    """The FlexReservationUpdate telling the AGR what stays reserved of ``bid``."""
    intervals = [q.interval for q in reservation.quantities]
    period = _period(intervals, market, "FlexReservationUpdate")
    msg = FlexReservationUpdate(
        **envelope.fields(),
        **_flex_fields(market, period, _cp_of(bid, market)),
        isps=[
            FlexReservationUpdateISP(
                power=signed_w(q.quantity, reservation.direction),
                start=isp_of(q.interval, period, market),
            )
            for q in reservation.quantities
        ],
        contract_id=reservation.bid_id,
        reference=reservation.reference,
    )
    return Exported(message=msg)


def reservation_from_flex_reservation_update(
    msg: FlexReservationUpdate, market: UftpMarket, *, direction: Direction
) -> Reservation:
    """The reservation a FlexReservationUpdate states; ``direction`` is the bid's (an update
    releasing everything, all zeros, has no sign of its own)."""
    name = "FlexReservationUpdate"
    period = _check_market(msg, market, name)
    market.location_of(msg.congestion_point, name)
    pairs = _expand(msg.isps, period, market, name)
    powers = [isp.power for _, isp in pairs]  # type: ignore[attr-defined]
    if any(p != 0 for p in powers) and _one_direction(powers, name) is not direction:
        raise InvalidInputError([_issue(name, "ISP", powers, f"is not {direction}")])
    return Reservation(
        bid_id=msg.contract_id,
        reference=msg.reference,
        direction=direction,
        quantities=tuple(
            MtuQuantity(interval=i, quantity=mw_of(abs(isp.power)))  # type: ignore[attr-defined]
            for i, isp in pairs
        ),
    )
