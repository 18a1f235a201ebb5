"""Settlement of cleared auctions after delivery verification: payments, penalties, residue.

Inputs are frozen records the caller builds from cleared auctions (:class:`SettlementAward`) and
from delivery verification (:class:`DeliveryOutcome`); :func:`settle` turns them into
:class:`~flexcoord.operations.statements.SettlementLine` s (sign: + the party receives, − it pays)
and a frozen :class:`Settlement`. Money is integer cents (:mod:`flexcoord.operations.money`);
each float is converted once, when a record is settled.

Rules (see also ``docs/settlement.md``):

* **Availability** payment = MW × hours × price (€/MW/h); **activation** payment = MWh × price
  (€/MWh). Each line's quantity is rounded to 6 decimals and its amount to the cent, once.
* **FSP price** by the award's pricing rule: pay-as-bid → the bid's price; pay-as-cleared and
  locational → the cleared price. **Buyer price**: ``buyer_price_eur_per_unit`` when given (a
  common market charging each buyer its own cleared price, or FSPs paid as bid while buyers pay
  the cleared price), else the FSP price. The buyer pays for the same quantity the FSP is paid.
* **Residue**: per auction, ``fsp_received == buyers_paid + residue`` exactly, to the cent.
  The residue is what the market operator puts in (< 0: a surplus it keeps); it is one explicit
  line of the operator, amount ``-residue``, present when not zero. With no buyer prices the
  residue is 0 by construction (same quantity, same price, same rounding).
* **Activation is paid for delivered energy, capped at ordered**: per (bid, MTU) the delivered
  fraction ``min(delivered, ordered) / ordered`` is applied to each activation award of the bid
  in that MTU. ``delivered`` and ``partially_delivered`` are paid by their figures; ``failed``
  counts as 0 MWh delivered. A negative activation price is applied to the awarded energy, not
  the delivered (an FSP never gains by under-delivering).
* **Penalty** (:class:`PenaltyRule`): undelivered MWh beyond the tolerance ×
  ``max(bid price, floor)`` × factor, paid by the FSP to the award's buyer; never negative.
* **Insufficient data** (and an activation award without any outcome): by
  :attr:`PenaltyRule.insufficient_data`, either withheld (no payment, no charge, no penalty; listed
  in :attr:`Settlement.pending`; the default) or settled as failed.
* **Availability** is paid whatever the calls delivered (an activation's under-delivery is
  penalised on the activation), but it is **forfeited** in an MTU where the obligation to bid was
  not met (:class:`AvailabilityBreach`, from
  :func:`~flexcoord.operations.verification.verify_availability`'s ``not_offered``): no payment
  and no charge, listed in :attr:`Settlement.forfeited`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Final

from flexcoord.clearing.options import PricingRule
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import ProductKind
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.operations.money import (
    CONTEXT,
    MAX_MAGNITUDE,
    QUANTUM,
    ROUNDING,
    Money,
    to_quantity,
    to_unit_price,
)
from flexcoord.operations.statements import LineKind, PartyRole, SettlementLine, Statement

__all__ = [
    "MARKET_OPERATOR_ID",
    "AuctionBalance",
    "AvailabilityBreach",
    "DeliveryOutcome",
    "InsufficientData",
    "OutcomeStatus",
    "PenaltyRule",
    "PendingActivation",
    "Settlement",
    "SettlementAward",
    "settle",
]

#: The default party id of the market operator's residue lines.
MARKET_OPERATOR_ID: Final = "market-operator"
_SETTLED_KINDS: Final = (ProductKind.AVAILABILITY, ProductKind.ACTIVATION)
_ORDERED_TOLERANCE_MWH: Final = Decimal("0.000001")


class OutcomeStatus(StrEnum):
    """The verified delivery of one (bid, MTU)."""

    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partially_delivered"
    FAILED = "failed"
    INSUFFICIENT_DATA = "insufficient_data"


class InsufficientData(StrEnum):
    """How an activation without usable delivery data is settled."""

    WITHHOLD = "withhold"
    """No payment, no charge and no penalty until data arrive (listed as pending)."""
    FAILED = "failed"
    """As a failed delivery: nothing paid, the whole ordered energy penalised."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PenaltyRule:
    """The penalty of under-delivery of an activation.

    Penalised MWh = ``max(0, undelivered − tolerance_fraction × ordered)`` per activation award;
    penalty price = ``max(bid price, floor_eur_per_mwh) × factor`` (so never negative).

    Example:
        >>> PenaltyRule(factor=1.5, floor_eur_per_mwh=50.0).insufficient_data
        <InsufficientData.WITHHOLD: 'withhold'>
    """

    factor: float = 1.0
    floor_eur_per_mwh: float = 0.0
    tolerance_fraction: float = 0.0
    insufficient_data: InsufficientData = InsufficientData.WITHHOLD

    def __post_init__(self) -> None:
        c = IssueCollector("PenaltyRule", "penalty")
        c.in_range("factor", self.factor, 0.0, MAX_MAGNITUDE)
        c.in_range("floor_eur_per_mwh", self.floor_eur_per_mwh, 0.0, MAX_MAGNITUDE)
        if c.finite("tolerance_fraction", self.tolerance_fraction):
            c.check(
                0.0 <= self.tolerance_fraction < 1.0,
                "tolerance_fraction",
                self.tolerance_fraction,
                "must be in [0, 1)",
            )
        choice = c.enum("insufficient_data", self.insufficient_data, InsufficientData)
        c.raise_if_any()
        set_field(self, "insufficient_data", choice)

    def unit_price(self, bid_price: Decimal) -> Decimal:
        """Penalty €/MWh for an award whose bid price is ``bid_price`` (€/MWh)."""
        floor = to_unit_price(self.floor_eur_per_mwh, "floor_eur_per_mwh")
        factor = to_quantity(self.factor, "factor")
        with localcontext(CONTEXT):
            return (max(bid_price, floor) * factor).quantize(QUANTUM, rounding=ROUNDING)


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementAward:
    """What one FSP's bid was awarded in one MTU of one auction, for one buyer and one kind.

    Attributes:
        auction_id: The auction (market run) that cleared it.
        bid_id / fsp_id / buyer_id: The bid, its FSP, the buyer paying for it. A bid serving
            several buyers in one MTU comes as one award per buyer (its share of the MW).
        mtu: The MTU label (as in :class:`~flexcoord.clearing.Award`); ``duration_h`` its length.
        kind: ``availability`` or ``activation`` (a product with both is two awards).
        quantity_mw: Awarded MW (>= 0).
        bid_price_eur_per_unit: The bid's price: €/MW/h (availability, >= 0) or €/MWh
            (activation, may be negative).
        cleared_price_eur_per_unit: The cleared price in the same unit; required unless the
            pricing rule is pay-as-bid.
        pricing_rule: How the FSP is paid.
        buyer_price_eur_per_unit: What the buyer is charged per unit, when it differs from the
            FSP's price (the difference is the market operator's residue); ``None``: the same.
    """

    auction_id: str
    bid_id: str
    fsp_id: str
    buyer_id: str
    mtu: str
    duration_h: float
    kind: ProductKind
    quantity_mw: float
    bid_price_eur_per_unit: float
    pricing_rule: PricingRule
    cleared_price_eur_per_unit: float | None = None
    buyer_price_eur_per_unit: float | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("SettlementAward", f"{self.auction_id}/{self.bid_id}/{self.mtu}")
        for name in ("auction_id", "bid_id", "fsp_id", "buyer_id", "mtu"):
            c.identifier(name, getattr(self, name))
        if c.positive("duration_h", self.duration_h):
            c.in_range("duration_h", self.duration_h, 0.0, MAX_MAGNITUDE)
        c.in_range("quantity_mw", self.quantity_mw, 0.0, MAX_MAGNITUDE)
        kind = c.enum("kind", self.kind, ProductKind)
        c.check(
            kind is None or kind in _SETTLED_KINDS,
            "kind",
            self.kind,
            "must be availability or activation (split a product with both into two awards)",
        )
        rule = c.enum("pricing_rule", self.pricing_rule, PricingRule)
        low = 0.0 if kind is ProductKind.AVAILABILITY else -MAX_MAGNITUDE
        c.in_range("bid_price_eur_per_unit", self.bid_price_eur_per_unit, low, MAX_MAGNITUDE)
        cleared = self.cleared_price_eur_per_unit
        if cleared is not None:
            c.in_range("cleared_price_eur_per_unit", cleared, -MAX_MAGNITUDE, MAX_MAGNITUDE)
        c.check(
            cleared is not None or rule in (None, PricingRule.PAY_AS_BID),
            "cleared_price_eur_per_unit",
            cleared,
            f"is required by the pricing rule {rule}",
        )
        buyer = self.buyer_price_eur_per_unit
        if buyer is not None:
            c.in_range("buyer_price_eur_per_unit", buyer, -MAX_MAGNITUDE, MAX_MAGNITUDE)
        c.raise_if_any()
        set_field(self, "kind", kind)
        set_field(self, "pricing_rule", rule)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """(auction, bid, MTU, kind, buyer): unique within one settlement."""
        return (self.auction_id, self.bid_id, self.mtu, str(self.kind), self.buyer_id)

    def awarded(self) -> Decimal:
        """MW × hours (MW·h for availability, MWh for activation), 6 decimals."""
        mw = to_quantity(self.quantity_mw, "quantity_mw")
        hours = to_quantity(self.duration_h, "duration_h")
        with localcontext(CONTEXT):
            return (mw * hours).quantize(QUANTUM, rounding=ROUNDING)

    def bid_price(self) -> Decimal:
        """The bid's price per unit (6 decimals)."""
        return to_unit_price(self.bid_price_eur_per_unit, "bid_price_eur_per_unit")

    def fsp_price(self) -> Decimal:
        """The price per unit the FSP is paid, by the pricing rule."""
        if self.pricing_rule is PricingRule.PAY_AS_BID or self.cleared_price_eur_per_unit is None:
            return self.bid_price()
        return to_unit_price(self.cleared_price_eur_per_unit, "cleared_price_eur_per_unit")

    def buyer_price(self) -> Decimal:
        """The price per unit the buyer is charged."""
        if self.buyer_price_eur_per_unit is None:
            return self.fsp_price()
        return to_unit_price(self.buyer_price_eur_per_unit, "buyer_price_eur_per_unit")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOutcome:
    """The verified delivery of one bid's activation in one MTU.

    ``delivered_mwh`` is required for ``delivered`` and ``partially_delivered``; ``failed``
    counts as 0 MWh whatever it says; ``insufficient_data`` follows the penalty rule.
    ``ordered_mwh`` must equal the activation awards' energy of the bid in that MTU.
    """

    bid_id: str
    mtu: str
    ordered_mwh: float
    delivered_mwh: float | None
    status: OutcomeStatus

    def __post_init__(self) -> None:
        c = IssueCollector("DeliveryOutcome", f"{self.bid_id}/{self.mtu}")
        c.identifier("bid_id", self.bid_id)
        c.identifier("mtu", self.mtu)
        c.in_range("ordered_mwh", self.ordered_mwh, 0.0, MAX_MAGNITUDE)
        status = c.enum("status", self.status, OutcomeStatus)
        if self.delivered_mwh is not None:
            c.in_range("delivered_mwh", self.delivered_mwh, 0.0, MAX_MAGNITUDE)
        c.check(
            self.delivered_mwh is not None
            or status not in (OutcomeStatus.DELIVERED, OutcomeStatus.PARTIALLY_DELIVERED),
            "delivered_mwh",
            self.delivered_mwh,
            f"is required for status {status}",
        )
        c.raise_if_any()
        set_field(self, "status", status)


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityBreach:
    """An availability award whose obligation to bid was not met in one MTU: its availability
    payment for that MTU is forfeited."""

    bid_id: str
    mtu: str

    def __post_init__(self) -> None:
        c = IssueCollector("AvailabilityBreach", f"{self.bid_id}/{self.mtu}")
        c.identifier("bid_id", self.bid_id)
        c.identifier("mtu", self.mtu)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingActivation:
    """An activation award withheld for want of delivery data."""

    auction_id: str
    bid_id: str
    buyer_id: str
    mtu: str
    awarded_mwh: Decimal
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuctionBalance:
    """Money of one auction: FSPs received (net of penalties), buyers paid (net of penalty
    credits), and the residue the market operator puts in; ``fsp_received == buyers_paid +
    residue`` exactly."""

    auction_id: str
    fsp_received: Money
    buyers_paid: Money
    residue: Money

    @property
    def balanced(self) -> bool:
        """Whether ``fsp_received == buyers_paid + residue`` (always, by construction)."""
        return self.fsp_received == self.buyers_paid + self.residue


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement:
    """Every line of a settlement (sorted), the activations withheld pending data and the
    availability awards forfeited for a breached obligation to bid."""

    lines: tuple[SettlementLine, ...]
    pending: tuple[PendingActivation, ...] = field(default=())
    forfeited: tuple[SettlementAward, ...] = field(default=())

    def statements(self) -> tuple[Statement, ...]:
        """One statement per (role, party), in role order (FSP, buyer, operator), then party id."""
        by_party: dict[tuple[PartyRole, str], list[SettlementLine]] = defaultdict(list)
        for line in self.lines:
            by_party[(line.party_role, line.party_id)].append(line)
        order = {r: i for i, r in enumerate(PartyRole)}
        keys = sorted(by_party, key=lambda k: (order[k[0]], k[1]))
        return tuple(Statement.of(role, party, by_party[(role, party)]) for role, party in keys)

    def balance_by_auction(self) -> tuple[AuctionBalance, ...]:
        """Per auction with a line (by id): FSPs' net receipts, buyers' net payments, residue."""
        sums: dict[str, dict[PartyRole, int]] = defaultdict(lambda: dict.fromkeys(PartyRole, 0))
        for line in self.lines:
            sums[line.auction_id][line.party_role] += line.amount.cents
        return tuple(
            AuctionBalance(
                auction_id=auction,
                fsp_received=Money(cents=s[PartyRole.FSP]),
                buyers_paid=Money(cents=-s[PartyRole.BUYER]),
                residue=Money(cents=-s[PartyRole.MARKET_OPERATOR]),
            )
            for auction, s in sorted(sums.items())
        )


