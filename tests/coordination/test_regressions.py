"""Regressions found in review: cases the generated two-level scenarios did not reach."""

from __future__ import annotations

import dataclasses

import pytest

from flexcoord.coordination import PRESETS, JointModel, preset, run_chain, run_scheme
from flexcoord.domain import ProductKind
from flexcoord.simulation.scenario import build_coordination_scenario, build_timeframe_chain


@pytest.mark.slow
def test_schemes_run_when_the_joint_problem_uses_fewer_mtus_than_the_scenario() -> None:
    """Without DSO needs (which span the day) the bids leave MTUs unused: every preset and chain
    must still align the dispatch with the scenario's MTUs, and a round whose product the scheme
    does not trade is skipped, not solved empty."""
    scenario = build_coordination_scenario("1-MV-rural--0-sw", n_bids=60, n_tso=0, n_dso=0)
    joint = JointModel.of(scenario)
    assert joint.problem.n_mtu < len(scenario.intervals)
    for config in PRESETS:
        outcome = run_scheme(config, scenario, joint=joint, ac_check=False)
        assert outcome.cost.total_eur >= 0.0
    chain = build_timeframe_chain("1-MV-rural--0-sw", n_bids=60, n_tso=0, n_dso=0)
    for config in (preset("onenet-northern"), preset("onenet-cyprus")):
        assert run_chain(config, chain, ac_check=False).kpis.rounds >= 1
    activation_only = dataclasses.replace(
        preset("onenet-common"), product_kinds=(ProductKind.ACTIVATION,)
    )
    run_chain(activation_only, chain, ac_check=False)


@pytest.mark.slow
def test_aggregated_offer_curves_survive_a_degenerate_last_level() -> None:
    """The default MV day (1,200 bids, 96 MTUs) made HiGHS end with 'Unknown' on the last level
    of an aggregated offer curve (the interface row fixed at its largest quantity), which aborted
    the local and Polish schemes. The level is re-solved from scratch (then with a 1e-9 MW
    tolerance), so both schemes complete and forward the aggregated offers."""
    scenario = build_coordination_scenario("1-MV-rural--0-sw", seed=0)
    joint = JointModel.of(scenario)
    for scheme in ("smartnet-local", "onenet-poland"):
        outcome = run_scheme(preset(scheme), scenario, joint=joint, ac_check=False)
        assert outcome.kpis.forwarded_bids > 0
        assert outcome.cost.total_eur > 0.0
