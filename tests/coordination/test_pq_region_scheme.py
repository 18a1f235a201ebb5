"""The evolvDSO preset: the TSO's market within each DSO area's feasible PQ region.

On the two-level fixture grid a 12 MW TSO need pulls DSO bids of feeder 1, whose head line gets a
1 MW limit: without the region (the same scheme, DSO grid ``ignored``) the TSO's awards overload
it; with the region the TSO market keeps the feeder's interface inside the region in every MTU,
leaves more of its need unserved and causes no DSO violation.
"""

from __future__ import annotations

import dataclasses
import functools

import pytest

from flexcoord.coordination import (
    CoordinationInput,
    DsoGridInTsoMarket,
    JointModel,
    MarketModel,
    SchemeConfig,
    SchemeOutcome,
    market_model_name,
    preset,
    run_scheme,
)
from flexcoord.coordination.identities import MarketKind
from flexcoord.coordination.markets import MarketRun
from flexcoord.errors import InvalidInputError
from tests.coordination.schemes_fixtures import two_level_scenario

PQ = preset("evolvdso-pq-region")


@functools.cache
def tight_feeder() -> CoordinationInput:
    base = two_level_scenario(0, tso_need_mw=12.0, n_bids=40, tso_tightening=3.0)
    return dataclasses.replace(base, limit_overrides_mw={**base.limit_overrides_mw, "line:4": 1.0})


@functools.cache
def outcomes() -> tuple[SchemeOutcome, SchemeOutcome]:
    scenario = tight_feeder()
    joint = JointModel.of(scenario)
    ignored = dataclasses.replace(
        PQ, id="evolvdso-ignored", dso_grid_in_tso_market=DsoGridInTsoMarket.IGNORED
    )
    return (
        run_scheme(PQ, scenario, joint=joint, ac_check=False),
        run_scheme(ignored, scenario, joint=joint, ac_check=False),
    )


def tso_market(outcome: SchemeOutcome) -> MarketRun:
    return next(m for m in outcome.markets if m.id.kind is MarketKind.TSO)


def test_the_preset_is_a_multi_level_scheme_with_pq_regions() -> None:
    assert PQ.market_model is MarketModel.MULTI_LEVEL
    assert PQ.dso_grid_in_tso_market is DsoGridInTsoMarket.PQ_REGION
    assert market_model_name(PQ) == "multi_level"
    for bad in (
        {"market_model": MarketModel.COMMON},
        {"market_model": MarketModel.FRAGMENTED, "tso_access_to_ders": False},
        {"aggregate_at_interface": True},
        {"tso_access_to_ders": False},
    ):
        with pytest.raises(InvalidInputError, match="dso_grid_in_tso_market"):
            SchemeConfig(**{**{f.name: getattr(PQ, f.name) for f in dataclasses.fields(PQ)}, **bad})


def test_tso_awards_keep_each_interface_inside_its_region_in_every_mtu() -> None:
    with_region, _ = outcomes()
    result = tso_market(with_region).result
    n_mtu = result.problem.n_mtu
    assert result.problem.n_interface > 0
    assert result.problem.n_interface_flow == 2 * len(
        {n.rsplit("/", 1)[0] for n in result.problem.if_names}
    )
    assert float(result.interface_violation.max()) <= 1e-6
    binding = {b.mtu for b in result.binding if b.kind == "interface"}
    assert len(binding) == n_mtu  # the region binds in every MTU
    assert all(b.element.startswith("pq-region:") for b in result.binding if b.kind == "interface")


def test_a_need_beyond_the_region_is_partly_unserved_and_the_dso_grid_kept() -> None:
    with_region, ignored = outcomes()
    short_region = float(tso_market(with_region).result.need_shortfall_mw.sum())
    short_ignored = float(tso_market(ignored).result.need_shortfall_mw.sum())
    assert short_region > short_ignored + 1.0
    assert ignored.kpis.dso_violation_caused_by_tso_mwh > 0.5
    assert with_region.kpis.dso_violation_caused_by_tso_mwh <= 1e-3
    assert with_region.cost.total_eur < ignored.cost.total_eur
