"""Aggregated offer curve on a hand-built model with a congested branch."""

from __future__ import annotations

import itertools

import numpy as np

from flexcoord.coordination.aggregation import aggregated_offer_curve
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
