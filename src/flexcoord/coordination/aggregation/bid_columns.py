"""Bids of one DSO area as LP columns: bus injections per accepted MW, price, quantity.

A bid accepted with ``x`` MW (``0 ≤ x ≤`` its quantity in the MTU) injects ``+x`` (UP) or ``-x``
(DOWN) at its resource's buses; a group's MW are split over its units in proportion to their
active ranges. Its reactive power follows its power factor: ``ΔQ = q_mvar_per_mw · ΔP`` (signed),
so a bid moves along its cos φ line (``None``: unity power factor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.capability import OFFER_TOL_MW, capability_fields
from flexcoord.coordination.aggregation.dso_model import DsoLinearModel, LinearRows
from flexcoord.domain import Bid, Direction, Register
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["BidColumns", "bid_columns", "capability_rows", "with_capability"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class BidColumns:
    """Bids of one MTU as columns over the area buses of a :class:`DsoLinearModel`.

    Attributes:
        bids: The bids, in column order.
        quantity_mw: Offered quantity in the MTU.
        price_eur_per_mwh: Activation price (availability price if no activation price).
        sign: +1 for UP, -1 for DOWN.
        ep: ``(n_bus, n_bid)`` MW injected per MW accepted.
        eq: ``(n_bus, n_bid)`` Mvar injected per MW accepted.
        capability: the unit-capability fields of the bids
            (:func:`~flexcoord.clearing.capability.capability_fields`: one capability per unit
            and direction, its limit, and the (capability, bid, weight) uses), so the area's
            offers never take a unit beyond its range summed over its bids.
    """

    bids: tuple[Bid, ...]
    quantity_mw: FloatArray
    price_eur_per_mwh: FloatArray
    sign: FloatArray
    ep: FloatArray
    eq: FloatArray
    capability: Mapping[str, Any]
    ids: tuple[str, ...] = field(init=False)
    """Bid ids in column order."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(b.id for b in self.bids))

    @property
    def n(self) -> int:
        """Number of bids."""
        return len(self.bids)


def _quantity(bid: Bid, at: datetime | None) -> float | None:
    if at is None:
        return bid.quantities[0].quantity
    for mq in bid.quantities:
        if mq.interval.contains(at):
            return mq.quantity
    return None


def bid_columns(
    model: DsoLinearModel,
    bids: Sequence[Bid],
    register: Register,
    *,
    at: datetime | None = None,
    direction: Direction | None = None,
) -> BidColumns:
    """The bids of ``model``'s area (others are skipped) in the MTU holding ``at``.

    Args:
        model: The linearised DSO area.
        bids: Candidate bids; those on resources outside the area, of the other direction, or
            without an MTU holding ``at`` are left out.
        register: Resolves each bid's resource to its units and buses.
        at: Instant selecting the MTU; ``None`` takes each bid's first MTU.
        direction: Keep only bids of this direction (``None``: both).

    Raises:
        InvalidInputError: a bid's resource has a unit outside the area next to units inside.
    """
    index = model.bus_index
    kept: list[Bid] = []
    qty: list[float] = []
    at_bus: list[int] = []  # (bus position, column, MW per accepted MW) of every unit's share
    at_col: list[int] = []
    at_mw: list[float] = []
    issues: list[Issue] = []
    uses: list[tuple[str, Direction]] = []  # (unit, direction) of every kept bid's units
    for bid in bids:
        if direction is not None and bid.direction is not direction:
            continue
        units = register.units_of(bid.resource_id)
        positions = [index.get(register.connection_point(u.connection_point_id).bus) for u in units]
        inside = [p is not None for p in positions]
        if not any(inside):
            continue
        if not all(inside):
            issues.append(
                Issue(
                    kind="Bid",
                    object_id=bid.id,
                    field="resource_id",
                    value=bid.resource_id,
                    message=f"has units inside and outside DSO area {model.area_id!r}",
                )
            )
            continue
        q = _quantity(bid, at)
        if q is None:
            continue
        weight = np.array([max(u.p_range_mw, 0.0) for u in units])
        weight = weight / weight.sum() if weight.sum() > 0 else np.full(len(units), 1 / len(units))
        sign = 1.0 if bid.direction is Direction.UP else -1.0
        at_bus += positions  # type: ignore[arg-type]  # all inside: no None left
        at_col += [len(kept)] * len(units)
        at_mw += (weight * sign).tolist()
        kept.append(bid)
        uses.extend((u.id, bid.direction) for u in units)
        qty.append(q)
    if issues:
        raise InvalidInputError(issues)
    n_bus = model.n_bus
    ep = np.zeros((n_bus, len(kept)))  # model.incidence(buses) @ weight per bid, no matrices
    np.add.at(ep, (np.array(at_bus, dtype=np.int64), np.array(at_col, dtype=np.int64)), at_mw)
    ratio = np.array([b.q_mvar_per_mw or 0.0 for b in kept])
    price = np.array(
        [
            b.activation_price_eur_per_mwh
            if b.activation_price_eur_per_mwh is not None
            else (b.availability_price_eur_per_mw_h or 0.0)
            for b in kept
        ],
        dtype=float,
    )
    up = np.array([b.direction is Direction.UP for b in kept], dtype=bool)
    # a unit used by one bid per direction cannot exceed its range (each bid fits it, checked
    # by validate_market): no capability to write down
    shared = len(set(uses)) < len(uses)
    kept_for_cap = kept if shared else []
    return BidColumns(
        capability=capability_fields(
            register, kept_for_cap, up[: len(kept_for_cap)], np.zeros(len(kept_for_cap), bool)
        ),
        bids=tuple(kept),
        quantity_mw=np.array(qty, dtype=float),
        price_eur_per_mwh=price,
        sign=np.array([1.0 if b.direction is Direction.UP else -1.0 for b in kept]),
        ep=ep,
        eq=ep * ratio[None, :] if kept else np.zeros((n_bus, 0)),
    )


def capability_rows(cols: BidColumns) -> LinearRows:
    """One row ``Σ weight · x_bid <= limit`` per unit and direction whose bids here can together
    exceed its range (as the clearing emits them: one bid per unit adds no row)."""
    cap = cols.capability
    limit = np.asarray(cap["cap_limit_mw"], dtype=float)
    if not len(limit):
        return LinearRows(a=np.zeros((0, cols.n)), upper=limit, names=())
    a = np.zeros((len(limit), cols.n))
    np.add.at(a, (cap["cap_use_cap"], cap["cap_use_bid"]), cap["cap_use_weight"])
    needed = a @ cols.quantity_mw > limit + OFFER_TOL_MW
    names = tuple(
        f"unit-capability[{name},{'up' if up else 'down'}]"
        for name, up, keep in zip(cap["cap_names"], cap["cap_up"], needed, strict=True)
        if keep
    )
    return LinearRows(a=a[needed], upper=limit[needed], names=names)


def with_capability(rows: LinearRows, cols: BidColumns) -> LinearRows:
    """The area's limit rows over ``cols``, then the bids' unit-capability rows."""
    return rows.plus(capability_rows(cols))
