"""Delivery verification of activation orders, and availability verification of capacity awards.

Sign convention. Meter and baseline power are device power, ``mw > 0`` injection (as the domain's
:class:`~flexcoord.domain.Unit`). ``Direction.UP`` is more injection (generation up or
consumption down), so the energy an order delivered is::

    delivered_mwh = s · (metered_mw − baseline_mw) · duration_h,   s = +1 for UP, −1 for DOWN

positive when the unit moved the ordered way, in either direction: a heat pump at a −3 MW
baseline that runs at −1 MW delivered 2 MW up; a PV plant at 5 MW that runs at 4 MW delivered
1 MW down. Moving the wrong way gives a negative delivery.

Several orders on one unit in one MTU (several bids) share the unit's measured change pro rata to
their ordered energy. Orders of both directions on one unit in one MTU (a TSO buying up where a
DSO bought down: a counter-activation the market let through) **net**: the unit need only move
by the net ordered energy. The minority direction's orders (total ``m``) are delivered by the
netting (``delivered_mwh = ordered``), and each majority order ``e_i`` (total ``E``) is credited
``e_i · (m + measured) / E``, the measured change signed the majority's way, so a unit that
moved exactly the net gets every order delivered. Without a measurement every order has
``insufficient_data``.

Status, with ``allowance = max(relative · ordered_mwh, absolute_mw · duration_h)``
(:class:`Tolerance`): ``delivered`` if ``delivered_mwh >= ordered_mwh − allowance``; ``failed`` if
``delivered_mwh <= allowance`` (nothing beyond noise, or the wrong way); else
``partially_delivered``. A missing baseline value or meter reading gives ``insufficient_data``
with ``delivered_mwh=None`` and ``ratio=None``, never 0. Over-delivery counts as delivered (its
ratio shows it).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flexcoord.clearing.result import Award
from flexcoord.domain import Bid, Direction, Interval, Register
from flexcoord.domain.validation import IssueCollector
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.operations.activation import ActivationOrder, OrderId, _award_slot
from flexcoord.operations.baselines import BaselineValue, MeterSeries
from flexcoord.operations.events import OrderEvent, OrderStatus

__all__ = [
    "AvailabilityStatus",
    "AvailabilityVerification",
    "DeliveryStatus",
    "DeliveryVerification",
    "Tolerance",
    "lifecycle_events",
    "verify_availability",
    "verify_delivery",
]


class DeliveryStatus(StrEnum):
    """The outcome of one order's verification."""

    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partially_delivered"
    FAILED = "failed"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    """The band within which an order counts as delivered (module docstring).

    Attributes:
        relative: Share of the ordered energy (``0 <= relative < 0.5``).
        absolute_mw: Power floor, times the MTU's duration (>= 0), e.g. the meter's accuracy.
    """

    relative: float = 0.05
    absolute_mw: float = 0.0

    def __post_init__(self) -> None:
        c = IssueCollector("Tolerance", "tolerance")
        if c.finite("relative", self.relative):
            c.check(0 <= self.relative < 0.5, "relative", self.relative, "must be in [0, 0.5)")
        c.non_negative("absolute_mw", self.absolute_mw)
        c.raise_if_any()

    def allowance_mwh(self, ordered_mwh: float, duration_h: float) -> float:
        """The energy by which delivery may fall short and still count as delivered."""
        return max(self.relative * ordered_mwh, self.absolute_mw * duration_h)

    def status(self, ordered_mwh: float, delivered_mwh: float, duration_h: float) -> DeliveryStatus:
        """The status of a delivery of ``delivered_mwh`` against ``ordered_mwh``.

        Example:
            >>> [Tolerance().status(1.0, d, 0.25).value for d in (0.96, 0.5, 0.04)]
            ['delivered', 'partially_delivered', 'failed']
        """
        allowance = self.allowance_mwh(ordered_mwh, duration_h)
        if delivered_mwh >= ordered_mwh - allowance:
            return DeliveryStatus.DELIVERED
        if delivered_mwh <= allowance:
            return DeliveryStatus.FAILED
        return DeliveryStatus.PARTIALLY_DELIVERED


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryVerification:
    """One order's verification in its MTU.

    Attributes:
        order_id: The order.
        bid_id: Its bid.
        unit_id: The unit ordered.
        fsp_id: The unit's FSP.
        interval: The MTU.
        direction: The order's direction.
        ordered_mwh: Ordered energy (> 0).
        delivered_mwh: Delivered energy, signed by direction (> 0 the ordered way), or ``None``.
        ratio: ``delivered_mwh / ordered_mwh``, or ``None``.
        status: :class:`DeliveryStatus`.
        baseline_mw: The unit's baseline in the MTU, or ``None`` if missing.
        metered_mw: The unit's meter reading in the MTU, or ``None`` if missing.
    """

    order_id: OrderId
    bid_id: str
    unit_id: str
    fsp_id: str
    interval: Interval
    direction: Direction
    ordered_mwh: float
    delivered_mwh: float | None
    ratio: float | None
    status: DeliveryStatus
    baseline_mw: float | None
    metered_mw: float | None


