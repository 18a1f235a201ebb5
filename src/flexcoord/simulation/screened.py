"""A coordination scenario on a grid too large for a dense PTDF: screened grid constraints.

:func:`screened_scenario` turns a register, needs and bids on a large grid (SimBench's national
``1-EHVHVMVLV-mixed-all-0-sw``) into the :class:`~flexcoord.coordination.inputs.CoordinationInput`
every scheme runs on, without the grid's dense PTDF or voltage sensitivities:

- the base case is an AC power flow of every MTU with pandapower (the grid's voltage-controlled
  plants, which power-grid-model cannot model), its thermal-equivalent flows of every branch the
  scenario's forecast (no voltages);
- the monitored branches are those the bids can load to their limit
  (:func:`~flexcoord.clearing.grid_constraints.screened_grid_constraints`, with the bids' largest
  joint move per bus, :func:`bid_flex_per_bus`), carried as ``CoordinationInput.screened``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.grid_constraints import screened_grid_constraints
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.domain import Bid, Interval, Need, Register
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.screening import BranchScreening
from flexcoord.grid.sensitivities import branch_names

__all__ = ["bid_flex_per_bus", "screened_scenario"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def bid_flex_per_bus(register: Register, bids: Sequence[Bid]) -> tuple[IntArray, FloatArray]:
    """Per bus with bids (sorted), the most MW its bids move together in one direction and MTU:
    the ``flex_mw`` of the screening."""
    bus_of = {u.id: register.connection_point(u.connection_point_id).bus for u in register.units}
    total: dict[tuple[int, str, datetime], float] = {}
    for b in bids:
        bus = bus_of[b.resource_id]
        for q in b.quantities:
            key = (bus, str(b.direction), q.interval.start)
            total[key] = total.get(key, 0.0) + float(q.quantity)
    per_bus: dict[int, float] = {}
    for (bus, _, _), v in total.items():
        per_bus[bus] = max(per_bus.get(bus, 0.0), v)
    buses = np.array(sorted(per_bus), dtype=np.int64)
    return buses, np.array([per_bus[int(b)] for b in buses], dtype=float)


def screened_scenario(  # noqa: PLR0913 - public: the market's parts, then keyword options
    name: str,
    grid: Any,
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid],
    intervals: Sequence[Interval],
    *,
    profile_start_step: int | None,
    issued_at: datetime,
    threshold: float = 1.0,
    safety_margin: float = 0.0,
    ac_model: Any = None,
) -> tuple[CoordinationInput, BranchScreening]:
    """The scenario of ``register``, ``needs`` and ``bids`` on ``grid`` over screened
    constraints (module docstring), and its screening.

    Args:
        name: the scenario's name.
        grid: a :class:`~flexcoord.grid.model.GridModel`.
        register, needs, bids: the market.
        intervals: its MTUs (contiguous quarter-hours from ``profile_start_step``).
        profile_start_step: SimBench step of the first MTU (``None``: the loaded snapshot).
        issued_at: when the base case (the forecast) was made.
        threshold: share of the margined limit a branch must be able to reach to be monitored.
        safety_margin: the scenario's safety margin (the screening's too).
        ac_model: a :class:`~flexcoord.grid.ac_pandapower.PandapowerAc` of ``grid`` to reuse.
    """
    intervals = tuple(intervals)
    buses, flex = bid_flex_per_bus(register, bids)
    gc, screening, base = screened_grid_constraints(
        grid,
        intervals=intervals,
        profile_start_step=profile_start_step,
        flex_bus_ids=buses,
        flex_mw=flex,
        threshold=threshold,
        safety_margin=safety_margin,
        ac_model=ac_model,
    )
    forecast = OperatingForecast(
        intervals=intervals,
        branch_names=branch_names(grid.net),
        branch_flow_mw=base,
        bus_ids=np.zeros(0, dtype=np.int64),
        vm_pu=np.zeros((0, len(intervals))),
        issued_at=issued_at,
        label="AC base case (pandapower)",
    )
    scenario = CoordinationInput(
        name=name,
        grid=grid,
        register=register,
        needs=tuple(needs),
        bids=tuple(bids),
        intervals=intervals,
        forecast=forecast,
        safety_margin=safety_margin,
        profile_start_step=profile_start_step,
        screened=gc,
    )
    return scenario, screening
