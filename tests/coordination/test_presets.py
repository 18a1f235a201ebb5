"""The presets: valid, faithful to the seed's Table 3 (L632–L644), and runnable on SimBench."""

from __future__ import annotations

import dataclasses

import pytest

from flexcoord.coordination import (
    PRESETS,
    AllocationPrinciple,
    MarketKind,
    MarketModel,
    SchemeConfig,
    preset,
)
from flexcoord.coordination.presets import (
    AGGREGATION_PROJECTS,
    GB_SERVICES,
    ONENET_MODELS,
    ONENET_PILOTS,
    SEED_PROJECTS,
    SMARTNET_SCHEMES,
)
from flexcoord.domain import PowerType, Timeframe
from flexcoord.errors import InvalidInputError, NotFoundError

_M, _F, _C = MarketModel.MULTI_LEVEL, MarketModel.FRAGMENTED, MarketModel.COMMON
_EX, _PR, _NO = (
    AllocationPrinciple.DSO_EXCLUSIVITY,
    AllocationPrinciple.DSO_PRIORITY,
    AllocationPrinciple.NO_PRIORITY,
)
_LT, _DA, _ID, _NRT = (
    Timeframe.LONG_TERM,
    Timeframe.DAY_AHEAD,
    Timeframe.INTRADAY,
    Timeframe.NEAR_REAL_TIME,
)

# Table 3, column by column: scheme, allocation, TSO direct access to DERs, reactive power traded,
# timeframe span (first, last; "weeks ahead" → long term), coordinated stakeholders.
TABLE_3 = {
    "onenet-spain": (_F, _EX, False, False, (_LT, _NRT), ("DSO", "SP", "IMO")),
    "onenet-poland": (_M, _PR, True, False, (_LT, _NRT), ("TSO", "DSO", "SP")),
    "onenet-czech-republic": (_F, _EX, False, True, (_LT, _NRT), ("DSO", "SP", "IMO")),
    "onenet-hungary": (_F, _EX, False, True, (_LT, _DA), ("DSO", "SP")),
    "onenet-northern": (_C, _NO, True, False, (_LT, _NRT), ("TSO", "DSO", "SP", "IMO")),
    "onenet-cyprus": (_M, _PR, True, False, (_ID, _NRT), ("TSO", "DSO", "SP", "IMO")),
    "onenet-slovenia": (_F, _EX, False, False, (_LT, _LT), ("DSO", "SP")),
}


def test_preset_ids_are_unique_and_grouped() -> None:
    ids = [c.id for c in PRESETS]
    assert len(ids) == len(set(ids)) == 20
    assert PRESETS == (
        SMARTNET_SCHEMES
        + ONENET_MODELS
        + ONENET_PILOTS
        + SEED_PROJECTS
        + AGGREGATION_PROJECTS
        + GB_SERVICES
    )
    assert [c.id for c in SEED_PROJECTS] == ["evolvdso-pq-region"]
    assert [c.id for c in GB_SERVICES] == ["nged-mw-dispatch"]
    assert {c.id for c in ONENET_PILOTS} == set(TABLE_3)


@pytest.mark.parametrize("config", PRESETS, ids=lambda c: c.id)
def test_every_preset_is_a_valid_config(config: SchemeConfig) -> None:
    assert dataclasses.replace(config) == config  # re-validates
    assert preset(config.id) is config
    assert config.title and config.source
    assert config.sequential == (config.market_model != MarketModel.COMMON)
    if config.market_model == MarketModel.FRAGMENTED:
        assert not config.tso_access_to_ders and config.allocation == _EX
    if config.market_model == MarketModel.COMMON:
        assert config.allocation == _NO


@pytest.mark.parametrize(
    "pilot",
    list(TABLE_3),
)
def test_pilot_presets_match_table_3(pilot: str) -> None:
    model, allocation, access, reactive, (first, last), stakeholders = TABLE_3[pilot]
    config = preset(pilot)
    assert config.market_model == model
    assert config.allocation == allocation
    assert config.tso_access_to_ders == access
    assert (PowerType.REACTIVE in config.power_types) == reactive
    assert PowerType.ACTIVE in config.power_types
    assert (config.timeframes[0], config.timeframes[-1]) == (first, last)
    assert list(config.timeframes) == sorted(config.timeframes, key=list(Timeframe).index)
    assert config.stakeholders == stakeholders
    assert config.tso_buys == ("TSO" in stakeholders)


@pytest.mark.parametrize(
    ("scheme", "model", "dso_buys", "tso_access"),
    [
        ("smartnet-centralised", _C, False, True),
        ("smartnet-centralised-dso-limits", _C, False, True),
        ("smartnet-local", _M, True, True),
        ("smartnet-shared-balancing", _F, True, False),
        ("smartnet-common", _C, True, True),
        ("smartnet-integrated", _C, True, True),
        ("onenet-common", _C, True, True),
        ("onenet-multi-level", _M, True, True),
        ("onenet-fragmented", _F, True, False),
    ],
)
def test_smartnet_schemes_and_onenet_models(
    scheme: str, model: MarketModel, dso_buys: bool, tso_access: bool
) -> None:
    config = preset(scheme)
    assert (config.market_model, config.dso_buys, config.tso_access_to_ders) == (
        model,
        dso_buys,
        tso_access,
    )
    assert config.commercial_buyers == (scheme == "smartnet-integrated")
    assert config.interface_schedule == (scheme == "smartnet-shared-balancing")


