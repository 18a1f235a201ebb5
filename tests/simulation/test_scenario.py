"""The seeded scenarios' designed congestion is real in AC: limits, linear base flows and the AC
check speak of one quantity (the thermal-equivalent flow of :mod:`flexcoord.grid.thermal`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from flexcoord.coordination.runner import JointModel
from flexcoord.simulation.scenario import build_coordination_scenario

#: Linear base case vs AC check at zero dispatch: the same power flow of the same profile step
#: (the forecast's batch and the checker's, which carries zero injections at every bus), so they
#: agree to power-grid-model's tolerance.
FLOW_TOL_MW = 1e-4
OVERLOAD_TOL_MWH = 1e-4


@pytest.mark.slow
def test_every_tightened_branch_of_the_hvmv_demo_is_overloaded_in_ac_as_in_the_linear_base(
    hvmv_mixed: Any,
) -> None:
    scenario = build_coordination_scenario(hvmv_mixed)  # the demo of `flexcoord coordinate`
    joint = JointModel.of(scenario)
    ac = joint.ac_flows({}).branch_flow_mw  # no flexibility dispatched
    linear = joint.problem.base_flow_mw
    duration_h = joint.problem.mtu_duration_h
    areas = hvmv_mixed.asset_areas()
    tightened = scenario.limit_overrides_mw
    assert {areas[n] == "tso" for n in tightened} == {True, False}  # both grids congested
    for name, limit_mw in tightened.items():
        row = joint.problem.branch_names.index(name)
        ac_over = np.maximum(np.abs(ac[row]) - limit_mw, 0.0)
        linear_over = np.maximum(np.abs(linear[row]) - limit_mw, 0.0)
        assert ac_over.max() > 0.0, f"{name} is not overloaded in AC"
        assert np.abs(ac[row] - linear[row]).max() < FLOW_TOL_MW, name
        assert ac_over @ duration_h == pytest.approx(linear_over @ duration_h, abs=OVERLOAD_TOL_MWH)
        assert ((ac_over > 0) == (linear_over > 0)).all(), name
