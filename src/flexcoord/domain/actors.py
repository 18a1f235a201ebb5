"""Actors of a flexibility market: system operators and their grid areas, FSPs, market operators."""

from __future__ import annotations

from dataclasses import dataclass, field

from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import OperatorRole

__all__ = ["FlexibilityServiceProvider", "GridArea", "MarketOperator", "SystemOperator"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemOperator:
    """A transmission (TSO) or distribution (DSO) system operator; a buyer of flexibility.

    Example:
        >>> SystemOperator(id="dso-1", name="DSO North", role="dso").role
        <OperatorRole.DSO: 'dso'>
    """

    id: str
    name: str
    role: OperatorRole

    def __post_init__(self) -> None:
        c = IssueCollector("SystemOperator", self.id)
        c.identifier("id", self.id)
        c.check(isinstance(self.name, str), "name", self.name, "must be a string")
        role = c.enum("role", self.role, OperatorRole)
        c.raise_if_any()
        set_field(self, "role", role)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridArea:
    """The part of the grid a system operator runs: a set of buses (pandapower bus indices).

    Attributes:
        id: Area id.
        operator_id: Id of the :class:`SystemOperator` running the area.
        bus_ids: pandapower bus indices in the area (non-empty).
        voltage_levels_kv: Nominal voltages present in the area, in kV.
        coupling_point_ids: Ids of the TSO–DSO interface transformers feeding this area
            (e.g. ``"trafo:3"``); empty for a transmission area.

    Example:
        >>> area = GridArea(id="mv-1", operator_id="dso-1", bus_ids=[1, 2, 3],
        ...                 voltage_levels_kv=[20.0], coupling_point_ids=["trafo:0"])
        >>> sorted(area.bus_ids)
        [1, 2, 3]
    """

    id: str
    operator_id: str
    bus_ids: frozenset[int]
    voltage_levels_kv: frozenset[float] = field(default_factory=frozenset)
    coupling_point_ids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        c = IssueCollector("GridArea", self.id)
        c.identifier("id", self.id)
        c.identifier("operator_id", self.operator_id)
        n_issues = len(c.issues)
        buses = c.bus_set("bus_ids", self.bus_ids)
        if len(c.issues) == n_issues:
            c.check(bool(buses), "bus_ids", self.bus_ids, "must hold at least one bus")
        levels = c.collection("voltage_levels_kv", self.voltage_levels_kv)
        for level in levels:
            c.positive("voltage_levels_kv", level)
        coupling = c.id_set("coupling_point_ids", self.coupling_point_ids)
        c.raise_if_any()
        set_field(self, "bus_ids", buses)
        set_field(self, "voltage_levels_kv", frozenset(float(v) for v in levels))
        set_field(self, "coupling_point_ids", coupling)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlexibilityServiceProvider:
    """A flexibility service provider (FSP): unit owner, aggregator or VPP operator; a seller.

    Example:
        >>> FlexibilityServiceProvider(id="fsp-1", name="Aggregator A").id
        'fsp-1'
    """

    id: str
    name: str

    def __post_init__(self) -> None:
        c = IssueCollector("FlexibilityServiceProvider", self.id)
        c.identifier("id", self.id)
        c.check(isinstance(self.name, str), "name", self.name, "must be a string")
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketOperator:
    """The operator of a market platform: receives needs and bids, publishes results.

    Example:
        >>> MarketOperator(id="mo-1", name="Local market platform").name
        'Local market platform'
    """

    id: str
    name: str

    def __post_init__(self) -> None:
        c = IssueCollector("MarketOperator", self.id)
        c.identifier("id", self.id)
        c.check(isinstance(self.name, str), "name", self.name, "must be a string")
        c.raise_if_any()
