"""DSO needs from forecast voltage problems: where a DSO area's day-ahead voltages leave their band.

:func:`voltage_problems` finds them in an :class:`~flexcoord.grid.forecast.OperatingForecast`;
:func:`dso_voltage_needs` turns the ones flexibility can reach into needs (next to the congestion
needs of :func:`~flexcoord.simulation.scenario.dso_needs`).

The rule (our choice; no data source prescribes one):

- **Band**: each bus's own (:func:`~flexcoord.grid.violations.resolve_limits`: SimBench's
  ``min_vm_pu`` / ``max_vm_pu``, 0.965–1.055 pu at MV, else 0.95–1.05 pu), as the study's
  realised check reads it. Only buses of DSO areas count, and only those whose voltage active
  power moves (slack and voltage-controlled buses have no sensitivity).
- **Reference**: SimBench's HV/MV grids lie above their MV band at nearly every bus and MTU of
  the base case (1-HVMV-mixed on 2026-06-01: every one of its 1,636 MV buses in all 96 MTUs,
  by 0.01–0.07 pu). That offset is the level the HV grid and the HV/MV transformers' taps set
  (a DSO corrects it with its tap changers, not by buying flexibility), and buying it away
  would take some 67,000 MWh a day there. So a bus has a problem only where its forecast
  voltage is beyond the band *and* beyond its own level of the day (the median of its forecast
  over the MTUs) by more than ``margin_pu``: its limits are ``max(v_max, median) + margin`` and
  ``min(v_min, median) − margin``. On a grid inside its band the median lies inside it and the
  limits are the band widened by the margin. The excursion over a limit is the bus's deficit
  (pu). A forecast of one MTU has no excursions (its median is itself).
- **Merging**: per DSO area and direction, the buses with a deficit in any MTU are split into
  connected groups (:func:`~flexcoord.grid.areas.connected_groups`); each group is one problem,
  located at its buses. Overvoltage needs less injection (``DOWN``), undervoltage more (``UP``).
- **Quantity** per MTU: ``max over the group's buses b of deficit_b / s_b``, where ``s_b`` is
  the voltage change at ``b`` per MW spread over the group's buses in proportion to the
  flexible range there (``GridModel.voltage_sensitivity``: the AC Jacobian at the grid's loaded
  operating point). The clearing counts a MW anywhere in the location alike, so the flexibility
  is assumed where the group has it.
- **Reach**: a problem becomes a need only when its group hosts at least ``reach_factor`` (2)
  times its largest quantity in flexible range, the rule
  :func:`~flexcoord.simulation.scenario.congestion_plan` applies to congested lines (else it is
  not a market problem).
- **Size**: a reachable problem below ``min_need_mw`` (:data:`MIN_NEED_MW`, 50 kW) at its
  worst MTU posts no need.
- **Owner**: the operator of the area in the register (``GridArea.operator_id``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from flexcoord.domain import Direction, Location, Need, Register
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.areas import connected_groups
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.model import GridModel
from flexcoord.grid.violations import Limits, resolve_limits
from flexcoord.simulation.scenario import make_need

__all__ = [
    "DEFAULT_VOLTAGE_MARGIN_PU",
    "MIN_NEED_MW",
    "REACH_FACTOR",
    "VoltageProblem",
    "dso_voltage_needs",
    "voltage_problems",
]

FloatArray = NDArray[np.float64]

#: How far beyond its band and its level of the day a voltage must go to be a problem (pu).
DEFAULT_VOLTAGE_MARGIN_PU = 0.01
#: Flexible range a problem's buses must host, as a multiple of its largest quantity.
REACH_FACTOR = 2.0
#: The smallest need worth posting (MW at its worst MTU): smaller problems are a bus or two
#: just over their limit, below the 50 kW the scenarios' smallest bidding units offer.
MIN_NEED_MW = 0.05
_MIN_SENSITIVITY_PU_PER_MW = 1e-9  # below this a bus's voltage does not move with P


@dataclass(frozen=True, slots=True, kw_only=True)
class VoltageProblem:
    """One forecast voltage problem of a DSO area (module docstring).

    Attributes:
        area_id: the DSO area.
        operator_id: its operator (the need's buyer).
        direction: what relieves it (``DOWN`` for overvoltage, ``UP`` for undervoltage).
        bus_ids: the connected buses with a deficit in some MTU.
        deficit_pu: ``(T,)`` the largest deficit over the buses per MTU.
        quantity_mw: ``(T,)`` MW in ``direction`` that brings every bus back to its limit.
        flexible_range_mw: the units' range at ``bus_ids``.
        reachable: whether ``flexible_range_mw >= reach_factor × max(quantity_mw)``.
    """

    area_id: str
    operator_id: str
    direction: Direction
    bus_ids: frozenset[int]
    deficit_pu: FloatArray
    quantity_mw: FloatArray
    flexible_range_mw: float
    reachable: bool


def _check(*values: tuple[str, float]) -> None:
    issues = [
        Issue(
            kind="VoltageNeeds",
            object_id="dso_voltage_needs",
            field=name,
            value=value,
            message="must be a finite number >= 0",
        )
        for name, value in values
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0)
    ]
    if issues:
        raise InvalidInputError(issues)


def _deficits(
    grid: GridModel, forecast: OperatingForecast, margin_pu: float
) -> tuple[FloatArray, FloatArray]:
    """``(n_bus, T)`` overvoltage and undervoltage deficits (pu) of the forecast's buses."""
    pgm = grid.pgm()
    vmin_all, vmax_all, _ = resolve_limits(pgm, Limits())
    position = {int(b): i for i, b in enumerate(pgm.buses.index)}
    rows = np.array([position[int(b)] for b in forecast.bus_ids], dtype=np.int64)
    vm = np.asarray(forecast.vm_pu, dtype=float)
    level = np.full(len(rows), np.nan)  # a bus without any voltage (out of service) has none
    known = np.isfinite(vm).any(axis=1)
    level[known] = np.nanmedian(vm[known], axis=1)
    upper = np.maximum(vmax_all[rows], level) + margin_pu
    lower = np.minimum(vmin_all[rows], level) - margin_pu
    over = np.nan_to_num(np.clip(vm - upper[:, None], 0.0, None))
    under = np.nan_to_num(np.clip(lower[:, None] - vm, 0.0, None))
    return over, under


def _range_at(register: Register) -> dict[int, float]:
    out: dict[int, float] = {}
    for unit in register.units:
        bus = register.connection_point(unit.connection_point_id).bus
        out[bus] = out.get(bus, 0.0) + unit.p_range_mw
    return out


def _quantity_mw(deficit_pu: FloatArray, dvm_dp: FloatArray, range_mw: FloatArray) -> FloatArray:
    """Per MTU, the MW spread over a group's buses in proportion to ``range_mw`` that brings
    every bus's ``deficit_pu`` (rows) to zero, by the group's ``dvm_dp`` block (zeros when the
    group has no range)."""
    total = float(range_mw.sum())
    if total <= 0:
        return np.zeros(deficit_pu.shape[1])
    s = dvm_dp @ (range_mw / total)
    ok = s > _MIN_SENSITIVITY_PU_PER_MW
    if not ok.any():
        return np.zeros(deficit_pu.shape[1])
    out: FloatArray = (deficit_pu[ok] / s[ok, None]).max(axis=0)
    return out


def voltage_problems(
    grid: GridModel,
    register: Register,
    forecast: OperatingForecast,
    *,
    margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU,
    reach_factor: float = REACH_FACTOR,
) -> tuple[VoltageProblem, ...]:
    """Every DSO area's forecast voltage problems (module docstring), reachable or not, by
    area (the grid's order), overvoltage first, then by smallest bus.

    Raises:
        InvalidInputError: ``margin_pu`` or ``reach_factor`` negative or not finite.
        NotFoundError: the register has no area of one of the grid's DSO areas.
    """
    _check(("margin_pu", margin_pu), ("reach_factor", reach_factor))
    over, under = _deficits(grid, forecast, margin_pu)
    sens = grid.voltage_sensitivity()
    mon = {int(b): i for i, b in enumerate(sens.monitored_bus_ids)}
    inj = {int(b): i for i, b in enumerate(sens.injection_bus_ids)}
    row = {int(b): i for i, b in enumerate(forecast.bus_ids)}
    moves = {
        b
        for b in row
        if b in mon
        and b in inj
        and sens.dvm_dp_pu_per_mw[mon[b], inj[b]] > _MIN_SENSITIVITY_PU_PER_MW
    }
    range_at = _range_at(register)
    out: list[VoltageProblem] = []
    for area in grid.areas.dso_areas:
        operator = register.area(area.id).operator_id
        for direction, deficit in ((Direction.DOWN, over), (Direction.UP, under)):
            hit = [b for b in sorted(area.bus_ids & moves) if deficit[row[b]].max() > 0]
            for group in connected_groups(grid.net, hit):
                buses = sorted(group)
                d = deficit[[row[b] for b in buses]]
                weight = np.array([range_at.get(b, 0.0) for b in buses])
                block = sens.dvm_dp_pu_per_mw[
                    np.ix_([mon[b] for b in buses], [inj[b] for b in buses])
                ]
                mw = _quantity_mw(d, block, weight)
                total = float(weight.sum())
                out.append(
                    VoltageProblem(
                        area_id=area.id,
                        operator_id=operator,
                        direction=direction,
                        bus_ids=group,
                        deficit_pu=d.max(axis=0),
                        quantity_mw=mw,
                        flexible_range_mw=total,
                        reachable=total > 0 and total >= reach_factor * float(mw.max()),
                    )
                )
    return tuple(out)


def dso_voltage_needs(  # noqa: PLR0913 - public: the grid, then the rule and the need's terms
    grid: GridModel,
    register: Register,
    forecast: OperatingForecast,
    *,
    created: datetime,
    margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU,
    reach_factor: float = REACH_FACTOR,
    min_need_mw: float = MIN_NEED_MW,
    price_cap_eur_per_mwh: float = 400.0,
) -> list[Need]:
    """One need per reachable forecast voltage problem (:func:`voltage_problems`) of at least
    ``min_need_mw`` at its worst MTU: its MW per MTU, at its buses, in the direction that
    relieves it, bought by the area's operator, named ``n-dso-voltage-<area>-<up|down>-<k>``.

    Raises:
        InvalidInputError: ``margin_pu``, ``reach_factor`` or ``min_need_mw`` negative or not
            finite.

    Example (SimBench's 2034 rural MV grid on a June day: PV lifts three feeder ends over
    1.055 pu around noon):
        >>> from datetime import UTC, date, datetime
        >>> from flexcoord.domain import market_time_units
        >>> from flexcoord.grid.forecast import forecast_from_profiles
        >>> from flexcoord.grid.model import load_grid
        >>> from flexcoord.grid.portfolio import build_portfolio
        >>> from flexcoord.simulation.scenario import profile_step_of
        >>> grid = load_grid("1-MV-rural--2-sw")
        >>> day = forecast_from_profiles(grid, start_step=profile_step_of(date(2016, 6, 1)),
        ...     intervals=market_time_units(date(2026, 6, 1)),
        ...     issued_at=datetime(2026, 5, 31, 12, tzinfo=UTC))
        >>> needs = dso_voltage_needs(grid, build_portfolio(grid), day,
        ...     created=datetime(2026, 5, 31, 11, tzinfo=UTC), margin_pu=0.0)
        >>> for n in needs:
        ...     print(n.id, n.buyer_id, min(n.location.bus_ids), round(n.total_quantity / 4, 2))
        n-dso-voltage-MV1.101-down-1 dso 14 1.18
        n-dso-voltage-MV1.101-down-2 dso 44 0.08
        n-dso-voltage-MV1.101-down-3 dso 60 0.05
    """
    _check(("min_need_mw", min_need_mw))
    problems = voltage_problems(
        grid, register, forecast, margin_pu=margin_pu, reach_factor=reach_factor
    )
    needs: list[Need] = []
    count: dict[tuple[str, Direction], int] = {}
    for p in problems:
        if not p.reachable or float(p.quantity_mw.max()) < min_need_mw:
            continue
        k = count[p.area_id, p.direction] = count.get((p.area_id, p.direction), 0) + 1
        needs.append(
            make_need(
                f"n-dso-voltage-{p.area_id}-{p.direction}-{k}",
                p.operator_id,
                Location.at_buses(p.bus_ids),
                p.direction,
                forecast.intervals,
                p.quantity_mw,
                price_cap_eur_per_mwh,
                created,
            )
        )
    return needs
