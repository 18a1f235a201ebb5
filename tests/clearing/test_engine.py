"""Unit tests of the array-level engine on hand-built markets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from flexcoord.clearing import (
    AcFlows,
    ClearingOptions,
    ClearingProblem,
    PricingRule,
    RejectionReason,
    clear_problem,
)
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.problem import canonical
from flexcoord.errors import InvalidInputError
from tests.clearing.markets import ptdf_4bus, random_market


def market(
    bids: list[dict[str, Any]],
    *,
    need_mw: float | list[float] = 2.0,
    cap: float = np.nan,
    need_up: bool = True,
    grid: bool = False,
    limit: float = 100.0,
    base_flow: float = 0.0,
    **extra: Any,
) -> ClearingProblem:
    """One need at every bus; bids as dicts (price, q, bus, up, mtus, flags)."""
    need = np.atleast_1d(np.asarray(need_mw, dtype=float))
    n_t = need.shape[0]
    sb, st, sq, sp, su, sbus = [], [], [], [], [], []
    for b, bid in enumerate(bids):
        for t in bid.get("mtus", range(n_t)):
            sb.append(b)
            st.append(t)
            sq.append(bid.get("q", 1.0))
            sp.append(bid["price"])
            su.append(bid.get("up", True))
            sbus.append(bid.get("bus", 1 if grid else -1))
    n_b, n_s = len(bids), len(sb)
    kw: dict[str, Any] = {}
    if grid:
        ptdf = ptdf_4bus()
        kw = dict(
            bus_ids=("B0", "B1", "B2", "B3"),
            branch_names=("line_01", "line_12", "line_20", "line_23"),
            ptdf=ptdf,
            base_flow_mw=np.full((4, n_t), base_flow),
            limit_mw=np.full(4, limit),
        )
    kw.update(extra)
    return ClearingProblem(
        mtu_labels=tuple(f"2026-06-01T13:{15 * t:02d}Z" for t in range(n_t)),
        mtu_duration_h=np.full(n_t, 0.25),
        bid_ids=tuple(b.get("id", f"b{i}") for i, b in enumerate(bids)),
        bid_submitted_s=np.array([b.get("submitted", 0.0) for b in bids]),
        bid_indivisible=np.array([b.get("indivisible", False) for b in bids]),
        bid_block=np.array([b.get("block", False) for b in bids]),
        bid_min_mw=np.array([b.get("min", 0.0) for b in bids]),
        bid_xor=np.array([b.get("xor", -1) for b in bids]),
        bid_parent=np.array([b.get("parent", -1) for b in bids]),
        slot_bid=np.array(sb),
        slot_mtu=np.array(st),
        slot_quantity_mw=np.array(sq),
        slot_price_eur_per_mwh=np.array(sp, dtype=float),
        slot_up=np.array(su),
        slot_reactive=np.zeros(n_s, bool),
        slot_bus=np.array(sbus),
        need_ids=("need",),
        need_required_mw=need[None, :],
        need_up=np.array([need_up]),
        need_reactive=np.array([False]),
        need_price_cap_eur_per_mwh=np.array([cap]),
        eligible_need=np.zeros(n_s, dtype=np.int64),
        eligible_slot=np.arange(n_s),
        **kw,
    )
    del n_b


def test_merit_order_and_pay_as_cleared() -> None:
    p = market([{"price": 30.0}, {"price": 10.0}, {"price": 20.0}], need_mw=2.5)
    r = clear_problem(p, ClearingOptions(pricing=PricingRule.PAY_AS_CLEARED))
    assert r.accepted_mw_by_bid() == pytest.approx({"b1": 1.0, "b2": 1.0, "b0": 0.5})
    assert r.need_cleared_price_eur_per_mwh[0, 0] == 30.0
    assert {a.price_eur_per_mwh for a in r.awards()} == {30.0}
    assert r.objective_eur == pytest.approx(0.25 * (10 + 20 + 15))
    assert r.need_marginal_price_eur_per_mwh[0, 0] == pytest.approx(30.0, abs=1e-3)  # + tie-break


def test_price_cap_shortfall_and_reasons() -> None:
    p = market([{"price": 10.0}, {"price": 90.0}], need_mw=3.0, cap=50.0)
    r = clear_problem(p)
    assert r.need_shortfall_mw[0, 0] == pytest.approx(2.0)
    assert r.penalty_cost_eur == pytest.approx(2.0 * 0.25 * (50.0 + 2e-4))
    rej = r.rejection_of("b1")
    assert rej is not None and rej.reason is RejectionReason.PRICE_ABOVE_CAP
    (cov,) = r.coverage()
    assert (
        cov.shortfall_mw == pytest.approx(2.0)
        and "not enough eligible bids" in cov.shortfall_reason
    )


def test_bid_exactly_at_cap_is_accepted() -> None:
    r = clear_problem(market([{"price": 50.0}], need_mw=1.0, cap=50.0))
    assert r.accepted_mw_by_bid() == {"b0": pytest.approx(1.0)}


def test_xor_link_and_minimum_acceptance() -> None:
    opts = ClearingOptions(mip_rel_gap=0.0)
    r = clear_problem(
        market(
            [{"price": 10.0, "q": 2.0, "xor": 0}, {"price": 11.0, "q": 2.0, "xor": 0}], need_mw=3.0
        ),
        opts,
    )
    assert set(r.accepted_mw_by_bid()) == {"b0"}
    rej = r.rejection_of("b1")
    assert rej is not None and rej.reason is RejectionReason.EXCLUDED_BY_XOR
    assert "b0" in rej.detail
    r = clear_problem(
        market(
            [
                {"price": 5.0, "q": 1.0, "parent": 1},
                {"price": 500.0, "q": 1.0, "indivisible": True},
            ],
            need_mw=1.0,
            cap=100.0,
        ),
        opts,
    )
    assert r.accepted_mw_by_bid() == {}
    rej = r.rejection_of("b0")
    assert rej is not None and rej.reason is RejectionReason.PARENT_NOT_ACCEPTED
    r = clear_problem(
        market(
            [{"price": 20.0, "q": 5.0, "min": 4.0}, {"price": 30.0, "q": 1.0}],
            need_mw=1.0,
            cap=100.0,
        ),
        opts,
    )
    assert r.accepted_mw_by_bid() == {"b1": pytest.approx(1.0)}
    rej = r.rejection_of("b0")
    assert rej is not None and rej.reason is RejectionReason.MINIMUM_ACCEPTANCE
    r = clear_problem(market([{"price": 1.0, "q": 5.0, "min": 4.0}], need_mw=2.0), opts)
    assert r.accepted_mw_by_bid() == {"b0": pytest.approx(4.0)}  # over-covering is allowed


def test_block_is_all_or_ratio_across_mtus() -> None:
    p = market(
        [{"price": 10.0, "q": 2.0, "block": True}, {"price": 40.0, "q": 2.0}], need_mw=[2.0, 1.0]
    )
    r = clear_problem(p)
    x = r.slot_accepted_mw[r.problem.slot_bid == r.problem.bid_ids.index("b0")]
    assert x[0] == pytest.approx(x[1])


def test_grid_limit_blocks_cheap_bid_and_is_named() -> None:
    # the cheap bid sits at bus 3 behind line_23 (limit 0.5 MW); the dear one at bus 1
    p = market(
        [{"price": 10.0, "bus": 3, "q": 2.0}, {"price": 40.0, "bus": 1, "q": 2.0}],
        need_mw=2.0,
        grid=True,
        limit=0.5,
    )
    r = clear_problem(p)
    assert r.branch_violation_mw.max() == 0.0
    texts = [b.text for b in r.binding]
    assert any("line_23" in t and "2026-06-01T13:00Z" in t for t in texts)
    lmp = r.lmp_eur_per_mwh
    assert lmp.shape == (4, 1) and np.all(np.isfinite(lmp))


def test_grid_limit_rejection_reason() -> None:
    p = market(
        [
            {"price": 10.0, "bus": 3, "q": 2.0, "indivisible": True},
            {"price": 40.0, "bus": 1, "q": 2.0},
        ],
        need_mw=2.0,
        grid=True,
        limit=0.5,
    )
    r = clear_problem(p, ClearingOptions(mip_rel_gap=0.0))
    rej = r.rejection_of("b0")
    assert rej is not None and rej.reason in {
        RejectionReason.GRID_LIMIT,
        RejectionReason.MINIMUM_ACCEPTANCE,
    }


def test_unrelievable_base_violation_is_priced_not_infeasible() -> None:
    p = market([{"price": 10.0, "bus": 1}], need_mw=0.0, grid=True, limit=1.0, base_flow=5.0)
    r = clear_problem(p)
    assert r.stats.optimal and r.branch_violation_mw.max() > 0
    assert any("not relievable" in b.text for b in r.binding)


def test_counter_trading_balances_energy() -> None:
    # redispatch only: relieve line_01 overload with an up and a down bid in balance
    p = market(
        [{"price": 10.0, "bus": 1, "q": 3.0}, {"price": 20.0, "bus": 3, "q": 3.0, "up": False}],
        need_mw=0.0,
        grid=True,
        limit=2.0,
        base_flow=2.5,
        energy_balance=True,
    )
    r = clear_problem(p)
    assert abs(r.balance_violation_mw).max() < 1e-6


def test_determinism_under_permutation() -> None:
    rng = np.random.default_rng(3)
    options = ClearingOptions(mip_rel_gap=0.0)
    for _ in range(25):
        p = random_market(rng)
        h = clear_problem(p, options).canonical_hash()
        perm = rng.permutation(p.n_bid)
        inv = np.argsort(perm)
        sperm = rng.permutation(p.n_slot)
        inv_s = np.argsort(sperm)
        q = type(p)(
            **{
                **{f: getattr(p, f) for f in p.__dataclass_fields__},
                "bid_ids": tuple(p.bid_ids[i] for i in perm),
                "bid_submitted_s": p.bid_submitted_s[perm],
                "bid_indivisible": p.bid_indivisible[perm],
                "bid_block": p.bid_block[perm],
                "bid_min_mw": p.bid_min_mw[perm],
                "bid_xor": p.bid_xor[perm],
                "bid_parent": np.where(
                    p.bid_parent[perm] >= 0, inv[np.maximum(p.bid_parent[perm], 0)], -1
                ),
                "slot_bid": inv[p.slot_bid][sperm],
                "slot_mtu": p.slot_mtu[sperm],
                "slot_quantity_mw": p.slot_quantity_mw[sperm],
                "slot_price_eur_per_mwh": p.slot_price_eur_per_mwh[sperm],
                "slot_payment_price_eur_per_mwh": p.slot_payment_price_eur_per_mwh[sperm],
                "slot_up": p.slot_up[sperm],
                "slot_reactive": p.slot_reactive[sperm],
                "slot_bus": p.slot_bus[sperm],
                "eligible_slot": inv_s[p.eligible_slot],
                # capability uses follow the bids, in reversed order
                "cap_use_bid": inv[p.cap_use_bid][::-1],
                "cap_use_cap": p.cap_use_cap[::-1],
                "cap_use_weight": p.cap_use_weight[::-1],
            }
        )
        assert clear_problem(q, options).canonical_hash() == h


def test_equal_prices_earlier_submission_wins() -> None:
    p = market(
        [
            {"price": 10.0, "submitted": 5.0, "id": "late"},
            {"price": 10.0, "submitted": 1.0, "id": "early"},
        ],
        need_mw=1.0,
    )
    assert clear_problem(p).accepted_mw_by_bid() == {"early": pytest.approx(1.0)}


def test_invalid_problem_names_bid_and_field() -> None:
    with pytest.raises(InvalidInputError) as err:
        market([{"price": 10.0, "q": -1.0, "id": "bad"}, {"price": float("nan"), "id": "nan"}])
    text = str(err.value)
    assert "'bad': quantity_mw=-1.0" in text and "'nan'" in text and "price_eur_per_mwh" in text


def test_names_map_back_to_domain() -> None:
    p = canonical(market([{"price": 10.0, "bus": 3}], grid=True))
    form = build_formulation(p, ClearingOptions())
    names = form.row_names()
    assert "branch-flow[line_23,2026-06-01T13:00Z]" in names
    assert "need-cover[need,2026-06-01T13:00Z]" in names
    assert "bid-accept[b0,2026-06-01T13:00Z]" in form.col_names()


class ShiftChecker:
    """A fake AC checker: the AC flow is the linear flow plus 10 % of |flow| on every branch."""

    def __init__(self, p: ClearingProblem) -> None:
        self.p = p

    def check(self, p_mw: np.ndarray, q_mvar: np.ndarray) -> AcFlows:
        lin = self.p.base_flow_mw + self.p.ptdf @ p_mw
        return AcFlows(branch_flow_mw=lin * 1.1, vm_pu=np.zeros((0, self.p.n_mtu)))


def test_ac_loop_reclears_until_no_violation() -> None:
    p = market(
        [{"price": 10.0, "bus": 3, "q": 2.0}, {"price": 40.0, "bus": 1, "q": 2.0}],
        need_mw=2.0,
        grid=True,
        limit=0.5,
    )
    once = clear_problem(p, ClearingOptions(), ac_checker=ShiftChecker(p))
    assert once.ac is not None and not once.ac.converged and once.ac.iterations == 0
    assert once.ac.initial_linearisation_error_flow_mw > 0
    r = clear_problem(p, ClearingOptions(ac_max_iterations=10), ac_checker=ShiftChecker(p))
    assert r.ac is not None and r.ac.converged and r.ac.iterations >= 1
    assert r.ac.max_branch_violation_mw == 0.0