@dataclass(frozen=True, slots=True)
class _Delivery:
    """Delivered fraction of one (bid, MTU); ``None``: withheld for want of data."""

    fraction: Decimal | None
    reason: str


def settle(
    awards: Iterable[SettlementAward],
    outcomes: Iterable[DeliveryOutcome] = (),
    *,
    penalty: PenaltyRule,
    market_operator_id: str = MARKET_OPERATOR_ID,
    breaches: Iterable[AvailabilityBreach] = (),
) -> Settlement:
    """Settle ``awards`` given the delivery ``outcomes`` of their activations and the
    ``breaches`` of their availability awards' obligation to bid.

    Raises:
        InvalidInputError: a non-record input, two awards with the same (auction, bid, MTU, kind,
            buyer), two outcomes of one (bid, MTU), an outcome of no activation award, or an
            outcome whose ordered energy differs from the awards', or a breach of no
            availability award.

    Example:
        >>> a = SettlementAward(auction_id="a1", bid_id="b1", fsp_id="f1", buyer_id="dso",
        ...     mtu="t0", duration_h=0.25, kind="activation", quantity_mw=2.0,
        ...     bid_price_eur_per_unit=100.0, pricing_rule="pay-as-bid")
        >>> o = DeliveryOutcome(bid_id="b1", mtu="t0", ordered_mwh=0.5, delivered_mwh=0.4,
        ...     status="partially_delivered")
        >>> s = settle([a], [o], penalty=PenaltyRule(factor=2.0))
        >>> [(ln.party_id, str(ln.kind), str(ln.amount)) for ln in s.lines]
        [('f1', 'activation_payment', '40.00'), ('f1', 'penalty', '-20.00'), \
('dso', 'activation_payment', '-40.00'), ('dso', 'penalty', '20.00')]
    """
    award_list, outcome_list = _records(awards, outcomes)
    breached = _breached(award_list, breaches)
    with localcontext(CONTEXT):
        return _settle(award_list, outcome_list, penalty, market_operator_id, breached)


