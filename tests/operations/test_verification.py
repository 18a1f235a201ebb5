"""Delivery and availability verification: signs, shares, the tolerance band, missing data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.errors import InvalidInputError
from flexcoord.operations import (
    ActivationOrder,
    AvailabilityStatus,
    AvailabilityVerification,
    BaselineValue,
    DeliveryStatus,
    DeliveryVerification,
    MeterSeries,
    OrderEvent,
    OrderLog,
    OrderStatus,
    Tolerance,
    activation_orders,
    lifecycle_events,
    ordered_events,
    verify_availability,
    verify_delivery,
)
from tests.operations.fixtures import T0, award, bid, mtu, register

ISSUED = T0 - timedelta(hours=1)


def _orders(
    bid_id: str, resource: str, mw: float, direction: str, n: int = 1
) -> tuple[ActivationOrder, ...]:
    b = bid(bid_id, resource, [mw] * n, direction=direction)
    return activation_orders(
        [award(bid_id, mtu(i), mw) for i in range(n)], [b], register(), issued_at=ISSUED
    )


def _verify(
    orders: Sequence[ActivationOrder],
    unit: str,
    baseline_mw: float | None,
    metered_mw: float | None,
    tolerance: Tolerance | None = None,
) -> tuple[DeliveryVerification, ...]:
    baselines = {unit: [BaselineValue.of(mtu(0), baseline_mw)]}
    meter = {unit: MeterSeries.of([(mtu(0), metered_mw)])}
    return verify_delivery(orders, baselines, meter, tolerance=tolerance)


def test_up_from_a_load_is_less_consumption() -> None:
    # heat pump at -2 MW baseline, ordered 1 MW up, runs at -1 MW: 1 MW more injection
    (v,) = _verify(_orders("b", "hp", 1.0, "up"), "hp", -2.0, -1.0)
    assert v.delivered_mwh == pytest.approx(0.25)
    assert v.ratio == pytest.approx(1.0)
    assert v.status is DeliveryStatus.DELIVERED


def test_down_from_a_generator_is_less_injection() -> None:
    (v,) = _verify(_orders("b", "pv", 2.0, "down"), "pv", 3.0, 1.0)
    assert v.delivered_mwh == pytest.approx(0.5)
    assert v.status is DeliveryStatus.DELIVERED


def test_moving_the_wrong_way_is_a_negative_delivery_and_fails() -> None:
    (v,) = _verify(_orders("b", "pv", 2.0, "down"), "pv", 1.0, 2.0)
    assert v.delivered_mwh == pytest.approx(-0.25)
    assert v.status is DeliveryStatus.FAILED


@pytest.mark.parametrize(
    ("metered", "tolerance", "status"),
    [
        (-1.04, Tolerance(), DeliveryStatus.DELIVERED),  # 96 % within 5 %
        (-1.1, Tolerance(), DeliveryStatus.PARTIALLY_DELIVERED),
        (-1.1, Tolerance(relative=0.0, absolute_mw=0.2), DeliveryStatus.DELIVERED),
        (-1.97, Tolerance(), DeliveryStatus.FAILED),  # 3 % delivered: noise
        (-1.5, Tolerance(), DeliveryStatus.PARTIALLY_DELIVERED),
    ],
)
def test_the_tolerance_band(metered: float, tolerance: Tolerance, status: DeliveryStatus) -> None:
    (v,) = _verify(_orders("b", "hp", 1.0, "up"), "hp", -2.0, metered, tolerance=tolerance)
    assert v.status is status


@pytest.mark.parametrize(("baseline", "metered"), [(None, -1.0), (-2.0, None)])
def test_missing_data_is_insufficient_never_zero(
    baseline: float | None, metered: float | None
) -> None:
    (v,) = _verify(_orders("b", "hp", 1.0, "up"), "hp", baseline, metered)
    assert v.status is DeliveryStatus.INSUFFICIENT_DATA
    assert v.delivered_mwh is None and v.ratio is None


def test_a_unit_without_any_data_is_insufficient() -> None:
    (v,) = verify_delivery(_orders("b", "hp", 1.0, "up"), {}, {})
    assert v.status is DeliveryStatus.INSUFFICIENT_DATA


def test_two_orders_on_one_unit_share_its_change_pro_rata() -> None:
    bids = [bid("b1", "hp", [0.5]), bid("b2", "hp", [1.5])]
    orders = activation_orders(
        [award("b1", mtu(0), 0.5), award("b2", mtu(0), 1.0)], bids, register(), issued_at=ISSUED
    )
    v1, v2 = _verify(orders, "hp", -2.0, -0.8)  # 1.2 MW delivered of 1.5 ordered
    assert v1.delivered_mwh == pytest.approx(0.3 * 0.5 / 1.5 * 1.0)
    assert v2.delivered_mwh == pytest.approx(0.3 * 1.0 / 1.5)
    assert v1.ratio == pytest.approx(v2.ratio)


def test_opposing_orders_on_one_unit_and_mtu_net() -> None:
    """Up 0.5 and down 0.2 MW in one MTU: the unit need only move 0.3 MW up."""
    bids = [bid("b1", "bess", [0.5]), bid("b2", "bess", [0.5], direction="down")]
    orders = activation_orders(
        [award("b1", mtu(0), 0.5), award("b2", mtu(0), 0.2)], bids, register(), issued_at=ISSUED
    )
    up, down = _verify(orders, "bess", 0.0, 0.3)  # moved exactly the net
    assert (up.status, down.status) == (DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED)
    assert up.delivered_mwh == pytest.approx(0.5 * 0.25)
    assert down.delivered_mwh == pytest.approx(0.2 * 0.25)
    idle_up, _ = _verify(orders, "bess", 0.0, 0.0)  # did nothing: the up order's net is missing
    assert idle_up.status is DeliveryStatus.PARTIALLY_DELIVERED
    assert idle_up.delivered_mwh == pytest.approx(0.2 * 0.25)


def test_verification_closes_the_lifecycle() -> None:
    orders = _orders("b", "hp", 1.0, "up")
    log = OrderLog().extend(ordered_events(orders))
    log = log.extend(
        OrderEvent(order_id=o.id, status=OrderStatus.ACKNOWLEDGED, at=T0) for o in orders
    )
    verified = _verify(orders, "hp", -2.0, -1.5)
    log = log.extend(lifecycle_events(verified, at=T0 + timedelta(hours=1)))
    assert log.status(orders[0].id) is OrderStatus.PARTIALLY_DELIVERED


@settings(max_examples=80, deadline=None)
@given(
    direction=st.sampled_from(["up", "down"]),
    ordered=st.floats(0.1, 2.0),
    achieved=st.floats(-1.0, 1.5),
    baseline=st.floats(-5.0, 5.0),
)
def test_delivery_is_positive_exactly_when_the_unit_moved_the_ordered_way(
    direction: str, ordered: float, achieved: float, baseline: float
) -> None:
    orders = _orders("b", "bess", min(ordered, 1.0), direction)
    quantity = orders[0].quantity_mw
    step = achieved * quantity
    metered = baseline + step if direction == "up" else baseline - step
    (v,) = _verify(orders, "bess", baseline, metered)
    assert v.delivered_mwh == pytest.approx(step * 0.25, abs=1e-9)
    assert v.ratio == pytest.approx(achieved, abs=1e-6)


# --- availability ---------------------------------------------------------------------------


def _availability(
    offered: list[float], metered: float | None = None, called: bool = False
) -> tuple[AvailabilityVerification, ...]:
    cap = bid("c", "hp", [1.0], product_id="cap")
    offers = [bid(f"a{k}", "hp", [q]) for k, q in enumerate(offered)]
    verifications: tuple[DeliveryVerification, ...] = ()
    if called:
        orders = activation_orders([award("a0", mtu(0), 1.0)], offers, register(), issued_at=ISSUED)
        verifications = _verify(orders, "hp", -2.0, metered)
    return verify_availability([award("c", mtu(0), 1.0)], [cap, *offers], register(), verifications)


def test_availability_needs_activation_bids_of_the_awarded_mw() -> None:
    (ok,) = _availability([0.6, 0.4])
    (short,) = _availability([0.6])
    assert ok.status is AvailabilityStatus.AVAILABLE and ok.offered_mw == pytest.approx(1.0)
    assert short.status is AvailabilityStatus.NOT_OFFERED


@pytest.mark.parametrize(
    ("metered", "status"),
    [
        (-1.0, AvailabilityStatus.AVAILABLE),
        (-1.5, AvailabilityStatus.CALL_PARTIALLY_DELIVERED),
        (-2.0, AvailabilityStatus.CALL_FAILED),
        (None, AvailabilityStatus.INSUFFICIENT_DATA),
    ],
)
def test_availability_when_called_is_judged_by_the_delivery(
    metered: float | None, status: AvailabilityStatus
) -> None:
    (record,) = _availability([1.0], metered, called=True)
    assert record.status is status
    assert record.called_mwh == pytest.approx(0.25)


def test_an_activation_award_is_not_an_availability_award() -> None:
    with pytest.raises(InvalidInputError) as err:
        verify_availability([award("a", mtu(0), 1.0)], [bid("a", "hp", [1.0])], register())
    assert err.value.issues[0].field == "product_id"


def test_a_combined_bid_is_its_own_activation_offer() -> None:
    both = bid("ab", "hp", [1.0], product_id="both")
    (record,) = verify_availability([award("ab", mtu(0), 1.0)], [both], register())
    assert record.status is AvailabilityStatus.AVAILABLE
    assert record.offered_mw == pytest.approx(1.0)


def test_an_availability_only_bid_is_no_activation_offer() -> None:
    cap = bid("c", "hp", [1.0], product_id="cap")
    (record,) = verify_availability([award("c", mtu(0), 1.0)], [cap], register())
    assert record.status is AvailabilityStatus.NOT_OFFERED


@pytest.mark.parametrize(("relative", "absolute_mw"), [(0.5, 0.0), (-0.1, 0.0), (0.05, -1.0)])
def test_a_tolerance_band_that_cannot_separate_outcomes_is_rejected(
    relative: float, absolute_mw: float
) -> None:
    with pytest.raises(InvalidInputError):
        Tolerance(relative=relative, absolute_mw=absolute_mw)
