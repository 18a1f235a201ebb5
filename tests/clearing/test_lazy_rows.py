"""Lazy grid rows (constraint generation) give the full formulation's clearing.

The proof the engine relies on (:mod:`flexcoord.clearing.lazy_rows`): a round's model is a
relaxation of the full one, so once its solution meets every branch and voltage row it was built
without, it is the full model's optimum. These tests compare the two builds on markets where
rows are added in later rounds (the screens at their tightest: only base-case violations start
with a row). Also: a MILP whose LP relaxation is integral is cleared from the relaxation
(:func:`flexcoord.clearing.solve.solve`) with the branch and bound's result.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, ClearingProblem, clear_problem
from flexcoord.errors import InvalidInputError
from tests.clearing.markets import random_market

FULL = ClearingOptions(lazy_voltage_rows=False, lazy_branch_rows=False, mip_rel_gap=0.0)
LAZY = ClearingOptions(
    voltage_screen_pu=0.0, lazy_branch_rows=True, branch_screen=1.0, mip_rel_gap=0.0
)


def _feeder() -> ClearingProblem:
    """Two buses on one feeder, one MTU: the cheap bid at the feeder's end would lift the
    end's voltage (base 1.04 pu, no row at first) above 1.05 pu; the dearer bid near the
    substation lifts it less. A need of 3 MW up."""
    return ClearingProblem(
        mtu_labels=("t0",),
        mtu_duration_h=np.array([0.25]),
        bid_ids=("end", "near"),
        bid_submitted_s=np.zeros(2),
        bid_indivisible=np.zeros(2, bool),
        bid_block=np.zeros(2, bool),
        bid_min_mw=np.zeros(2),
        bid_xor=np.array([-1, -1]),
        bid_parent=np.array([-1, -1]),
        slot_bid=np.array([0, 1]),
        slot_mtu=np.array([0, 0]),
        slot_quantity_mw=np.array([3.0, 3.0]),
        slot_price_eur_per_mwh=np.array([50.0, 80.0]),
        slot_up=np.ones(2, bool),
        slot_reactive=np.zeros(2, bool),
        slot_bus=np.array([1, 0]),
        need_ids=("n",),
        need_required_mw=np.array([[3.0]]),
        need_up=np.array([True]),
        need_reactive=np.array([False]),
        need_price_cap_eur_per_mwh=np.array([np.nan]),
        eligible_need=np.array([0, 0]),
        eligible_slot=np.array([0, 1]),
        bus_ids=("near", "end"),
        vbus_names=("bus:near", "bus:end"),
        dvm_dp=np.array([[0.001, 0.001], [0.001, 0.005]]),
        dvm_dq=np.zeros((2, 2)),
        base_vm_pu=np.array([[1.01], [1.04]]),
        vm_min_pu=np.full(2, 0.95),
        vm_max_pu=np.full(2, 1.05),
    )


def _assert_same(lazy, full) -> None:  # type: ignore[no-untyped-def]
    assert lazy.objective_eur == pytest.approx(full.objective_eur, rel=1e-7, abs=1e-6)
    # an unrelievable voltage violation puts 1e8 €/pu·h penalties in the objective; HiGHS's
    # relative tolerances then leave ~1e-4 MW of play in the dispatch (seen once in 150 markets:
    # 0.2300 vs 0.2299 MW, objectives 3,229,453.56 vs .55 €), whichever rows are built
    priced = float(np.max(full.voltage_violation_pu, initial=0.0)) > 0
    atol = 1e-3 if priced else 1e-6
    np.testing.assert_allclose(lazy.slot_accepted_mw, full.slot_accepted_mw, atol=atol)
    np.testing.assert_allclose(lazy.vm_pu, full.vm_pu, atol=1e-8 + atol * 0.02)
    np.testing.assert_allclose(
        lazy.voltage_violation_pu, full.voltage_violation_pu, atol=1e-8 + atol * 0.02
    )
    # not compared: duals (and the binding list read from them) where the LP is dual
    # degenerate, e.g. a unit capability exactly sold out beside a binding voltage row; either
    # basis is an optimal one


def _assert_same_binding(lazy, full) -> None:  # type: ignore[no-untyped-def]
    assert {(b.kind, b.element, b.side, b.mtu) for b in lazy.binding} == {
        (b.kind, b.element, b.side, b.mtu) for b in full.binding
    }


def test_a_row_added_in_the_second_round_moves_the_award_as_the_full_model_does() -> None:
    p = _feeder()
    full = clear_problem(p, FULL)
    lazy = clear_problem(p, LAZY)
    assert lazy.stats.grid_rounds == 2  # round 1 took the cheap bid; its row came in round 2
    assert lazy.stats.n_rows < full.stats.n_rows
    _assert_same(lazy, full)
    _assert_same_binding(lazy, full)
    # the end bus's limit binds: 1.04 + 0.005·x + 0.001·(3 - x) = 1.05 at x = 1.75 MW from the end
    assert lazy.accepted_mw_by_bid() == pytest.approx({"end": 1.75, "near": 1.25})
    (limit,) = [b for b in lazy.binding if b.kind == "voltage"]
    assert (limit.element, limit.side) == ("bus:end", "upper")
    assert limit.dual_eur_per_unit == pytest.approx(full.binding[-1].dual_eur_per_unit)


def test_lazy_rows_give_the_full_clearing_on_random_markets() -> None:
    rng = np.random.default_rng(12)
    later_rounds = 0
    for _ in range(150):
        p = random_market(rng)
        # a tighter band than the generator's, so voltage rows bind and some start without a row
        p = replace(p, vm_min_pu=np.full(2, 0.97), vm_max_pu=np.full(2, 1.03))
        full = clear_problem(p, FULL)
        lazy = clear_problem(p, LAZY)
        _assert_same(lazy, full)
        later_rounds += lazy.stats.grid_rounds > 1
    assert later_rounds >= 5  # the comparison covers rows added after the first round


def test_every_voltage_row_built_when_lazy_rows_are_off() -> None:
    p = _feeder()
    full = clear_problem(p, FULL)
    assert full.stats.grid_rounds == 1
    # 2 buses × 1 MTU voltage rows + need cover + 2 nodal-p rows
    assert full.stats.n_rows == 5


def test_a_branch_row_added_in_the_second_round_moves_the_award_as_the_full_model_does() -> None:
    # one line at 50 % of its limit in the base case (no row at the screen of 0.8); the cheap
    # bid behind it would overload it
    p = replace(
        _feeder(),
        vbus_names=(),
        dvm_dp=np.zeros((0, 2)),
        dvm_dq=np.zeros((0, 2)),
        base_vm_pu=np.zeros((0, 1)),
        vm_min_pu=np.zeros(0),
        vm_max_pu=np.zeros(0),
        branch_names=("line:near-end",),
        ptdf=np.array([[0.0, 1.0]]),
        limit_mw=np.array([4.0]),
        base_flow_mw=np.array([[2.0]]),
    )
    full = clear_problem(p, FULL)
    lazy = clear_problem(p, ClearingOptions(lazy_branch_rows=True, mip_rel_gap=0.0))
    assert lazy.stats.grid_rounds == 2
    _assert_same(lazy, full)
    _assert_same_binding(lazy, full)
    assert lazy.accepted_mw_by_bid() == pytest.approx({"end": 2.0, "near": 1.0})


def test_an_integral_relaxation_gives_the_branch_and_bound_result(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from flexcoord.clearing import solve as solve_module

    rng = np.random.default_rng(4)
    relaxed_used = 0
    for _ in range(60):
        p = random_market(rng)
        monkeypatch.setattr(solve_module, "RELAXATION_FIRST_SHARE", 1.0)
        relaxed = clear_problem(p, FULL)
        monkeypatch.setattr(solve_module, "RELAXATION_FIRST_SHARE", 0.0)
        mip = clear_problem(p, FULL)
        _assert_same(relaxed, mip)
        relaxed_used += relaxed.stats.n_integer > 0 and relaxed.stats.mip_nodes == 0
        # not compared: the duals where the LP with the integers fixed is dual degenerate
        # (both are duals of that LP; seen on penalty-dominated markets)
    assert relaxed_used >= 5


def test_a_negative_screen_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="voltage_screen_pu"):
        ClearingOptions(voltage_screen_pu=-0.01)
    with pytest.raises(InvalidInputError, match="branch_screen"):
        ClearingOptions(branch_screen=1.5)