def test_unknown_preset_names_the_valid_ids() -> None:
    with pytest.raises(NotFoundError, match="nope") as info:
        preset("nope")
    assert isinstance(info.value, LookupError)
    for config in PRESETS:
        assert config.id in str(info.value)


def test_contradictory_configs_are_refused() -> None:
    base = preset("onenet-fragmented")
    with pytest.raises(InvalidInputError, match="tso_access_to_ders"):
        dataclasses.replace(base, tso_access_to_ders=True)
    with pytest.raises(InvalidInputError, match="offers every bid to every buyer"):
        dataclasses.replace(preset("onenet-common"), tso_access_to_ders=False)
    with pytest.raises(InvalidInputError, match="timeframes"):
        dataclasses.replace(base, timeframes=())


@pytest.mark.parametrize(
    ("preset_id", "field", "message"),
    [
        ("onenet-fragmented", "aggregate_at_interface", "multi-level model with TSO access"),
        ("onenet-common", "aggregate_at_interface", "multi-level model with TSO access"),
        ("onenet-multi-level", "interface_schedule", "a fragmented model"),
        ("onenet-common", "interface_schedule", "a fragmented model"),
        ("onenet-multi-level", "commercial_buyers", "buy in a common market"),
    ],
)
def test_a_field_no_market_model_would_read_is_refused(
    preset_id: str, field: str, message: str
) -> None:
    """Every field drives the market model it is given to: a flag the config's model would
    ignore is an input error naming the field."""
    with pytest.raises(InvalidInputError, match=message) as caught:
        dataclasses.replace(preset(preset_id), **{field: True})  # type: ignore[arg-type]
    assert [i.field for i in caught.value.issues] == [field]


def test_the_allocation_principle_is_the_market_models() -> None:
    """OneNet pairs them one to one (Table 3): the allocation is read from the model."""
    assert {c.market_model: c.allocation for c in PRESETS} == {_C: _NO, _M: _PR, _F: _EX}


@pytest.mark.slow
def test_every_preset_runs_on_the_hv_mv_scenario(hvmv_mixed: object) -> None:
    """All presets on a SimBench HV/MV day with congestion on both grids (reduced size: the full
    96-MTU, 1,200-bid comparison is ``benchmarks/bench_coordination.py``)."""
    from flexcoord.coordination import JointModel, run_scheme
    from flexcoord.simulation.scenario import build_coordination_scenario

    scenario = build_coordination_scenario(hvmv_mixed, n_mtu=96, n_bids=400)  # type: ignore[arg-type]
    areas = scenario.grid.asset_areas()
    congested = {areas[b] == "tso" for b in scenario.limit_overrides_mw}
    assert congested == {True, False}, scenario.limit_overrides_mw  # both grids
    joint = JointModel.of(scenario)
    outcomes = {c.id: run_scheme(c, scenario, joint=joint) for c in PRESETS}
    common = outcomes["onenet-common"].cost.total_eur
    for scheme_id, outcome in outcomes.items():
        assert outcome.kpis.markets == len(outcome.markets), scheme_id
        if outcome.config.sequential:
            assert outcome.cost.total_eur >= common - (1e-6 * abs(common) + 1e-3), scheme_id
    # a DSO-only pilot leaves the TSO's needs unserved (beyond what the joint market cannot serve)
    tso_short = {k: o.kpis.shortfall_mwh["tso"] for k, o in outcomes.items()}
    for pilot in ("onenet-spain", "onenet-czech-republic", "onenet-hungary", "onenet-slovenia"):
        assert outcomes[pilot].markets and all(
            m.id.kind is MarketKind.DSO for m in outcomes[pilot].markets
        )
        assert tso_short[pilot] > tso_short["onenet-common"] + 1.0, tso_short


@pytest.mark.parametrize("method", ["cascade", "pareto_set"])
def test_an_interface_aggregation_without_aggregation_is_refused(method: str) -> None:
    """``interface_aggregation`` is read only with ``aggregate_at_interface``; an unknown value
    names the valid ones."""
    with pytest.raises(InvalidInputError, match="only with aggregate_at_interface") as caught:
        dataclasses.replace(preset("onenet-multi-level"), interface_aggregation=method)  # type: ignore[arg-type]
    assert [i.field for i in caught.value.issues] == ["interface_aggregation"]
    with pytest.raises(InvalidInputError, match="offer_curve"):
        dataclasses.replace(preset("onenet-poland"), interface_aggregation="nsga2")  # type: ignore[arg-type]


def test_the_aggregation_projects_pick_their_market_models() -> None:
    from flexcoord.coordination.market_models import market_model_name

    assert market_model_name(preset("redispatch-3.0-cascade")) == "cascade"
    assert market_model_name(preset("industry4redispatch")) == "pareto_set"
    assert market_model_name(preset("onenet-poland")) == "local"
