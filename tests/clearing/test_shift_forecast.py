"""The base case moved by earlier markets: on the full PTDF, or on screened rows only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from flexcoord.clearing import shift_forecast
from flexcoord.domain import market_time_units
from flexcoord.grid.forecast import forecast_from_profiles
from flexcoord.grid.model import load_grid
from flexcoord.grid.sensitivities import Ptdf


def test_screened_rows_move_as_the_full_ptdf_and_the_rest_keeps_its_forecast() -> None:
    grid = load_grid("1-MV-rural--0-sw")
    fc = forecast_from_profiles(
        grid,
        start_step=96 * 150,
        intervals=market_time_units(date(2026, 6, 1))[:4],
        issued_at=datetime(2026, 5, 31, 9, tzinfo=UTC),
    )
    full = grid.ptdf()
    p = np.zeros((len(full.bus_ids), 4))
    p[len(full.bus_ids) // 2] = [1.0, 2.0, 0.0, -1.5]  # MW at one bus, per MTU
    q = np.zeros_like(p)
    moved = shift_forecast(grid, fc, p, q)
    keep = np.flatnonzero(np.abs(full.matrix @ p).max(axis=1) > 1e-6)[::2]
    assert len(keep) > 1
    rows = Ptdf(
        matrix=full.matrix[keep],
        branch_names=tuple(full.branch_names[i] for i in keep),
        bus_ids=full.bus_ids,
        slack_bus_ids=full.slack_bus_ids,
    )
    screened = shift_forecast(grid, fc, p, q, ptdf=rows, voltages=False)
    np.testing.assert_array_equal(screened.branch_flow_mw[keep], moved.branch_flow_mw[keep])
    rest = np.setdiff1d(np.arange(len(full.branch_names)), keep)
    np.testing.assert_array_equal(screened.branch_flow_mw[rest], fc.branch_flow_mw[rest])
    assert not np.allclose(moved.branch_flow_mw[rest], fc.branch_flow_mw[rest])
    np.testing.assert_array_equal(screened.vm_pu, fc.vm_pu)
    assert not np.allclose(moved.vm_pu, fc.vm_pu)
