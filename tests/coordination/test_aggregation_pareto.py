"""Industry4Redispatch Pareto front on SimBench 1-MV-rural, cross-checked by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from flexcoord.coordination.aggregation import pareto_front
from flexcoord.coordination.aggregation.pareto import combinations
from tests.coordination.test_aggregation_fixtures import bid


def test_combinations_respect_xor() -> None:
    rows = combinations(4, ["a", "a", None, "b"])
    assert len(rows) == 3 * 2 * 2  # {none, 0, 1} x {2?} x {3?}
    assert not (rows[:, 0] & rows[:, 1]).any()
    assert len({tuple(r) for r in rows}) == len(rows)


@pytest.mark.slow
def test_front_and_margin_rejections_match_brute_force() -> None:
    from flexcoord.coordination.aggregation import build_dso_model
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio
    from tests.conftest import MV_RURAL

    grid = load_grid(MV_RURAL)
    additions = ScenarioAdditions(batteries=10, battery_p_mw=3.0, battery_energy_mwh=6.0, seed=3)
    register = build_portfolio(grid, additions=additions)
    model = build_dso_model(grid, safety_margin=0.1, voltage_margin_pu=0.004)
    rng = np.random.default_rng(11)
    xor = {0: "x1", 1: "x1", 4: "x2", 5: "x2", 6: "x2"}
    bids = [
        bid(
            f"b{k}",
            f"bess:{k}",
            float(rng.uniform(1.0, 3.0)),
            float(rng.uniform(20.0, 120.0)),
            divisible=False,
            exclusive_set=xor.get(k),
            q_mvar_per_mw=0.3 if k % 3 == 0 else None,
        )
        for k in range(10)
    ]
    result = pareto_front(model, bids, register)
    assert result.ac_feasible is not None
    n_lin, n_ac = int(result.linear_feasible.sum()), int(result.ac_feasible.sum())
    assert 0 < n_lin < len(result.accepted)  # the DSO grid binds
    assert len(result.margin_rejected) > 0  # and the margin rejects AC-feasible combinations

    # brute force, in plain Python, from the per-combination checks
    qty = {b.id: b.quantities[0].quantity for b in bids}
    price = {b.id: b.activation_price_eur_per_mwh for b in bids}
    rows = {tuple(r): i for i, r in enumerate(result.accepted.tolist())}
    seen = 0
    for combo in itertools.product([False, True], repeat=len(bids)):
        sets = [bids[j].exclusive_set for j in range(len(bids)) if combo[j]]
        if any(s is not None and sets.count(s) > 1 for s in sets):
            assert combo not in rows
            continue
        seen += 1
        i = rows[combo]
        ids = [bids[j].id for j in range(len(bids)) if combo[j]]
        assert result.cost_eur[i] == pytest.approx(sum(price[b] * qty[b] for b in ids))  # type: ignore[operator]
        assert result.power_mw[i] == pytest.approx(sum(qty[b] for b in ids))
    assert seen == len(result.accepted)

    cost, power = result.cost_eur.tolist(), result.power_mw.tolist()
    lin = [i for i in range(len(cost)) if result.linear_feasible[i]]

    def dominates(a: int, b: int) -> bool:
        return (cost[a] <= cost[b] + 1e-9 and power[a] >= power[b] - 1e-9) and (
            cost[a] < cost[b] - 1e-9 or power[a] > power[b] + 1e-9
        )

    front = set(result.front.tolist())
    for i in front:
        assert result.linear_feasible[i]
        assert not any(dominates(j, i) for j in lin)
    for i in lin:  # every non-dominated feasible point is on the front (up to ties)
        if i not in front:
            assert any(
                dominates(j, i) or (cost[j] == cost[i] and power[j] == power[i]) for j in front
            )
    rejected = [
        i for i in range(len(cost)) if result.ac_feasible[i] and not result.linear_feasible[i]
    ]
    dominating = [i for i in rejected if any(dominates(i, f) for f in front)]
    assert sorted(result.margin_rejected.tolist()) == rejected
    assert sorted(result.margin_rejected_dominating.tolist()) == dominating
    assert result.n_margin_rejected_dominating == len(dominating) > 0
    print(
        f"{len(cost)} combos, {n_lin} linear, {n_ac} AC, {len(rejected)} rejected, "
        f"{len(dominating)} dominating, front {len(front)}"
    )
