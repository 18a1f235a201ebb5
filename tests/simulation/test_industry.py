"""The seeded industrial sites and bids of an Industry4Redispatch case."""

from __future__ import annotations

import functools
import math
from datetime import date
from typing import Any

import numpy as np
import pytest

from flexcoord.domain import Direction, Technology, market_time_units
from flexcoord.errors import InvalidInputError
from flexcoord.grid.pgm import Injections
from flexcoord.simulation.industry import INDUSTRY_PRODUCT_ID, industrial_case
from tests.conftest import MV_RURAL

DAY = market_time_units(date(2026, 6, 2))


@functools.cache
def mv_rural() -> tuple[Any, Any, Injections]:
    from flexcoord.grid.forecast import profile_operating_points
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.simulation.scenario import profile_step_of

    grid = load_grid(MV_RURAL)
    base = profile_operating_points(grid, start_step=profile_step_of(date(2016, 6, 1)), steps=96)
    return grid, build_portfolio(grid), base


def test_bid_count_and_base_points_are_checked_before_any_grid_work() -> None:
    with pytest.raises(InvalidInputError) as err:
        industrial_case(None, None, intervals=DAY, base_points=Injections(), n_bids=17)  # type: ignore[arg-type]
    assert {i.field for i in err.value.issues} == {"n_bids", "base_points"}


@pytest.mark.slow
def test_sites_bids_and_schedules_follow_the_demonstrator() -> None:
    grid, register, base = mv_rural()
    case = industrial_case(grid, register, intervals=DAY, base_points=base, n_bids=16, seed=4)
    assert case.area_id == "MV1.101"
    for direction in Direction:
        bids = case.bids_of(direction)
        assert len(bids) == 16 and all(not b.divisible for b in bids)
        assert len({b.id for b in bids}) == 16
        assert all(b.product_id == INDUSTRY_PRODUCT_ID for b in bids)
        sets = {b.exclusive_set for b in bids} - {None}
        assert sets  # a few XOR sets, each within one site
        for name in sets:
            assert len({b.resource_id for b in bids if b.exclusive_set == name}) == 1
    sites = {s.unit_id: s for s in case.sites}
    for b in case.bids:
        site = sites[b.resource_id]
        unit = case.register.unit(b.resource_id)
        assert unit.technology is Technology.INDUSTRIAL_LOAD and unit.p_min_mw == -site.rating_mw
        assert b.q_mvar_per_mw == (
            None if site.cos_phi == 1.0 else pytest.approx(math.tan(math.acos(site.cos_phi)))
        )
        k = case.sites.index(site)
        room = (
            case.schedule_mw[k] - site.min_mw
            if b.direction is Direction.UP
            else site.rating_mw - case.schedule_mw[k]
        )
        for mq in b.quantities:  # offered only where the schedule leaves the room
            assert mq.quantity <= room[DAY.index(mq.interval)] + 1e-9
    assert (
        (case.schedule_mw >= 0) & (case.schedule_mw <= [[s.rating_mw] for s in case.sites])
    ).all()
    # the schedules are consumed at the sites' buses, on top of the base case
    added = case.operating_points.bus_p_mw
    for bus in {s.bus for s in case.sites}:
        expected = -sum(case.schedule_mw[k] for k, s in enumerate(case.sites) if s.bus == bus)
        np.testing.assert_allclose(added[bus].to_numpy(), expected, atol=1e-12)
    again = industrial_case(grid, register, intervals=DAY, base_points=base, n_bids=16, seed=4)
    assert again.bids == case.bids and again.sites == case.sites
    other = industrial_case(grid, register, intervals=DAY, base_points=base, n_bids=16, seed=5)
    assert other.bids != case.bids


@pytest.mark.slow
def test_the_area_hosts_the_schedules() -> None:
    from flexcoord.coordination.aggregation import build_dso_model

    grid, register, base = mv_rural()
    case = industrial_case(grid, register, intervals=DAY, base_points=base, n_bids=12, seed=2)
    for k in (8, 31, 79):
        model = build_dso_model(grid, operating_point=case.operating_points.at(k))
        loading = np.hypot(model.p_from_mw, model.q_from_mvar) / model.s_max_mva
        assert loading.max() <= 0.8 + 1e-9
        assert model.vm_pu.min() >= model.vm_min_pu.min() + 0.01 - 1e-9
