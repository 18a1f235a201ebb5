"""A small market for the operations tests: one DSO area, three units, a group, three products."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from flexcoord.clearing.result import Award
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    FlexibilityServiceProvider,
    GridArea,
    Group,
    Interval,
    Product,
    Register,
    SystemOperator,
    Unit,
)

T0 = datetime(2026, 6, 1, 10, tzinfo=UTC)
QH = timedelta(minutes=15)


def mtu(i: int, start: datetime = T0, step: timedelta = QH) -> Interval:
    return Interval(start=start + i * step, end=start + (i + 1) * step)


UNITS = (
    Unit(
        id="hp",
        fsp_id="f",
        connection_point_id="cp1",
        technology="heat_pump",
        p_min_mw=-2.0,
        p_max_mw=0.0,
    ),
    Unit(
        id="pv", fsp_id="f", connection_point_id="cp2", technology="pv", p_min_mw=0.0, p_max_mw=3.0
    ),
    Unit(
        id="bess",
        fsp_id="f",
        connection_point_id="cp3",
        technology="bess",
        p_min_mw=-0.5,
        p_max_mw=0.5,
        energy_min_mwh=0.0,
        energy_max_mwh=1.0,
    ),
)

PRODUCTS = (
    Product(id="act", power_type="active", kind="activation", timeframe="day_ahead"),
    Product(id="cap", power_type="active", kind="availability", timeframe="day_ahead"),
    Product(id="reactive", power_type="reactive", kind="activation", timeframe="day_ahead"),
    Product(
        id="both", power_type="active", kind="availability_and_activation", timeframe="day_ahead"
    ),
)


def register(units: Sequence[Unit] = UNITS, groups: Sequence[Group] | None = None) -> Register:
    if groups is None:
        groups = (Group(id="g", fsp_id="f", unit_ids=("pv", "bess")),)
    return Register(
        operators=[SystemOperator(id="dso", name="DSO", role="dso")],
        areas=[
            GridArea(
                id="mv",
                operator_id="dso",
                bus_ids=frozenset(range(1, 40)),
                coupling_point_ids=frozenset({"trafo:0"}),
            )
        ],
        fsps=[FlexibilityServiceProvider(id="f", name="F")],
        connection_points=[
            ConnectionPoint(
                id=u.connection_point_id, bus=i + 1, area_id="mv", coupling_point_id="trafo:0"
            )
            for i, u in enumerate(units)
        ],
        units=list(units),
        groups=list(groups),
        products=list(PRODUCTS),
    )


def bid(
    bid_id: str,
    resource_id: str,
    quantities: Sequence[float],
    *,
    direction: str = "up",
    product_id: str = "act",
    start: datetime = T0,
    step: timedelta = QH,
) -> Bid:
    prices: dict[str, float] = {}
    if product_id in ("act", "both", "reactive"):
        prices["activation_price_eur_per_mwh"] = 100.0
    if product_id in ("cap", "both"):
        prices["availability_price_eur_per_mw_h"] = 10.0
    return Bid(
        id=bid_id,
        fsp_id="f",
        resource_id=resource_id,
        product_id=product_id,
        direction=direction,  # type: ignore[arg-type]
        quantities=[
            {"start": start + i * step, "end": start + (i + 1) * step, "quantity": q}
            for i, q in enumerate(quantities)
        ],
        submitted_at=start - timedelta(days=1),
        **prices,  # type: ignore[arg-type]
    )


def award(bid_id: str, interval: Interval, mw: float) -> Award:
    return Award(
        bid_id=bid_id,
        mtu=interval.start.isoformat(),
        quantity_mw=mw,
        price_eur_per_mwh=100.0,
        payment_eur=100.0 * mw * 0.25,
    )
