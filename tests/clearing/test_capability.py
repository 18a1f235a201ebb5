"""The unit-capability rule: what a unit accepts, summed over all its bids, stays in its range."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, ClearingProblem, RejectionReason, clear_problem
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.market import build_problem, clear
from flexcoord.clearing.problem import canonical
from flexcoord.errors import InvalidInputError
from tests.clearing.test_engine import market
from tests.clearing.test_market import MTUS, bid, need, register


def _per_unit_mtu(result: Any, bid_ids: set[str]) -> list[float]:
    p = result.problem
    mine = np.array([p.bid_ids[int(b)] in bid_ids for b in p.slot_bid], dtype=bool)
    return np.bincount(
        p.slot_mtu[mine], weights=result.slot_accepted_mw[mine], minlength=p.n_mtu
    ).tolist()


def test_price_steps_of_one_unit_share_its_range() -> None:
    # u1: p_min -2, p_max 2 → 4 MW; three 2 MW steps, a large need
    steps = [bid(f"s{k}", "u1", activation_price_eur_per_mwh=10.0 * (k + 1)) for k in range(3)]
    steps = [
        replace(s, quantities=tuple(replace(q, quantity=2.0) for q in s.quantities)) for s in steps
    ]
    r = clear(register(), [need(mw=5.0)], steps)
    assert r.accepted_mw_by_bid() == pytest.approx({"s0": 4.0, "s1": 4.0})  # 2 MTUs × 2 MW
    assert _per_unit_mtu(r, {"s0", "s1", "s2"}) == pytest.approx([4.0, 4.0])
    rej = r.rejection_of("s2")
    assert rej is not None and rej.reason is RejectionReason.UNIT_CAPABILITY
    assert rej.detail.startswith("unit u1 capability 4 MW up at ")
    assert rej.detail.endswith("fully sold to cheaper bids s0, s1")
    caps = [b for b in r.binding if b.kind == "unit-capability"]
    assert [(b.element, b.side) for b in caps] == [("u1", "up"), ("u1", "up")]
    # 6 MW offered for a 5 MW need, but only 4 MW deliverable
    assert {c.shortfall_reason for c in r.coverage()} == {
        "eligible bids held back by sold-out unit capabilities (u1 up)"
    }


def test_one_bid_per_unit_adds_no_row() -> None:
    bids = [bid("a", "u1"), bid("b", "u2"), bid("c", "u3", direction="down")]
    problem, _ = build_problem(register(), [need()], bids)
    assert problem.n_capability == 3
    form = build_formulation(canonical(problem), ClearingOptions())
    assert "unit-capability" not in {b.kind for b in form.row_blocks.values() if b.size}
    # up and down are separate capabilities: 3 MW up and 3 MW down on u1 need no row either
    two = [
        bid("up", "u1", quantities=_q(3.0)),
        bid("down", "u1", direction="down", quantities=_q(3.0)),
    ]
    problem, _ = build_problem(register(), [need()], two)
    form = build_formulation(canonical(problem), ClearingOptions())
    assert form.row_blocks["unit-capability"].size == 0


def _q(mw: float) -> list[dict[str, Any]]:
    return [{"start": m.start, "end": m.end, "quantity": mw} for m in MTUS]


def test_a_group_bid_takes_from_its_members_by_range_share() -> None:
    # g12 = u1 (4 MW) + u2 (6 MW): a group MW takes 0.4 MW of u1, 0.6 MW of u2
    bids = [
        bid("own", "u1", quantities=_q(3.0), activation_price_eur_per_mwh=10.0),
        bid("group", "g12", quantities=_q(5.0), activation_price_eur_per_mwh=20.0),
    ]
    problem, _ = build_problem(register(), [need(mw=6.0)], bids)
    uses = {
        (problem.bid_ids[int(b)], problem.cap_names[int(c)]): w
        for c, b, w in zip(
            problem.cap_use_cap, problem.cap_use_bid, problem.cap_use_weight, strict=True
        )
    }
    assert uses == pytest.approx({("own", "u1"): 1.0, ("group", "u1"): 0.4, ("group", "u2"): 0.6})
    r = clear(register(), [need(mw=6.0)], bids)
    # own + group = 6 and own + 0.4 · group <= 4: the cheaper own bid takes 8/3, the group 10/3
    got = r.accepted_mw_by_bid()
    assert got == pytest.approx({"own": 2 * 8 / 3, "group": 2 * 10 / 3})
    cut = {c.bid_id: c.detail for c in r.curtailments()}
    assert set(cut) == {"own", "group"}
    assert cut["group"].startswith("unit u1 capability 4 MW up")
    assert "1.33333 MW to this bid, the rest to cheaper bid own" in cut["group"]


def test_availability_and_activation_bids_on_one_unit_count_together() -> None:
    bids = [
        bid("act", "u1", quantities=_q(3.0), activation_price_eur_per_mwh=10.0),
        bid(
            "avail",
            "u1",
            product_id="cap",
            quantities=_q(3.0),
            availability_price_eur_per_mw_h=5.0,
            activation_price_eur_per_mwh=50.0,
        ),
    ]
    needs = [
        need("n-act", mw=3.0),
        need("n-cap", product_id="cap", mw=3.0, expected_activation_share=0.5),
    ]
    r = clear(register(), needs, bids)
    assert _per_unit_mtu(r, {"act", "avail"}) == pytest.approx([4.0, 4.0])


def test_reactive_bids_count_against_the_reactive_range() -> None:
    # u1: q range 2 Mvar; two 1.5 Mvar reactive bids and a 2 MW active one (its own capability)
    bids = [
        bid("q1", "u1", product_id="var", quantities=_q(1.5), activation_price_eur_per_mwh=1.0),
        bid("q2", "u1", product_id="var", quantities=_q(1.5), activation_price_eur_per_mwh=2.0),
        bid("p", "u1", quantities=_q(2.0)),
    ]
    needs = [need("nq", product_id="var", mw=5.0), need("np", mw=2.0)]
    r = clear(register(), needs, bids)
    assert _per_unit_mtu(r, {"q1", "q2"}) == pytest.approx([2.0, 2.0])
    assert r.accepted_mw_by_bid()["p"] == pytest.approx(4.0)
    (cut,) = r.curtailments()[:1]
    assert cut.bid_id == "q2" and "unit u1 reactive capability 2 Mvar up" in cut.detail
    assert {b.element for b in r.binding if b.kind == "unit-capability"} == {"u1:q"}


def _capped(bids: list[dict[str, Any]], limit: float, **kw: Any) -> ClearingProblem:
    """``market`` of test_engine with every bid on one unit ``U`` of capability ``limit``."""
    p = market(bids, **kw)
    return replace(
        p,
        cap_names=("U",),
        cap_up=np.array([True]),
        cap_reactive=np.array([False]),
        cap_limit_mw=np.array([limit]),
        cap_use_cap=np.zeros(p.n_bid, np.int64),
        cap_use_bid=np.arange(p.n_bid),
        cap_use_weight=np.ones(p.n_bid),
    )


def test_indivisible_bids_and_what_is_left() -> None:
    p = _capped(
        [
            {"price": 10.0, "q": 0.2, "indivisible": True},
            {"price": 20.0, "q": 0.2, "indivisible": True},
        ],
        0.3,
        need_mw=1.0,
    )
    r = clear_problem(p, ClearingOptions(mip_rel_gap=0.0))
    assert r.accepted_mw_by_bid() == pytest.approx({"b0": 0.2})
    rej = r.rejection_of("b1")
    assert rej is not None and rej.reason is RejectionReason.UNIT_CAPABILITY
    assert "0.1 MW left after cheaper bid b0" in rej.detail


def test_a_block_bid_takes_one_ratio_under_the_tightest_mtu() -> None:
    # the cheap bid fills 0.8 of 1 MW in t0 only; the block (both MTUs) can take 0.2 in t0, so
    # 0.2 in t1 too (cheaper than taking it whole instead of the cheap bid, at a 50 €/MWh cap)
    p = _capped(
        [{"price": 10.0, "q": 0.8, "mtus": [0]}, {"price": 45.0, "q": 1.0, "block": True}],
        1.0,
        need_mw=[1.0, 1.0],
        cap=50.0,
    )
    r = clear_problem(p)
    assert r.slot_accepted_mw.tolist() == pytest.approx([0.8, 0.2, 0.2])
    # cut in t0 by the capability; in t1 the offers fit (no row), the block's ratio cuts it
    assert [(c.bid_id, c.mtu) for c in r.curtailments()] == [("b1", p.mtu_labels[0])]


def test_capability_fields_are_validated() -> None:
    p = market([{"price": 10.0}, {"price": 20.0, "up": False}])
    bad = dict(
        cap_names=("U", "U"),
        cap_up=np.array([True, True]),
        cap_reactive=np.array([False, False]),
        cap_limit_mw=np.array([-1.0, 1.0]),
        cap_use_cap=np.array([0, 0]),
        cap_use_bid=np.array([0, 1]),
        cap_use_weight=np.array([1.0, 0.0]),
    )
    with pytest.raises(InvalidInputError) as err:
        replace(p, **bad)
    messages = " | ".join(i.message for i in err.value.issues)
    assert "must be finite, >= 0" in messages
    assert "two capabilities of one direction and power type" in messages
    assert "must be finite, > 0" in messages
    assert "another direction or power type" in messages
    with pytest.raises(InvalidInputError, match="out of range"):
        replace(p, **(bad | dict(cap_use_bid=np.array([0, 5]))))
    with pytest.raises(InvalidInputError, match="shape"):
        replace(p, **(bad | dict(cap_up=np.array([True]))))
