"""Shared helpers of the coordination-scheme tests: a small two-level grid and its scenarios.

Imported by ``test_schemes``, ``test_conflicts`` and ``test_presets``; holds no tests itself.

The grid (:func:`two_level_net`): two 110 kV buses joined by one 110 kV line, the external grid on
the first; on the second a 110 kV generator and load (so the TSO area has units of its own) and
two 110/20 kV transformers, each feeding a radial 20 kV feeder of three buses with loads and
generators. The TSO area is the two 110 kV buses; each feeder is a DSO area (one DSO runs both).
In the snapshot base case the 110 kV line carries ~25 MW from the external grid and the first
line of feeder 0 ~9 MW: :func:`two_level_scenario` tightens both, so both grids are congested.
"""

from __future__ import annotations

import functools
from typing import Any

from flexcoord.coordination import (
    PRESETS,
    CoordinationInput,
    JointModel,
    SchemeOutcome,
    run_scheme,
)
from flexcoord.grid.model import GridModel
from flexcoord.grid.portfolio import ScenarioAdditions
from flexcoord.simulation.scenario import build_coordination_scenario

TSO_LINE = "line:0"  # the 110 kV line between the two transmission buses


def two_level_net() -> Any:
    """The hand-built 110/20 kV network (a new pandapower net on every call)."""
    import pandapower as pp

    net = pp.create_empty_network()
    hv0 = pp.create_bus(net, vn_kv=110.0, name="hv0")
    hv1 = pp.create_bus(net, vn_kv=110.0, name="hv1")
    pp.create_ext_grid(net, hv0, vm_pu=1.0)
    pp.create_line(net, hv0, hv1, length_km=20.0, std_type="149-AL1/24-ST1A 110.0")
    pp.create_load(net, hv1, p_mw=6.0, q_mvar=1.0, name="hv-load")
    pp.create_sgen(net, hv1, p_mw=3.0, sn_mva=8.0, type="wind", name="hv-wind")
    loads = ((3.0, 2.5, 2.0), (1.5, 1.5, 1.0))
    sgens = ((0.4, 1.0, 0.6), (1.2, 0.5, 0.8))
    for k in range(2):
        head = pp.create_bus(net, vn_kv=20.0, name=f"mv{k}-0")
        pp.create_transformer(net, hv1, head, std_type="25 MVA 110/20 kV")
        previous = head
        for j in range(3):
            bus = pp.create_bus(net, vn_kv=20.0, name=f"mv{k}-{j + 1}")
            pp.create_line(
                net, previous, bus, length_km=2.0, std_type="NA2XS2Y 1x240 RM/25 12/20 kV"
            )
            pp.create_load(net, bus, p_mw=loads[k][j], q_mvar=0.2 * loads[k][j])
            pp.create_sgen(net, bus, p_mw=sgens[k][j], sn_mva=2.0 * sgens[k][j], type="PV")
            previous = bus
    return net


@functools.cache
def two_level_grid() -> GridModel:
    """The two-level grid, built once per test session (read-only: never modify its net)."""
    return GridModel(two_level_net(), code="two-level")


@functools.cache
def two_level_scenario(
    seed: int = 0,
    *,
    n_mtu: int = 4,
    n_bids: int = 24,
    tso_need_mw: float = 2.0,
    tso_tightening: float = 0.9,
    dso_tightening: float = 0.8,
    indivisible_share: float = 0.0,
    max_bid_mw: float = 1.5,
) -> CoordinationInput:
    """A snapshot scenario on :func:`two_level_grid` with congestion on the 110 kV line and on
    one MV feeder line, divisible bids by default (cached: scenarios are frozen values)."""
    return build_coordination_scenario(
        two_level_grid(),
        profile_day=None,
        n_mtu=n_mtu,
        n_bids=n_bids,
        seed=seed,
        n_tso=1,
        n_dso=1,
        tso_tightening=tso_tightening,
        dso_tightening=dso_tightening,
        focus_share=0.3,
        tso_need_mw=tso_need_mw,
        max_bid_mw=max_bid_mw,
        indivisible_share=indivisible_share,
        additions=ScenarioAdditions(batteries=2, ev_chargers=6, heat_pumps=4, seed=seed),
    )


@functools.cache
def scheme_outcomes(seed: int, **scenario_kw: Any) -> dict[str, SchemeOutcome]:
    """Every preset run on ``two_level_scenario(seed, **scenario_kw)`` with one joint model
    (cached, so several properties check the same runs)."""
    scenario = two_level_scenario(seed, **scenario_kw)
    joint = JointModel.of(scenario)
    return {config.id: run_scheme(config, scenario, joint=joint) for config in PRESETS}
