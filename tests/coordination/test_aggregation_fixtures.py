"""Shared helpers of the aggregation tests: hand-built models, registers, bids, a SimBench case.

Imported by the other ``test_aggregation_*`` modules; holds no tests itself.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import numpy as np

from flexcoord.coordination.aggregation import DsoLinearModel
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    FlexibilityServiceProvider,
    GridArea,
    Register,
    SystemOperator,
    Unit,
)
from tests.conftest import MV_RURAL

T0 = datetime(2026, 6, 1, 10, tzinfo=UTC)
MTU = {"start": T0, "end": T0.replace(minute=15)}


def lossless_model(
    *, s_max_mva: float, n_cuts: int = 64, safety_margin: float = 0.0
) -> DsoLinearModel:
    """Two area buses (1, 2); one branch carries bus 1's injection only (P and Q), no losses."""
    zeros = np.zeros((2, 2))
    row = np.array([[1.0, 0.0]])
    return DsoLinearModel(
        area_id="dso-a",
        coupling_point_ids=("trafo:0",),
        bus_ids=np.array([1, 2], dtype=np.int64),
        branch_names=("line:0",),
        p_from_mw=np.zeros(1),
        q_from_mvar=np.zeros(1),
        s_max_mva=np.array([s_max_mva]),
        dp_from_dp=row,
        dp_from_dq=np.zeros((1, 2)),
        dq_from_dp=np.zeros((1, 2)),
        dq_from_dq=row,
        vm_pu=np.ones(2),
        vm_min_pu=np.full(2, 0.9),
        vm_max_pu=np.full(2, 1.1),
        dvm_dp_pu_per_mw=zeros,
        dvm_dq_pu_per_mvar=zeros,
        interface_p_mw=0.0,
        interface_q_mvar=0.0,
        interface_dp_dp=-np.ones(2),
        interface_dp_dq=np.zeros(2),
        interface_dq_dp=np.zeros(2),
        interface_dq_dq=-np.ones(2),
        safety_margin=safety_margin,
        n_cuts=n_cuts,
    )


def register_for(units: list[dict[str, Any]]) -> Register:
    """A register with one DSO area holding the given units (each dict: id, bus, p/q ranges)."""
    buses = sorted({int(u["bus"]) for u in units})
    return Register(
        operators=(SystemOperator(id="dso", name="DSO", role="dso"),),
        areas=(
            GridArea(
                id="dso-a", operator_id="dso", bus_ids=set(buses), coupling_point_ids={"trafo:0"}
            ),
        ),
        fsps=(FlexibilityServiceProvider(id="f", name="F"),),
        connection_points=tuple(
            ConnectionPoint(id=f"cp{b}", bus=b, area_id="dso-a", coupling_point_id="trafo:0")
            for b in buses
        ),
        units=tuple(
            Unit(
                id=u["id"],
                fsp_id="f",
                connection_point_id=f"cp{u['bus']}",
                technology=u.get("technology", "generic_generator"),
                p_min_mw=u.get("p_min_mw", 0.0),
                p_max_mw=u["p_max_mw"],
            )
            for u in units
        ),
    )


def bid(bid_id: str, unit: str, quantity: float, price: float, **kw: Any) -> Bid:
    """A one-MTU bid (UP unless ``direction`` given)."""
    return Bid(
        id=bid_id,
        fsp_id=kw.pop("fsp_id", "f"),
        resource_id=unit,
        product_id="p",
        direction=kw.pop("direction", "up"),
        quantities=({**MTU, "quantity": quantity},),  # type: ignore[arg-type]
        submitted_at=T0.replace(hour=8),
        activation_price_eur_per_mwh=price,
        **kw,
    )


@functools.cache
def mv_rural_case() -> tuple[Any, Any, Any, Any]:
    """1-MV-rural with 10 batteries and 40 EV chargers: grid, register, model, units."""
    from flexcoord.coordination.aggregation import build_dso_model, flexible_units
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio

    grid = load_grid(MV_RURAL)
    register = build_portfolio(grid, additions=ScenarioAdditions(batteries=10, ev_chargers=40))
    model = build_dso_model(grid)
    units = flexible_units(grid, register, model.area_id)
    return grid, register, model, units