def _breached(
    awards: list[SettlementAward], breaches: Iterable[AvailabilityBreach]
) -> set[tuple[str, str]]:
    """The (bid, MTU) of each breach, checked against the availability awards."""
    items = list(breaches)
    issues = _type_issues(items, AvailabilityBreach)
    if issues:
        raise InvalidInputError(issues)
    held = {(a.bid_id, a.mtu) for a in awards if a.kind is ProductKind.AVAILABILITY}
    issues = [
        Issue(
            kind="AvailabilityBreach",
            object_id=f"{b.bid_id}/{b.mtu}",
            field="bid_id",
            value=b.bid_id,
            message=f"has no availability award in MTU {b.mtu!r}",
        )
        for b in items
        if (b.bid_id, b.mtu) not in held
    ]
    if issues:
        raise InvalidInputError(issues)
    return {(b.bid_id, b.mtu) for b in items}


def _settle(
    award_list: list[SettlementAward],
    outcome_list: list[DeliveryOutcome],
    penalty: PenaltyRule,
    market_operator_id: str,
    breached: set[tuple[str, str]],
) -> Settlement:
    deliveries = _deliveries(award_list, outcome_list, penalty)
    lines: list[SettlementLine] = []
    pending: list[PendingActivation] = []
    forfeited: list[SettlementAward] = []
    for award in award_list:
        if award.kind is ProductKind.AVAILABILITY:
            if (award.bid_id, award.mtu) in breached:
                forfeited.append(award)
            else:
                lines += _payment_lines(award, LineKind.AVAILABILITY_PAYMENT, award.awarded())
            continue
        delivery = deliveries[(award.bid_id, award.mtu)]
        if delivery.fraction is None:
            pending.append(_pending(award, delivery.reason))
            continue
        lines += _activation_lines(award, delivery.fraction, penalty)
    lines += _residue_lines(lines, market_operator_id)
    return Settlement(
        lines=tuple(sorted(lines, key=SettlementLine.sort_key)),
        pending=tuple(sorted(pending, key=lambda p: (p.auction_id, p.bid_id, p.mtu, p.buyer_id))),
        forfeited=tuple(sorted(forfeited, key=lambda a: a.key)),
    )


