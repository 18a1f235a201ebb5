"""Tests of the per-MTU operating-point forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from flexcoord.domain import market_time_units
from flexcoord.errors import InvalidInputError
from flexcoord.grid.forecast import (
    FlowQuantity,
    OperatingForecast,
    forecast_from_profiles,
    forecast_from_snapshot,
    profile_operating_points,
)
from flexcoord.grid.model import GridModel, load_grid
from flexcoord.grid.pgm import Injections, run_ac_batch, to_pgm
from flexcoord.grid.timeseries_profiles import Profiles
from tests.conftest import MV_RURAL, three_bus_net

ISSUED = datetime(2026, 5, 31, 9, tzinfo=UTC)
DAY = market_time_units(date(2026, 6, 1))
STEP = 96 * 150


def test_forecast_checks_shapes() -> None:
    with pytest.raises(InvalidInputError, match="branch_flow_mw"):
        OperatingForecast(
            intervals=DAY[:2],
            branch_names=("line:0",),
            branch_flow_mw=np.zeros((1, 3)),
            bus_ids=np.array([0]),
            vm_pu=np.ones((1, 2)),
            issued_at=ISSUED,
        )


def test_snapshot_forecast_repeats_the_operating_point() -> None:
    grid = GridModel(three_bus_net(), code="three-bus")
    forecast = forecast_from_snapshot(grid, intervals=DAY[:3], issued_at=ISSUED)
    assert forecast.branch_names == grid.ptdf().branch_names
    assert forecast.branch_flow_mw.shape == (3, 3)
    assert np.allclose(forecast.branch_flow_mw[:, 0], forecast.branch_flow_mw[:, 2])
    assert not forecast.branch_flow_mw.flags.writeable


def test_thermal_flows_are_the_current_as_mw_at_nominal_voltage_signed_as_p() -> None:
    import pandapower as pp

    net = three_bus_net()
    grid = GridModel(net, code="three-bus")
    active = forecast_from_snapshot(grid, intervals=DAY[:2], issued_at=ISSUED)
    thermal = forecast_from_snapshot(
        grid, intervals=DAY[:2], issued_at=ISSUED, flows=FlowQuantity.THERMAL
    )
    assert np.array_equal(thermal.vm_pu, active.vm_pu)
    ref = three_bus_net()  # pandapower's current-based loading of the same operating point
    pp.runpp(ref, calculate_voltage_angles=True, tolerance_mva=1e-9)
    current_mw = ref.res_line.loading_percent.to_numpy() / 100.0 * np.sqrt(3.0) * 20.0 * 0.2
    assert np.allclose(np.abs(thermal.branch_flow_mw[:, 0]), current_mw, rtol=1e-4)
    assert (np.sign(thermal.branch_flow_mw) == np.sign(active.branch_flow_mw)).all()
    # with the load's reactive power the current exceeds the active power of the feeding line
    assert abs(thermal.branch_flow_mw[1, 0]) > abs(active.branch_flow_mw[1, 0])


@pytest.mark.slow
def test_thermal_profile_forecast_keeps_the_voltages_and_the_direction_of_p() -> None:
    grid = load_grid(MV_RURAL)
    thermal = forecast_from_profiles(
        grid, start_step=STEP, intervals=DAY, issued_at=ISSUED, flows=FlowQuantity.THERMAL
    )
    active = forecast_from_profiles(grid, start_step=STEP, intervals=DAY, issued_at=ISSUED)
    assert np.array_equal(thermal.vm_pu, active.vm_pu)
    loaded = np.abs(active.branch_flow_mw) > 0.05
    assert (np.sign(thermal.branch_flow_mw[loaded]) == np.sign(active.branch_flow_mw[loaded])).all()
    # |thermal| = √3·Vn·I = |S|·Vn/V ≥ |P|·Vn/V, and this grid stays below 1.1 pu
    ratio = np.abs(thermal.branch_flow_mw[loaded]) / np.abs(active.branch_flow_mw[loaded])
    assert ratio.min() > 1.0 / 1.1


@pytest.mark.slow
def test_profile_forecast_matches_an_independent_ac_power_flow() -> None:
    grid = load_grid(MV_RURAL)
    forecast = forecast_from_profiles(grid, start_step=STEP, intervals=DAY, issued_at=ISSUED)
    assert forecast.intervals == DAY and forecast.issued_at == ISSUED
    # the same step through run_ac_batch with absolute setpoints from the profile arrays
    profiles = Profiles.of(grid.net)
    t = 50
    k = STEP + t
    loads = grid.net.load.index
    inj = Injections(
        load_p_mw=pd.DataFrame([profiles.load_p.values(k, k + 1)[0]], columns=loads),
        load_q_mvar=pd.DataFrame([profiles.load_q.values(k, k + 1)[0]], columns=loads),
        sgen_p_mw=pd.DataFrame([profiles.sgen_p.values(k, k + 1)[0]], columns=grid.net.sgen.index),
    )
    ac = run_ac_batch(to_pgm(grid.net, injection_buses=()), inj, threading=-1)
    flows = ac.p_from_mw.iloc[0].reindex(list(forecast.branch_names)).to_numpy()
    assert np.allclose(forecast.branch_flow_mw[:, t], flows, atol=1e-6)
    vm = ac.vm_pu.iloc[0].reindex(forecast.bus_ids).to_numpy()
    assert np.allclose(forecast.vm_pu[:, t], vm, atol=1e-9)


@pytest.mark.slow
def test_noise_is_seeded_and_smaller_intraday() -> None:
    grid = load_grid(MV_RURAL)

    def make(noise: float, seed: int) -> OperatingForecast:
        return forecast_from_profiles(
            grid, start_step=STEP, intervals=DAY, noise=noise, seed=seed, issued_at=ISSUED
        )

    truth, da, da_again, intraday = make(0.0, 0), make(0.1, 7), make(0.1, 7), make(0.03, 8)
    assert np.array_equal(da.branch_flow_mw, da_again.branch_flow_mw)
    err_da = np.abs(da.branch_flow_mw - truth.branch_flow_mw).mean()
    err_id = np.abs(intraday.branch_flow_mw - truth.branch_flow_mw).mean()
    assert 0 < err_id < err_da


@pytest.mark.slow
def test_intervals_must_match_the_steps() -> None:
    grid = load_grid(MV_RURAL)
    with pytest.raises(InvalidInputError, match="one MTU per step"):
        forecast_from_profiles(grid, start_step=0, steps=4, intervals=DAY[:3], issued_at=ISSUED)
    with pytest.raises(InvalidInputError, match="contiguous"):
        forecast_from_profiles(grid, start_step=0, intervals=DAY[::2][:4], issued_at=ISSUED)


@pytest.mark.slow
def test_profile_operating_points_give_the_forecast_power_flows_with_scaling() -> None:
    import copy

    net = copy.deepcopy(load_grid(MV_RURAL).net)
    net.sgen.loc[net.sgen.index[:20], "scaling"] = 0.5  # Injections take setpoints before scaling
    net.load.loc[net.load.index[:20], "scaling"] = 1.5
    grid = GridModel(net, code=MV_RURAL)
    steps = 8
    forecast = forecast_from_profiles(grid, start_step=STEP, steps=steps, issued_at=ISSUED)
    points = profile_operating_points(grid, start_step=STEP, steps=steps)
    assert points.n_scenarios == steps
    ac = run_ac_batch(grid.pgm(), points)
    flows = ac.p_from_mw[list(forecast.branch_names)].to_numpy().T
    assert np.allclose(flows, forecast.branch_flow_mw, atol=1e-6)
    assert np.allclose(ac.vm_pu[list(forecast.bus_ids)].to_numpy().T, forecast.vm_pu, atol=1e-9)
    one = run_ac_batch(grid.pgm(), points.at(3))  # one scenario, the same flows
    assert np.allclose(one.p_from_mw.to_numpy()[0], ac.p_from_mw.to_numpy()[3], atol=1e-9)
    with pytest.raises(InvalidInputError, match="start_step"):
        profile_operating_points(grid, start_step=-1, steps=2)
