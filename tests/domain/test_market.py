"""validate_market: every issue across needs and bids, in one raise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from flexcoord.domain import (
    Bid,
    Interval,
    Location,
    MtuQuantity,
    Need,
    Register,
    market_issues,
    validate_market,
)
from flexcoord.errors import InvalidInputError

from .conftest import T0, Q, make_bid, make_need, mtus


def _found(
    register: Register, needs: list[Need], bids: Sequence[Bid], **kw: object
) -> set[tuple[str, str, str]]:
    with pytest.raises(InvalidInputError) as info:
        validate_market(register, needs, bids, **kw)  # type: ignore[arg-type]
    return {(i.kind, i.object_id, i.field) for i in info.value.issues}


def test_valid_market_passes(register: Register) -> None:
    needs = [make_need(), make_need(id="n2", location=Location.at_coupling_point("trafo:0"))]
    bids = [
        make_bid(),
        make_bid(id="b2", resource_id="g1", exclusive_set="x", block=True),
        make_bid(id="b3", resource_id="u2", exclusive_set="x", direction="down"),
        make_bid(id="b4", resource_id="u3", parent_bid_id="b1", direction="down"),
        make_bid(
            id="b5", product_id="p-nrt", availability_price_eur_per_mw_h=None, submitted_at=T0 - Q
        ),
    ]
    validate_market(
        register,
        needs,
        bids,
        gate_closure_at=T0 - Q,
        known_buses=frozenset(range(7)),
        require_prequalification=False,
    )
    assert market_issues(register, needs, bids) == []


def test_issues_across_needs_and_bids_are_collected(register: Register) -> None:
    off_grid = MtuQuantity(
        interval=Interval(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=20)),
        quantity=0.5,
    )
    needs = [
        make_need(id="n-bad", buyer_id="nobody", location=Location.in_area("lv")),
        make_need(
            id="n-cp",
            location=Location.at_coupling_point("trafo:9"),
            expected_activation_share=None,
        ),
        make_need(
            id="n-bus",
            location=Location.at_buses([2, 99]),
            product_id="p-nrt",
            availability_price_cap_eur_per_mw_h=3.0,
        ),
        make_need(id="n-dup"),
        make_need(id="n-dup"),
    ]
    bids = [
        make_bid(id="b-fsp", fsp_id="fsp-b"),  # u1 belongs to fsp-a; fsp-b exists
        make_bid(id="b-ghost", fsp_id="fsp-z", resource_id="u-z", product_id="p-z"),
        make_bid(id="b-small", quantities=(off_grid, *mtus(1, 0.05, start=T0 + Q * 2))),
        make_bid(id="b-big", quantities=mtus(1, 1.5)),  # u1 range is 1 MW
        make_bid(id="b-late", submitted_at=T0 - timedelta(hours=1)),
        make_bid(id="b-price", availability_price_eur_per_mw_h=None),
        make_bid(id="b-slow", fsp_id="fsp-b", resource_id="u4"),
        make_bid(id="b-q", product_id="p-q", quantities=mtus(4, 0.1), q_mvar_per_mw=0.3),
    ]
    found = _found(
        register,
        needs,
        bids,
        gate_closure_at=T0 - timedelta(hours=6),
        known_buses=frozenset(range(7)),
    )
    assert found == {
        ("Need", "n-bad", "buyer_id"),
        ("Need", "n-bad", "location.area_id"),
        ("Need", "n-cp", "location.coupling_point_id"),
        ("Need", "n-cp", "expected_activation_share"),
        ("Need", "n-bus", "location.bus_ids"),
        ("Need", "n-bus", "availability_price_cap_eur_per_mw_h"),
        ("Need", "n-dup", "id"),
        ("Bid", "b-fsp", "resource_id"),
        ("Bid", "b-ghost", "fsp_id"),
        ("Bid", "b-ghost", "resource_id"),
        ("Bid", "b-ghost", "product_id"),
        ("Bid", "b-small", "quantities[0].interval"),
        ("Bid", "b-small", "quantities[1].quantity"),
        ("Bid", "b-big", "quantities[0].quantity"),
        ("Bid", "b-late", "submitted_at"),
        ("Bid", "b-price", "availability_price_eur_per_mw_h"),
        ("Bid", "b-slow", "resource_id"),
        ("Bid", "b-q", "quantities[0].interval"),
        ("Bid", "b-q", "quantities[1].interval"),
        ("Bid", "b-q", "quantities[2].interval"),
        ("Bid", "b-q", "quantities[3].interval"),
        ("Bid", "b-q", "q_mvar_per_mw"),
        # u1 declares no reactive range (q_min_mvar = q_max_mvar = 0):
        ("Bid", "b-q", "quantities[0].quantity"),
        ("Bid", "b-q", "quantities[1].quantity"),
        ("Bid", "b-q", "quantities[2].quantity"),
        ("Bid", "b-q", "quantities[3].quantity"),
    }


def test_gate_closure_of_the_market(register: Register) -> None:
    late = make_bid(submitted_at=T0 - timedelta(hours=13))
    assert _found(register, [], [late], gate_closure_at=T0 - timedelta(days=1)) == {
        ("Bid", "b1", "submitted_at")
    }


def test_links_and_exclusive_sets(register: Register) -> None:
    bids = [
        make_bid(id="a", parent_bid_id="c"),
        make_bid(id="b", parent_bid_id="a"),
        make_bid(id="c", parent_bid_id="b"),  # a -> c -> b -> a
        make_bid(id="orphan", parent_bid_id="missing"),
        make_bid(
            id="other", fsp_id="fsp-b", resource_id="u4", parent_bid_id="orphan", exclusive_set="x"
        ),
        make_bid(id="x1", exclusive_set="x"),
        make_bid(id="x2", exclusive_set="x", parent_bid_id="x1"),
    ]
    found = {
        (i.object_id, i.field, i.message.split(";")[0].split(":")[0])
        for i in market_issues(register, [], bids)
        if i.field in ("parent_bid_id", "exclusive_set")
    }
    assert found == {
        ("a", "parent_bid_id", "closes a cycle of linked bids"),
        ("b", "parent_bid_id", "closes a cycle of linked bids"),
        ("c", "parent_bid_id", "closes a cycle of linked bids"),
        ("orphan", "parent_bid_id", "is not a bid of this market"),
        ("other", "parent_bid_id", "belongs to FSP 'fsp-a'"),
        ("other", "exclusive_set", "spans FSPs ['fsp-a', 'fsp-b']"),
        ("x1", "exclusive_set", "spans FSPs ['fsp-a', 'fsp-b']"),
        ("x2", "exclusive_set", "spans FSPs ['fsp-a', 'fsp-b']"),
        ("x2", "parent_bid_id", "is in the same exclusive set 'x'"),
    }


def test_duplicate_bid_ids(register: Register) -> None:
    assert _found(register, [], [make_bid(), make_bid()]) == {("Bid", "b1", "id")}


def test_unknown_buses_of_units_and_areas(register: Register) -> None:
    assert _found(register, [], [], known_buses=frozenset({0, 1, 2, 3})) == {
        ("GridArea", "mv", "bus_ids"),
        ("Unit", "u3", "connection_point_id"),
        ("Unit", "u4", "connection_point_id"),
    }


def test_prequalification_required_per_mtu(register: Register) -> None:
    assert _found(
        register,
        [],
        [make_bid(resource_id="u1", quantities=mtus(2))],
        require_prequalification=True,
    ) == {
        ("Bid", "b1", "quantities[0].interval"),
        ("Bid", "b1", "quantities[1].interval"),
    }
    validate_market(register, [], [make_bid(resource_id="g1")], require_prequalification=True)


def test_bids_sharing_a_resource_each_get_their_issues(register: Register) -> None:
    """What bids share (owner, range, product, MTUs) is looked up once per market: every bid
    still gets its own issues, worded alike, and a valid bid between them none."""
    off_grid = MtuQuantity(
        interval=Interval(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=20)),
        quantity=0.5,
    )
    bids = [
        make_bid(id="a", fsp_id="fsp-b", quantities=mtus(1, 1.5)),  # not fsp-b's; above 1 MW
        make_bid(id="ok"),
        make_bid(id="b", fsp_id="fsp-b", quantities=(off_grid,)),
        make_bid(id="c", fsp_id="fsp-b", quantities=mtus(1, 1.5)),
    ]
    issues = market_issues(register, [], bids)
    by_bid: dict[str, list[tuple[str, str]]] = {}
    for issue in issues:
        by_bid.setdefault(issue.object_id, []).append((issue.field, issue.message))
    assert "ok" not in by_bid
    assert by_bid["a"] == by_bid["c"]
    assert [f for f, _ in by_bid["a"]] == ["resource_id", "quantities[0].quantity"]
    assert [f for f, _ in by_bid["b"]] == ["resource_id", "quantities[0].interval"]
    assert by_bid["a"][0] == by_bid["b"][0]
    assert "belongs to FSP 'fsp-a'" in by_bid["a"][0][1]
    assert {i.object_id for i in market_issues(register, [], bids[::-1])} == {"a", "b", "c"}


def test_gate_closures_hold_to_the_microsecond(register: Register) -> None:
    """The rules compare submission times exactly (their float screening only narrows down the
    bids to look at): a bid at its gate closure passes, one a microsecond later does not."""
    us = timedelta(microseconds=1)
    product_gate = T0 - timedelta(hours=12)  # p-da closes 12 h before the first MTU
    bids = [
        make_bid(id="on-time", submitted_at=product_gate),
        make_bid(id="late", submitted_at=product_gate + us),
    ]
    assert _found(register, [], bids) == {("Bid", "late", "submitted_at")}
    market_gate = product_gate - timedelta(hours=1)
    early = [
        make_bid(id="at-gate", submitted_at=market_gate),
        make_bid(id="after-gate", submitted_at=market_gate + us),
    ]
    assert _found(register, [], early, gate_closure_at=market_gate) == {
        ("Bid", "after-gate", "submitted_at")
    }
