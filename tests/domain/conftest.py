"""Shared fixtures of the domain tests: a small consistent register and MTU helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    FlexibilityServiceProvider,
    GridArea,
    Group,
    Interval,
    Location,
    MarketOperator,
    MtuQuantity,
    Need,
    Product,
    ProductPrequalification,
    Register,
    SystemOperator,
    Unit,
)
from flexcoord.errors import InvalidInputError

T0 = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)
Q = timedelta(minutes=15)


def mtus(n: int, quantity: float = 1.0, start: datetime = T0) -> tuple[MtuQuantity, ...]:
    """``n`` consecutive quarter-hours from ``start``, each with ``quantity``."""
    return tuple(
        MtuQuantity(
            interval=Interval(start=start + i * Q, end=start + (i + 1) * Q), quantity=quantity
        )
        for i in range(n)
    )


def issues_of(build: Callable[[], object]) -> set[tuple[str, str, str]]:
    """The (kind, object id, field) of every issue raised by ``build``; fails if none."""
    with pytest.raises(InvalidInputError) as info:
        build()
    return {(i.kind, i.object_id, i.field) for i in info.value.issues}


def make_bid(**overrides: Any) -> Bid:
    fields: dict[str, Any] = {
        "id": "b1",
        "fsp_id": "fsp-a",
        "resource_id": "u1",
        "product_id": "p-da",
        "direction": "up",
        "quantities": mtus(4, 0.5),
        "activation_price_eur_per_mwh": 100.0,
        "availability_price_eur_per_mw_h": 5.0,
        "submitted_at": T0 - timedelta(days=1),
    }
    fields.update(overrides)
    return Bid(**fields)


def make_need(**overrides: Any) -> Need:
    """An up need of ``dso`` for 0.8 MW in four quarter-hours of area ``mv``, with ``overrides``."""
    fields: dict[str, Any] = {
        "id": "n1",
        "buyer_id": "dso",
        "product_id": "p-da",
        "location": Location.in_area("mv"),
        "direction": "up",
        "quantities": mtus(4, 0.8),
        "created_at": T0 - timedelta(days=2),
        "expected_activation_share": 0.25,
    }
    fields.update(overrides)
    return Need(**fields)


def register_parts() -> dict[str, Any]:
    """Keyword arguments of a small consistent register.

    TSO ``tso`` with HV area ``hv`` (buses 0, 1); DSO ``dso`` with MV area ``mv`` (buses 2..6)
    behind coupling points ``trafo:0`` (buses 2-4) and ``trafo:1`` (buses 5-6). FSP ``fsp-a`` owns
    u1, u2 (behind trafo:0), u3 (behind trafo:1), u-hv (transmission); FSP ``fsp-b`` owns u4.
    """
    cps = [
        ConnectionPoint(id="cp-hv", bus=1, area_id="hv"),
        ConnectionPoint(id="cp2", bus=2, area_id="mv", coupling_point_id="trafo:0"),
        ConnectionPoint(id="cp3", bus=3, area_id="mv", coupling_point_id="trafo:0"),
        ConnectionPoint(id="cp5", bus=5, area_id="mv", coupling_point_id="trafo:1"),
        ConnectionPoint(id="cp4", bus=4, area_id="mv", coupling_point_id="trafo:0"),
    ]
    units = [
        Unit(
            id="u1",
            fsp_id="fsp-a",
            connection_point_id="cp2",
            technology="pv",
            p_min_mw=0.0,
            p_max_mw=1.0,
        ),
        Unit(
            id="u2",
            fsp_id="fsp-a",
            connection_point_id="cp3",
            technology="bess",
            p_min_mw=-1.0,
            p_max_mw=1.0,
            energy_min_mwh=0.0,
            energy_max_mwh=2.0,
            activation_lead_time=timedelta(minutes=10),
        ),
        Unit(
            id="u3",
            fsp_id="fsp-a",
            connection_point_id="cp5",
            technology="heat_pump",
            p_min_mw=-0.5,
            p_max_mw=0.0,
        ),
        Unit(
            id="u-hv",
            fsp_id="fsp-a",
            connection_point_id="cp-hv",
            technology="wind",
            p_min_mw=0.0,
            p_max_mw=20.0,
        ),
        Unit(
            id="u4",
            fsp_id="fsp-b",
            connection_point_id="cp4",
            technology="industrial_load",
            p_min_mw=-3.0,
            p_max_mw=-1.0,
            activation_lead_time=timedelta(hours=2),
        ),
    ]
    products = [
        Product(
            id="p-da",
            power_type="active",
            kind="availability_and_activation",
            timeframe="day_ahead",
            min_quantity=0.1,
            lead_time=timedelta(minutes=15),
            duration=timedelta(hours=1),
            gate_closure_before_delivery=timedelta(hours=12),
        ),
        Product(
            id="p-nrt",
            power_type="active",
            kind="activation",
            timeframe="near_real_time",
            lead_time=timedelta(minutes=15),
            gate_closure_before_delivery=Q,
        ),
        Product(
            id="p-q",
            power_type="reactive",
            kind="activation",
            timeframe="intraday",
            resolution=timedelta(hours=1),
            duration=timedelta(hours=1),
        ),
    ]
    return {
        "operators": [
            SystemOperator(id="tso", name="TSO", role="tso"),
            SystemOperator(id="dso", name="DSO", role="dso"),
        ],
        "areas": [
            GridArea(id="hv", operator_id="tso", bus_ids={0, 1}, voltage_levels_kv={110.0}),
            GridArea(
                id="mv",
                operator_id="dso",
                bus_ids={2, 3, 4, 5, 6},
                voltage_levels_kv={20.0},
                coupling_point_ids={"trafo:0", "trafo:1"},
            ),
        ],
        "fsps": [
            FlexibilityServiceProvider(id="fsp-a", name="A"),
            FlexibilityServiceProvider(id="fsp-b", name="B"),
        ],
        "market_operators": [MarketOperator(id="mo", name="Platform")],
        "connection_points": cps,
        "units": units,
        "groups": [Group(id="g1", fsp_id="fsp-a", unit_ids=("u1", "u2"))],
        "products": products,
        "product_prequalifications": [
            ProductPrequalification(
                id="pq1",
                resource_id="g1",
                product_id="p-da",
                procuring_operator_id="dso",
                scope="common",
                status="qualified",
                valid=Interval(
                    start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC)
                ),
            )
        ],
    }


@pytest.fixture
def register() -> Register:
    return Register(**register_parts())
