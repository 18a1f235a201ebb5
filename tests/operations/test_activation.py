"""Activation orders: one per unit and MTU, group awards split by the clearing's rule."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.clearing.capability import member_shares
from flexcoord.domain import Direction, Group, Unit
from flexcoord.errors import InvalidInputError
from flexcoord.operations import ActivationOrder, activation_orders
from tests.operations.fixtures import T0, award, bid, mtu, register

ISSUED = T0 - timedelta(hours=1)


def test_a_unit_award_is_one_order_with_its_energy_and_mtu() -> None:
    b = bid("b1", "hp", [1.5, 1.0], direction="up")
    (order,) = activation_orders(
        [award("b1", mtu(1), 0.8)], [b], register(), issued_at=ISSUED, buyers={"b1": "dso"}
    )
    assert (order.unit_id, order.fsp_id, order.buyer_id) == ("hp", "f", "dso")
    assert order.interval == mtu(1)
    assert order.direction is Direction.UP
    assert order.quantity_mw == 0.8
    assert order.energy_mwh == pytest.approx(0.2)
    assert str(order.id) == f"b1/hp/{mtu(1).start.isoformat()}"


def test_the_mtu_duration_comes_from_the_bid() -> None:
    hour = timedelta(hours=1)
    b = bid("b1", "pv", [2.0], direction="down", step=hour)
    (order,) = activation_orders(
        [award("b1", mtu(0, step=hour), 2.0)], [b], register(), issued_at=ISSUED
    )
    assert order.interval.duration == hour
    assert order.energy_mwh == pytest.approx(2.0)


def test_a_group_award_is_split_by_range_share_and_sums_to_the_award() -> None:
    b = bid("bg", "g", [3.5])
    orders = activation_orders([award("bg", mtu(0), 2.0)], [b], register(), issued_at=ISSUED)
    by_unit = {o.unit_id: o.quantity_mw for o in orders}
    # pv range 3, bess range 1: shares 3/4 and 1/4, as the clearing's capability rows use them
    assert by_unit == pytest.approx({"pv": 1.5, "bess": 0.5})


def test_same_awards_give_the_same_order_ids() -> None:
    b = bid("bg", "g", [3.0, 3.0])
    awards = [award("bg", mtu(1), 1.0), award("bg", mtu(0), 2.0)]
    first = activation_orders(awards, [b], register(), issued_at=ISSUED)
    again = activation_orders(list(reversed(awards)), [b], register(), issued_at=ISSUED)
    assert [o.id for o in first] == [o.id for o in again]
    assert first == again


@pytest.mark.parametrize(
    ("the_award", "field"),
    [
        (award("nobid", mtu(0), 1.0), "bid_id"),
        (award("b1", mtu(5), 1.0), "mtu"),
        (award("b1", mtu(0), 1.6), "quantity_mw"),
        (award("b1", mtu(0), -1.0), "quantity_mw"),
    ],
)
def test_an_award_that_does_not_fit_its_bid_is_rejected(the_award: object, field: str) -> None:
    b = bid("b1", "hp", [1.5])
    with pytest.raises(InvalidInputError) as err:
        activation_orders([the_award], [b], register(), issued_at=ISSUED)  # type: ignore[list-item]
    assert [i.field for i in err.value.issues] == [field]


@pytest.mark.parametrize("product_id", ["cap", "reactive"])
def test_an_award_of_a_product_without_active_activation_gives_no_order(product_id: str) -> None:
    b = bid("b1", "hp", [1.0], product_id=product_id)
    with pytest.raises(InvalidInputError) as err:
        activation_orders([award("b1", mtu(0), 1.0)], [b], register(), issued_at=ISSUED)
    assert [(i.object_id, i.field) for i in err.value.issues] == [("b1", "product_id")]


def test_orders_beyond_a_units_range_are_rejected_naming_the_unit() -> None:
    bids = [bid("b1", "hp", [1.5]), bid("b2", "hp", [1.5])]  # each fits, together 3 > 2 MW
    awards = [award("b1", mtu(0), 1.5), award("b2", mtu(0), 1.5)]
    with pytest.raises(InvalidInputError) as err:
        activation_orders(awards, bids, register(), issued_at=ISSUED)
    (issue,) = err.value.issues
    assert (issue.kind, issue.object_id, issue.field) == ("Unit", "hp", "p_range_mw")


def test_a_naive_issue_time_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="issued_at"):
        activation_orders([], [], register(), issued_at=T0.replace(tzinfo=None))


_ranges = st.lists(st.floats(0.0, 5.0, allow_nan=False), min_size=1, max_size=5)


def _members(ranges: list[float]) -> tuple[Unit, ...]:
    return tuple(
        Unit(
            id=f"u{i}",
            fsp_id="f",
            connection_point_id=f"cp{i}",
            technology="bess",
            p_min_mw=-r / 2,
            p_max_mw=r / 2,
            energy_min_mwh=0.0,
            energy_max_mwh=1.0,
        )
        for i, r in enumerate(ranges)
    )


def _per_unit(orders: tuple[ActivationOrder, ...]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for o in orders:
        total[o.unit_id] += o.quantity_mw
    return total


@settings(max_examples=60, deadline=None)
@given(
    ranges=_ranges, awarded=st.lists(st.floats(0.0, 30.0, allow_nan=False), min_size=1, max_size=3)
)
def test_a_unit_is_never_ordered_beyond_its_range_whatever_the_awards(
    ranges: list[float], awarded: list[float]
) -> None:
    units = _members(ranges)
    reg = register(units, [Group(id="g", fsp_id="f", unit_ids=tuple(u.id for u in units))])
    bids = [bid(f"b{k}", "g", [max(a, 1e-3)]) for k, a in enumerate(awarded)]
    awards = [award(f"b{k}", mtu(0), a) for k, a in enumerate(awarded) if a > 0]
    try:
        orders = activation_orders(awards, bids, reg, issued_at=ISSUED)
    except InvalidInputError as err:
        assert all(i.field == "p_range_mw" for i in err.issues)
        assert sum(awarded) > sum(ranges) - 1e-6  # rejected only when the group cannot deliver
        return
    for unit in units:
        assert _per_unit(orders).get(unit.id, 0.0) <= unit.p_range_mw + 1e-6


@settings(max_examples=60, deadline=None)
@given(ranges=_ranges, share=st.floats(0.0, 1.0, allow_nan=False))
def test_a_group_split_sums_to_the_award(ranges: list[float], share: float) -> None:
    units = _members(ranges)
    reg = register(units, [Group(id="g", fsp_id="f", unit_ids=tuple(u.id for u in units))])
    total_range = sum(ranges)
    quantity = share * total_range if total_range > 0 else 0.0
    if quantity <= 0:
        return
    orders = activation_orders(
        [award("b", mtu(0), quantity)], [bid("b", "g", [quantity])], reg, issued_at=ISSUED
    )
    assert math.fsum(o.quantity_mw for o in orders) == pytest.approx(quantity, rel=1e-9)
    shares = member_shares(units)
    for o in orders:
        assert o.quantity_mw == pytest.approx(quantity * shares[int(o.unit_id[1:])], rel=1e-9)
