"""The power-grid-model AC checker of a cleared dispatch (:mod:`flexcoord.clearing.ac`): the sign
of the thermal-equivalent flow on branches open at one end."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandapower as pp
import pytest

from flexcoord.clearing.ac import PgmAcCheck
from flexcoord.clearing.grid_constraints import grid_constraints
from flexcoord.clearing.market import build_problem
from flexcoord.grid.model import GridModel
from flexcoord.grid.portfolio import ScenarioAdditions
from flexcoord.grid.thermal import NO_FLOW_MW, flow_sign
from flexcoord.simulation.scenario import build_coordination_scenario

OPEN_AT_TO = "line:2"  # lossless cable 0 → 2, its switch at bus 2 open
OPEN_AT_FROM = "line:3"  # lossless cable 2 → 0, its switch at bus 2 (its from end) open


def _net_with_open_cables() -> Any:
    """A 20 kV feeder (ext grid at bus 0, lines 0–1 and 1–2, load and PV) plus two long lossless
    cables between buses 0 and 2, each open at bus 2: they carry charging current only, and
    power-grid-model leaves their active power at zero (or ±1e-13 MW) at both ends."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0, name=f"b{i}") for i in range(3)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    for f, t in ((0, 1), (1, 2)):
        pp.create_line_from_parameters(
            net, b[f], b[t], length_km=2.0, r_ohm_per_km=0.2, x_ohm_per_km=0.35,
            c_nf_per_km=10.0, max_i_ka=0.2,
        )  # fmt: skip
    for f, t in ((0, 2), (2, 0)):
        line = pp.create_line_from_parameters(
            net, b[f], b[t], length_km=20.0, r_ohm_per_km=0.0, x_ohm_per_km=0.1,
            c_nf_per_km=500.0, max_i_ka=0.2,
        )  # fmt: skip
        pp.create_switch(net, b[2], line, et="l", closed=False)
    pp.create_load(net, b[2], p_mw=3.0, q_mvar=1.0)
    pp.create_sgen(net, b[1], p_mw=1.0, sn_mva=2.0, type="PV")
    return net


def test_flow_sign_reads_the_larger_end_and_calls_no_flow_positive() -> None:
    p_from = np.array([2.0, -1.9, 1e-3, 1e-13, -1e-13, 0.0, 0.5 * NO_FLOW_MW])
    p_to = np.array([-1.9, 2.0, 5e-3, 0.0, 0.0, 0.0, -0.2 * NO_FLOW_MW])
    assert flow_sign(p_from, p_to).tolist() == [1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]


def test_branches_open_at_one_end_carry_their_current_with_a_fixed_sign() -> None:
    net = _net_with_open_cables()
    grid = GridModel(net, code="open-cables")
    scenario = build_coordination_scenario(
        grid,
        profile_day=None,
        n_mtu=2,
        n_bids=6,
        n_tso=0,
        n_dso=0,
        additions=ScenarioAdditions(batteries=1, ev_chargers=0, heat_pumps=0),
    )
    gc = grid_constraints(grid, intervals=scenario.intervals, voltages=False)
    problem, grid_map = build_problem(scenario.register, scenario.needs, scenario.bids, gc)
    checker = PgmAcCheck(grid, gc).checker_for(problem, grid_map)
    rows = [problem.branch_names.index(n) for n in (OPEN_AT_TO, OPEN_AT_FROM)]
    zero = np.zeros((problem.n_bus, problem.n_mtu))
    base = checker.check(zero, zero).branch_flow_mw[rows]

    # independent: pandapower's current-based loading of the same operating point
    ref = copy.deepcopy(net)
    pp.runpp(ref, calculate_voltage_angles=True, tolerance_mva=1e-9)
    assert ref.res_line.p_from_mw.iloc[2:].abs().max() < NO_FLOW_MW  # no active power at all
    rating_mw = np.sqrt(3.0) * 20.0 * 0.2
    expected = ref.res_line.loading_percent.iloc[2:].to_numpy() / 100.0 * rating_mw
    assert expected.min() > 0.5  # a real current (charging), well above the noise
    # positive (from → to) in every MTU, not sign(0) = 0 nor the sign of numerical noise
    assert base == pytest.approx(np.repeat(expected[:, None], problem.n_mtu, axis=1), rel=1e-3)

    # a dispatch moves the feeder's flows, not the sign of the open cables
    p = zero.copy()
    p[0] = 1.5  # at the first bus a bid sits on
    flows = checker.check(p, zero).branch_flow_mw
    assert not np.allclose(flows[:2], checker.check(zero, zero).branch_flow_mw[:2])
    assert (flows[rows] > 0.5).all() and flows[rows] == pytest.approx(base, rel=1e-2)
