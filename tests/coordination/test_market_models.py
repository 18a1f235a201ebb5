"""The market models as named strategies over frozen values, and the package's facade."""

from __future__ import annotations

import dataclasses

import pytest

from flexcoord import coordination
from flexcoord.coordination import (
    MARKET_MODELS,
    PRESETS,
    ClearingLedger,
    DsoModelCache,
    JointModel,
    MarketId,
    default_options,
    market_model_name,
    preset,
)
from flexcoord.coordination.markets import MarketsState, SchemeContext
from flexcoord.errors import InvalidInputError
from tests.coordination.schemes_fixtures import two_level_scenario


def test_every_preset_names_a_registered_market_model_and_every_model_is_used() -> None:
    names = {c.id: market_model_name(c) for c in PRESETS}
    assert set(names.values()) == set(MARKET_MODELS)
    assert names["smartnet-local"] == names["onenet-poland"] == "local"
    assert names["smartnet-shared-balancing"] == "shared_balancing"
    assert names["onenet-fragmented"] == "fragmented"
    assert names["onenet-multi-level"] == names["onenet-cyprus"] == "multi_level"


def test_the_registry_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        MARKET_MODELS["mine"] = MARKET_MODELS["common"]  # type: ignore[index]


@pytest.mark.parametrize("name", sorted(MARKET_MODELS))
def test_a_market_model_returns_a_new_state_and_leaves_its_inputs_alone(name: str) -> None:
    config = next(c for c in PRESETS if market_model_name(c) == name)
    scenario = two_level_scenario(0)
    joint = JointModel.of(scenario)
    ctx = SchemeContext.of(config, scenario, joint, default_options())
    start = MarketsState(ledger=ClearingLedger())
    after = MARKET_MODELS[name](ctx, start)
    assert after is not start and after.markets
    assert start.markets == () and start.ledger == ClearingLedger()  # untouched
    again = MARKET_MODELS[name](ctx, start)
    assert [m.accepted_mw for m in again.markets] == [m.accepted_mw for m in after.markets]
    assert all(m.id.round is None for m in after.markets)
    if name == "common":
        assert [m.id for m in after.markets] == [MarketId.common()]
    else:
        assert after.markets[-1].id == MarketId.tso()


def test_the_joint_model_is_frozen_and_refuses_another_scenarios_dso_models() -> None:
    scenario = two_level_scenario(0)
    joint = JointModel.of(scenario)
    with pytest.raises(dataclasses.FrozenInstanceError):
        joint.problem = joint.problem  # type: ignore[misc]
    shared = DsoModelCache(scenario)
    assert JointModel.of(dataclasses.replace(scenario, name="round"), dso_models=shared)
    other = dataclasses.replace(scenario, limit_overrides_mw={})
    with pytest.raises(InvalidInputError, match="dso_models"):
        JointModel.of(other, dso_models=shared)


def test_the_facade_names_and_resolves_every_export() -> None:
    exports = coordination._EXPORTS
    assert sorted(coordination.__all__) == sorted(exports)
    for name in exports:
        assert getattr(coordination, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        coordination.nothing_here  # noqa: B018


def test_the_former_runner_names_still_import() -> None:
    from flexcoord.coordination.runner import JointModel as Joint
    from flexcoord.coordination.runner import SchemeOutcome, conflict_rule, run_scheme

    assert Joint is JointModel and run_scheme is coordination.run_scheme
    assert SchemeOutcome is coordination.SchemeOutcome
    assert conflict_rule(preset("onenet-common")) is coordination.ConflictRule.BLOCK
