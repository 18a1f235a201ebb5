"""Activation orders: what each unit is told to do, per MTU, after a clearing.

A cleared :class:`~flexcoord.clearing.result.Award` names a bid and an MTU by its ISO start label.
:func:`activation_orders` turns every award into one :class:`ActivationOrder` per unit and MTU:

* the MTU is the bid's own quantity interval that starts at the label (so its duration is the
  bid's resolution); an award whose label is not one of the bid's MTUs is an input error;
* a unit's award is ordered to that unit; a group's award is split over its members with the
  clearing's own rule (:func:`flexcoord.clearing.capability.member_shares`: each member's share of
  the group's range ``p_max_mw - p_min_mw``), so the orders are what the clearing's capability
  rows checked, and the members' quantities sum to the award;
* only awards of active power products with activation give orders; others are input errors;
* a unit is never ordered beyond its range: per unit, direction and MTU the orders of every bid
  together must fit ``p_max_mw - p_min_mw`` (the clearing guarantees it); an award set that breaks
  it, or an award above its bid's offered quantity, is rejected with every issue at once. The
  range is the full width in both directions because the unit's operating point is not known here.

The order's id is a typed value (:class:`OrderId`: bid, unit, MTU start), so the same awards give
the same ids on every run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flexcoord.clearing.capability import member_shares
from flexcoord.clearing.result import Award
from flexcoord.coordination.identities import Mtu
from flexcoord.domain import Bid, Direction, Interval, PowerType, Register, Unit
from flexcoord.domain.validation import IssueCollector
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["ActivationOrder", "OrderId", "activation_orders", "split_over_members"]

#: MW by which summed orders may exceed a unit's range (float noise of the split).
RANGE_TOL_MW = 1e-6


@dataclass(frozen=True, slots=True, order=True)
class OrderId:
    """One activation order: a bid, one of its units, one MTU (named by its start).

    Example:
        >>> from datetime import datetime, UTC
        >>> str(OrderId("b1", "u1", Mtu(datetime(2026, 6, 1, 10, tzinfo=UTC))))
        'b1/u1/2026-06-01T10:00:00+00:00'
    """

    bid_id: str
    unit_id: str
    mtu: Mtu

    def __str__(self) -> str:
        return f"{self.bid_id}/{self.unit_id}/{self.mtu.label}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationOrder:
    """An order to one unit to deliver ``quantity_mw`` in ``direction`` over one MTU.

    Attributes:
        id: The order's identity (bid, unit, MTU start).
        bid_id: The awarded bid.
        unit_id: The unit ordered (a member of the bid's group, or the bid's unit).
        fsp_id: The FSP answering for the unit.
        buyer_id: The system operator (or BRP) that bought the activation, if known.
        interval: The MTU.
        direction: UP (more injection) or DOWN.
        quantity_mw: Ordered change of active power (> 0).
        energy_mwh: ``quantity_mw`` times the MTU's duration in hours.
        issued_at: When the order was issued (UTC).
    """

    id: OrderId
    bid_id: str
    unit_id: str
    fsp_id: str
    buyer_id: str | None
    interval: Interval
    direction: Direction
    quantity_mw: float
    energy_mwh: float
    issued_at: datetime


def split_over_members(quantity_mw: float, units: Sequence[Unit]) -> tuple[tuple[Unit, float], ...]:
    """A resource's accepted MW per unit, by the clearing's rule (shares of the range).

    Example:
        >>> units = [Unit(id=f"u{i}", fsp_id="f", connection_point_id="cp", technology="pv",
        ...               p_min_mw=0.0, p_max_mw=mw) for i, mw in enumerate((1.0, 3.0))]
        >>> [(u.id, mw) for u, mw in split_over_members(2.0, units)]
        [('u0', 0.5), ('u1', 1.5)]
    """
    shares = member_shares(units)
    return tuple((u, quantity_mw * float(s)) for u, s in zip(units, shares, strict=True))


def _award_issue(award: Award, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="Award",
        object_id=f"{award.bid_id}@{award.mtu}",
        field=field,
        value=value,
        message=message,
    )


def _award_slot(award: Award, bids: Mapping[str, Bid]) -> tuple[Bid, Interval] | Issue:
    """The award's bid and MTU interval, or the issue that prevents finding them."""
    bid = bids.get(award.bid_id)
    if bid is None:
        return _award_issue(award, "bid_id", award.bid_id, "names no bid given")
    try:
        start = Mtu.of_label(award.mtu).start
    except (TypeError, ValueError):
        return _award_issue(award, "mtu", award.mtu, "is not an ISO start time")
    for mq in bid.quantities:
        if mq.interval.start == start:
            if not (math.isfinite(award.quantity_mw) and award.quantity_mw >= 0):
                return _award_issue(award, "quantity_mw", award.quantity_mw, "must be >= 0")
            if award.quantity_mw > mq.quantity + RANGE_TOL_MW:
                return _award_issue(
                    award, "quantity_mw", award.quantity_mw, f"exceeds the offered {mq.quantity}"
                )
            return bid, mq.interval
    return _award_issue(award, "mtu", award.mtu, f"is not an MTU of bid {bid.id!r}")


