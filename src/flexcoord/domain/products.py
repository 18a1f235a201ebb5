"""Products: what is traded, for which timeframe, at which resolution.

A generalised product is active or reactive power, times availability (capacity) or activation
(energy) or both, times a timeframe. Quantities of a product are in MW for active power and in
Mvar for reactive power (:attr:`Product.quantity_unit`); fields holding such quantities are named
``quantity`` / ``min_quantity`` rather than ``*_mw`` for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flexcoord.domain.time import QUARTER_HOUR
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import PowerType, ProductKind, Timeframe
from flexcoord.errors import format_duration

__all__ = ["Product"]

_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """A standardised flexibility product.

    Attributes:
        id: Product id.
        power_type: Active (MW) or reactive (Mvar) power.
        kind: Availability, activation, or both.
        timeframe: Long-term, day-ahead, intraday or near-real-time.
        resolution: Length of one market time unit; a positive multiple of 15 minutes, and exactly
            15 minutes for near-real-time products.
        min_quantity: Smallest quantity a bid may offer per MTU, in :attr:`quantity_unit` (>= 0).
        lead_time: Longest time from activation order to delivery a resource may need (>= 0).
        duration: Delivery duration of one product period; a positive multiple of ``resolution``.
        gate_closure_before_delivery: Bids must be submitted at least this long before the start
            of their first MTU (>= 0).

    Example:
        >>> from datetime import timedelta
        >>> p = Product(id="p-da-cm", power_type="active", kind="availability_and_activation",
        ...             timeframe="day_ahead", resolution=timedelta(minutes=15),
        ...             min_quantity=0.1, lead_time=timedelta(minutes=15),
        ...             duration=timedelta(hours=1),
        ...             gate_closure_before_delivery=timedelta(hours=12))
        >>> p.quantity_unit, p.mtus_per_period
        ('MW', 4)
    """

    id: str
    power_type: PowerType
    kind: ProductKind
    timeframe: Timeframe
    resolution: timedelta = QUARTER_HOUR
    min_quantity: float = 0.0
    lead_time: timedelta = _ZERO
    duration: timedelta = QUARTER_HOUR
    gate_closure_before_delivery: timedelta = _ZERO

    def __post_init__(self) -> None:
        c = IssueCollector("Product", self.id)
        c.identifier("id", self.id)
        power_type = c.enum("power_type", self.power_type, PowerType)
        kind = c.enum("kind", self.kind, ProductKind)
        timeframe = c.enum("timeframe", self.timeframe, Timeframe)
        if c.duration("resolution", self.resolution, positive=True):
            c.check(
                self.resolution % QUARTER_HOUR == _ZERO,
                "resolution",
                self.resolution,
                "must be a multiple of 15 minutes",
            )
            if timeframe is Timeframe.NEAR_REAL_TIME:
                c.check(
                    self.resolution == QUARTER_HOUR,
                    "resolution",
                    self.resolution,
                    "must be 15 minutes for a near-real-time product",
                )
            if c.duration("duration", self.duration, positive=True):
                c.check(
                    self.duration % self.resolution == _ZERO,
                    "duration",
                    self.duration,
                    f"must be a multiple of the resolution {format_duration(self.resolution)}",
                )
        else:
            c.duration("duration", self.duration, positive=True)
        c.non_negative("min_quantity", self.min_quantity)
        c.duration("lead_time", self.lead_time)
        c.duration("gate_closure_before_delivery", self.gate_closure_before_delivery)
        c.raise_if_any()
        set_field(self, "power_type", power_type)
        set_field(self, "kind", kind)
        set_field(self, "timeframe", timeframe)

    @property
    def quantity_unit(self) -> str:
        """Unit of this product's quantities: ``"MW"`` (active) or ``"Mvar"`` (reactive)."""
        return self.power_type.unit

    @property
    def mtus_per_period(self) -> int:
        """Number of MTUs in one delivery period (``duration // resolution``)."""
        return self.duration // self.resolution