def _records(
    awards: Iterable[SettlementAward], outcomes: Iterable[DeliveryOutcome]
) -> tuple[list[SettlementAward], list[DeliveryOutcome]]:
    """The inputs as lists, after the checks that need more than one record."""
    award_list, outcome_list = list(awards), list(outcomes)
    issues = _type_issues(award_list, SettlementAward) + _type_issues(outcome_list, DeliveryOutcome)
    if issues:
        raise InvalidInputError(issues)
    seen: set[tuple[str, ...]] = set()
    for a in award_list:
        if a.key in seen:
            issues.append(_issue("SettlementAward", a, "buyer_id", a.buyer_id, "is a duplicate"))
        seen.add(a.key)
    if issues:
        raise InvalidInputError(issues)
    return award_list, outcome_list


def _type_issues(items: Sequence[object], cls: type) -> list[Issue]:
    return [
        Issue(
            kind=cls.__name__,
            object_id=str(i),
            field="type",
            value=type(item).__name__,
            message=f"must be a {cls.__name__}",
        )
        for i, item in enumerate(items)
        if not isinstance(item, cls)
    ]


def _issue(
    kind: str, obj: SettlementAward | DeliveryOutcome, field: str, value: object, message: str
) -> Issue:
    object_id = f"{obj.bid_id}/{obj.mtu}"
    if isinstance(obj, SettlementAward):
        object_id = f"{obj.auction_id}/{object_id}/{obj.kind}/{obj.buyer_id}"
    return Issue(kind=kind, object_id=object_id, field=field, value=value, message=message)


