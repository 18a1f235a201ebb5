"""power-grid-model AC power flow and verification against pandapower's Newton-Raphson."""

from __future__ import annotations

import copy
import doctest
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

import flexcoord.grid.pgm
import flexcoord.grid.pgm_conversion
import flexcoord.grid.violations
from flexcoord.errors import GridError, InvalidInputError
from flexcoord.grid.loading import load_network
from flexcoord.grid.pgm import (
    Injections,
    PgmGrid,
    run_ac,
    run_ac_batch,
    to_pgm,
    verify_operating_point,
    with_setpoints,
)
from tests.conftest import HVMV_MIXED, MV_RURAL, five_bus_two_level_net, three_bus_net

VM_TOL_PU = 1e-4
LOADING_TOL_PERCENT = 1e-2


def _pp_loading(net: Any) -> pd.Series:
    line = net.res_line.loading_percent[net.line.in_service.to_numpy(dtype=bool)]
    trafo = net.res_trafo.loading_percent[net.trafo.in_service.to_numpy(dtype=bool)]
    return pd.concat([line.rename(lambda i: f"line:{i}"), trafo.rename(lambda i: f"trafo:{i}")])


def _compare(grid: PgmGrid, net: Any, injections: Injections | None = None) -> tuple[float, float]:
    """Max |Δvm| (pu) and max |Δloading| (percent) of PGM vs pandapower runpp on ``net``."""
    ours = run_ac(grid, injections)
    pp.runpp(net, calculate_voltage_angles=True, tolerance_mva=1e-9)
    dvm = (ours.vm_pu - net.res_bus.vm_pu).abs().max()
    dloading = (ours.loading_percent - _pp_loading(net)).abs().max()
    return float(dvm), float(dloading)


# --- small hand-built grids ------------------------------------------------------------------


def test_three_bus_matches_pandapower_with_setpoints_and_storage() -> None:
    net = three_bus_net()
    pp.create_storage(net, 1, p_mw=0.5, max_e_mwh=2.0, q_mvar=0.1)
    grid = to_pgm(net)
    assert _compare(grid, copy.deepcopy(net))[0] < 1e-6

    changed = copy.deepcopy(net)
    changed.load.loc[0, ["p_mw", "q_mvar"]] = [4.0, 1.5]
    changed.sgen.loc[0, "p_mw"] = 2.5
    changed.storage.loc[0, "p_mw"] = -1.0
    pp.create_sgen(changed, 2, p_mw=0.7, q_mvar=-0.2)  # the added injection
    injections = Injections.single(
        load_p_mw={0: 4.0},
        load_q_mvar={0: 1.5},
        sgen_p_mw={0: 2.5},
        storage_p_mw={0: -1.0},
        bus_p_mw={2: 0.7},
        bus_q_mvar={2: -0.2},
    )
    dvm, dloading = _compare(grid, changed, injections)
    assert dvm < 1e-6
    assert dloading < 1e-3


def test_transformer_loading_is_current_based_like_pandapower() -> None:
    net = five_bus_two_level_net()
    grid = to_pgm(net)
    dvm, dloading = _compare(grid, net)
    assert dvm < 1e-6
    assert dloading < 1e-3
    assert {"trafo:0", "trafo:1"} <= set(grid.branches.index)


def test_caller_network_is_not_mutated() -> None:
    net = three_bus_net()
    before = net.ext_grid.copy()
    to_pgm(net)
    pd.testing.assert_frame_equal(net.ext_grid, before)


def test_out_of_service_bus_is_isolated_and_reports_nan() -> None:
    net = three_bus_net()
    spare = pp.create_bus(net, vn_kv=20.0, in_service=False)
    pp.create_line_from_parameters(net, 2, spare, 1.0, 0.2, 0.35, 10.0, 0.2)
    pp.create_load(net, spare, p_mw=1.0)
    result = run_ac(to_pgm(net))
    assert np.isnan(result.vm_pu[spare])
    pp.runpp(net)
    assert (result.vm_pu.drop(spare) - net.res_bus.vm_pu.drop(spare)).abs().max() < 1e-6


def test_unsupplied_bus_is_named() -> None:
    net = three_bus_net()
    island = pp.create_bus(net, vn_kv=20.0)
    with pytest.raises(GridError, match=f"bus:{island}"):
        to_pgm(net)


def test_unsupported_element_is_a_grid_error() -> None:
    net = three_bus_net()
    pp.create_gen(net, 1, p_mw=1.0, vm_pu=1.0)
    with pytest.raises(GridError, match="gen"):
        to_pgm(net)


