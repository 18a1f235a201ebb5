"""The domain entry point on a hand-built register (no SimBench): mapping, pricing, bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.market import build_problem, clear
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    FlexibilityServiceProvider,
    GridArea,
    Group,
    Interval,
    Location,
    Need,
    Product,
    Register,
    SystemOperator,
    Unit,
)
from flexcoord.domain.bid_table import positions
from flexcoord.errors import InvalidInputError
from tests.clearing.markets import ptdf_4bus

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
MTUS = tuple(
    Interval(start=T0 + timedelta(minutes=15 * k), end=T0 + timedelta(minutes=15 * (k + 1)))
    for k in range(2)
)
SUBMITTED = T0 - timedelta(days=1)
ACT = Product(id="act", power_type="active", kind="activation", timeframe="day_ahead")
BOTH = Product(
    id="cap", power_type="active", kind="availability_and_activation", timeframe="day_ahead"
)
REACT = Product(id="var", power_type="reactive", kind="activation", timeframe="day_ahead")


def register() -> Register:
    return Register(
        operators=(
            SystemOperator(id="tso", name="TSO", role="tso"),
            SystemOperator(id="dso", name="DSO", role="dso"),
        ),
        areas=(
            GridArea(id="hv", operator_id="tso", bus_ids=frozenset({0})),
            GridArea(
                id="mv",
                operator_id="dso",
                bus_ids=frozenset({1, 2, 3}),
                coupling_point_ids=frozenset({"trafo:0"}),
            ),
        ),
        fsps=(FlexibilityServiceProvider(id="f", name="F"),),
        connection_points=tuple(
            ConnectionPoint(id=f"cp{b}", bus=b, area_id="mv", coupling_point_id="trafo:0")
            for b in (1, 2, 3)
        ),
        units=tuple(
            Unit(
                id=f"u{b}",
                fsp_id="f",
                connection_point_id=f"cp{b}",
                technology="bess",
                p_min_mw=-2.0,
                p_max_mw=2.0 * b,
                q_min_mvar=-1.0,
                q_max_mvar=1.0,
                energy_min_mwh=0.0,
                energy_max_mwh=4.0,
                energy_initial_mwh=2.0,
            )
            for b in (1, 2, 3)
        ),
        groups=(Group(id="g12", fsp_id="f", unit_ids=("u1", "u2")),),
        products=(ACT, BOTH, REACT),
    )


def bid(id: str, resource: str = "u1", **kw: Any) -> Bid:
    fields: dict[str, Any] = dict(
        id=id,
        fsp_id="f",
        resource_id=resource,
        product_id="act",
        direction="up",
        quantities=[{"start": m.start, "end": m.end, "quantity": 1.0} for m in MTUS],
        submitted_at=SUBMITTED,
        activation_price_eur_per_mwh=50.0,
    )
    fields.update(kw)
    return Bid(**fields)


def need(id: str = "n", location: Location | None = None, mw: float = 1.5, **kw: Any) -> Need:
    fields: dict[str, Any] = dict(
        id=id,
        buyer_id="dso",
        product_id="act",
        location=location or Location.in_area("mv"),
        direction="up",
        quantities=[{"start": m.start, "end": m.end, "quantity": mw} for m in MTUS],
        created_at=SUBMITTED,
    )
    fields.update(kw)
    return Need(**fields)


def constraints(limit: float = 100.0) -> GridConstraints:
    ptdf = ptdf_4bus()
    return GridConstraints(
        intervals=MTUS,
        bus_ids=np.arange(4),
        branch_names=("line:0", "line:1", "line:2", "line:3"),
        ptdf=ptdf,
        limit_mw=np.full(4, limit),
        base_flow_mw=np.zeros((4, 2)),
        vbus_ids=np.zeros(0, np.int64),
        injection_bus_ids=np.zeros(0, np.int64),
        dvm_dp=np.zeros((0, 0)),
        dvm_dq=np.zeros((0, 0)),
        base_vm_pu=np.zeros((0, 2)),
        vm_min_pu=np.zeros(0),
        vm_max_pu=np.zeros(0),
    )


def test_merit_order_by_location_and_coupling_point() -> None:
    reg = register()
    bids = [
        bid("cheap", "u1", activation_price_eur_per_mwh=10.0),
        bid("dear", "u3", activation_price_eur_per_mwh=90.0),
        bid("mid", "u2", activation_price_eur_per_mwh=40.0),
    ]
    r = clear(reg, [need()], bids)
    assert r.accepted_mw_by_bid() == pytest.approx({"cheap": 2.0, "mid": 1.0})
    # a need at the coupling point reaches every bus of the area behind it
    r2 = clear(reg, [need(location=Location.at_coupling_point("trafo:0"))], bids)
    assert r2.accepted_mw_by_bid() == r.accepted_mw_by_bid()
    # a need on bus 3 only: only the dear bid is there
    r3 = clear(reg, [need(location=Location.at_buses([3]))], bids)
    assert r3.accepted_mw_by_bid() == pytest.approx({"dear": 2.0})


def test_group_is_shared_pro_rata_on_a_virtual_bus() -> None:
    reg = register()
    problem, grid_map = build_problem(reg, [need()], [bid("g", "g12")], constraints())
    assert problem.bus_ids == ("group:g12",)
    # u1 has a 4 MW range, u2 6 MW: 40 % / 60 %
    shares = dict(zip(grid_map.real_bus_ids.tolist(), grid_map.weights.toarray()[0], strict=True))
    assert shares == pytest.approx({1: 0.4, 2: 0.6})
    expected = 0.4 * ptdf_4bus()[:, 1] + 0.6 * ptdf_4bus()[:, 2]
    assert problem.ptdf[:, 0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("buses", "eligible"),
    [((1, 2), True), ((1, 2, 3), True), ((2,), False), ((2, 3), False), ((0, 9), False)],
)
def test_a_group_serves_a_need_only_where_all_its_buses_are(
    buses: tuple[int, ...], eligible: bool
) -> None:
    """Group g12 (units on buses 1 and 2) is eligible for a need only when both buses lie in
    the need's location; a unit's bid beside it only on its own bus."""
    reg = register()
    bids = [bid("g", "g12"), bid("u3", "u3")]
    problem, _ = build_problem(reg, [need(location=Location.at_buses(buses))], bids, constraints())
    eligible_bids = {problem.bid_ids[problem.slot_bid[s]] for s in problem.eligible_slot}
    assert ("g" in eligible_bids) is eligible
    assert ("u3" in eligible_bids) is (3 in buses)


def test_grid_limit_blocks_and_congestion_is_relieved_without_need() -> None:
    reg = register()
    bids = [bid("b3", "u3", activation_price_eur_per_mwh=10.0)]
    r = clear(reg, [need(mw=3.0)], bids, constraints(limit=0.5))
    assert r.binding and r.need_shortfall_mw.sum() > 0
    # implicit congestion need: a base-case overload is relieved by a bid with no matching need
    base = np.zeros((4, 2))
    base[3] = -1.3  # bus 3 exports 1.3 MW over line 2-3, limit 1 MW
    gc = replace(constraints(limit=1.0), base_flow_mw=base)
    down = bid("relief", "u3", direction="down")
    r2 = clear(reg, [], [down], gc)
    assert r2.accepted_mw_by_bid() == pytest.approx({"relief": 2 * 0.3})
    assert r2.branch_violation_mw.max() == pytest.approx(0.0, abs=1e-6)


def test_availability_prices_weigh_expected_activation() -> None:
    reg = register()
    bids = [
        bid(
            "a",
            product_id="cap",
            availability_price_eur_per_mw_h=10.0,
            activation_price_eur_per_mwh=200.0,
        ),
        bid(
            "b",
            "u2",
            product_id="cap",
            availability_price_eur_per_mw_h=30.0,
            activation_price_eur_per_mwh=20.0,
        ),
    ]
    n = need(product_id="cap", mw=1.0, expected_activation_share=0.5)
    r = clear(reg, [n], bids)
    # merit: a = 10 + 0.5·200 = 110, b = 30 + 0.5·20 = 40 → b wins, paid its availability price
    assert r.accepted_mw_by_bid() == pytest.approx({"b": 2.0})
    assert {a.price_eur_per_mwh for a in r.awards()} == {30.0}


def test_reactive_and_q_per_mw_reach_the_problem() -> None:
    reg = register()
    bids = [
        bid(
            "q",
            product_id="var",
            quantities=[{"start": MTUS[0].start, "end": MTUS[0].end, "quantity": 0.5}],
        ),
        bid("p", "u2", q_mvar_per_mw=0.3),
    ]
    problem, _ = build_problem(reg, [], bids)
    by_bid = {problem.bid_ids[int(b)]: k for k, b in enumerate(problem.slot_bid)}
    assert problem.slot_reactive[by_bid["q"]] and not problem.slot_reactive[by_bid["p"]]
    assert problem.slot_q_mvar_per_mw[by_bid["p"]] == pytest.approx(0.3)


def test_bad_market_raises_one_error_with_every_issue_and_solves_nothing() -> None:
    reg = register()
    late = T0 + timedelta(hours=1)
    bids = [
        bid("unknown-unit", "nope"),
        bid("unknown-product", product_id="nope"),
        bid("late", submitted_at=late),
        bid(
            "off-grid",
            quantities=[
                {
                    "start": T0 + timedelta(minutes=5),
                    "end": T0 + timedelta(minutes=20),
                    "quantity": 1.0,
                }
            ],
        ),
        bid("orphan", parent_bid_id="missing"),
    ]
    with pytest.raises(InvalidInputError) as err:
        clear(reg, [need()], bids, gate_closure_at=T0 - timedelta(hours=2))
    named = {(i.object_id, i.field.split("[")[0]) for i in err.value.issues}
    assert ("unknown-unit", "resource_id") in named
    assert ("unknown-product", "product_id") in named
    assert ("late", "submitted_at") in named
    assert ("off-grid", "quantities") in named
    assert ("orphan", "parent_bid_id") in named


def test_mtus_outside_the_grid_base_case_are_input_errors() -> None:
    reg = register()
    gc = replace(
        constraints(),
        intervals=MTUS[:1],
        base_flow_mw=np.zeros((4, 1)),
        base_vm_pu=np.zeros((0, 1)),
    )
    with pytest.raises(InvalidInputError, match="outside the grid constraints"):
        clear(reg, [need()], [bid("b")], gc)


def test_options_reach_the_engine() -> None:
    r = clear(register(), [need()], [bid("b")], None, ClearingOptions(pricing="pay-as-cleared"))
    assert str(r.pricing) == "pay-as-cleared"


def test_domain_clearing_is_deterministic_under_input_permutations() -> None:
    """Reliability battery T6 (PR tier): 50 permutations of the bids and needs, with equal prices
    and ties to break, give one canonical result hash."""
    rng = np.random.default_rng(11)
    bids = [
        bid(
            f"b{k}",
            resource=f"u{1 + k % 3}",
            activation_price_eur_per_mwh=float(40 + 10 * (k % 3)),
            submitted_at=SUBMITTED + timedelta(minutes=k % 2),
        )
        for k in range(9)
    ]
    needs = [need("n-area", mw=2.5), need("n-bus", location=Location.at_buses([2, 3]), mw=1.0)]
    reg, gc = register(), constraints(limit=1.6)
    hashes = set()
    for _ in range(50):
        order = rng.permutation(len(bids))
        result = clear(reg, [needs[i] for i in rng.permutation(2)], [bids[i] for i in order], gc)
        hashes.add(result.canonical_hash())
    assert len(hashes) == 1


def test_pricing_given_as_text_is_the_rule_and_a_bad_one_is_named() -> None:
    from flexcoord.clearing import PricingRule

    text = clear(
        register(),
        [need(mw=2.5)],
        [
            bid("a", activation_price_eur_per_mwh=10.0),
            bid("b", resource="u2", activation_price_eur_per_mwh=90.0),
        ],
        constraints(),
        ClearingOptions(pricing="pay-as-cleared"),
    )
    enum = clear(
        register(),
        [need(mw=2.5)],
        [
            bid("a", activation_price_eur_per_mwh=10.0),
            bid("b", resource="u2", activation_price_eur_per_mwh=90.0),
        ],
        constraints(),
        ClearingOptions(pricing=PricingRule.PAY_AS_CLEARED),
    )
    assert text.canonical_hash() == enum.canonical_hash()
    assert {a.price_eur_per_mwh for a in text.awards()} == {90.0}
    with pytest.raises(InvalidInputError, match="pricing"):
        ClearingOptions(pricing="pay-as-you-like")  # type: ignore[arg-type]


def test_product_resolution_must_match_the_grid_base_case_step() -> None:
    hourly = Product(
        id="h",
        power_type="active",
        kind="activation",
        timeframe="day_ahead",
        resolution=timedelta(hours=1),
        duration=timedelta(hours=1),
    )
    reg = replace(register(), products=(*register().products, hourly))
    hour = {"start": T0, "end": T0 + timedelta(hours=1), "quantity": 1.0}
    hourly_bid = bid("hb", product_id="h", quantities=[hour])
    with pytest.raises(InvalidInputError, match=r"products\.resolution"):
        clear(reg, [], [hourly_bid], constraints())


def test_a_single_component_cap_of_a_combined_need_is_enforced() -> None:
    """An availability-and-activation need with only an availability cap: a bid above that cap
    is not eligible (the buyer's explicit limit), even though no merit-score cap exists."""
    reg = register()
    dear = bid(
        "dear",
        product_id="cap",
        availability_price_eur_per_mw_h=1000.0,
        activation_price_eur_per_mwh=10.0,
    )
    cheap = bid(
        "cheap",
        "u2",
        product_id="cap",
        availability_price_eur_per_mw_h=5.0,
        activation_price_eur_per_mwh=10.0,
        quantities=[{"start": m.start, "end": m.end, "quantity": 0.5} for m in MTUS],
    )
    n = need(
        product_id="cap",
        mw=1.0,
        expected_activation_share=0.5,
        availability_price_cap_eur_per_mw_h=10.0,
    )
    r = clear(reg, [n], [dear, cheap])
    assert r.accepted_mw_by_bid() == pytest.approx({"cheap": 1.0})
    assert all(c.shortfall_mw == pytest.approx(0.5) for c in r.coverage())


def test_a_bid_blocked_by_a_voltage_limit_is_told_so() -> None:
    """Bus 3 sits at its upper voltage limit: the cheap bid there would raise it, so the
    dearer bid elsewhere wins and the cheap one's reason names the voltage limit."""
    gc = replace(
        constraints(),
        vbus_ids=np.array([3]),
        injection_bus_ids=np.array([1, 3]),
        dvm_dp=np.array([[0.0, 0.01]]),
        dvm_dq=np.zeros((1, 2)),
        base_vm_pu=np.full((1, 2), 1.05),
        vm_min_pu=np.array([0.95]),
        vm_max_pu=np.array([1.05]),
    )
    cheap = bid("cheap3", "u3", activation_price_eur_per_mwh=10.0)
    dear = bid("dear1", "u1", activation_price_eur_per_mwh=90.0)
    result = clear(register(), [need(mw=1.0)], [cheap, dear], gc)
    rejection = result.rejection_of("cheap3")
    assert result.accepted_mw_by_bid().get("dear1", 0.0) > 0
    assert rejection is not None and rejection.reason == "grid-limit"
    assert "bus:3 voltage upper limit" in rejection.detail


@pytest.mark.parametrize("scale", [1, 10**12])
def test_bus_positions_match_a_lookup_whatever_the_bus_ids(scale: int) -> None:
    """Each bid bus's position among the grid constraints' buses (-1: not there), for small ids
    (a table) and huge or negative ones (a sorted search), as a dict lookup gives it."""
    rng = np.random.default_rng(scale % 97)
    ids = (rng.permutation(5_000)[:2_000] * scale - 7).astype(np.int64)
    wanted = np.concatenate([rng.choice(ids, 300), np.array([-(10**15), 10**15, 4_999 * scale])])
    lookup = {int(b): i for i, b in enumerate(ids)}
    assert positions(ids, wanted).tolist() == [lookup.get(int(w), -1) for w in wanted]
