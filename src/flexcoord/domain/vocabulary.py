"""The controlled vocabularies of the domain, as ``StrEnum`` with stable lower-case values."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Direction",
    "LocationKind",
    "OperatorRole",
    "PowerType",
    "PrequalificationScope",
    "PrequalificationStatus",
    "ProductKind",
    "Technology",
    "Timeframe",
    "TrafficLight",
]


class Direction(StrEnum):
    """Direction of flexibility, seen from the grid.

    ``UP`` is more injection into the grid: generation up or consumption down. ``DOWN`` is less
    injection: generation down or consumption up. Quantities are always non-negative; the sign
    lives here, never in a number.
    """

    UP = "up"
    DOWN = "down"

    @property
    def opposite(self) -> Direction:
        """The other direction."""
        return Direction.DOWN if self is Direction.UP else Direction.UP


class OperatorRole(StrEnum):
    """Role of a buyer of flexibility: a system operator, or a commercial party.

    ``BRP`` (a balance responsible party) buys in the integrated flexibility market only; it has
    no grid area.
    """

    TSO = "tso"
    DSO = "dso"
    BRP = "brp"


class Technology(StrEnum):
    """Technology of a service-providing unit."""

    PV = "pv"
    WIND = "wind"
    BESS = "bess"
    EV_CHARGING = "ev_charging"
    HEAT_PUMP = "heat_pump"
    INDUSTRIAL_LOAD = "industrial_load"
    CHP = "chp"
    HYDRO = "hydro"
    BIOMASS = "biomass"
    GENERIC_LOAD = "generic_load"
    GENERIC_GENERATOR = "generic_generator"
    #: A DSO area's aggregated offer at its coupling point: a virtual resource that stands for
    #: the bids behind it (either direction, no energy limits of its own).
    AGGREGATE = "aggregate"


#: Technologies that only inject (their active power is never negative).
GENERATING_TECHNOLOGIES = frozenset(
    {
        Technology.PV,
        Technology.WIND,
        Technology.CHP,
        Technology.HYDRO,
        Technology.BIOMASS,
        Technology.GENERIC_GENERATOR,
    }
)
#: Technologies that only consume (their active power is never positive).
CONSUMING_TECHNOLOGIES = frozenset(
    {Technology.HEAT_PUMP, Technology.INDUSTRIAL_LOAD, Technology.GENERIC_LOAD}
)
#: Technologies that must declare their energy limits.
ENERGY_LIMITED_TECHNOLOGIES = frozenset({Technology.BESS})


class PowerType(StrEnum):
    """What a product trades: active power (MW) or reactive power (Mvar)."""

    ACTIVE = "active"
    REACTIVE = "reactive"

    @property
    def unit(self) -> str:
        """The unit of quantities of this power type: ``"MW"`` or ``"Mvar"``."""
        return "MW" if self is PowerType.ACTIVE else "Mvar"


class ProductKind(StrEnum):
    """Availability (capacity, paid per MW and hour) and/or activation (energy, paid per MWh)."""

    AVAILABILITY = "availability"
    ACTIVATION = "activation"
    AVAILABILITY_AND_ACTIVATION = "availability_and_activation"

    @property
    def has_availability(self) -> bool:
        """Whether the product pays for availability (capacity)."""
        return self is not ProductKind.ACTIVATION

    @property
    def has_activation(self) -> bool:
        """Whether the product pays for activation (energy)."""
        return self is not ProductKind.AVAILABILITY


class Timeframe(StrEnum):
    """When a product is procured relative to delivery."""

    LONG_TERM = "long_term"
    DAY_AHEAD = "day_ahead"
    INTRADAY = "intraday"
    NEAR_REAL_TIME = "near_real_time"


class PrequalificationStatus(StrEnum):
    """Outcome of a prequalification."""

    QUALIFIED = "qualified"
    CONDITIONAL = "conditional"
    NOT_QUALIFIED = "not_qualified"
    SUSPENDED = "suspended"

    @property
    def allows_participation(self) -> bool:
        """Whether a resource with this status may take part (qualified or conditional)."""
        return self in (PrequalificationStatus.QUALIFIED, PrequalificationStatus.CONDITIONAL)


class TrafficLight(StrEnum):
    """Traffic-light colour of a grid assessment: safe, limited, unsafe."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class PrequalificationScope(StrEnum):
    """Whether a prequalification is shared by several system operators or dedicated to one."""

    COMMON = "common"
    DEDICATED = "dedicated"


class LocationKind(StrEnum):
    """How a need locates its problem: a set of buses, a grid area (zone) or a coupling point."""

    BUSES = "buses"
    AREA = "area"
    COUPLING_POINT = "coupling_point"