def _sign(direction: Direction) -> float:
    return 1.0 if direction is Direction.UP else -1.0


def verify_delivery(
    orders: Iterable[ActivationOrder],
    baselines: Mapping[str, Sequence[BaselineValue]],
    meter: Mapping[str, MeterSeries],
    *,
    tolerance: Tolerance | None = None,
) -> tuple[DeliveryVerification, ...]:
    """Each order's delivered energy and status (module docstring: signs, sharing, band).

    Args:
        orders: The activation orders.
        baselines: Per unit id, its baseline values (a unit or MTU absent: insufficient data).
        meter: Per unit id, its meter readings (absent: insufficient data).
        tolerance: The delivered band (default :class:`Tolerance`).
    """
    band = tolerance or Tolerance()
    groups: dict[tuple[str, Interval], list[ActivationOrder]] = defaultdict(list)
    for order in orders:
        groups[(order.unit_id, order.interval)].append(order)
    by_interval = {
        unit_id: {v.interval: v.mw for v in values} for unit_id, values in baselines.items()
    }
    out: list[DeliveryVerification] = []
    for (unit_id, interval), group in groups.items():
        base = by_interval.get(unit_id, {}).get(interval)
        series = meter.get(unit_id)
        metered = None if series is None else series.mw(interval)
        out += _verify_group(group, base, metered, band)
    return tuple(sorted(out, key=lambda v: v.order_id))


def _net_sides(
    group: Sequence[ActivationOrder],
) -> tuple[Direction, float, float]:
    """The majority direction of a unit's orders in one MTU, its total and the minority's."""
    up = math.fsum(o.energy_mwh for o in group if o.direction is Direction.UP)
    down = math.fsum(o.energy_mwh for o in group if o.direction is Direction.DOWN)
    return (Direction.UP, up, down) if up >= down else (Direction.DOWN, down, up)


def _verify_group(
    group: Sequence[ActivationOrder],
    baseline_mw: float | None,
    metered_mw: float | None,
    band: Tolerance,
) -> list[DeliveryVerification]:
    """The orders of one unit in one MTU share its measured change (opposing orders net)."""
    interval = group[0].interval
    hours = interval.duration.total_seconds() / 3600.0
    majority, total_major, total_minor = _net_sides(group)
    unit_mwh = None
    if baseline_mw is not None and metered_mw is not None:
        unit_mwh = _sign(majority) * (metered_mw - baseline_mw) * hours
    out = []
    for order in group:
        delivered: float | None
        if unit_mwh is None:
            delivered = None
        elif order.direction is not majority:
            delivered = order.energy_mwh
        else:
            delivered = order.energy_mwh * (total_minor + unit_mwh) / total_major
        status = (
            DeliveryStatus.INSUFFICIENT_DATA
            if delivered is None
            else band.status(order.energy_mwh, delivered, hours)
        )
        out.append(
            DeliveryVerification(
                order_id=order.id,
                bid_id=order.bid_id,
                unit_id=order.unit_id,
                fsp_id=order.fsp_id,
                interval=interval,
                direction=order.direction,
                ordered_mwh=order.energy_mwh,
                delivered_mwh=delivered,
                ratio=None if delivered is None else delivered / order.energy_mwh,
                status=status,
                baseline_mw=baseline_mw,
                metered_mw=metered_mw,
            )
        )
    return out


_EVENT_OF = {
    DeliveryStatus.DELIVERED: OrderStatus.DELIVERED,
    DeliveryStatus.PARTIALLY_DELIVERED: OrderStatus.PARTIALLY_DELIVERED,
    DeliveryStatus.FAILED: OrderStatus.FAILED,
}


def lifecycle_events(
    verifications: Iterable[DeliveryVerification], *, at: datetime
) -> tuple[OrderEvent, ...]:
    """The terminal lifecycle event of each verified order (none for insufficient data)."""
    return tuple(
        OrderEvent(order_id=v.order_id, status=_EVENT_OF[v.status], at=at, detail=f"{v.ratio:.3f}")
        for v in verifications
        if v.status in _EVENT_OF
    )


