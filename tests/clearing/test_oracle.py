"""T7: the engine's objective equals brute-force enumeration on 1,000 small markets (with several
bids per unit and group bids, so the unit-capability rule is part of it)."""

from __future__ import annotations

import numpy as np

from flexcoord.clearing import ClearingOptions, clear_problem
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.problem import canonical
from tests.clearing.markets import random_market
from tests.clearing.oracle import oracle_objective

N_MARKETS = 1000


def test_engine_matches_brute_force_on_1000_markets() -> None:
    options = ClearingOptions(tie_break_eur_per_mwh=0.0, mip_rel_gap=0.0)
    rng = np.random.default_rng(20261101)
    mismatches = []
    n_mip = n_capped = n_group = 0
    for i in range(N_MARKETS):
        problem = random_market(rng)
        result = clear_problem(problem, options)
        n_mip += result.stats.n_integer > 0
        form = build_formulation(canonical(problem), options)
        n_capped += form.row_blocks["unit-capability"].size > 0
        n_group += bool(np.any(np.bincount(problem.cap_use_bid, minlength=problem.n_bid) > 1))
        expected = oracle_objective(problem, options)
        if abs(result.objective_eur - expected) > 1e-6 * max(1.0, abs(expected)) + 1e-4:
            mismatches.append((i, result.objective_eur, expected))
    assert mismatches == []
    assert n_mip > N_MARKETS // 4  # the integer structure is exercised
    # several bids per unit exceed its capability (rows emitted), group bids take from members
    assert n_capped > N_MARKETS // 2 and n_group > N_MARKETS // 4
