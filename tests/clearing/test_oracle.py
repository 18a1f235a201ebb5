"""T7: the engine's objective equals brute-force enumeration on 1,000 small markets."""

from __future__ import annotations

import numpy as np

from flexcoord.clearing import ClearingOptions, clear_problem
from tests.clearing.markets import random_market
from tests.clearing.oracle import oracle_objective

N_MARKETS = 1000


def test_engine_matches_brute_force_on_1000_markets() -> None:
    options = ClearingOptions(tie_break_eur_per_mwh=0.0, mip_rel_gap=0.0)
    rng = np.random.default_rng(20261101)
    mismatches = []
    n_mip = 0
    for i in range(N_MARKETS):
        problem = random_market(rng)
        result = clear_problem(problem, options)
        n_mip += result.stats.n_integer > 0
        expected = oracle_objective(problem, options)
        if abs(result.objective_eur - expected) > 1e-6 * max(1.0, abs(expected)) + 1e-4:
            mismatches.append((i, result.objective_eur, expected))
    assert mismatches == []
    assert n_mip > N_MARKETS // 4  # the integer structure is exercised
