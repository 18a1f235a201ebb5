"""Where flexibility comes from: connection points, service-providing units and groups.

Sign convention (as pandapower's ``sgen``): active power ``p_mw > 0`` is injection into the grid,
``p_mw < 0`` is consumption; reactive power ``q_mvar > 0`` is injection (over-excited). A unit's
capability is the range ``[p_min_mw, p_max_mw]``: a 2 MW heat pump is ``p_min_mw=-2, p_max_mw=0``,
a 1 MW / 2 MWh battery is ``p_min_mw=-1, p_max_mw=1``. These signs describe the *device*; the
flexibility traded in bids is always a non-negative quantity with a
:class:`~flexcoord.domain.vocabulary.Direction`.

Group rules (a group is valid only against a :class:`~flexcoord.domain.register.Register`, since
they need the units; see :class:`~flexcoord.domain.register.Register`):

* at least one unit, no unit twice (checked here, at construction);
* every unit exists and belongs to the group's FSP;
* every unit sits behind the same TSO–DSO coupling point (aggregation only behind one
  coupling point, as in Industry4Redispatch); units connected directly to the transmission grid
  (no coupling point) may only be grouped within one grid area;
* a unit belongs to at most one group in a register, for every product: this keeps a unit's
  flexibility from being sold twice through two groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import (
    CONSUMING_TECHNOLOGIES,
    ENERGY_LIMITED_TECHNOLOGIES,
    GENERATING_TECHNOLOGIES,
    Technology,
)

__all__ = ["ConnectionPoint", "Group", "Resource", "Unit"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionPoint:
    """Where a unit is connected: one grid bus, in one grid area, behind at most one coupling point.

    Attributes:
        id: Connection point id (e.g. the metering point / EAN).
        bus: pandapower bus index.
        area_id: Id of the :class:`~flexcoord.domain.actors.GridArea` holding the bus.
        coupling_point_id: The TSO–DSO interface transformer upstream (e.g. ``"trafo:3"``), or
            ``None`` for a connection to the transmission grid.

    Example:
        >>> ConnectionPoint(id="cp-7", bus=7, area_id="mv-1", coupling_point_id="trafo:0").bus
        7
    """

    id: str
    bus: int
    area_id: str
    coupling_point_id: str | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("ConnectionPoint", self.id)
        c.identifier("id", self.id)
        c.check(
            isinstance(self.bus, int) and not isinstance(self.bus, bool) and self.bus >= 0,
            "bus",
            self.bus,
            "must be a bus index (int >= 0)",
        )
        c.identifier("area_id", self.area_id)
        c.optional_identifier("coupling_point_id", self.coupling_point_id)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """A service-providing unit (SPU): one device or site able to change its power on request.

    Attributes:
        id: Unit id, unique among units and groups.
        fsp_id: Owning :class:`~flexcoord.domain.actors.FlexibilityServiceProvider`.
        connection_point_id: Its :class:`ConnectionPoint`.
        technology: The :class:`~flexcoord.domain.vocabulary.Technology`.
        p_min_mw: Lowest active power (negative = consumption); ``p_min_mw <= p_max_mw``.
        p_max_mw: Highest active power (positive = injection).
        q_min_mvar: Lowest reactive power; ``q_min_mvar <= q_max_mvar``.
        q_max_mvar: Highest reactive power.
        min_power_factor: Lowest allowed cos φ in ``(0, 1]``, or ``None`` if not limited.
        ramp_mw_per_min: Ramp rate limit (> 0), or ``None`` if not limiting.
        energy_min_mwh: Lowest stored energy (storage-like units), or ``None``.
        energy_max_mwh: Highest stored energy, or ``None``.
        energy_initial_mwh: Stored energy at the start of the horizon, or ``None``.
        activation_lead_time: Time needed from an activation order to delivery.
        min_duration: Shortest delivery once activated.

    Generating technologies (PV, wind, CHP, hydro, biomass, generic generator) must have
    ``p_min_mw >= 0``; consuming ones (heat pump, industrial load, generic load) ``p_max_mw <= 0``.
    BESS must give ``energy_min_mwh`` and ``energy_max_mwh``; any unit may. Energy limits come as
    a pair, with ``0 <= energy_min_mwh <= energy_initial_mwh <= energy_max_mwh``.

    Example:
        >>> bess = Unit(id="u-bess", fsp_id="fsp-1", connection_point_id="cp-7",
        ...             technology="bess", p_min_mw=-1.0, p_max_mw=1.0,
        ...             energy_min_mwh=0.2, energy_max_mwh=2.0, energy_initial_mwh=1.0)
        >>> bess.p_range_mw, bess.is_storage
        (2.0, True)
    """

    id: str
    fsp_id: str
    connection_point_id: str
    technology: Technology
    p_min_mw: float
    p_max_mw: float
    q_min_mvar: float = 0.0
    q_max_mvar: float = 0.0
    min_power_factor: float | None = None
    ramp_mw_per_min: float | None = None
    energy_min_mwh: float | None = None
    energy_max_mwh: float | None = None
    energy_initial_mwh: float | None = None
    activation_lead_time: timedelta = timedelta(0)
    min_duration: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        c = IssueCollector("Unit", self.id)
        c.identifier("id", self.id)
        c.identifier("fsp_id", self.fsp_id)
        c.identifier("connection_point_id", self.connection_point_id)
        technology = c.enum("technology", self.technology, Technology)

        p_ok = c.finite("p_min_mw", self.p_min_mw) & c.finite("p_max_mw", self.p_max_mw)
        if p_ok:
            c.check(
                self.p_min_mw <= self.p_max_mw, "p_max_mw", self.p_max_mw, "must be >= p_min_mw"
            )
            if technology in GENERATING_TECHNOLOGIES:
                c.check(
                    self.p_min_mw >= 0,
                    "p_min_mw",
                    self.p_min_mw,
                    f"must be >= 0 for {technology}: p < 0 is consumption",
                )
            if technology in CONSUMING_TECHNOLOGIES:
                c.check(
                    self.p_max_mw <= 0,
                    "p_max_mw",
                    self.p_max_mw,
                    f"must be <= 0 for {technology}: p > 0 is injection",
                )
        if c.finite("q_min_mvar", self.q_min_mvar) & c.finite("q_max_mvar", self.q_max_mvar):
            c.check(
                self.q_min_mvar <= self.q_max_mvar,
                "q_max_mvar",
                self.q_max_mvar,
                "must be >= q_min_mvar",
            )
        if self.min_power_factor is not None and c.finite(
            "min_power_factor", self.min_power_factor
        ):
            c.check(
                0 < self.min_power_factor <= 1,
                "min_power_factor",
                self.min_power_factor,
                "must be in (0, 1]",
            )
        if self.ramp_mw_per_min is not None:
            c.positive("ramp_mw_per_min", self.ramp_mw_per_min)
        self._check_energy(c, technology)
        c.duration("activation_lead_time", self.activation_lead_time)
        c.duration("min_duration", self.min_duration)
        c.raise_if_any()
        set_field(self, "technology", technology)

    def _check_energy(self, c: IssueCollector, technology: Technology | None) -> None:
        e_min, e_max, e_init = self.energy_min_mwh, self.energy_max_mwh, self.energy_initial_mwh
        if technology in ENERGY_LIMITED_TECHNOLOGIES:
            for name, value in (("energy_min_mwh", e_min), ("energy_max_mwh", e_max)):
                c.check(value is not None, name, value, f"is required for {technology}")
        if (e_min is None) != (e_max is None):
            c.add(
                "energy_max_mwh" if e_max is None else "energy_min_mwh",
                None,
                "energy_min_mwh and energy_max_mwh must be given together",
            )
        ok = all(
            c.non_negative(name, value)
            for name, value in (
                ("energy_min_mwh", e_min),
                ("energy_max_mwh", e_max),
                ("energy_initial_mwh", e_init),
            )
            if value is not None
        )
        if not ok:
            return
        if e_min is not None and e_max is not None:
            c.check(e_min <= e_max, "energy_max_mwh", e_max, "must be >= energy_min_mwh")
        if e_init is not None:
            if e_min is None and e_max is None:
                c.add("energy_initial_mwh", e_init, "needs energy_min_mwh and energy_max_mwh")
            elif e_min is not None and e_max is not None:
                c.check(
                    e_min <= e_init <= e_max,
                    "energy_initial_mwh",
                    e_init,
                    f"must be in [energy_min_mwh, energy_max_mwh] = [{e_min}, {e_max}]",
                )

    @property
    def p_range_mw(self) -> float:
        """Width of the active power range, ``p_max_mw - p_min_mw`` (the most one bid can move)."""
        return self.p_max_mw - self.p_min_mw

    @property
    def q_range_mvar(self) -> float:
        """Width of the reactive power range, ``q_max_mvar - q_min_mvar``."""
        return self.q_max_mvar - self.q_min_mvar

    @property
    def is_storage(self) -> bool:
        """Whether the unit has energy limits (BESS, and any other unit that declares them)."""
        return self.energy_max_mwh is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A service-providing group (SPG): units aggregated by one FSP and bid as one resource.

    Only the rules that need no other object are checked here (at least one unit, none twice);
    the rest (units exist, same FSP, same coupling point, one group per unit) are checked by the
    :class:`~flexcoord.domain.register.Register`.

    Example:
        >>> Group(id="g-1", fsp_id="fsp-1", unit_ids=["u-1", "u-2"]).unit_ids
        ('u-1', 'u-2')
    """

    id: str
    fsp_id: str
    unit_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        c = IssueCollector("Group", self.id)
        c.identifier("id", self.id)
        c.identifier("fsp_id", self.fsp_id)
        n_issues = len(c.issues)
        unit_ids = c.id_tuple("unit_ids", self.unit_ids)
        if len(c.issues) == n_issues:
            c.check(len(unit_ids) > 0, "unit_ids", self.unit_ids, "must hold at least one unit")
            duplicates = sorted({u for u in unit_ids if unit_ids.count(u) > 1})
            c.check(not duplicates, "unit_ids", duplicates, "lists a unit more than once")
        c.raise_if_any()
        set_field(self, "unit_ids", unit_ids)


#: A service-providing resource: a unit or a group. Bids and prequalifications refer to either.
Resource = Unit | Group
