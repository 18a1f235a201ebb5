"""Aggregated offer curve on a hand-built model with a congested branch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.coordination.aggregation import aggregated_offer_curve
from flexcoord.coordination.aggregation.bid_columns import bid_columns
from flexcoord.coordination.aggregation.offer_curve import (
    _is_knapsack,
    _knapsack_curve,
    _lp_curve,
    bid_lp,
)
from flexcoord.domain import Direction, Interval
from tests.coordination.test_aggregation_fixtures import MTU, bid, lossless_model, register_for

MTU_INTERVAL = Interval(start=MTU["start"], end=MTU["end"])


def case() -> tuple:
    # bus 1 sits behind a branch with 1 MVA of headroom; bus 2 is unconstrained
    model = lossless_model(s_max_mva=1.0)
    register = register_for(
        [{"id": "u1", "bus": 1, "p_max_mw": 5.0}, {"id": "u2", "bus": 2, "p_max_mw": 5.0}]
    )
    bids = [
        bid("cheap", "u1", 3.0, 10.0),
        bid("mid", "u2", 1.0, 30.0),
        bid("dear", "u2", 1.5, 50.0),
        bid("down", "u2", 2.0, 5.0, direction="down"),
    ]
    return model, register, bids


def test_curve_is_merit_order_within_dso_limits() -> None:
    model, register, bids = case()
    curve = aggregated_offer_curve(model, bids, register, direction=Direction.UP, levels=35)
    circle = 1.0 / np.cos(np.pi / model.n_cuts)  # circumscribed polygon of the 1 MVA circle
    assert curve.max_quantity_mw <= circle + 2.5 + 1e-6
    assert curve.max_quantity_mw >= 1.0 + 2.5 - 1e-6
    prices = [s.price_eur_per_mwh for s in curve.steps]
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(prices))
    assert sum(s.quantity_mw for s in curve.steps) <= curve.max_quantity_mw + 1e-6
    for step in curve.steps:  # the bid behind the congested branch never exceeds its headroom
        assert step.allocation_mw.get("cheap", 0.0) <= circle + 1e-6
    assert abs(prices[0] - 10.0) < 1e-9
    assert abs(prices[-1] - 50.0) < 1e-9
    assert "down" not in curve.bid_ids


def test_curve_as_forwarded_bids() -> None:
    model, register, bids = case()
    curve = aggregated_offer_curve(model, bids, register, direction="up", levels=35)
    forwarded = curve.as_bids(
        fsp_id="dso", product_id="p", interval=MTU_INTERVAL, submitted_at=bids[0].submitted_at
    )
    assert all(b.resource_id == "interface:dso-a" for b in forwarded)
    assert [b.parent_bid_id for b in forwarded[1:]] == [b.id for b in forwarded[:-1]]
    total = sum(b.quantities[0].quantity for b in forwarded)
    assert abs(total - curve.max_quantity_mw) < 1e-6
    down = aggregated_offer_curve(model, bids, register, direction=Direction.DOWN, levels=4)
    assert down.bid_ids == ("down",)
    assert abs(down.max_quantity_mw - 2.0) < 1e-9


@given(
    offers=st.lists(
        st.tuples(
            st.sampled_from(["u1", "u2"]),
            st.floats(0.01, 5.0),
            st.sampled_from([0.0, 10.0, 12.5, 30.0, 30.0, 80.0]),
        ),
        min_size=1,
        max_size=12,
    ),
    levels=st.integers(1, 30),
)
@settings(max_examples=60, deadline=None)
def test_an_unconstrained_area_gives_the_lp_curve_without_solving_it(
    offers: list[tuple[str, float, float]], levels: int
) -> None:
    """With no limit, capability or XOR row that can bind, the curve is a continuous knapsack:
    its merit-order fill gives the same largest quantity, steps and cost at each step as the
    LP solved by HiGHS (allocations may differ only between bids of equal price per MW)."""
    model = lossless_model(s_max_mva=1000.0)
    register = register_for(
        [{"id": "u1", "bus": 1, "p_max_mw": 100.0}, {"id": "u2", "bus": 2, "p_max_mw": 100.0}]
    )
    bids = [bid(f"b{i}", unit, q, price) for i, (unit, q, price) in enumerate(offers)]
    cols = bid_columns(model, bids, register, at=None, direction=Direction.UP)
    arrays, g_p = bid_lp(model, cols)
    assert _is_knapsack(arrays, cols, -g_p)
    fast_max, fast = _knapsack_curve(cols, -g_p, levels)
    lp_max, lp = _lp_curve(arrays, cols, -g_p, levels, None)
    assert fast_max == pytest.approx(lp_max, abs=1e-7)
    assert len(fast) == len(lp)
    price = dict(zip(cols.ids, cols.price_eur_per_mwh, strict=True))
    for a, b in zip(fast, lp, strict=True):
        assert a.price_eur_per_mwh == pytest.approx(b.price_eur_per_mwh, abs=1e-5)
        assert a.cumulative_mw == pytest.approx(b.cumulative_mw, abs=1e-7)
        cost_a = sum(mw * price[i] for i, mw in a.allocation_mw.items())
        cost_b = sum(mw * price[i] for i, mw in b.allocation_mw.items())
        assert cost_a == pytest.approx(cost_b, abs=1e-5)
        assert sum(a.allocation_mw.values()) == pytest.approx(a.cumulative_mw, abs=1e-7)
