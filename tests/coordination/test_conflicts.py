"""Activation conflicts between TSO and DSO awards: detection, the scheme's rule, the reason."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from flexcoord.coordination import (
    ConflictKind,
    ConflictRule,
    CoordinationInput,
    DispatchKey,
    JointModel,
    Mtu,
    conflict_rule,
    preset,
    run_scheme,
)
from flexcoord.coordination.conflicts import AwardInfo, resolve_conflicts
from flexcoord.domain import Bid, Direction, Location, MtuQuantity, Need
from flexcoord.simulation.scenario import PRODUCT_ID
from tests.coordination.schemes_fixtures import two_level_scenario

T = Mtu(datetime(2026, 6, 2, 10, tzinfo=UTC))
T1 = Mtu(datetime(2026, 6, 2, 10, 15, tzinfo=UTC))


def _k(bid: str, mtu: Mtu = T) -> DispatchKey:
    return DispatchKey(bid, mtu)


def _info(mw: float, *, area: str = "dso-1", unit: str = "u1", up: bool = True) -> AwardInfo:
    return AwardInfo(area_id=area, unit_ids=(unit,), up=up, mw=mw)


def _no_overload(_: Mapping[DispatchKey, float]) -> dict[tuple[str, Mtu], float]:
    return {}


def _capacity(cap_mw: float, area: str = "dso-1") -> object:
    """Overload = TSO MW in ``area`` above ``cap_mw`` (a one-branch linear DSO grid)."""

    def overload(volumes: Mapping[DispatchKey, float]) -> dict[tuple[str, Mtu], float]:
        over = sum(volumes.values()) - cap_mw
        return {(area, T): over} if over > 1e-12 else {}

    return overload


@pytest.mark.parametrize(
    ("rule", "after_mw"), [(ConflictRule.BLOCK, 0.0), (ConflictRule.CURTAIL, 0.0), ("flag", 2.0)]
)
def test_double_activation_of_one_unit(rule: ConflictRule, after_mw: float) -> None:
    tso = {_k("bt"): _info(2.0, unit="u1")}
    dso = {_k("bd"): _info(1.0, unit="u1")}
    volumes, conflicts = resolve_conflicts(tso, dso, ConflictRule(rule), _no_overload)
    assert volumes == {_k("bt"): pytest.approx(after_mw)}
    (c,) = conflicts
    assert c.kind == ConflictKind.DOUBLE_ACTIVATION and c.action == ConflictRule(rule)
    assert (c.area_id, c.mtu, c.tso_bid_ids) == ("dso-1", T, ("bt",))
    assert c.tso_mw_before == 2.0 and c.tso_mw_after == pytest.approx(after_mw)
    assert "u1" in c.reason and "already activated by the DSO" in c.reason


def test_different_units_or_mtus_or_transmission_awards_are_no_conflict() -> None:
    tso = {
        _k("bt"): _info(2.0, unit="u2", up=True),
        _k("bt", T1): _info(2.0, unit="u1", up=False),
        _k("bh"): _info(3.0, area="tso", unit="u1", up=False),
    }
    dso = {_k("bd"): _info(1.0, unit="u1", up=True)}
    volumes, conflicts = resolve_conflicts(tso, dso, ConflictRule.BLOCK, _no_overload)
    assert conflicts == ()
    assert volumes == {k: v.mw for k, v in tso.items()}


@pytest.mark.parametrize(
    ("rule", "after_mw"),
    [(ConflictRule.BLOCK, 0.0), (ConflictRule.CURTAIL, 1.5), (ConflictRule.FLAG, 2.0)],
)
def test_counter_activation_in_the_same_area_and_mtu(rule: ConflictRule, after_mw: float) -> None:
    tso = {_k("bt"): _info(2.0, unit="u2", up=False)}
    dso = {_k("bd"): _info(0.5, unit="u1", up=True)}
    volumes, conflicts = resolve_conflicts(tso, dso, rule, _no_overload)
    assert volumes[_k("bt")] == pytest.approx(after_mw)  # curtail: by the opposed volume
    (c,) = conflicts
    assert c.kind == ConflictKind.COUNTER_ACTIVATION and c.action == rule
    assert c.tso_mw_before == 2.0 and c.tso_mw_after == pytest.approx(after_mw)
    assert "opposes 0.500 MW" in c.reason


def test_same_direction_or_other_area_is_no_counter_activation() -> None:
    tso = {
        _k("b1"): _info(2.0, unit="u2", up=True),
        _k("b2"): _info(1.0, area="dso-2", unit="u3", up=False),
    }
    dso = {_k("bd"): _info(0.5, unit="u1", up=True)}
    _, conflicts = resolve_conflicts(tso, dso, ConflictRule.BLOCK, _no_overload)
    assert conflicts == ()


@pytest.mark.parametrize("rule", list(ConflictRule))
def test_dso_limit_conflict(rule: ConflictRule) -> None:
    tso = {_k("b1"): _info(3.0, unit="u1"), _k("b2"): _info(1.0, unit="u2")}
    overload = _capacity(2.5)
    volumes, conflicts = resolve_conflicts(tso, {}, rule, overload)  # type: ignore[arg-type]
    (c,) = conflicts
    assert c.kind == ConflictKind.DSO_LIMIT and c.action == rule
    assert c.tso_bid_ids == ("b1", "b2") and c.tso_mw_before == 4.0
    assert "overload the DSO grid by 1.500 MW" in c.reason
    assert all(v >= 0.0 for v in volumes.values())
    if rule == ConflictRule.BLOCK:
        assert volumes == {_k("b1"): 0.0, _k("b2"): 0.0}
    elif rule == ConflictRule.CURTAIL:
        left = overload(volumes)  # type: ignore[operator]
        assert all(mw <= 1e-6 for mw in left.values())  # the bisection's tolerance
        assert sum(volumes.values()) == pytest.approx(2.5, abs=1e-6)  # just enough, pro rata
        assert volumes[_k("b1")] == pytest.approx(3 * volumes[_k("b2")])
        assert c.tso_mw_after == pytest.approx(2.5, abs=1e-6)
    else:
        assert volumes == {_k("b1"): 3.0, _k("b2"): 1.0} and c.tso_mw_after == 4.0


def test_a_curtailed_dso_limit_never_goes_negative_when_nothing_fits() -> None:
    tso = {_k("b1"): _info(3.0)}
    volumes, (c,) = resolve_conflicts(tso, {}, ConflictRule.CURTAIL, _capacity(-1.0))  # type: ignore[arg-type]
    assert volumes == {_k("b1"): 0.0} and c.tso_mw_after == 0.0


def test_scheme_rules() -> None:
    assert conflict_rule(preset("smartnet-centralised")) == ConflictRule.FLAG
    assert conflict_rule(preset("onenet-multi-level")) == ConflictRule.CURTAIL
    assert conflict_rule(preset("onenet-common")) == ConflictRule.BLOCK


# --- scheme level -------------------------------------------------------------------------------


def _cheap_feeder_scenario() -> CoordinationInput:
    """The two-level grid with one TSO need of 4 MW up, cheap load reductions (4 MW) at the end of
    feeder 2 behind ``line:4`` (1.5 MW import in the base case, 1.65 MW as thermal-equivalent
    flow with the feeder's reactive load; limit 1.6 MW) and a dear 6 MW load reduction at the
    110 kV bus. Taking all the cheap MW reverses ``line:4``: -2.3 MW in the linear model (0.7 MW
    over its limit), -2.6 MW in AC (1.0 MW over)."""
    base = two_level_scenario(0)
    mtus = base.intervals
    register = base.register
    assert base.gate_closure_at is not None
    submitted = base.gate_closure_at - timedelta(hours=1)

    def bid(bid_id: str, unit_id: str, mw: float, price: float) -> Bid:
        unit = next(u for u in register.units if u.id == unit_id)
        return Bid(
            id=bid_id,
            fsp_id=unit.fsp_id,
            resource_id=unit.id,
            product_id=PRODUCT_ID,
            direction=Direction.UP,
            submitted_at=submitted,
            activation_price_eur_per_mwh=price,
            quantities=tuple(MtuQuantity(interval=iv, quantity=mw) for iv in mtus),
        )

    bids = (
        bid("cheap-7", "load:4", 1.5, 20.0),
        bid("cheap-8", "load:5", 1.5, 21.0),
        bid("cheap-9", "load:6", 1.0, 22.0),
        bid("dear-hv", "load:0", 6.0, 150.0),
    )
    need = Need(
        id="n-tso",
        buyer_id="tso",
        product_id=PRODUCT_ID,
        location=Location.at_buses(frozenset(int(b) for b in base.grid.bus_ids())),
        direction=Direction.UP,
        created_at=base.gate_closure_at,
        activation_price_cap_eur_per_mwh=250.0,
        quantities=tuple(MtuQuantity(interval=iv, quantity=4.0) for iv in mtus),
    )
    return dataclasses.replace(
        base, bids=bids, needs=(need,), limit_overrides_mw={"line:4": 1.6}, name="cheap feeder"
    )


def test_centralised_scheme_flags_the_dso_limit_its_activations_break() -> None:
    scenario = _cheap_feeder_scenario()
    joint = JointModel.of(scenario)
    central = run_scheme(preset("smartnet-centralised"), scenario, joint=joint)
    common = run_scheme(preset("onenet-common"), scenario, joint=joint)

    limit_conflicts = [c for c in central.conflicts if c.kind == ConflictKind.DSO_LIMIT]
    assert len(limit_conflicts) == len(scenario.intervals)  # one per MTU
    for c in limit_conflicts:
        assert c.action == ConflictRule.FLAG and c.area_id == "dso-2"
        assert c.tso_mw_after == c.tso_mw_before == pytest.approx(4.0)  # flagged, kept
        over_mw = float(c.reason.rsplit("by ", 1)[1].removesuffix(" MW"))
        # linear: 1.65 MW thermal-equivalent base flow - 4 MW, less losses; the offset form
        # under-reads a reversed flow by its reactive part (decision 008): AC finds 1.0 MW
        assert over_mw == pytest.approx(0.70, abs=0.01)
    assert central.kpis.conflicts_dso_limit == len(scenario.intervals)
    caused = central.kpis.dso_violation_caused_by_tso_mwh
    assert caused == pytest.approx(0.70, abs=0.01)  # MWh: ~0.7 MW over one hour
    assert central.kpis.ac_violation.dso_mwh == pytest.approx(0.99, abs=0.01)
    # the base case's own 0.05 MW above the limit (1.65 MW of current-equivalent) comes on top
    base_mwh = (joint.problem.base_flow_mw[joint.problem.branch_names.index("line:4")] - 1.6).clip(
        0.0
    ) @ joint.problem.mtu_duration_h
    assert base_mwh == pytest.approx(0.052, abs=0.001)
    assert central.cost.branch_violation_mwh == {"line:4": pytest.approx(caused + base_mwh)}

    assert common.conflicts == ()
    assert common.kpis.dso_violation_caused_by_tso_mwh == 0.0
    assert common.cost.branch_violation_mwh == {}
    assert sum(common.cost.shortfall_mwh.values()) == pytest.approx(0.0, abs=1e-9)
    assert common.cost.total_eur < central.cost.total_eur  # the overload is priced


def test_curtailment_drops_indivisible_and_below_minimum_awards_whole() -> None:
    """A curtailed dispatch is one the FSPs offered: an indivisible award, or one scaled below
    its minimum acceptance, goes to zero instead of to a fraction."""
    tso = {
        _k("whole"): AwardInfo(area_id="dso-1", unit_ids=("u1",), up=True, mw=2.0, divisible=False),
        _k("minimum"): AwardInfo(area_id="dso-1", unit_ids=("u2",), up=True, mw=1.0, min_mw=0.9),
        _k("free"): _info(1.0, unit="u3"),
    }
    volumes, (c,) = resolve_conflicts(tso, {}, ConflictRule.CURTAIL, _capacity(2.0))  # type: ignore[arg-type]
    assert volumes[_k("whole")] == 0.0
    assert volumes[_k("minimum")] == 0.0
    assert 0.0 < volumes[_k("free")] < 1.0
    left = _capacity(2.0)(volumes)  # type: ignore[operator]
    assert all(mw <= 1e-6 for mw in left.values())
    assert c.tso_mw_after == pytest.approx(sum(volumes.values()))
