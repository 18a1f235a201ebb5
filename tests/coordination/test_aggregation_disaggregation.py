"""Disaggregation of an interface activation on SimBench 1-MV-rural, verified in AC."""

from __future__ import annotations

import numpy as np
import pytest

from flexcoord.coordination.aggregation import disaggregate, feasible_pq_region
from flexcoord.domain import Direction
from tests.coordination.test_aggregation_fixtures import mv_rural_case


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["cost", "pro_rata"])
@pytest.mark.parametrize("direction", [Direction.UP, Direction.DOWN])
def test_dispatch_reproduces_activation_without_violation(
    objective: str, direction: Direction
) -> None:
    _, _, model, units = mv_rural_case()
    model = model.with_margin(safety_margin=0.05, voltage_margin_pu=0.003)
    result = disaggregate(
        model, direction=direction, quantity_mw=3.0, units=units, objective=objective
    )  # type: ignore[arg-type]
    assert result.feasible, result.reason
    assert result.delivered_mw == pytest.approx(3.0, abs=1e-6)
    assert np.all(result.dp_mw >= units.dp_min_mw - 1e-9)
    assert np.all(result.dp_mw <= units.dp_max_mw + 1e-9)
    assert result.ac_mismatch_mw is not None and abs(result.ac_mismatch_mw) < 0.1
    assert result.ac_ok, (result.ac_loading_ratio, result.ac_vm_excess_pu)


@pytest.mark.slow
def test_infeasible_target_reports_max_volume() -> None:
    _, _, model, units = mv_rural_case()
    result = disaggregate(model, direction=Direction.UP, quantity_mw=1e3, units=units)
    assert not result.feasible
    assert "at most" in result.reason
    region = feasible_pq_region(model, units, directions=64)
    most_export = model.interface_p_mw - region.vertices_p_mw.min()
    assert result.max_feasible_mw == pytest.approx(most_export, abs=1e-4)
    assert result.delivered_mw == pytest.approx(result.max_feasible_mw, abs=1e-6)
