"""Needs: what a system operator wants to buy, where, in which direction, at most at what price."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flexcoord.domain.quantities import MtuQuantity, collect_quantities
from flexcoord.domain.time import Interval
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import Direction, LocationKind
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["Location", "Need"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a need applies: a set of buses, a grid area (zone), or a TSO–DSO coupling point.

    Exactly the field matching ``kind`` is filled: ``bus_ids`` (non-empty) for ``BUSES``,
    ``area_id`` for ``AREA``, ``coupling_point_id`` for ``COUPLING_POINT``.

    Example:
        >>> Location.at_buses([4, 5]).kind
        <LocationKind.BUSES: 'buses'>
        >>> Location.in_area("mv-1").area_id
        'mv-1'
    """

    kind: LocationKind
    bus_ids: frozenset[int] = field(default_factory=frozenset)
    area_id: str | None = None
    coupling_point_id: str | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("Location", str(self.kind))
        kind = c.enum("kind", self.kind, LocationKind)
        buses = c.bus_set("bus_ids", self.bus_ids)
        c.optional_identifier("area_id", self.area_id)
        c.optional_identifier("coupling_point_id", self.coupling_point_id)
        filled = {
            LocationKind.BUSES: bool(buses),
            LocationKind.AREA: self.area_id is not None,
            LocationKind.COUPLING_POINT: self.coupling_point_id is not None,
        }
        names = {
            LocationKind.BUSES: "bus_ids",
            LocationKind.AREA: "area_id",
            LocationKind.COUPLING_POINT: "coupling_point_id",
        }
        if kind is not None:
            for k, is_filled in filled.items():
                value = getattr(self, names[k])
                if k is kind:
                    c.check(is_filled, names[k], value, f"is required for a {kind} location")
                else:
                    c.check(not is_filled, names[k], value, f"must be empty for a {kind} location")
        c.raise_if_any()
        set_field(self, "kind", kind)
        set_field(self, "bus_ids", buses)

    @classmethod
    def at_buses(cls, bus_ids: Iterable[int]) -> Location:
        """A location made of grid buses."""
        return cls(kind=LocationKind.BUSES, bus_ids=frozenset(bus_ids))

    @classmethod
    def in_area(cls, area_id: str) -> Location:
        """A location made of one grid area (congestion zone)."""
        return cls(kind=LocationKind.AREA, area_id=area_id)

    @classmethod
    def at_coupling_point(cls, coupling_point_id: str) -> Location:
        """A location at a TSO–DSO coupling point (interface transformer)."""
        return cls(kind=LocationKind.COUPLING_POINT, coupling_point_id=coupling_point_id)


def _as_location(value: object) -> Location:
    assert isinstance(value, Mapping)
    try:
        return Location(**value)
    except TypeError as err:  # unknown or missing keys
        issue = Issue(kind="Location", object_id="?", field="", value=dict(value), message=str(err))
        raise InvalidInputError([issue]) from err


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    """A system operator's need for flexibility, per MTU, at a location and in one direction.

    Attributes:
        id: Need id.
        buyer_id: The buying :class:`~flexcoord.domain.actors.SystemOperator`.
        product_id: The :class:`~flexcoord.domain.products.Product` wanted.
        location: Where the need applies (a :class:`Location` or a mapping of its fields).
        direction: UP or DOWN.
        quantities: Quantity per MTU (>= 0, product unit), sorted, non-overlapping, at least one.
        activation_price_cap_eur_per_mwh: Highest activation price accepted, or ``None``.
        availability_price_cap_eur_per_mw_h: Highest availability price accepted, or ``None``.
        expected_activation_share: Expected activation duration over availability duration, in
            ``[0, 1]``; weighs activation prices against availability prices when selecting
            availability bids. Required for availability-and-activation products.
        created_at: When the need was published (knowledge time, UTC), not its delivery time.

    Example:
        >>> from datetime import datetime, UTC
        >>> t = datetime(2026, 6, 1, 17, tzinfo=UTC)
        >>> need = Need(id="n-1", buyer_id="dso-1", product_id="p-da", direction="up",
        ...             location=Location.in_area("mv-1"),
        ...             quantities=[{"start": t, "end": t.replace(minute=15), "quantity": 0.8}],
        ...             created_at=datetime(2026, 5, 31, 9, tzinfo=UTC))
        >>> need.total_quantity, str(need.delivery)
        (0.8, '[2026-06-01T17:00:00+00:00, 2026-06-01T17:15:00+00:00)')
    """

    id: str
    buyer_id: str
    product_id: str
    location: Location
    direction: Direction
    quantities: tuple[MtuQuantity, ...]
    created_at: datetime
    activation_price_cap_eur_per_mwh: float | None = None
    availability_price_cap_eur_per_mw_h: float | None = None
    expected_activation_share: float | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("Need", self.id)
        c.identifier("id", self.id)
        c.identifier("buyer_id", self.buyer_id)
        c.identifier("product_id", self.product_id)
        location: Location | None = self.location
        if isinstance(location, Mapping):
            location = c.absorb("location", lambda: _as_location(self.location))
        elif not isinstance(location, Location):
            c.add("location", location, "must be a Location")
        direction = c.enum("direction", self.direction, Direction)
        quantities = collect_quantities(c, "quantities", self.quantities, positive=False)
        created_at = c.utc("created_at", self.created_at)
        if self.activation_price_cap_eur_per_mwh is not None:
            c.non_negative(
                "activation_price_cap_eur_per_mwh", self.activation_price_cap_eur_per_mwh
            )
        if self.availability_price_cap_eur_per_mw_h is not None:
            c.non_negative(
                "availability_price_cap_eur_per_mw_h", self.availability_price_cap_eur_per_mw_h
            )
        if self.expected_activation_share is not None:
            c.in_range("expected_activation_share", self.expected_activation_share, 0.0, 1.0)
        c.raise_if_any()
        set_field(self, "location", location)
        set_field(self, "direction", direction)
        set_field(self, "quantities", quantities)
        set_field(self, "created_at", created_at)

    @property
    def delivery(self) -> Interval:
        """From the start of the first MTU to the end of the last."""
        return Interval(
            start=self.quantities[0].interval.start, end=self.quantities[-1].interval.end
        )

    @property
    def total_quantity(self) -> float:
        """Sum of the per-MTU quantities."""
        return sum(q.quantity for q in self.quantities)
