"""NGED / ESO MW Dispatch under primacy rules: each rule on a conflict built for it, on the
exporting two-level grid (``mw_dispatch_fixtures``), and its turn-down-only access to DERs."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from flexcoord.coordination import (
    ConflictKind,
    DispatchKey,
    MarketId,
    Mtu,
    SchemeConfig,
    SchemeOutcome,
    market_model_name,
    preset,
    run_scheme,
)
from flexcoord.coordination.config import MarketModel
from flexcoord.coordination.conflicts import AwardInfo
from flexcoord.coordination.primacy import (
    PrimacyRule,
    PrimacyRules,
    Winner,
    resolve_primacy,
)
from flexcoord.domain import Bid, Direction, Need
from flexcoord.domain.vocabulary import GENERATING_TECHNOLOGIES
from flexcoord.errors import InvalidInputError
from flexcoord.simulation.report import primacy_document, scheme_document
from tests.coordination.mw_dispatch_fixtures import (
    PV_DSO1,
    PV_DSO2,
    bid,
    conflict_scenario,
    dso_need,
    export_scenario,
)

MW_DISPATCH = preset("nged-mw-dispatch")
DSO2_BUSES = (7, 8, 9)
DSO1_BUSES = (3, 4, 5)


def _run(
    bids: tuple[Bid, ...],
    needs: tuple[Need, ...] = (),
    *,
    config: SchemeConfig = MW_DISPATCH,
    **kw: float,
) -> SchemeOutcome:
    return run_scheme(config, conflict_scenario(bids, needs, **kw), ac_check=False)


def _mw(outcome: SchemeOutcome, root: str) -> float:
    """The final dispatch's MW of ``root`` in the scenario's first MTU."""
    mtu = Mtu(export_scenario().intervals[0].start)
    return outcome.accepted_mw.get(DispatchKey(root, mtu), 0.0)


def _market_mw(outcome: SchemeOutcome, market: MarketId, root: str) -> float:
    run = next(m for m in outcome.markets if m.id == market)
    return sum(mw for k, mw in run.accepted_mw.items() if k.root == root)


def _shared_der_conflict(
    eso_price: float, dso_price: float, rules: PrimacyRules | None = None
) -> SchemeOutcome:
    """The DSO buys 1 MW up on PV ``sgen:4`` (its need in area dso-2); the ESO then turns the same
    PV down by up to 1.2 MW to relieve the exporting TSO line (which the DSO's up makes worse)."""
    config = MW_DISPATCH if rules is None else dataclasses.replace(MW_DISPATCH, primacy=rules)
    return _run(
        (
            bid("d-up", PV_DSO2, Direction.UP, 1.0, dso_price),
            bid("e-down", PV_DSO2, Direction.DOWN, 1.2, eso_price),
        ),
        (dso_need(DSO2_BUSES, Direction.UP, 1.0),),
        config=config,
    )


def test_the_preset_runs_the_mw_dispatch_strategy_with_the_three_rules_in_order() -> None:
    assert market_model_name(MW_DISPATCH) == "mw_dispatch"
    assert MW_DISPATCH.primacy is not None
    assert MW_DISPATCH.primacy.rules == (
        PrimacyRule.DSO_GRID_LIMIT,
        PrimacyRule.SYSTEM_VALUE,
        PrimacyRule.DSO_SERVICE,
    )


def test_dso_service_rule_keeps_the_dsos_der_when_values_are_close() -> None:
    out = _shared_der_conflict(eso_price=45.0, dso_price=50.0)  # 54 € against 50 €: within 25 %
    assert _market_mw(out, MarketId.tso(), "e-down") == pytest.approx(1.2)  # the ESO wanted it
    [decision] = out.primacy
    assert decision.kind is ConflictKind.DOUBLE_ACTIVATION
    assert (decision.rule, decision.winner) == (PrimacyRule.DSO_SERVICE, Winner.DSO)
    assert decision.unit_ids == (PV_DSO2,)
    assert decision.eso.bid_id == "e-down" and [d.bid_id for d in decision.dso] == ["d-up"]
    assert decision.eso.value_eur == pytest.approx(45.0 * 1.2 * 0.25)
    assert decision.eso_mw_after == 0.0
    assert _mw(out, "e-down") == 0.0  # the losing ESO instruction is not dispatched
    assert _mw(out, "d-up") == pytest.approx(1.0)
    assert out.mw_dispatch is not None and out.mw_dispatch.payment_eur == 0.0
    [conflict] = out.conflicts
    assert conflict.action == "block" and "dso_service" in conflict.reason
    assert out.kpis.conflicts_double_activation == 1


def test_without_the_value_rule_the_dso_keeps_its_der_even_against_a_valuable_eso_order() -> None:
    out = _shared_der_conflict(200.0, 50.0, PrimacyRules(system_value_margin=None))
    [decision] = out.primacy
    assert (decision.rule, decision.winner) == (PrimacyRule.DSO_SERVICE, Winner.DSO)
    assert _mw(out, "e-down") == 0.0 and _mw(out, "d-up") == pytest.approx(1.0)


def test_system_value_rule_lets_a_clearly_more_valuable_eso_order_win() -> None:
    out = _shared_der_conflict(eso_price=200.0, dso_price=50.0)  # 240 € against 50 €
    [decision] = out.primacy
    assert (decision.rule, decision.winner) == (PrimacyRule.SYSTEM_VALUE, Winner.ESO)
    assert decision.eso_mw_after == pytest.approx(1.2)
    assert _mw(out, "d-up") == 0.0  # the losing DSO instruction is not dispatched
    assert _mw(out, "e-down") == pytest.approx(1.2)
    assert out.kpis.shortfall_mwh["dso"] == pytest.approx(1.0 * 0.25)  # the DSO's need is short
    assert out.mw_dispatch is not None
    assert out.mw_dispatch.lost_generation_mwh == pytest.approx(1.2 * 0.25)
    assert out.mw_dispatch.payment_eur == pytest.approx(1.2 * 0.25 * 200.0)
    assert out.conflicts[0].action == "flag"  # the ESO's instruction stands


def test_system_value_rule_also_decides_for_a_clearly_more_valuable_dso_service() -> None:
    out = _shared_der_conflict(eso_price=45.0, dso_price=300.0)
    [decision] = out.primacy
    assert (decision.rule, decision.winner) == (PrimacyRule.SYSTEM_VALUE, Winner.DSO)
    assert _mw(out, "e-down") == 0.0 and _mw(out, "d-up") == pytest.approx(1.0)


def test_the_margin_is_a_strict_threshold() -> None:
    # ESO value 60 × 1.2 = 72 €, DSO value 57.6 × 1.0 = 57.6 €: exactly 25 % above, not more
    out = _shared_der_conflict(eso_price=60.0, dso_price=57.6)
    assert out.primacy[0].rule == PrimacyRule.DSO_SERVICE
    out = _shared_der_conflict(eso_price=60.0, dso_price=57.0)
    assert (out.primacy[0].rule, out.primacy[0].winner) == (PrimacyRule.SYSTEM_VALUE, Winner.ESO)


def test_dso_grid_limit_rule_scales_an_eso_turn_down_to_what_the_feeder_hosts() -> None:
    # turning PV down on importing feeder 0 loads its head line, limited 0.3 MW above its flow
    out = _run(
        (bid("e-down", PV_DSO1, Direction.DOWN, 1.0, 40.0),),
        tso_relief_mw=1.0,
        feeder0_headroom_mw=0.3,
    )
    assert _market_mw(out, MarketId.tso(), "e-down") == pytest.approx(1.0)
    [decision] = out.primacy
    assert decision.kind is ConflictKind.DSO_LIMIT and decision.dso == ()
    assert (decision.rule, decision.winner) == (PrimacyRule.DSO_GRID_LIMIT, Winner.DSO)
    hosted = decision.eso_mw_after
    assert 0.2 < hosted < 0.35  # what the line hosts, by the PTDF of the PV's bus on it
    assert _mw(out, "e-down") == pytest.approx(hosted)  # the rest is not dispatched
    assert out.kpis.dso_violation_caused_by_tso_mwh == pytest.approx(0.0, abs=1e-5)
    assert out.kpis.conflicts_dso_limit == 1 and out.conflicts[0].action == "curtail"
    assert out.mw_dispatch is not None
    assert out.mw_dispatch.payment_eur == pytest.approx(hosted * 0.25 * 40.0)


def test_one_dso_limit_conflict_per_area_and_mtu_with_a_decision_per_eso_instruction() -> None:
    out = _run(
        (
            bid("e1", PV_DSO1, Direction.DOWN, 0.5, 40.0),
            bid("e2", "sgen:3", Direction.DOWN, 0.5, 41.0),  # PV at mv0-3, also on feeder 0
        ),
        tso_relief_mw=1.0,
        feeder0_headroom_mw=0.3,
    )
    assert [(d.eso.bid_id, d.rule) for d in out.primacy] == [
        ("e1", PrimacyRule.DSO_GRID_LIMIT),
        ("e2", PrimacyRule.DSO_GRID_LIMIT),
    ]
    [conflict] = out.conflicts
    assert conflict.tso_bid_ids == ("e1", "e2") and out.kpis.conflicts_dso_limit == 1
    assert conflict.tso_mw_after == pytest.approx(_mw(out, "e1") + _mw(out, "e2"))
    assert conflict.tso_mw_after == pytest.approx(0.3, abs=0.05)


def test_dso_grid_limit_rule_overrides_a_value_win_that_would_overload_the_feeder() -> None:
    # feeder 0's head line is 0.3 MW over: the DSO buys PV up there; the ESO's turn-down of that
    # PV is worth far more, but without the DSO's instruction the line would be overloaded
    out = _run(
        (
            bid("d-up", PV_DSO1, Direction.UP, 0.8, 50.0),
            bid("e-down", PV_DSO1, Direction.DOWN, 0.8, 300.0),
        ),
        (dso_need(DSO1_BUSES, Direction.UP, 0.5),),
        feeder0_headroom_mw=-0.3,
    )
    assert _market_mw(out, MarketId.tso(), "e-down") > 0.1
    first = out.primacy[0]
    assert first.kind is ConflictKind.DOUBLE_ACTIVATION
    assert (first.rule, first.winner) == (PrimacyRule.DSO_GRID_LIMIT, Winner.DSO)
    assert _mw(out, "e-down") == 0.0 and _mw(out, "d-up") > 0.3
    assert out.kpis.dso_violation_caused_by_tso_mwh == pytest.approx(0.0, abs=1e-5)


def test_mw_dispatch_offers_the_eso_only_turn_down_of_generation_and_relieves_its_line() -> None:
    bids = (
        bid("pv-down", PV_DSO2, Direction.DOWN, 1.0, 80.0),
        bid("pv-up", PV_DSO2, Direction.UP, 1.0, 1.0),
        bid("load-down", "load:4", Direction.DOWN, 1.0, 5.0),  # consume more: not MW Dispatch
        bid("bess-down", "bess:0", Direction.DOWN, 0.5, 5.0),  # storage: not generation
    )
    out = _run(bids, tso_relief_mw=0.5)
    tso = next(m for m in out.markets if m.id == MarketId.tso())
    assert sorted(tso.root_of(b.id) for b in tso.offered) == ["pv-down"]
    assert out.kpis.forwarded_bids == 1
    register = export_scenario().register
    for key, mw in tso.accepted_mw.items():
        b = next(x for x in bids if x.id == key.root)
        units = register.units_of(b.resource_id)
        assert mw > 0 and b.direction is Direction.DOWN
        assert all(u.technology in GENERATING_TECHNOLOGIES for u in units)
    assert _mw(out, "pv-down") == pytest.approx(0.5, rel=0.05)  # the TSO line's overload
    assert out.kpis.residual_violation_tso_mwh == pytest.approx(0.0, abs=1e-6)
    without = _run(bids, config=preset("onenet-fragmented"), tso_relief_mw=0.5)
    assert without.kpis.residual_violation_tso_mwh == pytest.approx(0.5 * 0.25, rel=0.05)
    assert out.primacy == () and out.mw_dispatch is not None
    [payment] = out.mw_dispatch.payments
    assert payment.resource_id == PV_DSO2
    assert payment.payment_eur == pytest.approx(payment.lost_generation_mwh * 80.0)
    assert without.mw_dispatch is None


def test_on_a_generated_scenario_every_eso_award_on_a_der_is_a_turn_down() -> None:
    s = export_scenario()
    out = run_scheme(MW_DISPATCH, s, ac_check=False)
    tso = next(m for m in out.markets if m.id == MarketId.tso())
    forwarded = {tso.root_of(i) for i in tso.lineage}
    assert forwarded  # the DSO's unused turn-down bids reached the ESO
    by_root = {b.id: b for b in s.bids}
    for root in forwarded:
        b = by_root[root]
        units = s.register.units_of(b.resource_id)
        assert b.direction is Direction.DOWN
        assert all(u.technology in GENERATING_TECHNOLOGIES for u in units)
    assert out.mw_dispatch is not None
    paid = {p.key.root for p in out.mw_dispatch.payments}
    assert paid <= forwarded
    assert math.isclose(
        out.mw_dispatch.payment_eur,
        sum(
            mw * 0.25 * (by_root[k.root].activation_price_eur_per_mwh or 0.0)
            for k, mw in out.accepted_mw.items()
            if k.root in forwarded
        ),
        rel_tol=1e-9,
    )


def test_pure_resolution_records_both_instructions_and_leaves_its_inputs_alone() -> None:
    mtu = Mtu(export_scenario().intervals[0].start)
    eso = {DispatchKey("e", mtu): AwardInfo(area_id="a", unit_ids=("u",), up=False, mw=2.0)}
    dso = {DispatchKey("d", mtu): AwardInfo(area_id="a", unit_ids=("u", "v"), up=True, mw=1.0)}
    calls: list[dict[DispatchKey, float]] = []

    def overload(volumes: object) -> dict[tuple[str, Mtu], float]:
        calls.append(dict(volumes))  # type: ignore[call-overload]
        return {}

    out = resolve_primacy(
        eso,
        dso,
        price_eur_per_mwh={"e": 100.0, "d": 10.0},
        hours={mtu: 0.5},
        rules=PrimacyRules(system_value_margin=0.0),
        dso_overload=overload,
    )
    [d] = out.decisions
    assert (d.rule, d.winner, d.unit_ids) == (PrimacyRule.SYSTEM_VALUE, Winner.ESO, ("u",))
    assert d.eso.value_eur == pytest.approx(100.0) and d.dso[0].value_eur == pytest.approx(5.0)
    assert out.dso_mw[DispatchKey("d", mtu)] == 0.0 and out.eso_mw[DispatchKey("e", mtu)] == 2.0
    assert {DispatchKey("d", mtu): -1.0}.items() <= calls[-1].items()  # withdrawn DSO MW
    assert eso[DispatchKey("e", mtu)].mw == 2.0 and dso[DispatchKey("d", mtu)].mw == 1.0


@pytest.mark.parametrize("margin", [-0.1, math.nan, math.inf, True, "0.2"])
def test_a_bad_margin_is_an_input_error_naming_the_field(margin: object) -> None:
    with pytest.raises(InvalidInputError, match="system_value_margin"):
        PrimacyRules(system_value_margin=margin)  # type: ignore[arg-type]


def test_primacy_outside_a_multi_level_scheme_with_both_buyers_is_an_input_error() -> None:
    for changes in (
        {"market_model": MarketModel.FRAGMENTED, "tso_access_to_ders": False},
        {"dso_buys": False},
        {"tso_buys": False},
        {"aggregate_at_interface": True},
    ):
        with pytest.raises(InvalidInputError, match="primacy"):
            dataclasses.replace(MW_DISPATCH, **changes)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="PrimacyRules value"):
        dataclasses.replace(MW_DISPATCH, primacy=0.25)  # type: ignore[arg-type]


def test_the_run_document_carries_the_decisions_and_the_settlement_as_json() -> None:
    out = _shared_der_conflict(eso_price=200.0, dso_price=50.0)
    doc = json.loads(json.dumps(scheme_document(out)))
    [decision] = doc["primacy"]
    assert (decision["rule"], decision["winner"]) == ("system_value", "eso")
    assert decision["eso"]["bid_id"] == "e-down" and decision["dso"][0]["bid_id"] == "d-up"
    assert doc["mw_dispatch"]["payment_eur"] == pytest.approx(1.2 * 0.25 * 200.0)
    assert doc["mw_dispatch"]["payments"][0]["bid_id"] == "e-down"
    other = run_scheme(preset("onenet-multi-level"), conflict_scenario(()), ac_check=False)
    assert primacy_document(other) == {} and "primacy" not in scheme_document(other)
