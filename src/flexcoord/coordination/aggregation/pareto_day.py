"""Industry4Redispatch over a market day: the DSO's Pareto set for the TSO, MTU by MTU.

Per MTU of the day (L1047, L2144–L2148): the area's linear model at that MTU's operating point
(:mod:`.day_models`, with the thermal safety margin and the voltage margin), the MTU's bids of one
direction (those with a quantity in it), and :func:`~.pareto.pareto_front` over them — every
XOR-free combination of the indivisible bids checked in the linear model and in AC, the front
(min cost, max power) of the linearly feasible ones, and what the margins rejected although AC
would have allowed it. :func:`pareto_day` returns one frozen :class:`MtuFront` per MTU: the
front's points (cost, power, interface delivery, bids) and the counts, not the combination
matrices (up to 65,536 × 16 per MTU).

Cost (measured, ``docs/aggregation.md`` *Over a day*, 12 bids per direction): 94 ms per MTU on
1-MV-rural, 432 ms on 1-HVMV-mixed, where the AC batch over the combinations is 90 % of it; the
linearisation is one batch per MTU (``per-mtu``) or one for the day plus one base flow per MTU
(``shared``, the default).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flexcoord.coordination.aggregation.bid_columns import bid_columns
from flexcoord.coordination.aggregation.day_models import Linearisation, day_models
from flexcoord.coordination.aggregation.dso_model import DsoLinearModel
from flexcoord.coordination.aggregation.pareto import ParetoResult, pareto_front
from flexcoord.domain import Bid, Direction, Interval, Register
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.pgm import Injections
from flexcoord.progress import Progress, ProgressCounter

__all__ = ["FrontPoint", "MtuFront", "ParetoDay", "mtu_front", "pareto_day"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FrontPoint:
    """One Pareto-optimal combination the DSO forwards to the TSO.

    Attributes:
        cost_eur: Σ price × quantity of its bids (€ per hour of the MTU: €/MWh × MW).
        power_mw: Σ quantity of its bids, in the day's direction.
        interface_mw: What it delivers at the coupling point(s) in the linear model, losses
            included (UP: the fall of ``P_if``; DOWN: its rise).
        bid_ids: Its bids (empty for the do-nothing point).
    """

    cost_eur: float
    power_mw: float
    interface_mw: float
    bid_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MtuFront:
    """The Pareto aggregation of one MTU.

    Attributes:
        interval: The MTU.
        bid_ids: The area's bids of the direction offered in it (columns enumerated).
        n_combinations: XOR-free combinations, the empty one included.
        n_linear_feasible: Combinations feasible in the linear model with its margins.
        front: The front, by increasing power (the do-nothing point first when feasible).
        n_ac_feasible: Combinations feasible in AC (``None`` without the AC check).
        n_margin_rejected: AC-feasible ones the linear check rejected.
        n_margin_rejected_dominating: Those of them dominating a front point.
        base_interface_p_mw: ``P_if`` at the MTU's operating point (TSO → DSO positive).
        base_loading_ratio: Highest branch apparent power / its limit at the operating point
            (before the margin).
        base_vm_excess_pu: Largest voltage excursion beyond the model's band at the operating
            point (≤ 0: inside; > 0: even doing nothing violates it).
        wall_s: Time of the MTU's enumeration and checks (linear and AC).
    """

    interval: Interval
    bid_ids: tuple[str, ...]
    n_combinations: int
    n_linear_feasible: int
    front: tuple[FrontPoint, ...]
    n_ac_feasible: int | None
    n_margin_rejected: int | None
    n_margin_rejected_dominating: int | None
    base_interface_p_mw: float
    base_loading_ratio: float
    base_vm_excess_pu: float
    wall_s: float

    @property
    def front_size(self) -> int:
        """Number of front points."""
        return len(self.front)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoDay:
    """The Pareto aggregation of every MTU of a day in one DSO area.

    Attributes:
        area_id: The DSO area.
        direction: The bids' direction.
        safety_margin: Thermal margin of the linear check (fraction of each limit).
        voltage_margin_pu: Voltage margin of the linear check.
        linearisation: Where the models' sensitivities come from.
        voltages: Whether voltage limits were checked (else thermal only).
        check_ac: Whether the combinations were checked in AC.
        mtus: One result per MTU, in time order.
        linearise_s: Time of the day's linearisation (every MTU's model).
        wall_s: Time of the whole day.
        n_ac_flows: AC power flows run for the combinations (0 without the AC check).
    """

    area_id: str
    direction: Direction
    safety_margin: float
    voltage_margin_pu: float
    linearisation: Linearisation
    voltages: bool
    check_ac: bool
    mtus: tuple[MtuFront, ...]
    linearise_s: float
    wall_s: float
    n_ac_flows: int

    @property
    def seconds_per_mtu(self) -> float:
        """Wall time per MTU, the linearisation included."""
        return self.wall_s / max(len(self.mtus), 1)


def mtu_front(
    result: ParetoResult, model: DsoLinearModel, interval: Interval, *, wall_s: float = 0.0
) -> MtuFront:
    """The :class:`MtuFront` summary of one MTU's :func:`~.pareto.pareto_front` result."""
    ac = result.ac_feasible
    front = tuple(
        FrontPoint(
            cost_eur=float(result.cost_eur[i]),
            power_mw=float(result.power_mw[i]),
            interface_mw=float(result.interface_mw[i]),
            bid_ids=tuple(
                b for b, on in zip(result.bid_ids, result.accepted[i], strict=True) if on
            ),
        )
        for i in result.front
    )
    loading = np.hypot(model.p_from_mw, model.q_from_mvar) / model.s_max_mva
    vm_excess = np.maximum(model.vm_pu - model.vm_max_pu, model.vm_min_pu - model.vm_pu)
    return MtuFront(
        interval=interval,
        bid_ids=result.bid_ids,
        n_combinations=len(result.accepted),
        n_linear_feasible=int(result.linear_feasible.sum()),
        front=front,
        n_ac_feasible=None if ac is None else int(ac.sum()),
        n_margin_rejected=None if ac is None else len(result.margin_rejected),
        n_margin_rejected_dominating=None if ac is None else result.n_margin_rejected_dominating,
        base_interface_p_mw=model.interface_p_mw,
        base_loading_ratio=float(loading.max()) if loading.size else 0.0,
        base_vm_excess_pu=float(vm_excess.max()),
        wall_s=wall_s,
    )


