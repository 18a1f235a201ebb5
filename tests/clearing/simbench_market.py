"""Domain-level markets on SimBench grids: portfolio units bid, a DSO and a TSO need congestion.

Shared by the SimBench integration tests and the near-real-time / domain-level benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from flexcoord.domain import (
    Bid,
    Interval,
    Location,
    MtuQuantity,
    Need,
    Product,
    Register,
    market_time_units,
)
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio

DAY = date(2026, 6, 1)
PROFILE_DAY = 150  # SimBench day of the profiles placed on DAY
SUBMITTED = datetime(2026, 5, 31, 9, tzinfo=UTC)
PRODUCT = Product(
    id="p-cm",
    power_type="active",
    kind="activation",
    timeframe="day_ahead",
    gate_closure_before_delivery=timedelta(hours=1),
)


@dataclass(frozen=True, slots=True)
class SimbenchMarket:
    """A register, needs, bids and the MTUs (with their SimBench profile start step)."""

    register: Register
    needs: tuple[Need, ...]
    bids: tuple[Bid, ...]
    intervals: tuple[Interval, ...]
    profile_start_step: int
    areas: tuple[str, ...]


def mtus(first: int, count: int) -> tuple[tuple[Interval, ...], int]:
    """``count`` quarter-hours of :data:`DAY` from MTU ``first``, and their profile step."""
    return market_time_units(DAY)[first : first + count], 96 * PROFILE_DAY + first


def _q(intervals: tuple[Interval, ...], values: Any) -> tuple[MtuQuantity, ...]:
    vals = np.broadcast_to(np.asarray(values, dtype=float), (len(intervals),))
    return tuple(
        MtuQuantity(interval=iv, quantity=float(v)) for iv, v in zip(intervals, vals, strict=True)
    )


def simbench_market(
    grid: Any,
    *,
    first_mtu: int = 44,
    n_mtu: int = 8,
    dso_need_mw: float = 6.0,
    tso_need_mw: float = 6.0,
    max_bid_mw: float = 1.5,
    n_bids: int | None = None,
    seed: int = 0,
) -> SimbenchMarket:
    """A market on ``grid``: units of the first (DSO) and last (TSO need) MV areas bid.

    Bids: generators offer DOWN (curtailment), loads, EV and heat pumps offer UP (shedding),
    batteries both (an exclusive pair); quantities ``min(range, max_bid_mw)`` in every MTU,
    activation prices U(20, 300) €/MWh (seeded). Needs: the DSO wants ``dso_need_mw`` UP in the
    first area (a sine over the MTUs), the TSO ``tso_need_mw`` DOWN at the coupling point of the
    last area. ``n_bids`` repeats the units' bids (with new prices) up to that many bids.
    """
    rng = np.random.default_rng(seed)
    intervals, start = mtus(first_mtu, n_mtu)
    additions = ScenarioAdditions(batteries=4, ev_chargers=20, heat_pumps=20, seed=seed)
    register = replace(build_portfolio(grid, additions=additions), products=(PRODUCT,))
    dso_areas = grid.areas.dso_areas
    areas = tuple(dict.fromkeys([dso_areas[0].id, dso_areas[-1].id]))
    in_areas = set().union(*(grid.areas.dso_area(a).bus_ids for a in areas))
    offers: list[tuple[Any, str, float]] = []
    for u in register.units:
        bus = register.connection_point(u.connection_point_id).bus
        if bus not in in_areas:
            continue
        if u.p_max_mw > 1e-3:
            offers.append((u, "down", min(u.p_max_mw, max_bid_mw)))
        if u.p_min_mw < -1e-3:
            offers.append((u, "up", min(-u.p_min_mw, max_bid_mw)))
    target = n_bids or len(offers)
    bids = []
    for k in range(target):
        u, direction, q = offers[k % len(offers)]
        rep = k // len(offers)
        both = u.p_max_mw > 1e-3 and u.p_min_mw < -1e-3
        bids.append(
            Bid(
                id=f"b:{u.id}:{direction}:{rep}",
                fsp_id=u.fsp_id,
                resource_id=u.id,
                product_id=PRODUCT.id,
                direction=direction,
                quantities=_q(intervals, q),
                submitted_at=SUBMITTED + timedelta(seconds=int(rng.integers(0, 3600))),
                activation_price_eur_per_mwh=round(float(rng.uniform(20, 300)), 2),
                exclusive_set=f"x:{u.id}:{rep}" if both else None,
            )
        )
    shape = 0.5 + 0.5 * np.sin(np.linspace(0, np.pi, n_mtu))
    dso_area = grid.areas.dso_area(areas[0])
    tso_cp = min(cp.id for cp in grid.areas.dso_area(areas[-1]).coupling_points)
    dso = next(o.id for o in register.operators if o.role == "dso")
    needs = (
        Need(
            id="need:dso",
            buyer_id=dso,
            product_id=PRODUCT.id,
            location=Location.in_area(dso_area.id),
            direction="up",
            quantities=_q(intervals, dso_need_mw * shape),
            created_at=SUBMITTED - timedelta(hours=1),
            activation_price_cap_eur_per_mwh=400.0,
        ),
        Need(
            id="need:tso",
            buyer_id="tso",
            product_id=PRODUCT.id,
            location=Location.at_coupling_point(tso_cp),
            direction="down",
            quantities=_q(intervals, tso_need_mw * shape[::-1]),
            created_at=SUBMITTED - timedelta(hours=1),
        ),
    )
    return SimbenchMarket(
        register=register,
        needs=needs,
        bids=tuple(bids),
        intervals=intervals,
        profile_start_step=start,
        areas=areas,
    )