def _deliveries(
    awards: list[SettlementAward], outcomes: list[DeliveryOutcome], penalty: PenaltyRule
) -> dict[tuple[str, str], _Delivery]:
    """Delivered fraction per (bid, MTU) of every activation award."""
    energy: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for a in awards:
        if a.kind is ProductKind.ACTIVATION:
            energy[(a.bid_id, a.mtu)] += a.awarded()
    by_key: dict[tuple[str, str], DeliveryOutcome] = {}
    issues: list[Issue] = []
    for o in outcomes:
        key = (o.bid_id, o.mtu)
        if key not in energy:
            issues.append(
                _issue(
                    "DeliveryOutcome",
                    o,
                    "bid_id",
                    o.bid_id,
                    f"has no activation award in MTU {o.mtu!r}",
                )
            )
        elif key in by_key:
            issues.append(_issue("DeliveryOutcome", o, "mtu", o.mtu, "is a duplicate outcome"))
        elif abs(to_quantity(o.ordered_mwh, "ordered_mwh") - energy[key]) > _ORDERED_TOLERANCE_MWH:
            issues.append(
                _issue(
                    "DeliveryOutcome",
                    o,
                    "ordered_mwh",
                    o.ordered_mwh,
                    f"must equal the awarded {energy[key]} MWh",
                )
            )
        by_key.setdefault(key, o)
    if issues:
        raise InvalidInputError(issues)
    return {key: _delivery(by_key.get(key), penalty) for key in energy}


