"""The screening of monitored branches: lazily solved PTDF rows equal the full PTDF's, the radial
shortcut equals the solved swing, and a branch the screening picks is one the clearing binds."""

from __future__ import annotations

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, nodal_injections
from flexcoord.clearing.grid_constraints import screened_grid_constraints
from flexcoord.clearing.market import build_problem, clear
from flexcoord.errors import InvalidInputError
from flexcoord.grid.model import load_grid
from flexcoord.grid.screening import iter_ptdf_rows, screen_branches, screening_error
from flexcoord.grid.sensitivities import compute_ptdf
from tests.clearing.simbench_market import simbench_market

pytestmark = pytest.mark.slow  # loads SimBench grids


@pytest.mark.parametrize("code", ["1-MV-rural--0-sw", "1-HV-mixed--0-sw"])
def test_lazy_rows_and_swing_equal_the_full_ptdf(code: str) -> None:
    # a radial MV grid (99 of 101 branches are bridges) and a meshed HV grid (30 of 101)
    net = load_grid(code).net
    full = compute_ptdf(net)
    rows = np.vstack([r for _, r in iter_ptdf_rows(net, chunk=7)])  # chunks that do not divide
    np.testing.assert_array_equal(rows, full.matrix)
    flex = np.random.default_rng(1).uniform(0.0, 1.0, len(full.bus_ids))
    n = len(full.branch_names)
    limit = np.random.default_rng(2).uniform(5.0, 40.0, n)
    base = np.random.default_rng(3).uniform(-20.0, 20.0, (n, 2))
    screening = screen_branches(
        net, base_flow_mw=base, limit_mw=limit, flex_bus_ids=full.bus_ids, flex_mw=flex
    )
    exact_swing = np.abs(full.matrix) @ flex
    picked = np.abs(base).max(axis=1) + exact_swing >= limit
    assert 0 < picked.sum() < n  # the case screens some branches out
    assert screening.branch_names == tuple(np.array(full.branch_names)[picked])
    kept = full.rows(list(screening.branch_names))
    np.testing.assert_array_equal(screening.ptdf.matrix, full.matrix[kept])
    np.testing.assert_allclose(screening.swing_mw, exact_swing[kept], atol=1e-9)


def test_screening_rejects_mismatched_inputs() -> None:
    net = load_grid("1-MV-rural--0-sw").net
    with pytest.raises(InvalidInputError) as err:
        screen_branches(
            net,
            base_flow_mw=np.zeros((3, 1)),
            limit_mw=np.zeros(3),
            flex_bus_ids=[1, 2],
            flex_mw=[1.0, -1.0],
        )
    assert {i.field for i in err.value.issues} == {"base_flow_mw", "limit_mw", "flex_mw"}


def test_a_screened_branch_binds_and_no_unmonitored_branch_overloads() -> None:
    grid = load_grid("1-MV-rural--0-sw")
    market = simbench_market(grid, first_mtu=48, n_mtu=1, tso_need_mw=6.0, dso_need_mw=0.0)
    bus_of = {
        u.id: market.register.connection_point(u.connection_point_id).bus
        for u in market.register.units
    }
    flex: dict[int, float] = {}
    for bid in market.bids:
        bus = bus_of[bid.resource_id]
        flex[bus] = flex.get(bus, 0.0) + max(q.quantity for q in bid.quantities)
    buses = np.array(sorted(flex))
    # a margin of 95 % leaves a few MW on the feeders' first lines, which the flexibility fills
    gc, screening, base = screened_grid_constraints(
        grid,
        intervals=market.intervals,
        profile_start_step=market.profile_start_step,
        flex_bus_ids=buses,
        flex_mw=[flex[int(b)] for b in buses],
        safety_margin=0.95,
    )
    assert 0 < len(gc.branch_names) < screening.n_screened
    result = clear(market.register, market.needs, market.bids, gc, ClearingOptions())
    binding = {b.element for b in result.binding if b.kind == "branch-flow"}
    assert binding and binding <= set(gc.branch_names)
    # every branch in the DC model after the clearing: the unmonitored stay within the limit
    full = compute_ptdf(grid.net)
    limits = 0.05 * grid.branch_limits().limit_mw
    _, grid_map = build_problem(market.register, market.needs, market.bids, gc)
    p_mw, _ = nodal_injections(result.problem, result.slot_accepted_mw)
    cols = full.bus_positions(grid_map.real_bus_ids)
    flows = base + full.matrix[:, cols] @ grid_map.to_grid(p_mw)
    error = screening_error(full.branch_names, gc.branch_names, flows, limits)
    assert error.overloaded == ()
    assert error.worst_loading <= 1.0 + 1e-9
