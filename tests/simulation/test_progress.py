"""Progress of long runs through the Python API: monotone step counts, one per sub-market
(``run_scheme``) or round (``run_chain``), then the evaluation."""

from __future__ import annotations

import pytest

from flexcoord.coordination import JointModel, preset, run_chain, run_scheme
from flexcoord.progress import ProgressEvent
from tests.coordination.schemes_fixtures import two_level_scenario
from tests.coordination.test_timeframes import chain


def assert_monotone(events: list[ProgressEvent]) -> None:
    assert events, "no progress reported"
    total = events[0].total
    assert [e.step for e in events] == list(range(1, len(events) + 1))
    assert all(e.total == total for e in events)
    assert events[-1].step == total


@pytest.mark.parametrize(
    ("scheme_id", "markets"),
    [("onenet-common", 1), ("onenet-multi-level", 2), ("onenet-spain", 1)],
)
def test_run_scheme_reports_each_market_then_the_evaluation(scheme_id: str, markets: int) -> None:
    scenario = two_level_scenario(0)
    events: list[ProgressEvent] = []
    for ac_check in (False, True):
        events.clear()
        run_scheme(
            preset(scheme_id),
            scenario,
            joint=JointModel.of(scenario),
            ac_check=ac_check,
            progress=events.append,
        )
        assert_monotone(events)
        stages = [e.stage for e in events]
        assert stages == ["market"] * markets + ["evaluation"] + ["ac-check"] * ac_check
        assert events[0].message.startswith("clearing market ")


def test_run_chain_reports_each_round() -> None:
    events: list[ProgressEvent] = []
    config = preset("onenet-northern")
    outcome = run_chain(config, chain(), ac_check=False, progress=events.append)
    assert_monotone(events)
    assert [e.stage for e in events] == ["round"] * len(outcome.rounds) + ["evaluation"]
