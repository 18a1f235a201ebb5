"""Industry4Redispatch over a day on SimBench 1-MV-rural: the day's models and Pareto fronts."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import numpy as np
import pytest

from flexcoord.coordination.aggregation import ac_check, build_dso_model, pareto_front
from flexcoord.coordination.aggregation.day_models import Linearisation, day_models
from flexcoord.coordination.aggregation.pareto_day import ParetoDay, pareto_day
from flexcoord.domain import Direction, market_time_units
from flexcoord.errors import InvalidInputError
from flexcoord.grid.pgm import Injections
from tests.conftest import MV_RURAL

DAY = market_time_units(date(2026, 6, 2))
#: 00:00 local (quiet), 07:45 and 19:45 local (morning and evening peaks: the park binds DOWN)
MTUS = (8, 31, 79)
MARGINS = {"safety_margin": 0.1, "voltage_margin_pu": 0.004}


@functools.cache
def case() -> tuple[Any, Any, Injections]:
    """1-MV-rural, 12 industrial bids per direction on the whole day; the base points of MTUS."""
    from flexcoord.grid.forecast import profile_operating_points
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.simulation.industry import industrial_case
    from flexcoord.simulation.scenario import profile_step_of

    grid = load_grid(MV_RURAL)
    base = profile_operating_points(grid, start_step=profile_step_of(date(2016, 6, 1)), steps=96)
    found = industrial_case(grid, build_portfolio(grid), intervals=DAY, base_points=base)
    return grid, found, found.operating_points.take(MTUS)


def run(**kw: Any) -> ParetoDay:
    grid, found, points = case()
    kw = {**MARGINS, "direction": Direction.DOWN} | kw
    intervals = [DAY[k] for k in MTUS]
    return pareto_day(
        grid, found.bids, found.register, intervals=intervals, operating_points=points, **kw
    )


@pytest.mark.slow
def test_model_at_an_operating_point_starts_from_its_ac_state_and_checks_in_chunks() -> None:
    from flexcoord.grid.pgm import run_ac_batch

    grid, _, points = case()
    model = build_dso_model(grid, operating_point=points.at(1))
    ac = run_ac_batch(grid.pgm(), points)
    flows = ac.p_from_mw[list(model.branch_names)].to_numpy()[1]
    np.testing.assert_allclose(model.p_from_mw, flows, atol=1e-9)
    np.testing.assert_allclose(model.vm_pu, ac.vm_pu[model.bus_ids].to_numpy()[1], atol=1e-12)
    rng = np.random.default_rng(0)
    dp = rng.uniform(-2.0, 2.0, size=(9, model.n_bus)) * (rng.random((9, model.n_bus)) < 0.1)
    whole, chunked = ac_check(model, dp, 0.3 * dp), ac_check(model, dp, 0.3 * dp, chunk=4)
    np.testing.assert_allclose(whole.loading_ratio, chunked.loading_ratio, atol=1e-12)
    np.testing.assert_allclose(whole.vm_excess_pu, chunked.vm_excess_pu, atol=1e-12)
    assert not whole.feasible.all()  # 2 MW steps break some limit
    # thermal only: the voltage band is open in the linear check and in AC alike
    thermal = model.thermal_only()
    opened = ac_check(thermal, dp, 0.3 * dp)
    assert (opened.vm_excess_pu < -0.5).all()
    assert (opened.feasible == (whole.loading_ratio <= 1.0)).all()
    assert model.vm_max_pu.max() < 1.1  # the original is unchanged


@pytest.mark.slow
def test_shared_sensitivities_keep_each_mtus_own_base_state() -> None:
    grid, _, points = case()
    exact = day_models(grid, None, points, linearisation=Linearisation.PER_MTU, **MARGINS)
    shared = day_models(grid, None, points, linearisation=Linearisation.SHARED, **MARGINS)
    for a, b in zip(exact, shared, strict=True):
        for name in ("p_from_mw", "q_from_mvar", "vm_pu", "s_max_mva"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-9)
        assert a.interface_p_mw == pytest.approx(b.interface_p_mw, abs=1e-9)
        assert b.safety_margin == 0.1 and b.voltage_margin_pu == 0.004
        # only the sensitivities differ: by a few % at these three far-apart MTUs (night,
        # morning and evening peak around their mean; docs/aggregation.md has the whole day)
        assert np.abs(a.dp_from_dp - b.dp_from_dp).max() < 0.05
        assert np.abs(a.dvm_dp_pu_per_mw - b.dvm_dp_pu_per_mw).max() < 2e-3


@pytest.mark.slow
def test_the_day_equals_pareto_front_run_mtu_by_mtu() -> None:
    grid, found, points = case()
    day = run(linearisation=Linearisation.PER_MTU)
    assert day.area_id == "MV1.101" and len(day.mtus) == len(MTUS)
    assert day.n_ac_flows == sum(m.n_combinations for m in day.mtus)
    for k, mtu in enumerate(day.mtus):
        model = build_dso_model(grid, operating_point=points.at(k), **MARGINS)
        bids = [
            b
            for b in found.bids_of(Direction.DOWN)
            if any(q.interval == mtu.interval for q in b.quantities)
        ]
        ref = pareto_front(model, bids, found.register, at=mtu.interval.start)
        assert mtu.bid_ids == ref.bid_ids
        assert mtu.n_combinations == len(ref.accepted)
        assert mtu.n_linear_feasible == int(ref.linear_feasible.sum())
        assert ref.ac_feasible is not None and mtu.n_ac_feasible == int(ref.ac_feasible.sum())
        assert mtu.n_margin_rejected == len(ref.margin_rejected)
        assert mtu.n_margin_rejected_dominating == len(ref.margin_rejected_dominating)
        assert [p.cost_eur for p in mtu.front] == pytest.approx(ref.cost_eur[ref.front].tolist())
        assert [p.power_mw for p in mtu.front] == pytest.approx(ref.power_mw[ref.front].tolist())
        assert [p.interface_mw for p in mtu.front] == pytest.approx(
            ref.interface_mw[ref.front].tolist()
        )
        for point, row in zip(mtu.front, ref.front, strict=True):
            assert point.bid_ids == tuple(np.array(ref.bid_ids)[ref.accepted[row]])


def _dominated_by(point: Any, front: Any) -> bool:
    return any(
        q.cost_eur <= point.cost_eur + 1e-9 and q.power_mw >= point.power_mw - 1e-9 for q in front
    )


@pytest.mark.slow
def test_the_margins_bind_and_hide_cheaper_combinations() -> None:
    tight, loose = run(), run(safety_margin=0.0, voltage_margin_pu=0.0)
    assert tight.safety_margin == 0.1 and loose.safety_margin == 0.0
    for t, lo in zip(tight.mtus, loose.mtus, strict=True):
        assert t.n_combinations == lo.n_combinations and t.n_ac_feasible == lo.n_ac_feasible
        assert lo.n_linear_feasible >= t.n_linear_feasible
        assert lo.front_size >= t.front_size  # on this case; the theorem is the next line
        assert all(_dominated_by(p, lo.front) for p in t.front)
    congested = [m for m in tight.mtus if (m.n_margin_rejected or 0) > 0]
    assert congested, [m.n_margin_rejected for m in tight.mtus]
    worst = max(congested, key=lambda m: m.n_margin_rejected_dominating or 0)
    assert (worst.n_margin_rejected_dominating or 0) > 0
    assert tight.mtus[0].n_margin_rejected == 0  # the quiet night MTU does not bind
    looser = loose.mtus[tight.mtus.index(worst)]
    assert looser.n_linear_feasible > worst.n_linear_feasible


def test_one_operating_point_per_mtu_is_required() -> None:
    with pytest.raises(InvalidInputError, match="one scenario per MTU"):
        pareto_day(
            None,
            (),
            None,  # type: ignore[arg-type]  # refused before any grid work
            intervals=DAY[:2],
            operating_points=Injections(),
        )
