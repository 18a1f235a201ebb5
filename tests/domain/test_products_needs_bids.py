"""Products, needs and bids: construction invariants."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from flexcoord.domain import (
    Direction,
    Interval,
    Location,
    LocationKind,
    MtuQuantity,
    Product,
)
from flexcoord.errors import InvalidInputError

from .conftest import T0, Q, issues_of, make_bid, make_need, mtus


def make_product(**overrides: Any) -> Product:
    fields: dict[str, Any] = {
        "id": "p",
        "power_type": "active",
        "kind": "activation",
        "timeframe": "intraday",
    }
    fields.update(overrides)
    return Product(**fields)


# --- products ------------------------------------------------------------------------------------


def test_near_real_time_product_needs_15_minute_resolution() -> None:
    with pytest.raises(InvalidInputError) as info:
        make_product(
            timeframe="near_real_time", resolution=timedelta(hours=1), duration=timedelta(hours=1)
        )
    (issue,) = info.value.issues
    assert (issue.kind, issue.object_id, issue.field, issue.value) == (
        "Product",
        "p",
        "resolution",
        timedelta(hours=1),
    )


def test_product_collects_every_issue() -> None:
    found = issues_of(
        lambda: make_product(
            power_type="apparent",
            resolution=timedelta(minutes=20),
            duration=timedelta(minutes=50),
            min_quantity=math.nan,
            lead_time=timedelta(minutes=-5),
        )
    )
    assert found == {
        ("Product", "p", f)
        for f in ("power_type", "resolution", "duration", "min_quantity", "lead_time")
    }


def test_reactive_product_unit() -> None:
    assert make_product(power_type="reactive").quantity_unit == "Mvar"


# --- locations and needs -------------------------------------------------------------------------


def test_location_exactly_one_field_per_kind() -> None:
    assert Location.at_buses([1, 2]).bus_ids == frozenset({1, 2})
    assert issues_of(lambda: Location(kind="area")) == {("Location", "area", "area_id")}
    assert issues_of(lambda: Location(kind="buses", bus_ids={1}, area_id="mv")) == {
        ("Location", "buses", "area_id")
    }
    assert Location.at_coupling_point("trafo:0").kind is LocationKind.COUPLING_POINT


def test_need_accepts_raw_mappings() -> None:
    need = make_need(
        location={"kind": "coupling_point", "coupling_point_id": "trafo:0"},
        quantities=[{"start": T0, "end": T0 + Q, "quantity": 1}],
    )
    assert need.location.coupling_point_id == "trafo:0"
    assert need.direction is Direction.UP
    assert need.quantities[0] == MtuQuantity(interval=Interval(start=T0, end=T0 + Q), quantity=1)


def test_need_rejects_overlapping_and_unsorted_mtus() -> None:
    a, b = mtus(2)
    assert issues_of(lambda: make_need(quantities=(b, a))) == {
        ("Need", "n1", "quantities[1].interval")
    }
    overlapping = MtuQuantity(interval=Interval(start=T0 + Q / 3, end=T0 + 2 * Q), quantity=1.0)
    assert issues_of(lambda: make_need(quantities=(a, overlapping))) == {
        ("Need", "n1", "quantities[1].interval")
    }
    assert issues_of(lambda: make_need(quantities=(a, a))) == {
        ("Need", "n1", "quantities[1].interval")
    }


def test_need_reports_nested_problems_under_its_own_id() -> None:
    naive = datetime(2026, 6, 1, 17)
    found = issues_of(
        lambda: make_need(
            quantities=[
                {"start": naive, "end": T0 + Q, "quantity": 1.0},
                {"start": T0 + Q, "end": T0 + 2 * Q, "quantity": -1.0},
            ],
            location={"kind": "buses"},
            expected_activation_share=1.5,
            created_at=naive,
        )
    )
    assert found == {
        ("Need", "n1", "quantities[0].interval.start"),
        ("Need", "n1", "quantities[1].quantity"),
        ("Need", "n1", "location.bus_ids"),
        ("Need", "n1", "expected_activation_share"),
        ("Need", "n1", "created_at"),
    }


def test_need_allows_zero_quantity_but_not_empty() -> None:
    assert make_need(quantities=mtus(1, 0.0)).total_quantity == 0.0
    assert issues_of(lambda: make_need(quantities=())) == {("Need", "n1", "quantities")}
    assert issues_of(lambda: make_need(quantities=iter(()))) == {("Need", "n1", "quantities")}
    assert issues_of(lambda: make_need(quantities=None)) == {("Need", "n1", "quantities")}


# --- bids ----------------------------------------------------------------------------------------


def test_valid_bid_normalises_and_exposes_ranges() -> None:
    bid = make_bid(divisible=True, min_acceptance=0.2)
    assert bid.direction is Direction.UP
    assert bid.acceptance_range(0) == (0.2, 0.5)
    assert bid.delivery == Interval(start=T0, end=T0 + 4 * Q)
    assert make_bid(divisible=False).acceptance_range(3) == (0.5, 0.5)
    assert make_bid(q_mvar_per_mw=0.75).power_factor == pytest.approx(0.8)


def test_indivisible_bid_min_acceptance_must_equal_quantity() -> None:
    with pytest.raises(InvalidInputError) as info:
        make_bid(divisible=False, min_acceptance=0.3)
    assert {(i.kind, i.object_id, i.field, i.value) for i in info.value.issues} == {
        ("Bid", "b1", "min_acceptance", 0.3)
    }
    assert len(info.value.issues) == 4  # one per MTU, each naming its MTU
    assert make_bid(divisible=False, min_acceptance=0.5).min_acceptance == 0.5


def test_divisible_bid_min_acceptance_at_most_each_quantity() -> None:
    quantities = (*mtus(1, 1.0), *mtus(1, 0.2, start=T0 + Q))
    with pytest.raises(InvalidInputError) as info:
        make_bid(quantities=quantities, min_acceptance=0.5)
    (issue,) = info.value.issues
    assert issue.field == "min_acceptance" and "MTU 1" in issue.message


def test_bid_collects_every_issue() -> None:
    found = issues_of(
        lambda: make_bid(
            id="b7",
            direction=-1,
            quantities=mtus(2, 0.0),
            activation_price_eur_per_mwh=None,
            availability_price_eur_per_mw_h=None,
            divisible="no",
            parent_bid_id="b7",
            q_mvar_per_mw=math.inf,
            submitted_at=datetime(2026, 5, 1),
        )
    )
    assert found == {
        ("Bid", "b7", f)
        for f in (
            "direction",
            "quantities[0].quantity",
            "quantities[1].quantity",
            "activation_price_eur_per_mwh",
            "divisible",
            "parent_bid_id",
            "q_mvar_per_mw",
            "submitted_at",
        )
    }


def test_bid_submission_time_is_normalised_to_utc() -> None:
    cest = datetime(2026, 5, 31, 12, tzinfo=timezone(timedelta(hours=2)))
    bid = make_bid(submitted_at=cest)
    assert bid.submitted_at.tzinfo is UTC
    assert bid.submitted_at == datetime(2026, 5, 31, 10, tzinfo=UTC)


def test_negative_activation_price_is_allowed_negative_availability_price_is_not() -> None:
    assert make_bid(activation_price_eur_per_mwh=-20.0).activation_price_eur_per_mwh == -20.0
    assert issues_of(lambda: make_bid(availability_price_eur_per_mw_h=-1.0)) == {
        ("Bid", "b1", "availability_price_eur_per_mw_h")
    }
