"""The clearing result document: penalties as their own figures, summing to the total to the
cent, the same split as the engine's own cost figures; options checked; provenance first."""

from __future__ import annotations

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, ClearingResult, clear_problem
from flexcoord.clearing.costs import VIOLATION_KINDS, evaluate_dispatch
from flexcoord.clearing.report import result_document
from flexcoord.errors import InvalidInputError
from flexcoord.provenance import provenance
from tests.clearing.markets import random_market
from tests.clearing.test_engine import market
from tests.clearing.test_interface_constraints import export_cap, two_bus_market

PARTS = ("bid_cost_eur", "shortfall_penalty_eur", "violation_penalty_eur")


def assert_sums_to_the_cent(doc: dict[str, object]) -> None:
    parts = sum(float(doc[k]) for k in PARTS)  # type: ignore[arg-type]
    assert round(parts, 2) == doc["total_cost_eur"]
    by_kind = doc["violation_penalty_by_kind_eur"]
    assert isinstance(by_kind, dict) and tuple(by_kind) == VIOLATION_KINDS
    assert round(sum(by_kind.values()), 2) == doc["violation_penalty_eur"]


def engine_total(result: ClearingResult) -> float:
    return result.procurement_cost_eur + result.penalty_cost_eur


def test_a_shortfall_is_its_own_figure() -> None:
    result = clear_problem(market([{"price": 10.0}, {"price": 90.0}], need_mw=3.0, cap=50.0))
    doc = result_document(result)
    assert_sums_to_the_cent(doc)
    assert doc["bid_cost_eur"] == pytest.approx(0.25 * 10.0, abs=0.005)
    assert doc["shortfall_penalty_eur"] == pytest.approx(2.0 * 0.25 * 50.0, abs=0.005)
    assert doc["violation_penalty_eur"] == 0.0
    assert doc["total_cost_eur"] == pytest.approx(engine_total(result), abs=0.01)
    assert doc["penalty_share"] == pytest.approx(25.0 / 27.5, abs=1e-6)
    # the fields other code reads stay
    assert doc["procurement_cost_eur"] == pytest.approx(result.procurement_cost_eur, abs=0.005)
    assert doc["penalty_cost_eur"] == pytest.approx(result.penalty_cost_eur, abs=0.005)


def test_a_branch_overload_no_bid_relieves_is_a_branch_penalty() -> None:
    # base flow above every limit; bids push flows the wrong way or not at all
    result = clear_problem(
        market([{"price": 20.0}], need_mw=1.0, grid=True, limit=5.0, base_flow=6.0)
    )
    doc = result_document(result)
    assert_sums_to_the_cent(doc)
    branch = doc["violation_penalty_by_kind_eur"]["branch"]
    assert branch > 0.99 * doc["total_cost_eur"]  # a total that is 99 % penalties says so
    assert doc["penalty_share"] > 0.99
    assert doc["total_cost_eur"] == pytest.approx(engine_total(result), rel=1e-9, abs=0.01)


def test_interface_penalty_needs_the_clearings_options() -> None:
    extra = export_cap(np.inf)
    extra["ic_lower"] = np.array([[20.0]])
    options = ClearingOptions(interface_penalty_eur_per_mwh=1e5)
    result = clear_problem(two_bus_market(**extra), options)
    doc = result_document(result, options=options)
    assert_sums_to_the_cent(doc)
    assert doc["violation_penalty_by_kind_eur"]["interface"] == pytest.approx(12.0 * 0.25 * 1e5)
    with pytest.raises(InvalidInputError, match="pass the options the market was cleared with"):
        result_document(result)  # default options price the slack at the branch penalty


@pytest.mark.parametrize("seed", range(30))
def test_the_split_matches_the_engines_own_cost_on_random_markets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    result = clear_problem(random_market(rng), ClearingOptions(mip_rel_gap=0.0))
    cost = evaluate_dispatch(result.problem, result.slot_accepted_mw)
    assert cost.bid_cost_eur == pytest.approx(result.procurement_cost_eur, abs=1e-9)
    assert cost.penalty_eur == pytest.approx(result.penalty_cost_eur, rel=1e-9, abs=0.01)
    assert_sums_to_the_cent(result_document(result))


def test_provenance_comes_first() -> None:
    result = clear_problem(market([{"price": 10.0}], need_mw=1.0))
    block = provenance(grid_code="test", input_path=None, command="pytest")
    doc = result_document(result, provenance=block)
    assert next(iter(doc)) == "provenance"
    assert doc["provenance"] == block
    assert "provenance" not in result_document(result)
