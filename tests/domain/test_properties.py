"""Hypothesis properties: valid bids round-trip their fields; intervals keep their invariants."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.domain import Bid, Direction, Interval, MtuQuantity
from flexcoord.errors import InvalidInputError

Q = timedelta(minutes=15)
BASE = datetime(2026, 1, 1, tzinfo=UTC)

offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda n: timezone(n * Q))
instants = st.integers(min_value=0, max_value=10 * 365 * 24 * 3600).map(
    lambda s: BASE + timedelta(seconds=s)
)
finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def valid_bid_fields(draw: st.DrawFn) -> dict[str, object]:
    start = BASE + draw(st.integers(min_value=0, max_value=40_000)) * Q
    quantities = tuple(
        MtuQuantity(interval=Interval(start=start + i * Q, end=start + (i + 1) * Q), quantity=q)
        for i, q in enumerate(draw(st.lists(positive, min_size=1, max_size=8)))
    )
    divisible = draw(st.booleans())
    if divisible:
        smallest = min(q.quantity for q in quantities)
        min_acceptance = draw(st.none() | st.floats(min_value=0, max_value=smallest))
    else:
        min_acceptance = None
    prices = draw(
        st.tuples(st.none() | st.floats(min_value=0, max_value=1e3), st.none() | finite).filter(
            lambda p: p != (None, None)
        )
    )
    return {
        "id": draw(st.text(min_size=1, max_size=8).filter(str.strip)),
        "fsp_id": "fsp",
        "resource_id": "u",
        "product_id": "p",
        "direction": draw(st.sampled_from(Direction)),
        "quantities": quantities,
        "submitted_at": start - draw(st.integers(min_value=0, max_value=10_000)) * Q,
        "availability_price_eur_per_mw_h": prices[0],
        "activation_price_eur_per_mwh": prices[1],
        "divisible": divisible,
        "min_acceptance": min_acceptance,
        "exclusive_set": draw(st.none() | st.just("xor-1")),
        "block": draw(st.booleans()),
        "q_mvar_per_mw": draw(st.none() | finite),
    }


@settings(max_examples=150, deadline=None)
@given(valid_bid_fields())
def test_valid_bid_round_trips_its_fields(fields: dict[str, object]) -> None:
    bid = Bid(**fields)  # type: ignore[arg-type]
    assert {f.name: getattr(bid, f.name) for f in dataclasses.fields(Bid)} == {
        "parent_bid_id": None,
        **fields,
    }
    assert Bid(**dataclasses.asdict(bid) | {"quantities": bid.quantities}) == bid
    for i, mq in enumerate(bid.quantities):
        low, high = bid.acceptance_range(i)
        assert 0 <= low <= high == mq.quantity


@settings(max_examples=50, deadline=None)
@given(valid_bid_fields(), st.sampled_from([float("nan"), float("inf"), -1.0, 0.0]))
def test_bad_quantity_is_always_reported_with_its_mtu(
    fields: dict[str, object], bad: float
) -> None:
    quantities = fields["quantities"]
    assert isinstance(quantities, tuple)
    first = quantities[0].interval
    # a raw mapping, so that the bid itself (not MtuQuantity) checks and names it
    raw = {"start": first.start, "end": first.end, "quantity": bad}
    with pytest.raises(InvalidInputError) as info:
        Bid(**fields | {"quantities": [raw], "min_acceptance": None})  # type: ignore[arg-type]
    assert [(i.kind, i.field) for i in info.value.issues] == [("Bid", "quantities[0].quantity")]


@given(instants, st.integers(min_value=1, max_value=10**7), offsets)
def test_interval_invariants(start: datetime, seconds: int, zone: timezone) -> None:
    local_start = start.astimezone(zone)
    end = local_start + timedelta(seconds=seconds)
    interval = Interval(start=local_start, end=end)
    assert interval.start < interval.end
    assert interval.start.tzinfo is UTC and interval.end.tzinfo is UTC
    assert interval.start == start and interval.duration == timedelta(seconds=seconds)
    assert interval.contains(interval.start) and interval.contains(local_start)
    assert not interval.contains(interval.end)
    assert interval.overlaps(interval)
    assert not interval.overlaps(Interval(start=end, end=end + Q))


@given(instants, st.integers(min_value=-(10**6), max_value=0))
def test_interval_never_empty_or_reversed(start: datetime, seconds: int) -> None:
    with pytest.raises(InvalidInputError):
        Interval(start=start, end=start + timedelta(seconds=seconds))
