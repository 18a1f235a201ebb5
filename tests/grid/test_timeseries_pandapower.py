"""The assessment of a grid with a voltage-controlled plant runs pandapower's power flows, with
the setpoints SimBench itself gives each step (issue 12: the national grid's PV plants)."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest
import simbench as sb

from flexcoord.grid.loading import load_network
from flexcoord.grid.timeseries import assess
from tests.conftest import MV_RURAL


@pytest.fixture(scope="module")
def with_plant() -> object:
    """1-MV-rural with its largest generator turned into a PV plant holding 1.02 pu."""
    net = copy.deepcopy(load_network(MV_RURAL))
    big = net.sgen.p_mw.idxmax()
    row = net.sgen.loc[big]
    pp.create_gen(net, row.bus, p_mw=row.p_mw, vm_pu=1.02, name="plant", profile=row.profile)
    net.gen["profile"] = net.gen["profile"].astype(object)
    net.sgen = net.sgen.drop(index=big)
    net.profiles["powerplants"] = net.profiles["renewables"][["time", row.profile]].copy()
    return net


def test_a_pv_plant_is_assessed_with_pandapower_as_simbench_sets_each_step(
    with_plant: object,
) -> None:
    net = with_plant
    start, steps = 16_000, 12
    result = assess(net, start=start, steps=steps, keep_results=True, vm_max_pu=1.015)
    assert result.totals()["non_converged_steps"] == 0
    plant_bus = int(net.gen.bus.iloc[0])
    # independently: SimBench's absolute values of each step, pandapower's runpp
    window = copy.deepcopy(net)
    window.profiles = {
        k: v.iloc[start : start + steps].reset_index(drop=True) for k, v in net.profiles.items()
    }
    values = sb.get_absolute_values(window, profiles_instead_of_study_cases=True)
    for t in (0, steps - 1):
        for (table, column), frame in values.items():
            if frame.shape[1]:
                window[table].loc[frame.columns, column] = frame.iloc[t].to_numpy()
        pp.runpp(window)
        ours = result.vm_pu.iloc[t]
        expected = window.res_bus.vm_pu.loc[ours.index]
        np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-6)
        assert ours[plant_bus] == pytest.approx(1.02, abs=1e-9)  # the plant holds its voltage
    over = result.summary[result.summary["kind"] == "overvoltage"]
    assert f"bus:{plant_bus}" in set(over["asset"].astype(str))  # 1.02 > 1.015 in every step