def test_invalid_injections_list_every_issue() -> None:
    grid = to_pgm(three_bus_net(), injection_buses=[1, 2])
    with pytest.raises(InvalidInputError) as err:
        run_ac(grid, Injections.single(bus_p_mw={0: 1.0, 99: 1.0}, sgen_p_mw={7: 1.0}))
    objects = {issue.object_id for issue in err.value.issues}
    assert objects == {"bus:0", "bus:99", "sgen:7"}
    with pytest.raises(InvalidInputError, match="finite"):
        run_ac(grid, Injections.single(bus_p_mw={1: float("nan")}))


def test_non_convergence_is_a_grid_error() -> None:
    grid = to_pgm(three_bus_net())
    with pytest.raises(GridError, match="Newton-Raphson"):
        run_ac(grid, Injections.single(load_p_mw={0: 5_000.0}))


def test_batch_equals_single_runs() -> None:
    grid = to_pgm(three_bus_net())
    dp = pd.DataFrame({1: [0.0, 1.0, -2.0], 2: [0.5, 0.0, 1.0]}, index=["a", "b", "c"])
    batch = run_ac_batch(grid, Injections(bus_p_mw=dp))
    assert list(batch.vm_pu.index) == ["a", "b", "c"]
    for label in dp.index:
        single = run_ac(grid, Injections.single(bus_p_mw=dp.loc[label].to_dict()))
        np.testing.assert_allclose(batch.scenario(label).vm_pu, single.vm_pu, atol=1e-12)
        np.testing.assert_allclose(
            batch.scenario(label).loading_percent, single.loading_percent, atol=1e-9
        )


def test_setpoints_applied_once_give_the_same_flows_and_leave_the_grid_unchanged() -> None:
    grid = to_pgm(three_bus_net())
    point = Injections.single(load_p_mw={0: 2.0}, load_q_mvar={0: 0.5}, sgen_p_mw={0: 0.3})
    dp = pd.DataFrame({1: [0.0, 1.0, -0.5]})
    moved = with_setpoints(grid, point)
    ours = run_ac_batch(moved, Injections(bus_p_mw=dp))  # the point once, then only the buses
    full = run_ac_batch(  # the point repeated in every scenario
        grid,
        Injections(
            bus_p_mw=dp,
            load_p_mw=pd.DataFrame({0: [2.0] * 3}),
            load_q_mvar=pd.DataFrame({0: [0.5] * 3}),
            sgen_p_mw=pd.DataFrame({0: [0.3] * 3}),
        ),
    )
    np.testing.assert_allclose(ours.vm_pu, full.vm_pu, atol=1e-12)
    np.testing.assert_allclose(ours.p_from_mw, full.p_from_mw, atol=1e-9)
    base = run_ac(grid)
    assert not np.allclose(base.vm_pu, run_ac(moved).vm_pu)  # the copy moved, the grid did not
    np.testing.assert_allclose(run_ac(to_pgm(three_bus_net())).vm_pu, base.vm_pu, atol=1e-12)
    with pytest.raises(InvalidInputError, match="n_scenarios"):
        with_setpoints(grid, Injections(bus_p_mw=dp))


def test_injections_at_and_plus_bus_keep_the_scenarios() -> None:
    two = Injections(
        load_p_mw=pd.DataFrame({0: [1.0, 2.0]}), bus_p_mw=pd.DataFrame({1: [0.5, 0.0]})
    )
    assert two.at(1).load_p_mw.to_numpy().tolist() == [[2.0]]
    more = two.plus_bus(pd.DataFrame({1: [1.0, 1.0], 2: [0.0, 3.0]}), pd.DataFrame({2: [0.1, 0.2]}))
    assert more.bus_p_mw.to_dict() == {1: {0: 1.5, 1: 1.0}, 2: {0: 0.0, 1: 3.0}}
    assert more.bus_q_mvar.to_dict() == {2: {0: 0.1, 1: 0.2}}
    assert two.bus_p_mw.to_dict() == {1: {0: 0.5, 1: 0.0}}  # unchanged


# --- SimBench grids ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mv_net() -> Any:
    return load_network(MV_RURAL)


@pytest.fixture(scope="module")
def mv_grid(mv_net: Any) -> PgmGrid:
    return to_pgm(mv_net)


@pytest.fixture(scope="module")
def hvmv_net() -> Any:
    return load_network(HVMV_MIXED)


