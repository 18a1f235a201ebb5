"""Bids: what a flexibility service provider offers, per MTU, from one unit or group."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from flexcoord.domain._bid_record import Packed, pack
from flexcoord.domain.quantities import MtuQuantity, collect_quantities
from flexcoord.domain.time import Interval
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import Direction

__all__ = ["Bid"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bid(Packed):
    """An FSP's offer of flexibility from one resource (unit or group) for one product.

    Attributes:
        id: Bid id.
        fsp_id: The offering :class:`~flexcoord.domain.actors.FlexibilityServiceProvider`.
        resource_id: The :class:`~flexcoord.domain.resources.Unit` or
            :class:`~flexcoord.domain.resources.Group` delivering; must belong to ``fsp_id``.
        product_id: The :class:`~flexcoord.domain.products.Product` offered.
        direction: UP or DOWN.
        quantities: Offered quantity per MTU (> 0, product unit), sorted, non-overlapping.
        submitted_at: When the bid was submitted (UTC); checked against gate closure.
        availability_price_eur_per_mw_h: Price for holding 1 MW available for one hour, or
            ``None``. At least one of the two prices is given.
        activation_price_eur_per_mwh: Price per MWh activated, or ``None``; may be negative.
        divisible: Whether any quantity between ``min_acceptance`` and the offered quantity of
            an MTU may be accepted. An indivisible bid is accepted with its full quantity or not.
        min_acceptance: Smallest acceptable quantity per MTU. ``None`` means 0 for a divisible
            bid and the full quantity for an indivisible one. If given, it must be <= every
            quantity (divisible) or equal every quantity (indivisible).
        exclusive_set: Id of an exclusive (XOR) set: at most one bid of the set is accepted.
        parent_bid_id: Linked bid: this bid may be accepted only if its parent is. Parent and
            child may have different directions and MTUs (e.g. a heat pump's rebound).
        block: Whether the bid is accepted in all its MTUs or in none.
        q_mvar_per_mw: Reactive power that comes with each MW of *signed* active change
            (Q follows P: with ``k > 0`` an up activation injects ``k`` Mvar per MW and a down
            activation absorbs it), or ``None`` for unity power factor / unknown. Only for active
            power products.

    Example:
        >>> from datetime import datetime, UTC
        >>> t = datetime(2026, 6, 1, 17, tzinfo=UTC)
        >>> bid = Bid(id="b-1", fsp_id="fsp-1", resource_id="u-bess", product_id="p-da",
        ...           direction="up", activation_price_eur_per_mwh=120.0, divisible=False,
        ...           quantities=[{"start": t, "end": t.replace(minute=15), "quantity": 1.0}],
        ...           submitted_at=datetime(2026, 5, 31, 10, tzinfo=UTC))
        >>> bid.acceptance_range(0)
        (1.0, 1.0)
    """

    id: str
    fsp_id: str
    resource_id: str
    product_id: str
    direction: Direction
    quantities: tuple[MtuQuantity, ...]
    submitted_at: datetime
    availability_price_eur_per_mw_h: float | None = None
    activation_price_eur_per_mwh: float | None = None
    divisible: bool = True
    min_acceptance: float | None = None
    exclusive_set: str | None = None
    parent_bid_id: str | None = None
    block: bool = False
    q_mvar_per_mw: float | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("Bid", self.id)
        c.identifier("id", self.id)
        c.identifier("fsp_id", self.fsp_id)
        c.identifier("resource_id", self.resource_id)
        c.identifier("product_id", self.product_id)
        direction = c.enum("direction", self.direction, Direction)
        quantities = collect_quantities(c, "quantities", self.quantities, positive=True)
        submitted_at = c.utc("submitted_at", self.submitted_at)
        availability = self.availability_price_eur_per_mw_h
        activation = self.activation_price_eur_per_mwh
        c.check(
            availability is not None or activation is not None,
            "activation_price_eur_per_mwh",
            None,
            "or availability_price_eur_per_mw_h must be given",
        )
        if availability is not None:
            c.non_negative("availability_price_eur_per_mw_h", availability)
        if activation is not None:
            c.finite("activation_price_eur_per_mwh", activation)
        divisible_ok = c.boolean("divisible", self.divisible)
        c.boolean("block", self.block)
        if self.min_acceptance is not None and c.non_negative(
            "min_acceptance", self.min_acceptance
        ):
            for i, mq in enumerate(quantities if divisible_ok else ()):
                if self.divisible:
                    c.check(
                        self.min_acceptance <= mq.quantity,
                        "min_acceptance",
                        self.min_acceptance,
                        f"must be <= the quantity {mq.quantity} of MTU {i} ({mq.interval})",
                    )
                else:
                    c.check(
                        self.min_acceptance == mq.quantity,
                        "min_acceptance",
                        self.min_acceptance,
                        f"must equal the quantity {mq.quantity} of MTU {i} ({mq.interval}) "
                        "for an indivisible bid",
                    )
        c.optional_identifier("exclusive_set", self.exclusive_set)
        if c.optional_identifier("parent_bid_id", self.parent_bid_id):
            c.check(
                self.parent_bid_id != self.id,
                "parent_bid_id",
                self.parent_bid_id,
                "must not be the bid itself",
            )
        if self.q_mvar_per_mw is not None:
            c.finite("q_mvar_per_mw", self.q_mvar_per_mw)
        c.raise_if_any()
        set_field(self, "direction", direction)
        set_field(self, "quantities", quantities)
        set_field(self, "submitted_at", submitted_at)
        pack(self)

    def __setstate__(self, state: list[object]) -> None:
        """Unpickle (the dataclass's ``__getstate__`` gives the field values): the fields,
        then the packed record, which is not pickled."""
        for f, value in zip(fields(self), state, strict=True):
            object.__setattr__(self, f.name, value)
        pack(self)

    @property
    def delivery(self) -> Interval:
        """From the start of the first MTU to the end of the last."""
        return Interval(
            start=self.quantities[0].interval.start, end=self.quantities[-1].interval.end
        )

    def acceptance_range(self, mtu: int) -> tuple[float, float]:
        """Lowest and highest acceptable quantity in MTU number ``mtu`` of this bid, if accepted."""
        quantity = self.quantities[mtu].quantity
        if not self.divisible:
            return (quantity, quantity)
        return (self.min_acceptance or 0.0, quantity)

    @property
    def power_factor(self) -> float:
        """cos φ implied by :attr:`q_mvar_per_mw` (1.0 when ``None``)."""
        ratio = self.q_mvar_per_mw or 0.0
        return 1.0 / math.sqrt(1.0 + ratio * ratio)
