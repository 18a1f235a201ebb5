"""Shared helpers of the MW Dispatch / primacy tests: an exporting variant of the two-level grid
and hand-made conflicts on it. Holds no tests itself.

The grid (:func:`export_grid`) is :func:`~tests.coordination.schemes_fixtures.two_level_net` with
the 110 kV wind farm at 20 MW (25 MVA): the transmission line then carries the area's surplus
from ``hv1`` towards the external grid, so turning distribution generation **down** relieves it
(the constraint MW Dispatch manages). Feeder 0 (area ``dso-1``) still imports (its loads exceed its
PV), so turning its PV down loads its first line more.

:func:`conflict_scenario` keeps the register, MTUs and base case of a seeded scenario on that grid
and replaces its needs, bids and limits with the ones a test names (bids in the first MTU): the
TSO line limited below its flow, optionally the first line of feeder 0 limited near its flow.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from flexcoord.coordination import CoordinationInput, JointModel
from flexcoord.domain import Bid, Direction, Location, MtuQuantity, Need
from flexcoord.grid.model import GridModel
from flexcoord.grid.portfolio import ScenarioAdditions
from flexcoord.simulation.scenario import build_coordination_scenario
from tests.coordination.schemes_fixtures import TSO_LINE, two_level_net

FEEDER0_HEAD = "line:1"  # first line of feeder 0 (area dso-1), which imports
PV_DSO2 = "sgen:4"  # PV at mv1-1 (area dso-2, bus 7), 1.2 MW in the base case
PV_DSO2_OTHER = "sgen:6"  # PV at mv1-3 (area dso-2, bus 9), 0.8 MW
PV_DSO1 = "sgen:2"  # PV at mv0-2 (area dso-1, bus 4), 1.0 MW


def export_net() -> Any:
    """The two-level network with a 20 MW wind farm at ``hv1`` (a new net on every call)."""
    net = two_level_net()
    wind = net.sgen.index[net.sgen.name == "hv-wind"][0]
    net.sgen.loc[wind, ["p_mw", "sn_mva"]] = [20.0, 25.0]
    return net


@functools.cache
def export_grid() -> GridModel:
    """The exporting two-level grid, built once per session (read-only)."""
    return GridModel(export_net(), code="two-level-export")


@functools.cache
def export_scenario(seed: int = 0, *, n_bids: int = 40, n_mtu: int = 4) -> CoordinationInput:
    """A seeded snapshot scenario on :func:`export_grid` (generated needs and bids)."""
    return build_coordination_scenario(
        export_grid(),
        profile_day=None,
        n_mtu=n_mtu,
        n_bids=n_bids,
        seed=seed,
        n_tso=1,
        n_dso=1,
        tso_tightening=0.9,
        dso_tightening=0.8,
        focus_share=0.3,
        tso_need_mw=0.0,
        max_bid_mw=1.0,
        additions=ScenarioAdditions(batteries=2, ev_chargers=6, heat_pumps=4, seed=seed),
    )


def base_flow_mw(scenario: CoordinationInput, branch: str) -> float:
    """The branch's linear base-case flow (MW) in the scenario's first MTU."""
    gc = JointModel.of(scenario).views.constraints(("tso", "dso-1", "dso-2"))
    return float(gc.base_flow_mw[list(gc.branch_names).index(branch), 0])


def bid(bid_id: str, resource_id: str, direction: Direction, mw: float, price: float) -> Bid:
    """A divisible one-MTU bid on ``resource_id`` in the first MTU of :func:`export_scenario`."""
    s = export_scenario()
    unit = s.register.units_of(resource_id)[0]
    return Bid(
        id=bid_id,
        fsp_id=unit.fsp_id,
        resource_id=resource_id,
        product_id=s.bids[0].product_id,
        direction=direction,
        quantities=(MtuQuantity(interval=s.intervals[0], quantity=mw),),
        submitted_at=s.bids[0].submitted_at,
        activation_price_eur_per_mwh=price,
    )


def dso_need(bus_ids: tuple[int, ...], direction: Direction, mw: float) -> Need:
    """A DSO need at ``bus_ids`` in the first MTU (price cap 400 €/MWh)."""
    s = export_scenario()
    return Need(
        id="n-dso",
        buyer_id="dso",
        product_id=s.bids[0].product_id,
        location=Location.at_buses(list(bus_ids)),
        direction=direction,
        quantities=(MtuQuantity(interval=s.intervals[0], quantity=mw),),
        created_at=s.needs[0].created_at,
        activation_price_cap_eur_per_mwh=400.0,
    )


def conflict_scenario(
    bids: tuple[Bid, ...],
    needs: tuple[Need, ...] = (),
    *,
    tso_relief_mw: float = 0.5,
    feeder0_headroom_mw: float | None = None,
) -> CoordinationInput:
    """:func:`export_scenario` with only ``bids`` and ``needs``, the TSO line's limit
    ``tso_relief_mw`` below its flow and, with ``feeder0_headroom_mw``, feeder 0's head line
    limited that much above its flow (every other limit the grid's own)."""
    s = export_scenario()
    limits = {TSO_LINE: abs(base_flow_mw(s, TSO_LINE)) - tso_relief_mw}
    if feeder0_headroom_mw is not None:
        limits[FEEDER0_HEAD] = abs(base_flow_mw(s, FEEDER0_HEAD)) + feeder0_headroom_mw
    return dataclasses.replace(
        s,
        name="mw-dispatch-conflict",
        needs=needs,
        bids=bids,
        limit_overrides_mw=limits,
    )
