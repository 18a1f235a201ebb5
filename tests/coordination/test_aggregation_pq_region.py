"""PQ region: analytic polygon on a hand-built model; AC sampling on SimBench 1-MV-rural."""

from __future__ import annotations

import numpy as np
import pytest

from flexcoord.coordination.aggregation import (
    UnitBoxes,
    ac_check,
    build_dso_model,
    feasible_pq_region,
    flexible_units,
)
from tests.coordination.test_aggregation_fixtures import (
    lossless_model,
    mv_rural_case,
)

#: AC vs linear interface tolerance on 1-MV-rural (MW / Mvar): reactive losses of the feeders and
#: transformers at the region's extremes (measured up to 3.4 Mvar at the vertices; 0.8 MW / 2.3
#: Mvar on random dispatches); see docs/aggregation.md.
AC_TOL = 4.0


def two_units() -> UnitBoxes:
    return UnitBoxes(
        unit_ids=("u1", "u2"),
        bus_ids=np.array([1, 2], dtype=np.int64),
        p_mw=np.zeros(2),
        q_mvar=np.zeros(2),
        dp_min_mw=np.array([0.0, -3.0]),
        dp_max_mw=np.array([5.0, 0.0]),
        dq_min_mvar=np.array([-2.0, 0.0]),
        dq_max_mvar=np.array([2.0, 0.0]),
    )


def test_region_matches_analytic_box_and_circle_intersection() -> None:
    # P_if = -dP1 - dP2, Q_if = -dQ1; (dP1, dQ1) in [0, 5] x [-2, 2] and within a 4 MVA circle
    model = lossless_model(s_max_mva=4.0, n_cuts=256)
    region = feasible_pq_region(model, two_units(), directions=64)
    assert region.feasible
    circle_tol = 4.0 / np.cos(np.pi / 256) - 4.0 + 1e-6
    p, q = region.vertices_p_mw, region.vertices_q_mvar
    assert p.max() == pytest.approx(3.0, abs=1e-9)  # unit 2 sheds its 3 MW
    assert p.min() == pytest.approx(-4.0, abs=circle_tol)  # unit 1 up to the circle
    assert q.min() == pytest.approx(-2.0, abs=1e-9)
    assert q.max() == pytest.approx(2.0, abs=1e-9)
    # analytic corners: (3, ±2) and (-sqrt(12), ±2)
    for corner in ([3.0, 2.0], [3.0, -2.0], [-np.sqrt(12.0), 2.0], [-np.sqrt(12.0), -2.0]):
        assert np.min(np.hypot(p - corner[0], q - corner[1])) < 0.01
    inside = region.contains([0.0, -3.9, 2.9, -3.4], [0.0, 0.0, 1.9, 1.9])
    outside = region.contains([-3.9, 3.1, 0.0, -4.1], [1.9, 0.0, 2.1, 0.0])
    assert inside.all()
    assert not outside.any()
    a, b = region.as_halfplanes()
    assert np.allclose(np.hypot(a[:, 0], a[:, 1]), 1.0)
    assert np.all(region.vertices @ a.T <= b + 1e-7)
    assert region.approximation_gap_mw < 1e-2


def test_flat_and_empty_regions() -> None:
    units = two_units()
    flat = units.scaled(1.0)
    flat = UnitBoxes(
        unit_ids=flat.unit_ids,
        bus_ids=flat.bus_ids,
        p_mw=flat.p_mw,
        q_mvar=flat.q_mvar,
        dp_min_mw=flat.dp_min_mw,
        dp_max_mw=flat.dp_max_mw,
        dq_min_mvar=np.zeros(2),
        dq_max_mvar=np.zeros(2),
    )
    region = feasible_pq_region(lossless_model(s_max_mva=4.0), flat, directions=16)
    assert region.contains([-3.0, 2.0], [0.0, 0.0]).all()
    assert not region.contains([-3.0, 0.0], [0.5, 0.0])[0]
    model = lossless_model(s_max_mva=4.0).with_margin(voltage_margin_pu=0.2)  # band closed
    empty = feasible_pq_region(model, units, directions=8)
    assert not empty.feasible
    assert not empty.contains([0.0], [0.0]).any()


@pytest.mark.slow
def test_region_contains_every_ac_feasible_sample() -> None:
    _, _, model, base_units = mv_rural_case()
    units = base_units.scaled(1.5)  # larger devices: the DSO grid binds in many samples
    region = feasible_pq_region(model, units, directions=64)
    rng = np.random.default_rng(7)
    n = 400
    # correlated draws spread the interface points over the whole region and beyond
    level_p, level_q = rng.uniform(0, 1, (n, 1)), rng.uniform(0, 1, (n, 1))
    fp = np.clip(level_p + 0.3 * rng.standard_normal((n, units.n_units)), 0, 1)
    fq = np.clip(level_q + 0.3 * rng.standard_normal((n, units.n_units)), 0, 1)
    dp = units.dp_min_mw + fp * (units.dp_max_mw - units.dp_min_mw)
    dq = units.dq_min_mvar + fq * (units.dq_max_mvar - units.dq_min_mvar)
    e = model.incidence(units.bus_ids)
    ac = ac_check(model, dp @ e.T, dq @ e.T)
    distance = region.distance_outside(ac.p_mw, ac.q_mvar)
    assert 50 < ac.feasible.sum() < n  # the grid binds: the test can fail
    assert (distance > AC_TOL).sum() > 5  # samples fall well outside the region too
    assert distance[ac.feasible].max() <= AC_TOL
    assert not ac.feasible[distance > AC_TOL].any()
    # inner side: the dispatches behind the vertices hold in AC up to linearisation error
    region = feasible_pq_region(model, base_units, directions=64)
    e = model.incidence(base_units.bus_ids)
    vert = ac_check(model, region.dispatch_p_mw @ e.T, region.dispatch_q_mvar @ e.T)
    assert vert.loading_ratio.max() <= 1.02
    assert vert.vm_excess_pu.max() <= 0.01
    assert np.abs(vert.p_mw - region.vertices_p_mw).max() <= AC_TOL
    assert np.abs(vert.q_mvar - region.vertices_q_mvar).max() <= AC_TOL


@pytest.mark.slow
def test_model_sensitivities_match_ptdf_and_jacobian() -> None:
    grid, _, model, _ = mv_rural_case()
    ptdf = grid.ptdf()
    dc = ptdf.matrix[np.ix_(ptdf.rows(list(model.branch_names)), ptdf.bus_positions(model.bus_ids))]
    assert np.abs(dc - model.dp_from_dp).max() < 0.1  # losses only
    vs = grid.voltage_sensitivity()
    rows = np.searchsorted(vs.monitored_bus_ids, model.bus_ids)
    cols = np.searchsorted(vs.injection_bus_ids, model.bus_ids)
    assert np.abs(vs.dvm_dp_pu_per_mw[np.ix_(rows, cols)] - model.dvm_dp_pu_per_mw).max() < 2e-4
    assert build_dso_model is not None and flexible_units is not None