def _delivery(outcome: DeliveryOutcome | None, penalty: PenaltyRule) -> _Delivery:
    if outcome is None or outcome.status is OutcomeStatus.INSUFFICIENT_DATA:
        reason = "no delivery outcome" if outcome is None else "insufficient data"
        if penalty.insufficient_data is InsufficientData.WITHHOLD:
            return _Delivery(fraction=None, reason=reason)
        return _Delivery(fraction=Decimal(0), reason=f"{reason}, settled as failed")
    if outcome.status is OutcomeStatus.FAILED or outcome.delivered_mwh is None:
        return _Delivery(fraction=Decimal(0), reason="failed")
    ordered = to_quantity(outcome.ordered_mwh, "ordered_mwh")
    if ordered == 0:
        return _Delivery(fraction=Decimal(1), reason="nothing ordered")
    delivered = min(to_quantity(outcome.delivered_mwh, "delivered_mwh"), ordered)
    return _Delivery(fraction=delivered / ordered, reason=str(outcome.status))


def _payment_lines(
    award: SettlementAward, kind: LineKind, quantity: Decimal
) -> list[SettlementLine]:
    """The FSP's payment and the buyer's charge of ``quantity`` of ``award``."""
    fsp_price, buyer_price = award.fsp_price(), award.buyer_price()
    return [
        _line(award, PartyRole.FSP, kind, quantity, fsp_price, Money.of(quantity * fsp_price)),
        _line(
            award, PartyRole.BUYER, kind, quantity, buyer_price, -Money.of(quantity * buyer_price)
        ),
    ]


def _activation_lines(
    award: SettlementAward, fraction: Decimal, penalty: PenaltyRule
) -> list[SettlementLine]:
    """Payment for the delivered energy (capped at ordered) and the penalty of the rest."""
    awarded = award.awarded()
    delivered = (awarded * fraction).quantize(QUANTUM, rounding=ROUNDING)
    paid = awarded if award.fsp_price() < 0 else delivered
    lines = _payment_lines(award, LineKind.ACTIVATION_PAYMENT, paid)
    allowed = to_quantity(penalty.tolerance_fraction, "tolerance_fraction") * awarded
    penalised = max(Decimal(0), awarded - delivered - allowed).quantize(QUANTUM, rounding=ROUNDING)
    price = penalty.unit_price(award.bid_price())
    amount = Money.of(penalised * price)
    if amount.cents > 0:
        lines.append(_line(award, PartyRole.FSP, LineKind.PENALTY, penalised, price, -amount))
        lines.append(_line(award, PartyRole.BUYER, LineKind.PENALTY, penalised, price, amount))
    return lines


def _line(  # noqa: PLR0913 - one line is these six facts
    award: SettlementAward,
    role: PartyRole,
    kind: LineKind,
    quantity: Decimal,
    price: Decimal,
    amount: Money,
) -> SettlementLine:
    party, counterparty = (award.fsp_id, award.buyer_id)
    if role is PartyRole.BUYER:
        party, counterparty = counterparty, party
    return SettlementLine(
        auction_id=award.auction_id,
        party_role=role,
        party_id=party,
        counterparty_id=counterparty,
        bid_id=award.bid_id,
        mtu=award.mtu,
        kind=kind,
        quantity=quantity,
        unit_price_eur=price,
        amount=amount,
    )


def _residue_lines(lines: list[SettlementLine], operator_id: str) -> list[SettlementLine]:
    """Per auction whose lines do not sum to zero, the operator's line that makes them."""
    net: Mapping[str, int] = _net_cents(lines)
    return [
        SettlementLine(
            auction_id=auction,
            party_role=PartyRole.MARKET_OPERATOR,
            party_id=operator_id,
            counterparty_id="",
            bid_id="",
            mtu="",
            kind=LineKind.RESIDUE,
            quantity=None,
            unit_price_eur=None,
            amount=Money(cents=-cents),
        )
        for auction, cents in sorted(net.items())
        if cents != 0
    ]


def _net_cents(lines: list[SettlementLine]) -> dict[str, int]:
    net: dict[str, int] = defaultdict(int)
    for line in lines:
        net[line.auction_id] += line.amount.cents
    return net


def _pending(award: SettlementAward, reason: str) -> PendingActivation:
    return PendingActivation(
        auction_id=award.auction_id,
        bid_id=award.bid_id,
        buyer_id=award.buyer_id,
        mtu=award.mtu,
        awarded_mwh=award.awarded(),
        reason=reason,
    )
