"""Interface (injection) constraints in the clearing engine: a hand-built binding case, the
empty block changing nothing, and branch / voltage limits re-expressed as interface constraints
matching the brute-force oracle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from flexcoord.clearing import (
    ClearingOptions,
    ClearingProblem,
    RejectionReason,
    clear_problem,
)
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.problem import canonical
from flexcoord.domain import Interval
from flexcoord.errors import InvalidInputError
from tests.clearing.markets import random_market
from tests.clearing.oracle import oracle_objective


def two_bus_market(**extra: Any) -> ClearingProblem:
    """A 5 MW UP need; ``cheap`` at B0 (4 MW, 10 €/MWh), ``medium`` at B1 (4 MW, 20 €/MWh) and
    ``dear`` without a bus (3 MW, 50 €/MWh)."""
    return ClearingProblem(
        mtu_labels=("2026-06-01T13:00Z",),
        mtu_duration_h=np.array([0.25]),
        bid_ids=("cheap", "medium", "dear"),
        bid_submitted_s=np.zeros(3),
        bid_indivisible=np.zeros(3, bool),
        bid_block=np.zeros(3, bool),
        bid_min_mw=np.zeros(3),
        bid_xor=np.full(3, -1),
        bid_parent=np.full(3, -1),
        slot_bid=np.arange(3),
        slot_mtu=np.zeros(3, int),
        slot_quantity_mw=np.array([4.0, 4.0, 3.0]),
        slot_price_eur_per_mwh=np.array([10.0, 20.0, 50.0]),
        slot_up=np.ones(3, bool),
        slot_reactive=np.zeros(3, bool),
        slot_bus=np.array([0, 1, -1]),
        need_ids=("need",),
        need_required_mw=np.array([[5.0]]),
        need_up=np.array([True]),
        need_reactive=np.array([False]),
        need_price_cap_eur_per_mwh=np.array([np.nan]),
        eligible_need=np.zeros(3, int),
        eligible_slot=np.arange(3),
        bus_ids=("B0", "B1"),
        **extra,
    )


def export_cap(upper_mw: float) -> dict[str, Any]:
    """``p_B0 + p_B1 <= upper_mw``: the two buses together inject at most ``upper_mw``."""
    return dict(
        ic_names=("export-cap",),
        ic_p=np.array([[1.0, 1.0]]),
        ic_q=np.zeros((1, 2)),
        ic_lower=np.array([[-np.inf]]),
        ic_upper=np.array([[upper_mw]]),
    )


def test_binding_interface_constraint_is_respected_named_and_explained() -> None:
    free = clear_problem(two_bus_market())
    assert free.accepted_mw_by_bid() == pytest.approx({"cheap": 4.0, "medium": 1.0})
    problem = two_bus_market(**export_cap(3.0))
    result = clear_problem(problem)
    assert result.accepted_mw_by_bid() == pytest.approx({"cheap": 3.0, "dear": 2.0})
    # linear check: p_B0 + p_B1 of the accepted flexibility within the bound
    assert result.interface_value == pytest.approx(np.array([[3.0]]))
    assert result.interface_violation == pytest.approx(np.zeros((1, 1)))
    (bind,) = [b for b in result.binding if b.kind == "interface"]
    assert (bind.element, bind.side, bind.mtu) == ("export-cap", "upper", "2026-06-01T13:00Z")
    assert bind.dual_eur_per_unit == pytest.approx(-40.0, abs=1e-3)  # dear (50) replaces cheap (10)
    assert "interface constraint export-cap upper limit" in bind.text
    rejection = result.rejection_of("medium")
    assert rejection is not None
    assert rejection.reason is RejectionReason.GRID_LIMIT
    assert rejection.detail == "interface constraint export-cap upper limit at 2026-06-01T13:00Z"
    assert result.penalty_cost_eur == pytest.approx(0.0)
    form = build_formulation(canonical(problem), ClearingOptions())
    assert "interface[export-cap,2026-06-01T13:00Z]" in form.row_names()
    assert "interface-over[export-cap,2026-06-01T13:00Z]" in form.col_names()
    assert "injection-p[B0,2026-06-01T13:00Z]" in form.col_names()  # only interface rows


def test_unrelievable_interface_constraint_is_priced_not_infeasible() -> None:
    # injection at B0/B1 must be at least 20 MW: the bids reach 8 MW, the rest is a priced slack
    extra = export_cap(np.inf)
    extra["ic_lower"] = np.array([[20.0]])
    result = clear_problem(
        two_bus_market(**extra), ClearingOptions(interface_penalty_eur_per_mwh=1e5)
    )
    assert result.stats.optimal
    assert result.interface_value == pytest.approx(np.array([[8.0]]))
    assert result.interface_violation == pytest.approx(np.array([[12.0]]))
    (bind,) = [b for b in result.binding if b.kind == "interface"]
    assert bind.side == "lower"
    assert "not relievable" in bind.text
    assert result.penalty_cost_eur == pytest.approx(12.0 * 0.25 * 1e5)
    assert ClearingOptions().interface_penalty == ClearingOptions().branch_penalty_eur_per_mwh


def test_reactive_coefficients_act_on_reactive_and_coupled_slots() -> None:
    # a Q cap at B1: the medium bid brings 0.5 Mvar per MW, so at most 1 MW of it
    problem = two_bus_market(
        slot_q_mvar_per_mw=np.array([0.0, 0.5, 0.0]),
        ic_names=("q-cap",),
        ic_p=np.zeros((1, 2)),
        ic_q=np.array([[0.0, 1.0]]),
        ic_lower=np.array([[-np.inf]]),
        ic_upper=np.array([[0.5]]),
    )
    problem = replace(problem, slot_price_eur_per_mwh=np.array([30.0, 20.0, 50.0]))
    result = clear_problem(problem)
    assert result.accepted_mw_by_bid() == pytest.approx({"medium": 1.0, "cheap": 4.0})
    assert result.interface_value == pytest.approx(np.array([[0.5]]))


def test_empty_block_and_loose_constraints_change_nothing() -> None:
    rng = np.random.default_rng(11)
    options = ClearingOptions()
    for _ in range(60):
        problem = random_market(rng)
        base = clear_problem(problem, options)
        nb, n_t = problem.n_bus, problem.n_mtu
        empty = replace(
            problem,
            ic_names=(),
            ic_p=np.zeros((0, nb)),
            ic_q=np.zeros((0, nb)),
            ic_lower=np.zeros((0, n_t)),
            ic_upper=np.zeros((0, n_t)),
        )
        assert clear_problem(empty, options).canonical_hash() == base.canonical_hash()
        loose = replace(
            problem,
            ic_names=("loose",),
            ic_p=np.ones((1, nb)),
            ic_q=np.ones((1, nb)),
            ic_lower=np.full((1, n_t), -1e4),
            ic_upper=np.full((1, n_t), np.inf),
        )
        assert clear_problem(loose, options).canonical_hash() == base.canonical_hash()


def as_interface(problem: ClearingProblem, what: str) -> ClearingProblem:
    """The same market with its branch (or voltage) limits moved into interface constraints."""
    p = problem
    if what == "branch":
        lim = (1.0 - p.safety_margin) * p.limit_mw[:, None]
        return replace(
            p,
            branch_names=(),
            ptdf=np.zeros((0, p.n_bus)),
            base_flow_mw=np.zeros((0, p.n_mtu)),
            limit_mw=np.zeros(0),
            ic_names=tuple(f"ic:{n}" for n in p.branch_names),
            ic_p=p.ptdf,
            ic_q=np.zeros_like(p.ptdf),
            ic_lower=-lim - p.base_flow_mw,
            ic_upper=lim - p.base_flow_mw,
        )
    return replace(
        p,
        vbus_names=(),
        dvm_dp=np.zeros((0, p.n_bus)),
        dvm_dq=np.zeros((0, p.n_bus)),
        base_vm_pu=np.zeros((0, p.n_mtu)),
        vm_min_pu=np.zeros(0),
        vm_max_pu=np.zeros(0),
        ic_names=tuple(f"ic:{n}" for n in p.vbus_names),
        ic_p=p.dvm_dp,
        ic_q=p.dvm_dq,
        ic_lower=p.vm_min_pu[:, None] - p.base_vm_pu,
        ic_upper=p.vm_max_pu[:, None] - p.base_vm_pu,
    )


@pytest.mark.parametrize("what", ["branch", "voltage"])
def test_limits_as_interface_constraints_match_the_oracle(what: str) -> None:
    """Branch (voltage) rows re-expressed as interface constraints: the engine's optimum equals
    the brute-force oracle of the original market (independent dense formulation)."""
    options = ClearingOptions(tie_break_eur_per_mwh=0.0, mip_rel_gap=0.0)
    moved = (
        options
        if what == "branch"
        else replace(options, interface_penalty_eur_per_mwh=options.voltage_penalty_eur_per_pu_h)
    )
    kind = "branch-flow" if what == "branch" else "voltage"
    rng = np.random.default_rng(20261126)
    mismatches = []
    n_binding = 0
    for i in range(150):
        problem = random_market(rng)
        result = clear_problem(as_interface(problem, what), moved)
        original = clear_problem(problem, options)
        n_binding += any(b.kind == "interface" for b in result.binding)
        expected = oracle_objective(problem, options)
        if abs(result.objective_eur - expected) > 1e-6 * max(1.0, abs(expected)) + 1e-4:
            mismatches.append((i, result.objective_eur, expected))
        # the same limits bind, on the same side, named after the constraint
        assert sorted(
            (b.element, b.side, b.mtu) for b in result.binding if b.kind == "interface"
        ) == sorted((f"ic:{b.element}", b.side, b.mtu) for b in original.binding if b.kind == kind)
        if what == "branch":  # the same bids are blocked, by the same (renamed) limit
            assert result.rejection_code.tolist() == original.rejection_code.tolist()
            assert [
                r.detail.removeprefix("interface constraint ic:") for r in result.rejections()
            ] == [r.detail for r in original.rejections()]
    assert mismatches == []
    assert n_binding >= (100 if what == "branch" else 3)  # measured 119 / 3 of 150: they bind


def test_problem_and_grid_constraints_validate_the_block() -> None:
    with pytest.raises(InvalidInputError, match="ic_upper"):
        two_bus_market(**{**export_cap(3.0), "ic_upper": np.array([[np.nan]])})
    with pytest.raises(InvalidInputError, match="ic_p"):
        two_bus_market(**{**export_cap(3.0), "ic_p": np.ones((1, 3))})
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    iv = tuple(
        Interval(start=t0 + k * timedelta(minutes=15), end=t0 + (k + 1) * timedelta(minutes=15))
        for k in range(2)
    )
    gc = GridConstraints(
        intervals=iv,
        bus_ids=np.array([1, 2]),
        branch_names=(),
        ptdf=np.zeros((0, 2)),
        limit_mw=np.zeros(0),
        base_flow_mw=np.zeros((0, 2)),
        vbus_ids=np.zeros(0, int),
        injection_bus_ids=np.zeros(0, int),
        dvm_dp=np.zeros((0, 0)),
        dvm_dq=np.zeros((0, 0)),
        base_vm_pu=np.zeros((0, 2)),
        vm_min_pu=np.zeros(0),
        vm_max_pu=np.zeros(0),
    )
    assert gc.n_interface == 0
    assert gc.interface_p.shape == (0, 2)
    assert gc.interface_upper.shape == (0, 2)
    one = gc.with_interface(["a"], np.ones((1, 2)), np.zeros((1, 2)), [-np.inf], [1.0])
    two = one.with_interface(["b"], np.ones((1, 2)), np.zeros((1, 2)), [[0.0, 0.0]], [[1.0, 2.0]])
    assert two.interface_names == ("a", "b")
    assert two.interface_upper.tolist() == [[1.0, 1.0], [1.0, 2.0]]
    with pytest.raises(InvalidInputError, match="unique"):
        two.with_interface(["a"], np.ones((1, 2)), np.zeros((1, 2)), [0.0], [1.0])
    with pytest.raises(InvalidInputError, match="lower bound above"):
        gc.with_interface(["c"], np.ones((1, 2)), np.zeros((1, 2)), [2.0], [1.0])
