"""A scenario on screened grid constraints runs the engine without the grid's dense matrices.

On a national grid the dense PTDF (10.6 GB) and the voltage sensitivities (22.6 GB) do not fit,
so a scenario carries one screened ``GridConstraints`` of every area (``screened``): the views
cut it per area, the traffic light and the base-case shift use its rows, thermal only. Where
the grid is small, the screened scenario holding every branch must give the outcome of the
ordinary one, and a genuinely screened one must never ask the grid for a dense matrix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from flexcoord.coordination import CoordinationInput, SchemeOutcome, preset, run_scheme
from flexcoord.coordination.inputs import GridViews
from flexcoord.errors import InvalidInputError
from flexcoord.grid.model import GridModel
from flexcoord.simulation.scenario import build_coordination_scenario
from flexcoord.simulation.screened import bid_flex_per_bus, screened_scenario

_GRID = "1-MV-rural--0-sw"


@pytest.fixture(scope="module")
def scenario() -> CoordinationInput:
    return build_coordination_scenario(_GRID, n_bids=120, n_mtu=8, n_dso=2)


def _every_branch(s: CoordinationInput) -> CoordinationInput:
    """``s`` with its physical constraints of every area as the screened ones (no voltages)."""
    areas = sorted(a.id for a in s.register.areas)
    return dataclasses.replace(s, screened=GridViews(s).constraints(areas, physical=True))


def _same(a: SchemeOutcome, b: SchemeOutcome) -> None:
    assert [str(m.id) for m in a.markets] == [str(m.id) for m in b.markets]
    assert [m.bids_forwarded for m in a.markets] == [m.bids_forwarded for m in b.markets]
    assert a.accepted_mw.keys() == b.accepted_mw.keys()
    for key, mw in a.accepted_mw.items():
        assert b.accepted_mw[key] == pytest.approx(mw, abs=1e-9)
    assert a.cost.bid_cost_eur == pytest.approx(b.cost.bid_cost_eur, rel=1e-12)
    assert a.cost.branch_violation_mwh == pytest.approx(b.cost.branch_violation_mwh, abs=1e-9)
    assert a.kpis.activated_mwh == pytest.approx(b.kpis.activated_mwh, abs=1e-9)
    assert a.kpis.ac_violation == b.kpis.ac_violation
    assert len(a.conflicts) == len(b.conflicts)


@pytest.mark.parametrize("scheme", ["onenet-multi-level", "smartnet-local", "onenet-common"])
def test_screened_scenario_with_every_branch_has_the_ordinary_outcome(
    scenario: CoordinationInput, scheme: str
) -> None:
    ordinary = run_scheme(preset(scheme), scenario)
    screened = run_scheme(preset(scheme), _every_branch(scenario))
    assert ordinary.kpis.activated_mwh > 0
    _same(ordinary, screened)


def _no_dense(grid: GridModel, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("a dense PTDF or voltage sensitivity was asked for")

    monkeypatch.setattr(grid, "ptdf", refuse)
    monkeypatch.setattr(grid, "voltage_sensitivity", refuse)


def test_screened_multi_level_day_never_asks_for_the_dense_matrices(
    scenario: CoordinationInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = GridModel.load(_GRID)  # a grid of its own: no dense matrix cached on it
    _no_dense(grid, monkeypatch)
    s, screening = screened_scenario(
        "screened",
        grid,
        scenario.register,
        scenario.needs,
        scenario.bids,
        scenario.intervals,
        profile_start_step=scenario.profile_start_step,
        issued_at=scenario.intervals[0].start,
        threshold=0.5,
    )
    gc = s.screened
    assert gc is not None
    assert 0 < len(gc.branch_names) < screening.n_screened
    # the forecast is the screening's AC base case, close to the ordinary (power-grid-model) one
    rows = scenario.forecast.branch_rows(s.forecast.branch_names)
    assert np.abs(s.forecast.branch_flow_mw - scenario.forecast.branch_flow_mw[rows]).max() < 1e-3
    s = dataclasses.replace(s, limit_overrides_mw=scenario.limit_overrides_mw)
    out = run_scheme(preset("onenet-multi-level"), s)
    assert [str(m.id) for m in out.markets] == ["dso:dso", "tso"]
    monitored = set(gc.branch_names)
    for m in out.markets:
        assert set(m.result.problem.branch_names) <= monitored
    assert out.kpis.activated_mwh > 0
    assert out.kpis.ac_violation is not None
    # the screened rows bind as they do in the ordinary run: about the same volume bought
    ordinary = run_scheme(preset("onenet-multi-level"), scenario)
    assert out.kpis.activated_mwh == pytest.approx(ordinary.kpis.activated_mwh, rel=0.05)


def test_bid_flex_per_bus_is_the_largest_joint_move_in_one_direction_and_mtu(
    scenario: CoordinationInput,
) -> None:
    register = scenario.register
    buses, flex = bid_flex_per_bus(register, scenario.bids)
    bus_of = {u.id: register.connection_point(u.connection_point_id).bus for u in register.units}
    bid = scenario.bids[0]
    bus = bus_of[bid.resource_id]
    same = [
        b for b in scenario.bids if bus_of[b.resource_id] == bus and b.direction == bid.direction
    ]
    mtu = bid.quantities[0].interval
    together = sum(q.quantity for b in same for q in b.quantities if q.interval == mtu)
    assert list(buses) == sorted({bus_of[b.resource_id] for b in scenario.bids})
    assert flex[list(buses).index(bus)] >= together - 1e-12


def test_screened_constraints_refuse_voltages_and_other_mtus(scenario: CoordinationInput) -> None:
    screened = _every_branch(scenario).screened
    assert screened is not None
    with pytest.raises(InvalidInputError, match="voltages"):
        dataclasses.replace(scenario, voltages=True, screened=screened)
    with pytest.raises(InvalidInputError, match="other MTUs"):
        dataclasses.replace(scenario, intervals=scenario.intervals[:4], screened=screened)


def test_the_traffic_lights_after_a_stage_share_one_moved_base_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every DSO's traffic light after the DSO stage reads the base case moved by the same
    dispatch: it is moved once, not once per DSO (33 PTDF products on the national grid)."""
    from flexcoord.coordination import markets

    s = build_coordination_scenario("1-HVMV-mixed-all-0-sw", n_bids=400, n_mtu=8, dso_per_area=True)
    calls: list[int] = []
    shift = markets.shift_forecast

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return shift(*args, **kwargs)

    monkeypatch.setattr(markets, "shift_forecast", counted)
    out = run_scheme(preset("onenet-multi-level"), s, ac_check=False)
    dso_markets = [m for m in out.markets if str(m.id).startswith("dso:")]
    assert len(dso_markets) > 1
    assert out.kpis.forwarded_bids > 0
    assert len(calls) == 1
