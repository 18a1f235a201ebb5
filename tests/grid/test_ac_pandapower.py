"""The pandapower AC check (for grids with voltage-controlled plants) against power-grid-model's
on a grid both can model, and the choice between them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from flexcoord.clearing.ac import PandapowerAcCheck, PgmAcCheck, ac_check
from flexcoord.clearing.grid_constraints import grid_constraints
from flexcoord.domain import market_time_units
from flexcoord.grid.ac_batch import BusInjectionBatch
from flexcoord.grid.ac_pandapower import PandapowerAc, needs_pandapower
from flexcoord.grid.model import load_grid
from flexcoord.grid.sensitivities import branch_names

pytestmark = pytest.mark.slow  # loads SimBench grids

STEP = 96 * 150 + 44


def test_pandapower_batch_equals_power_grid_model_batch() -> None:
    grid = load_grid("1-MV-rural--0-sw")
    names = branch_names(grid.net)
    buses = [int(b) for b in grid.net.bus.index[grid.net.bus.vn_kv < 30][:12]]
    vbus = [int(b) for b in grid.net.bus.index[1:20]]
    rng = np.random.default_rng(4)
    p_mw = rng.uniform(-0.3, 0.3, (3, len(buses)))
    q_mvar = rng.uniform(-0.1, 0.1, (3, len(buses)))
    kwargs = dict(
        mtu_columns=np.array([0, 1, 3]),
        bus_ids=buses,
        branch_names=names,
        voltage_bus_ids=vbus,
        profile_start_step=STEP,
    )
    pgm_flow, pgm_vm = BusInjectionBatch(grid, **kwargs).run(p_mw, q_mvar)  # type: ignore[arg-type]
    model = PandapowerAc(grid)
    pp_flow, pp_vm = model.batch(**kwargs).run(p_mw, q_mvar)  # type: ignore[arg-type]
    np.testing.assert_allclose(pp_flow, pgm_flow, atol=1e-4)
    np.testing.assert_allclose(pp_vm, pgm_vm, atol=1e-6)
    # the copy is the model's: a second run of the base case (zero injections) is the base case
    base, _ = model.batch(**kwargs).run(np.zeros_like(p_mw), np.zeros_like(q_mvar))  # type: ignore[arg-type]
    pgm_base, _ = BusInjectionBatch(grid, **kwargs).run(np.zeros_like(p_mw), np.zeros_like(q_mvar))  # type: ignore[arg-type]
    np.testing.assert_allclose(base, pgm_base, atol=1e-4)
    assert np.abs(pp_flow - base).max() > 0.01  # the injections moved the flows


def test_ac_check_picks_pandapower_for_voltage_controlled_plants() -> None:
    mv = load_grid("1-MV-rural--0-sw")
    assert not needs_pandapower(mv.net)
    mtus = market_time_units(date(2026, 6, 1))[44:45]
    gc = grid_constraints(mv, intervals=mtus, profile_start_step=STEP, voltages=False)
    assert isinstance(ac_check(mv, gc), PgmAcCheck)
    assert isinstance(ac_check(mv, gc, engine="pandapower"), PandapowerAcCheck)
    ehv = load_grid("1-EHV-mixed--0-sw")  # 338 PV plants
    assert needs_pandapower(ehv.net)
    with pytest.raises(ValueError, match="engine"):
        ac_check(mv, gc, engine="opendss")


def test_warm_runs_reusing_pandapowers_model_equal_cold_runs_of_each_step() -> None:
    """Warm runs reuse pandapower's internal model (``recycle``) between set-point changes; each
    step's flows equal a full ``runpp`` of that step on a fresh copy, also after new injection
    buses were added (the copy's elements changed, so the internal model is rebuilt)."""
    import pandapower as pp

    grid = load_grid("1-EHV-mixed--0-sw")  # PV plants with a P profile (the gen set points)
    buses = np.sort(grid.net.bus.index.to_numpy())
    rng = np.random.default_rng(7)
    model = PandapowerAc(grid)
    moved = []
    for first in (0, 40):  # the second round adds injection generators at new buses
        sgen_idx = model.injection_elements(buses[first : first + 20])
        for step in range(STEP, STEP + 3):
            p_mw = rng.uniform(-20.0, 20.0, len(sgen_idx))
            q_mvar = rng.uniform(-5.0, 5.0, len(sgen_idx))
            model.run_step(step, sgen_idx, p_mw, q_mvar)  # warm after the round's first step
            cold = PandapowerAc(grid)
            cold.injection_elements(list(model.injection_sgen))
            cold.set_point(step, sgen_idx, p_mw, q_mvar)
            pp.runpp(cold.net, numba=True)
            for table in ("res_line", "res_trafo", "res_bus"):
                np.testing.assert_allclose(
                    model.net[table].to_numpy(dtype=float),
                    cold.net[table].to_numpy(dtype=float),
                    atol=1e-6,
                )
            moved.append(model.net.res_line.p_from_mw.to_numpy().copy())
    assert np.abs(moved[0] - moved[-1]).max() > 0.1  # the steps and injections moved the flows