def pareto_day(  # noqa: PLR0913 - public: grid, bids, register, then keyword-only study options
    grid: Any,
    bids: Sequence[Bid],
    register: Register,
    *,
    intervals: Sequence[Interval],
    operating_points: Injections,
    area_id: str | None = None,
    direction: Direction = Direction.UP,
    safety_margin: float = 0.1,
    voltage_margin_pu: float = 0.004,
    linearisation: Linearisation = Linearisation.SHARED,
    voltages: bool = True,
    check_ac: bool = True,
    progress: Progress | None = None,
) -> ParetoDay:
    """The Pareto front of the area's indivisible bids in every MTU of ``intervals``.

    Args:
        grid: A :class:`~flexcoord.grid.model.GridModel` (not modified).
        bids: Candidate bids; per MTU those of ``direction`` in the area with a quantity in it
            are enumerated (at most 16 per MTU).
        register: Resolves bids to units and buses.
        intervals: The MTUs, in time order.
        operating_points: One scenario per MTU: the base case each MTU is linearised at and
            AC-checked from (e.g. :func:`~flexcoord.grid.forecast.profile_operating_points`,
            plus the industrial schedules).
        area_id: The DSO area (``None``: the one with most buses).
        direction: Which bids to combine.
        safety_margin: Fraction of each branch limit the linear check keeps free.
        voltage_margin_pu: Kept free inside each bus's voltage band by the linear check.
        linearisation: Per-MTU or shared sensitivities (:mod:`.day_models`).
        voltages: Check voltage limits; ``False`` checks thermal limits only, in the linear
            model and in AC (:meth:`~.dso_model.DsoLinearModel.thermal_only`: SimBench HV/MV's
            MV areas start above their band).
        check_ac: Run the AC batches (needed for the AC and margin-rejected counts).
        progress: Called before the linearisation and before each MTU
            (:class:`~flexcoord.progress.ProgressEvent` stages ``"linearise"``, ``"mtu"``).

    Raises:
        InvalidInputError: operating points not one per MTU, or more than 16 bids in an MTU.
        NotFoundError: unknown ``area_id``.
        GridError: a power flow does not converge.

    Example:
        >>> from datetime import date
        >>> from flexcoord.domain import market_time_units
        >>> from flexcoord.grid.forecast import profile_operating_points
        >>> from flexcoord.grid.model import load_grid
        >>> from flexcoord.grid.portfolio import build_portfolio
        >>> from flexcoord.simulation.industry import industrial_case
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> mtus = market_time_units(date(2026, 6, 2))[48:50]
        >>> base = profile_operating_points(grid, start_step=96 * 152 + 48, steps=2)
        >>> case = industrial_case(grid, build_portfolio(grid), intervals=mtus, base_points=base,
        ...                        n_bids=6)
        >>> day = pareto_day(grid, case.bids, case.register, intervals=mtus,
        ...                  operating_points=case.operating_points)
        >>> len(day.mtus), day.mtus[0].front[0].bid_ids, day.mtus[0].front_size > 1
        (2, (), True)
    """
    started = time.perf_counter()
    intervals = tuple(intervals)
    if not intervals or operating_points.n_scenarios != len(intervals):
        raise InvalidInputError(
            [
                Issue(
                    kind="ParetoDay",
                    object_id=area_id or "area",
                    field="operating_points",
                    value=operating_points.n_scenarios,
                    message=f"must hold one scenario per MTU ({len(intervals)} MTUs, at least 1)",
                )
            ]
        )
    counter = ProgressCounter(progress, total=len(intervals) + 1)
    counter.step("linearise", f"linearising {len(intervals)} MTUs ({linearisation})")
    models = day_models(
        grid,
        area_id,
        operating_points,
        linearisation=linearisation,
        safety_margin=safety_margin,
        voltage_margin_pu=voltage_margin_pu,
    )
    if not voltages:
        models = tuple(m.thermal_only() for m in models)
    linearise_s = time.perf_counter() - started
    results: list[MtuFront] = []
    n_flows = 0
    for model, interval in zip(models, intervals, strict=True):
        counter.step("mtu", f"MTU {interval.start:%H:%M}")
        t0 = time.perf_counter()
        offered = bid_columns(model, bids, register, at=interval.start, direction=direction).bids
        result = pareto_front(model, offered, register, at=interval.start, check_ac=check_ac)
        results.append(mtu_front(result, model, interval, wall_s=time.perf_counter() - t0))
        n_flows += len(result.accepted) if check_ac else 0
    return ParetoDay(
        area_id=models[0].area_id,
        direction=direction,
        safety_margin=safety_margin,
        voltage_margin_pu=voltage_margin_pu,
        linearisation=linearisation,
        voltages=voltages,
        check_ac=check_ac,
        mtus=tuple(results),
        linearise_s=linearise_s,
        wall_s=time.perf_counter() - started,
        n_ac_flows=n_flows,
    )
