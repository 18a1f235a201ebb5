"""PTDF against pandapower's DC power flow, voltage sensitivities against the AC power flow."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandapower as pp
import pytest

from flexcoord.errors import GridError, NotFoundError
from flexcoord.grid.sensitivities import (
    branch_limits,
    compute_ptdf,
    compute_voltage_sensitivity,
)


def _dc_flows(net: Any) -> np.ndarray:
    pp.rundcpp(net)
    line = net.res_line.p_from_mw.to_numpy()[net.line.in_service.to_numpy(dtype=bool)]
    trafo = net.res_trafo.p_hv_mw.to_numpy()[net.trafo.in_service.to_numpy(dtype=bool)]
    return np.concatenate([line, trafo])


def _max_ptdf_error(net: Any, buses: np.ndarray) -> float:
    ptdf = compute_ptdf(net)
    base = _dc_flows(copy.deepcopy(net))
    worst = 0.0
    for bus in buses:
        perturbed = copy.deepcopy(net)
        pp.create_sgen(perturbed, int(bus), p_mw=1.0)
        delta = _dc_flows(perturbed) - base
        worst = max(worst, float(np.abs(delta - ptdf.columns([int(bus)])[:, 0]).max()))
    return worst


def test_ptdf_matches_dc_power_flow_on_three_bus(three_bus: Any) -> None:
    assert _max_ptdf_error(three_bus, np.array([1, 2])) < 1e-6


def test_ptdf_does_not_modify_the_network(three_bus: Any) -> None:
    import pickle

    pp.rundcpp(three_bus)  # a network that already carries pandapower's private entries
    before = {k: pickle.dumps(v) for k, v in three_bus.items()}
    compute_ptdf(three_bus)
    compute_ptdf(three_bus, branches=["line:1"])
    after = {k: pickle.dumps(v) for k, v in three_bus.items()}
    assert [k for k in before if before[k] != after.get(k)] == []
    assert set(after) == set(before)


def test_ptdf_slack_column_is_zero_and_names_follow_tables(three_bus: Any) -> None:
    ptdf = compute_ptdf(three_bus)
    assert ptdf.branch_names == ("line:0", "line:1", "line:2")
    assert np.all(ptdf.columns([0]) == 0.0)
    assert ptdf.slack_bus_ids.tolist() == [0]


def test_ptdf_subset_of_branches_and_unknown_branch(three_bus: Any) -> None:
    sub = compute_ptdf(three_bus, branches=["line:2"])
    full = compute_ptdf(three_bus)
    np.testing.assert_allclose(sub.matrix[0], full.matrix[2])
    with pytest.raises(NotFoundError, match="line:9"):
        compute_ptdf(three_bus, branches=["line:9"])
    with pytest.raises(NotFoundError, match="bus"):
        full.bus_positions([42])


def test_islanded_bus_is_a_clear_error(three_bus: Any) -> None:
    island = pp.create_bus(three_bus, vn_kv=20.0, name="island")
    other = pp.create_bus(three_bus, vn_kv=20.0)
    pp.create_line_from_parameters(
        three_bus,
        island,
        other,
        length_km=1.0,
        r_ohm_per_km=0.2,
        x_ohm_per_km=0.3,
        c_nf_per_km=10.0,
        max_i_ka=0.2,
    )
    with pytest.raises(GridError, match=rf"islanded.*{island}, {other}"):
        compute_ptdf(three_bus)
    with pytest.raises(GridError, match="islanded"):
        compute_voltage_sensitivity(three_bus)


def test_branch_limits_in_mw(three_bus: Any) -> None:
    limits = branch_limits(three_bus)
    np.testing.assert_allclose(limits.limit_mw, np.sqrt(3) * 20.0 * 0.2, rtol=1e-12)


def _max_voltage_error(net: Any, buses: np.ndarray, dp: float, dq: float) -> tuple[float, float]:
    sens = compute_voltage_sensitivity(net)
    base = copy.deepcopy(net)
    pp.runpp(base)
    v0 = base.res_bus.vm_pu.reindex(sens.monitored_bus_ids).to_numpy()
    worst_err, worst_change = 0.0, 0.0
    for bus in buses:
        perturbed = copy.deepcopy(net)
        pp.create_sgen(perturbed, int(bus), p_mw=dp, q_mvar=dq)
        pp.runpp(perturbed)
        dv = perturbed.res_bus.vm_pu.reindex(sens.monitored_bus_ids).to_numpy() - v0
        k = int(np.flatnonzero(sens.injection_bus_ids == bus)[0])
        pred = sens.dvm_dp_pu_per_mw[:, k] * dp + sens.dvm_dq_pu_per_mvar[:, k] * dq
        worst_err = max(worst_err, float(np.abs(pred - dv).max()))
        worst_change = max(worst_change, float(np.abs(dv).max()))
    return worst_err, worst_change


def test_voltage_sensitivity_predicts_small_injections_on_three_bus(three_bus: Any) -> None:
    err, change = _max_voltage_error(three_bus, np.array([1, 2]), 0.2, 0.1)
    assert change > 1e-4  # the injection moves voltages measurably
    assert err < 0.02 * change  # linearisation error < 2 % of the change


@pytest.mark.slow
def test_ptdf_matches_dc_power_flow_on_simbench(mv_rural: Any, hvmv_mixed: Any) -> None:
    rng = np.random.default_rng(7)
    for grid in (mv_rural, hvmv_mixed):
        buses = rng.choice(sorted(grid.bus_ids()), size=6, replace=False)
        assert _max_ptdf_error(grid.net, buses) < 1e-6


@pytest.mark.slow
def test_hvmv_ptdf_has_every_branch_and_three_slack_groups(hvmv_mixed: Any) -> None:
    ptdf = hvmv_mixed.ptdf()
    net = hvmv_mixed.net
    assert ptdf.matrix.shape == (len(net.line) + len(net.trafo), len(net.bus))
    ext_buses = set(net.ext_grid.bus.astype(int))
    assert ext_buses <= set(ptdf.slack_bus_ids.tolist())
    assert np.all(ptdf.columns(sorted(ext_buses)) == 0.0)


@pytest.mark.slow
def test_voltage_sensitivity_error_is_bounded_on_mv_rural(mv_rural: Any) -> None:
    # 0.1 MW / 0.1 Mvar at four feeder buses: report and bound the linearisation error.
    buses = np.array([48, 61, 76, 87])
    for dp, dq in ((0.1, 0.0), (0.0, 0.1), (-0.1, 0.05)):
        err, change = _max_voltage_error(mv_rural.net, buses, dp, dq)
        assert change > 1e-4
        assert err < 1e-5  # measured: ≤ 4.1e-6 pu for changes up to 1.9e-3 pu