def _product_issue(bid: Bid, register: Register) -> Issue | None:
    """Why the bid's product gives no activation orders (reactive, or availability only)."""
    if not register.has("products", bid.product_id):
        return None
    product = register.product(bid.product_id)
    if product.power_type is not PowerType.ACTIVE or not product.kind.has_activation:
        return Issue(
            kind="Bid",
            object_id=bid.id,
            field="product_id",
            value=bid.product_id,
            message=f"is a {product.power_type} {product.kind} product: orders are for "
            "active power activation",
        )
    return None


def activation_orders(
    awards: Iterable[Award],
    bids: Iterable[Bid],
    register: Register,
    *,
    issued_at: datetime,
    buyers: Mapping[str, str] | None = None,
) -> tuple[ActivationOrder, ...]:
    """One order per unit and MTU for every award (group awards split over their members).

    Args:
        awards: Cleared awards (``ClearingResult.awards()``) of active power products with
            activation (a product the register does not hold is taken as one).
        bids: The bids the awards name (others are ignored).
        register: Resolves a bid's resource to its units.
        issued_at: When the orders are issued (aware).
        buyers: Buyer (system operator id) per bid id, where known.

    Returns:
        The orders in (bid, unit, MTU) order; awards of 0 MW give none.

    Raises:
        InvalidInputError: An award naming no given bid or none of its MTUs, above the bid's
            offered quantity, of a reactive or availability-only product, or orders that
            together exceed a unit's range.
    """
    c = IssueCollector("ActivationOrders", "orders")
    issued = c.utc("issued_at", issued_at)
    by_id = {b.id: b for b in bids}
    issues: list[Issue] = list(c.issues)
    orders: list[ActivationOrder] = []
    for award in awards:
        slot = _award_slot(award, by_id)
        if isinstance(slot, Issue):
            issues.append(slot)
            continue
        product_issue = _product_issue(slot[0], register)
        if product_issue is not None:
            issues.append(product_issue)
        elif issued is not None:
            orders += _orders_of(award, *slot, register, issued, (buyers or {}).get(award.bid_id))
    issues += _range_issues(orders, register)
    if issues:
        raise InvalidInputError(issues)
    return tuple(sorted(orders, key=lambda o: o.id))


def _orders_of(  # noqa: PLR0913 - one award resolved: its bid, MTU, register, time, buyer
    award: Award,
    bid: Bid,
    interval: Interval,
    register: Register,
    issued_at: datetime,
    buyer_id: str | None,
) -> list[ActivationOrder]:
    hours = interval.duration.total_seconds() / 3600.0
    out = []
    for unit, mw in split_over_members(award.quantity_mw, register.units_of(bid.resource_id)):
        if mw <= 0:
            continue
        out.append(
            ActivationOrder(
                id=OrderId(bid.id, unit.id, Mtu(interval.start)),
                bid_id=bid.id,
                unit_id=unit.id,
                fsp_id=unit.fsp_id,
                buyer_id=buyer_id,
                interval=interval,
                direction=bid.direction,
                quantity_mw=mw,
                energy_mwh=mw * hours,
                issued_at=issued_at,
            )
        )
    return out


def _range_issues(orders: Sequence[ActivationOrder], register: Register) -> list[Issue]:
    """Units whose orders in one direction and MTU sum beyond their range."""
    total: dict[tuple[str, Direction, Interval], float] = defaultdict(float)
    for order in orders:
        total[(order.unit_id, order.direction, order.interval)] += order.quantity_mw
    issues = []
    for (unit_id, direction, interval), mw in sorted(total.items(), key=str):
        limit = register.unit(unit_id).p_range_mw
        if mw > limit + RANGE_TOL_MW:
            issues.append(
                Issue(
                    kind="Unit",
                    object_id=unit_id,
                    field="p_range_mw",
                    value=limit,
                    message=f"is exceeded by {mw:.6g} MW ordered {direction} at {interval}",
                )
            )
    return issues
