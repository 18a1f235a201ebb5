"""Order lifecycle and BRP notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.domain import Direction
from flexcoord.errors import InvalidInputError, NotFoundError
from flexcoord.operations import (
    OrderEvent,
    OrderLog,
    OrderStatus,
    activation_orders,
    brp_notifications,
    ordered_events,
)
from tests.operations.fixtures import T0, award, bid, mtu, register

ORDERS = activation_orders(
    [award("bu", mtu(0), 1.0), award("bd", mtu(0), 2.0)],
    [bid("bu", "hp", [1.0]), bid("bd", "pv", [2.0], direction="down")],
    register(),
    issued_at=T0 - timedelta(hours=1),
)
OID = ORDERS[0].id


def _event(status: str, minutes: int = 0) -> OrderEvent:
    return OrderEvent(
        order_id=OID,
        status=status,  # type: ignore[arg-type]
        at=T0 + timedelta(minutes=minutes),
    )


def test_the_full_lifecycle_is_accepted_and_appending_leaves_the_old_log() -> None:
    start = OrderLog().extend(ordered_events(ORDERS))
    acked = start.append(_event("acknowledged", 1))
    done = acked.append(_event("delivered", 20))
    assert start.status(OID) is OrderStatus.ORDERED
    assert acked.status(OID) is OrderStatus.ACKNOWLEDGED
    assert done.status(OID) is OrderStatus.DELIVERED
    assert [e.status for e in done.history(OID)] == ["ordered", "acknowledged", "delivered"]
    assert OrderLog(done.events) == done


def test_an_order_never_acknowledged_may_fail() -> None:
    log = OrderLog((_event("ordered"), _event("failed", 30)))
    assert log.status(OID) is OrderStatus.FAILED


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        (["acknowledged"], "status"),  # first event must be ordered
        (["ordered", "delivered"], "status"),  # delivered before acknowledged
        (["ordered", "partially_delivered"], "status"),
        (["ordered", "ordered"], "status"),
        (["ordered", "acknowledged", "delivered", "failed"], "status"),  # after terminal
        (["ordered", "acknowledged", "failed", "acknowledged"], "status"),
    ],
)
def test_illegal_transitions_are_rejected_and_the_log_is_unchanged(
    steps: list[str], field: str
) -> None:
    log = OrderLog()
    *legal, last = steps
    for i, status in enumerate(legal):
        log = log.append(_event(status, i))
    with pytest.raises(InvalidInputError) as err:
        log.append(_event(last, len(legal)))
    assert [(i.object_id, i.field) for i in err.value.issues] == [(str(OID), field)]
    assert len(log.events) == len(legal)


def test_an_event_before_the_previous_one_is_rejected() -> None:
    log = OrderLog((_event("ordered", 5),))
    with pytest.raises(InvalidInputError) as err:
        log.append(_event("acknowledged", 0))
    assert err.value.issues[0].field == "at"


def test_an_order_without_events_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        OrderLog().status(OID)


_ALL = [s.value for s in OrderStatus]
_LEGAL = {
    None: {"ordered"},
    "ordered": {"acknowledged", "failed"},
    "acknowledged": {"delivered", "partially_delivered", "failed"},
}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_ALL), max_size=6))
def test_a_log_accepts_exactly_the_lifecycle_sequences(steps: list[str]) -> None:
    state: str | None = None
    legal = True
    for s in steps:
        if s not in _LEGAL.get(state, set()):
            legal = False
            break
        state = s
    events = tuple(_event(s, i) for i, s in enumerate(steps))
    if legal:
        assert len(OrderLog(events).events) == len(steps)
    else:
        with pytest.raises(InvalidInputError):
            OrderLog(events)


def test_brp_notifications_are_signed_by_direction() -> None:
    notes = brp_notifications(ORDERS, {"hp": "brp-a", "pv": "brp-b"})
    by_unit = {n.unit_id: n for n in notes}
    up = next(o for o in ORDERS if o.direction is Direction.UP)
    assert by_unit["hp"].brp_id == "brp-a"
    assert by_unit["hp"].energy_mwh == pytest.approx(up.energy_mwh)  # more injection
    assert by_unit["pv"].energy_mwh == pytest.approx(-0.5)  # 2 MW down for 15 min


def test_a_unit_without_brp_is_named() -> None:
    with pytest.raises(InvalidInputError) as err:
        brp_notifications(ORDERS, {"hp": "brp-a"})
    assert [(i.object_id, i.field) for i in err.value.issues] == [("pv", "brp_of_unit")]
