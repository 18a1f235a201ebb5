"""canonical(): bids in the documented total order (lowest slot price, submission time, id)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from flexcoord.clearing.problem import canonical
from tests.clearing.markets import random_market


@pytest.mark.parametrize("seed", range(40))
def test_bids_are_ordered_by_price_then_time_then_id(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = random_market(rng, max_bids=30)
    # few distinct prices and times, so that ties are the rule and the id has to break them
    price = rng.choice([10.0, 20.0, -5.0], p.n_slot)
    submitted = rng.choice([0.0, 60.0], p.n_bid)
    ids = tuple(f"b{k:02d}" for k in rng.permutation(p.n_bid))
    p = replace(p, slot_price_eur_per_mwh=price, bid_submitted_s=submitted, bid_ids=ids)
    lowest = {b: min(price[p.slot_bid == b]) for b in range(p.n_bid)}
    expected = sorted(range(p.n_bid), key=lambda b: (lowest[b], submitted[b], ids[b]))
    assert canonical(p).bid_ids == tuple(ids[b] for b in expected)


@pytest.mark.parametrize("seed", range(10))
def test_order_holds_on_any_finite_prices_and_times(seed: int) -> None:
    """Prices from -1e6 to 1e6 €/MWh down to 1e-9 apart, times a year apart to the µs, and a
    signed zero (-0.0 ties with 0.0): the order is still (lowest price, time, id)."""
    rng = np.random.default_rng(100 + seed)
    p = random_market(rng, max_bids=30)
    price = rng.choice([-1e6, -3.5, -0.0, 0.0, 1e-9, 2e-9, 7.25, 1e6], p.n_slot)
    price = price + rng.choice([0.0, 1e-12], p.n_slot) * (np.abs(price) > 1)
    submitted = 1.8e9 + rng.choice([0.0, 1e-6, 3.15e7, -3.15e7], p.n_bid)
    ids = tuple(f"b{k:02d}" for k in rng.permutation(p.n_bid))
    p = replace(p, slot_price_eur_per_mwh=price, bid_submitted_s=submitted, bid_ids=ids)
    lowest = {b: min(price[p.slot_bid == b]) for b in range(p.n_bid)}
    expected = sorted(range(p.n_bid), key=lambda b: (lowest[b], submitted[b], ids[b]))
    assert canonical(p).bid_ids == tuple(ids[b] for b in expected)
