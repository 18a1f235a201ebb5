"""The traffic light on given PTDF rows and without voltages (a screened national grid)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from flexcoord.domain import market_time_units
from flexcoord.errors import InvalidInputError
from flexcoord.grid.forecast import forecast_from_profiles
from flexcoord.grid.model import load_grid
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.grid.sensitivities import Ptdf
from flexcoord.grid.traffic_light import compute_traffic_light


def test_given_rows_without_voltages_are_the_thermal_light_of_those_rows() -> None:
    grid = load_grid("1-MV-rural--0-sw")
    register = build_portfolio(grid)
    fc = forecast_from_profiles(
        grid,
        start_step=96 * 150,
        intervals=market_time_units(date(2026, 6, 1))[:8],
        issued_at=datetime(2026, 5, 31, 9, tzinfo=UTC),
    )
    # tight limits so that branches bind: half of each branch's peak flow
    peak = np.abs(fc.branch_flow_mw).max(axis=1)
    overrides = {n: float(0.5 * v) for n, v in zip(fc.branch_names, peak, strict=True) if v > 0}
    thermal = compute_traffic_light(
        register, grid, fc, operator_id="dso", vm_min_pu=0.01, vm_max_pu=10.0,
        limit_overrides_mw=overrides,
    )  # fmt: skip
    full = grid.ptdf()
    every = compute_traffic_light(
        register, grid, fc, operator_id="dso", limit_overrides_mw=overrides, ptdf=full,
        voltages=False,
    )  # fmt: skip
    np.testing.assert_allclose(every.safe_mw, thermal.safe_mw, atol=1e-9)
    assert every.constraint_names == thermal.constraint_names[: len(every.constraint_names)]
    assert not any(n.startswith("bus:") for n in every.constraint_names)
    # a subset of the rows (in another order): only those bind, so no volume is smaller
    keep = np.arange(len(full.branch_names))[::-2]
    rows = Ptdf(
        matrix=full.matrix[keep],
        branch_names=tuple(full.branch_names[i] for i in keep),
        bus_ids=full.bus_ids,
        slack_bus_ids=full.slack_bus_ids,
    )
    some = compute_traffic_light(
        register, grid, fc, operator_id="dso", limit_overrides_mw=overrides, ptdf=rows,
        voltages=False,
    )  # fmt: skip
    assert np.all(some.safe_mw >= every.safe_mw - 1e-9)
    assert np.any(some.safe_mw > every.safe_mw + 1e-6)


def test_given_rows_the_forecast_lacks_are_refused() -> None:
    grid = load_grid("1-MV-rural--0-sw")
    fc = forecast_from_profiles(
        grid,
        start_step=96 * 150,
        intervals=market_time_units(date(2026, 6, 1))[:2],
        issued_at=datetime(2026, 5, 31, 9, tzinfo=UTC),
    )
    full = grid.ptdf()
    rows = Ptdf(
        matrix=full.matrix[:1],
        branch_names=("line:999999",),
        bus_ids=full.bus_ids,
        slack_bus_ids=full.slack_bus_ids,
    )
    with pytest.raises(InvalidInputError, match="not in the forecast"):
        compute_traffic_light(
            build_portfolio(grid), grid, fc, operator_id="dso", ptdf=rows, voltages=False
        )