@pytest.fixture(scope="module")
def hvmv_grid(hvmv_net: Any) -> PgmGrid:
    return to_pgm(hvmv_net)


def _with_sgens(net: Any, p_mw: dict[int, float], q_mvar: dict[int, float]) -> Any:
    changed = copy.deepcopy(net)
    for bus, p in p_mw.items():
        pp.create_sgen(changed, bus, p_mw=p, q_mvar=q_mvar.get(bus, 0.0))
    return changed


@pytest.mark.slow
@pytest.mark.parametrize("which", ["mv", "hvmv"])
def test_simbench_matches_pandapower(which: str, request: pytest.FixtureRequest) -> None:
    net = request.getfixturevalue(f"{which}_net")
    grid = request.getfixturevalue(f"{which}_grid")
    dvm, dloading = _compare(grid, copy.deepcopy(net))
    assert dvm < VM_TOL_PU
    assert dloading < LOADING_TOL_PERCENT

    mv_buses = net.bus.index[net.bus.vn_kv.to_numpy() < 30.0]
    picked = [int(b) for b in mv_buses[[3, len(mv_buses) // 2, -5]]]
    p_mw = {picked[0]: 1.5, picked[1]: -0.8, picked[2]: 0.6}
    q_mvar = {picked[0]: 0.4, picked[2]: -0.3}
    injections = Injections.single(bus_p_mw=p_mw, bus_q_mvar=q_mvar)
    dvm, dloading = _compare(grid, _with_sgens(net, p_mw, q_mvar), injections)
    assert dvm < VM_TOL_PU
    assert dloading < LOADING_TOL_PERCENT


@pytest.mark.slow
def test_verify_base_case_and_provoked_overload(mv_net: Any, mv_grid: PgmGrid) -> None:
    assert verify_operating_point(mv_grid).ok  # the base case of MV rural is clean

    bus = 40
    check = verify_operating_point(mv_grid, Injections.single(bus_p_mw={bus: 30.0}))
    assert not check.ok
    overloads = check.violations[check.violations.kind == "overload"]
    reference = _with_sgens(mv_net, {bus: 30.0}, {})
    pp.runpp(reference)
    loading = _pp_loading(reference)
    expected = set(loading.index[loading > 100.0])
    assert expected
    assert set(overloads.asset) == expected
    row = overloads.iloc[0]
    assert row.limit == 100.0
    assert row.value == pytest.approx(loading[row.asset], abs=LOADING_TOL_PERCENT)
    assert row.voltage_level_kv == 20.0

    looser = verify_operating_point(
        mv_grid, Injections.single(bus_p_mw={bus: 30.0}), max_loading_percent=1_000.0
    )
    assert "overload" not in set(looser.violations.kind)


@pytest.mark.slow
def test_verify_batch_labels_scenarios(mv_grid: PgmGrid) -> None:
    dp = pd.DataFrame({40: [0.0, 30.0]}, index=pd.Index(["calm", "stormy"]))
    check = verify_operating_point(mv_grid, Injections(bus_p_mw=dp))
    assert set(check.violations.scenario) == {"stormy"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "module",
    [flexcoord.grid.pgm, flexcoord.grid.pgm_conversion, flexcoord.grid.violations],
    ids=lambda m: m.__name__,
)
def test_examples(module: Any) -> None:
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_transformer_derating_and_parallel_match_pandapower(five_bus: Any) -> None:
    """``df`` and ``parallel`` of a transformer scale its rating as in pandapower, in the AC
    loading and in the MW limit the linear model checks."""
    import copy

    import pandapower as pp

    from flexcoord.grid.pgm import run_ac, to_pgm
    from flexcoord.grid.sensitivities import branch_limits

    net = copy.deepcopy(five_bus)
    net.trafo.loc[0, "df"] = 0.5
    net.trafo.loc[1, "parallel"] = 2
    reference = copy.deepcopy(net)
    pp.runpp(reference)
    result = run_ac(to_pgm(net))
    for idx in net.trafo.index:
        assert result.loading_percent[f"trafo:{idx}"] == pytest.approx(
            reference.res_trafo.loading_percent.at[idx], rel=1e-3
        )
    found = branch_limits(net)
    limits = dict(zip(found.branch_names, found.limit_mw, strict=True))
    assert limits["trafo:0"] == pytest.approx(25.0 * 0.5)
    assert limits["trafo:1"] == pytest.approx(25.0 * 2)
