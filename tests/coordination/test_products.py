"""A scheme trades only its power types and product kinds (reactive power for CZ / HU)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from flexcoord.coordination import CoordinationInput, preset, run_scheme
from flexcoord.domain import (
    Bid,
    Direction,
    Location,
    MtuQuantity,
    Need,
    PowerType,
    Product,
    ProductKind,
    Timeframe,
)
from tests.coordination.schemes_fixtures import two_level_scenario


def _with_reactive_market() -> CoordinationInput:
    base = two_level_scenario(0)
    reactive = Product(
        id="p-q",
        power_type=PowerType.REACTIVE,
        kind=ProductKind.ACTIVATION,
        timeframe=Timeframe.DAY_AHEAD,
        resolution=timedelta(minutes=15),
        gate_closure_before_delivery=timedelta(hours=12),
    )
    register = dataclasses.replace(base.register, products=(*base.register.products, reactive))
    flexible = [u for u in register.units if u.q_max_mvar > 0]
    assert flexible, "the fixture grid must have units with reactive range"
    created = base.intervals[0].start - timedelta(hours=12)
    dso_buses = frozenset(register.connection_point(u.connection_point_id).bus for u in flexible)
    need = Need(
        id="n-q",
        buyer_id="dso",
        product_id="p-q",
        location=Location.at_buses(dso_buses),
        direction=Direction.UP,
        created_at=created,
        activation_price_cap_eur_per_mwh=300.0,
        quantities=tuple(MtuQuantity(interval=iv, quantity=0.2) for iv in base.intervals),
    )
    bids = tuple(
        Bid(
            id=f"q{k}",
            fsp_id=u.fsp_id,
            resource_id=u.id,
            product_id="p-q",
            direction=Direction.UP,
            submitted_at=created - timedelta(hours=1),
            activation_price_eur_per_mwh=10.0 + k,
            quantities=tuple(
                MtuQuantity(interval=iv, quantity=min(0.1, u.q_max_mvar)) for iv in base.intervals
            ),
        )
        for k, u in enumerate(flexible[:6])
    )
    return dataclasses.replace(
        base, register=register, needs=(*base.needs, need), bids=(*base.bids, *bids)
    )


def test_reactive_bids_clear_only_in_schemes_that_trade_reactive_power() -> None:
    scenario = _with_reactive_market()
    active_only = preset("onenet-fragmented")  # Table 3: active power only
    with_q = dataclasses.replace(
        active_only, id="fragmented-pq", power_types=(PowerType.ACTIVE, PowerType.REACTIVE)
    )
    a = run_scheme(active_only, scenario, ac_check=False)
    b = run_scheme(with_q, scenario, ac_check=False)
    reactive_a = {k: v for k, v in a.accepted_mw.items() if k.root.startswith("q")}
    reactive_b = {k: v for k, v in b.accepted_mw.items() if k.root.startswith("q")}
    assert reactive_a == {}
    assert sum(reactive_b.values()) > 0
    assert a.kpis.shortfall_mwh["dso"] > b.kpis.shortfall_mwh["dso"]


def test_czech_and_hungarian_presets_trade_reactive_power() -> None:
    assert PowerType.REACTIVE in preset("onenet-czech-republic").power_types
    assert PowerType.REACTIVE in preset("onenet-hungary").power_types
    assert preset("onenet-poland").power_types == (PowerType.ACTIVE,)