class AvailabilityStatus(StrEnum):
    """The outcome of one availability award's verification in one MTU (worst first)."""

    NOT_OFFERED = "not_offered"
    CALL_FAILED = "call_failed"
    CALL_PARTIALLY_DELIVERED = "call_partially_delivered"
    INSUFFICIENT_DATA = "insufficient_data"
    AVAILABLE = "available"


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityVerification:
    """An availability award in one MTU: was the capacity offered, and delivered when called?

    Attributes:
        bid_id: The availability bid.
        fsp_id: Its FSP.
        resource_id: Its unit or group.
        interval: The MTU.
        direction: The bid's direction.
        awarded_mw: Capacity awarded.
        offered_mw: Activation bids of the resource in that direction and MTU, summed.
        called_mwh: Energy ordered from the resource's units in the MTU (activations called).
        delivered_mwh: Energy they delivered, or ``None`` if any call lacks data.
        status: :class:`AvailabilityStatus`: the worst that applies, in the enum's order.
    """

    bid_id: str
    fsp_id: str
    resource_id: str
    interval: Interval
    direction: Direction
    awarded_mw: float
    offered_mw: float
    called_mwh: float
    delivered_mwh: float | None
    status: AvailabilityStatus


def _activation_bids(bids: Iterable[Bid], register: Register) -> list[Bid]:
    return [
        b
        for b in bids
        if b.activation_price_eur_per_mwh is not None
        and register.product(b.product_id).kind.has_activation
    ]


def verify_availability(
    awards: Iterable[Award],
    bids: Sequence[Bid],
    register: Register,
    verifications: Iterable[DeliveryVerification] = (),
    *,
    tolerance_mw: float = 1e-6,
) -> tuple[AvailabilityVerification, ...]:
    """Check each availability award against the obligation to bid and the calls' delivery.

    The obligation: the award's FSP offered activation bids (an activation price, a product
    with activation) from the same resource and direction whose MTU covers the award's, of at
    least the awarded MW (``tolerance_mw`` below is still met). A combined
    availability-and-activation bid counts as its own activation offer. The calls: the
    verified orders of those activation bids that overlap the MTU.

    Raises:
        InvalidInputError: An award naming no given bid or not one of its MTUs, or a bid whose
            product has no availability.
    """
    by_id = {b.id: b for b in bids}
    offers = _activation_bids(bids, register)
    checked = tuple(verifications)
    issues: list[Issue] = []
    out: list[AvailabilityVerification] = []
    for award in awards:
        slot = _award_slot(award, by_id)
        if isinstance(slot, Issue):
            issues.append(slot)
            continue
        bid, interval = slot
        if not register.product(bid.product_id).kind.has_availability:
            issues.append(
                Issue(
                    kind="Bid",
                    object_id=bid.id,
                    field="product_id",
                    value=bid.product_id,
                    message="is not an availability product",
                )
            )
            continue
        out.append(_availability(award, bid, interval, offers, checked, tolerance_mw))
    if issues:
        raise InvalidInputError(issues)
    return tuple(out)


def _availability(  # noqa: PLR0913 - one award resolved, with the offers and calls to judge it
    award: Award,
    bid: Bid,
    interval: Interval,
    offers: Sequence[Bid],
    verifications: Sequence[DeliveryVerification],
    tolerance_mw: float,
) -> AvailabilityVerification:
    mine = [
        b
        for b in offers
        if b.resource_id == bid.resource_id
        and b.direction == bid.direction
        and b.fsp_id == bid.fsp_id
    ]
    offered = math.fsum(
        q.quantity for b in mine for q in b.quantities if q.interval.covers(interval)
    )
    ids = {b.id for b in mine}
    calls = [v for v in verifications if v.bid_id in ids and v.interval.overlaps(interval)]
    statuses = {v.status for v in calls}
    delivered = [v.delivered_mwh for v in calls]
    if offered < award.quantity_mw - tolerance_mw:
        status = AvailabilityStatus.NOT_OFFERED
    elif DeliveryStatus.FAILED in statuses:
        status = AvailabilityStatus.CALL_FAILED
    elif DeliveryStatus.PARTIALLY_DELIVERED in statuses:
        status = AvailabilityStatus.CALL_PARTIALLY_DELIVERED
    elif DeliveryStatus.INSUFFICIENT_DATA in statuses:
        status = AvailabilityStatus.INSUFFICIENT_DATA
    else:
        status = AvailabilityStatus.AVAILABLE
    return AvailabilityVerification(
        bid_id=bid.id,
        fsp_id=bid.fsp_id,
        resource_id=bid.resource_id,
        interval=interval,
        direction=bid.direction,
        awarded_mw=award.quantity_mw,
        offered_mw=offered,
        called_mwh=math.fsum(v.ordered_mwh for v in calls),
        delivered_mwh=None
        if any(d is None for d in delivered)
        else math.fsum(d for d in delivered if d is not None),
        status=status,
    )
