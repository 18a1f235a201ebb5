"""SimBench integration: domain market → PTDF + voltage clearing → AC check with re-clearing.

Shows that every accepted award leaves no AC violation after the re-clearing option (residual AC
violations are only those of the base case, no larger than there), and records the linearisation
error before re-clearing (printed; run with ``-s`` to see it).
"""

from __future__ import annotations

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, nodal_injections
from flexcoord.clearing.ac import PgmAcCheck, ac_check
from flexcoord.clearing.grid_constraints import grid_constraints
from flexcoord.clearing.market import build_problem, clear
from flexcoord.grid.model import load_grid
from tests.clearing.simbench_market import simbench_market

pytestmark = pytest.mark.slow

CASES = {
    # MV rural: bus voltage limits of the grid (1.055 pu at MV), so the base case already
    # touches the upper band in places: priced residuals and redispatch.
    "1-MV-rural--0-sw": dict(dso_need_mw=12.0, tso_need_mw=12.0, vm_max_pu=None),
    # HV/MV: the MV areas run at 1.07-1.08 pu in the profiles; checked against the EN 50160
    # +10 % band, so the awards (not the base case) push voltages to the limit.
    "1-HVMV-mixed-all-0-sw": dict(dso_need_mw=10.0, tso_need_mw=10.0, vm_max_pu=1.10),
}


def _violations(flow, vm, gc):  # type: ignore[no-untyped-def]
    lim = (1.0 - gc.safety_margin) * gc.limit_mw
    br = np.clip(np.abs(flow) - lim[:, None], 0.0, None)
    vv = np.clip(np.maximum(vm - gc.vm_max_pu[:, None], gc.vm_min_pu[:, None] - vm), 0.0, None)
    return br, vv


@pytest.mark.parametrize("code", sorted(CASES))
def test_awards_leave_no_ac_violation_after_reclearing(code: str) -> None:
    case = CASES[code]
    grid = load_grid(code)
    market = simbench_market(grid, dso_need_mw=case["dso_need_mw"], tso_need_mw=case["tso_need_mw"])
    gc = grid_constraints(
        grid,
        intervals=market.intervals,
        profile_start_step=market.profile_start_step,
        areas=market.areas,
        vm_max_pu=case["vm_max_pu"],
    )
    ac = PgmAcCheck(grid, gc)
    first = clear(market.register, market.needs, market.bids, gc, ClearingOptions(), ac_checker=ac)
    result = clear(
        market.register,
        market.needs,
        market.bids,
        gc,
        ClearingOptions(ac_max_iterations=5),
        ac_checker=ac,
    )
    assert first.ac is not None and result.ac is not None
    print(
        f"\n{code}: {len(market.bids)} bids, {len(result.awards())} awards, "
        f"{len(result.binding)} binding; linearisation error before re-clearing "
        f"{first.ac.linearisation_error_flow_mw:.4f} MW / "
        f"{first.ac.linearisation_error_vm_pu:.5f} pu"
        f" ({len(first.ac.violations)} new AC violations); after {result.ac.iterations} "
        f"re-clearings {result.ac.linearisation_error_flow_mw:.4f} MW / "
        f"{result.ac.linearisation_error_vm_pu:.6f} pu, converged {result.ac.converged}"
    )
    # the congestion is real: some grid limit binds
    assert result.binding
    # the error before re-clearing is reported and is the first clearing's
    assert result.ac.initial_linearisation_error_flow_mw == pytest.approx(
        first.ac.linearisation_error_flow_mw
    )
    assert first.ac.linearisation_error_flow_mw > 0
    assert result.ac.converged, result.ac.violations[:5]
    # independent AC check: the awards add no violation to the base case
    problem, grid_map = build_problem(market.register, market.needs, market.bids, gc)
    checker = ac.checker_for(problem, grid_map)
    zero = np.zeros((problem.n_bus, problem.n_mtu))
    base = checker.check(zero, zero)
    p_mw, q_mvar = nodal_injections(result.problem, result.slot_accepted_mw)
    after = checker.check(p_mw, q_mvar)
    br0, vv0 = _violations(base.branch_flow_mw, base.vm_pu, gc)
    br1, vv1 = _violations(after.branch_flow_mw, after.vm_pu, gc)
    assert np.all(br1 <= br0 + 1e-3), np.max(br1 - br0)
    assert np.all(vv1 <= vv0 + 1e-4), np.max(vv1 - vv0)
    # and the needs are served within the grid (shortfalls carry a reason)
    assert result.need_covered_mw.sum() > 0
    assert all(c.shortfall_reason for c in result.coverage() if c.shortfall_mw > 0)


def test_the_pandapower_ac_check_reclears_as_the_pgm_one() -> None:
    # the engine for grids with voltage-controlled plants, on a grid both engines model: the
    # same AC loop (violations, re-clearings, linearisation errors) and the same awards
    grid = load_grid("1-MV-rural--0-sw")
    market = simbench_market(grid, dso_need_mw=12.0, tso_need_mw=12.0)
    gc = grid_constraints(
        grid,
        intervals=market.intervals,
        profile_start_step=market.profile_start_step,
        areas=market.areas,
    )
    options = ClearingOptions(ac_max_iterations=3)
    runs = {
        engine: clear(
            market.register,
            market.needs,
            market.bids,
            gc,
            options,
            ac_checker=ac_check(grid, gc, engine=engine),
        )
        for engine in ("pgm", "pandapower")
    }
    pgm, pp = runs["pgm"].ac, runs["pandapower"].ac
    assert pgm is not None and pp is not None
    assert pp.iterations == pgm.iterations and pp.converged == pgm.converged
    assert pp.initial_linearisation_error_flow_mw == pytest.approx(
        pgm.initial_linearisation_error_flow_mw, abs=1e-3
    )
    assert pp.initial_linearisation_error_vm_pu == pytest.approx(
        pgm.initial_linearisation_error_vm_pu, abs=1e-5
    )
    np.testing.assert_allclose(
        runs["pandapower"].slot_accepted_mw, runs["pgm"].slot_accepted_mw, atol=1e-6
    )
