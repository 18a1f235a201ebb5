"""Tests of the traffic light: analytic feeder, AC cross-check on SimBench, bids, activations."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    Direction,
    FlexibilityServiceProvider,
    GridArea,
    Group,
    Register,
    SystemOperator,
    TrafficLight,
    Unit,
    market_time_units,
)
from flexcoord.grid.forecast import forecast_from_profiles, forecast_from_snapshot
from flexcoord.grid.model import GridModel, load_grid
from flexcoord.grid.pgm import Injections, run_ac_batch, to_pgm
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.grid.timeseries_profiles import Profiles
from flexcoord.grid.traffic_light import LimitKind, compute_traffic_light
from flexcoord.grid.traffic_light_bids import assess_activation, filter_bids
from tests.conftest import MV_RURAL

ISSUED = datetime(2026, 5, 31, 9, tzinfo=UTC)
DAY = market_time_units(date(2026, 6, 1))
MTU = DAY[0]
WEAK_LIMIT_MW = float(np.sqrt(3.0) * 20.0 * 0.1)  # line 1: 0.1 kA at 20 kV


def feeder_net() -> Any:
    """20 kV: ext_grid — bus 0 — strong line — bus 1 — weak line — bus 2 (1 MW load)."""
    import pandapower as pp

    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0, name=f"Feeder bus {i}") for i in range(3)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    for f, t, i_ka in ((0, 1, 0.4), (1, 2, 0.1)):
        pp.create_line_from_parameters(
            net,
            b[f],
            b[t],
            length_km=1.0,
            r_ohm_per_km=0.1,
            x_ohm_per_km=0.1,
            c_nf_per_km=0.0,
            max_i_ka=i_ka,
            name=f"Feeder line {f}-{t}",
        )
    pp.create_load(net, b[2], p_mw=1.0, q_mvar=0.0)
    return net


def feeder_register() -> Register:
    units = [
        ("u-pv", 2, "pv", 0.0, 5.0, "fsp-a"),
        ("u-hp", 1, "heat_pump", -1.0, 0.0, "fsp-a"),
        ("u-bess", 2, "bess", -0.5, 0.5, "fsp-b"),
    ]
    return Register(
        operators=(SystemOperator(id="dso", name="DSO", role="dso"),),
        areas=(GridArea(id="mv", operator_id="dso", bus_ids={0, 1, 2}),),
        fsps=(
            FlexibilityServiceProvider(id="fsp-a", name="A"),
            FlexibilityServiceProvider(id="fsp-b", name="B"),
        ),
        connection_points=tuple(ConnectionPoint(id=f"cp{b}", bus=b, area_id="mv") for b in (1, 2)),
        units=tuple(
            Unit(
                id=u,
                fsp_id=f,
                connection_point_id=f"cp{b}",
                technology=tech,
                p_min_mw=lo,
                p_max_mw=hi,
                **({"energy_min_mwh": 0.0, "energy_max_mwh": 1.0} if tech == "bess" else {}),
            )
            for u, b, tech, lo, hi, f in units
        ),
    )


@pytest.fixture(scope="module")
def feeder() -> tuple[GridModel, Register, Any]:
    grid = GridModel(feeder_net(), code="feeder")
    forecast = forecast_from_snapshot(grid, intervals=DAY[:2], issued_at=ISSUED)
    return grid, feeder_register(), forecast


def wide(grid: GridModel, register: Register, forecast: Any, **kw: Any) -> Any:
    kw.setdefault("vm_min_pu", 0.5)
    kw.setdefault("vm_max_pu", 1.5)
    return compute_traffic_light(register, grid, forecast, operator_id="dso", **kw)


def test_thermal_headroom_is_analytic(feeder: tuple[GridModel, Register, Any]) -> None:
    grid, register, forecast = feeder
    tl = wide(grid, register, forecast)
    f = forecast.flow_of("line:1")[0]  # ≈ 1 MW towards bus 2
    limit = 0.9 * WEAK_LIMIT_MW
    assert tl.light("u-pv", MTU, Direction.UP) is TrafficLight.AMBER
    assert tl.limit_mw("u-pv", MTU, Direction.UP) == pytest.approx(f + limit, rel=1e-9)
    assert tl.limit_mw("u-pv", MTU, Direction.DOWN) == pytest.approx(limit - f, rel=1e-9)
    assert tl.limit_kind("u-pv", MTU, Direction.UP) is LimitKind.THERMAL
    # the heat pump sits before the weak line, on the strong one: green both ways
    for d in Direction:
        assert tl.light("u-hp", MTU, d) is TrafficLight.GREEN
        assert tl.limit_mw("u-hp", MTU, d) is None
    assert tl.light("u-bess", MTU, Direction.UP) is TrafficLight.GREEN


def test_red_when_the_margin_leaves_no_headroom(feeder: tuple[GridModel, Register, Any]) -> None:
    grid, register, forecast = feeder
    tl = wide(grid, register, forecast, safety_margin=0.75)
    f = forecast.flow_of("line:1")[0]
    assert f > 0.25 * WEAK_LIMIT_MW  # the line is already beyond its margined limit
    assert tl.light("u-pv", MTU, Direction.DOWN) is TrafficLight.RED  # would load it more
    assert tl.limit_mw("u-pv", MTU, Direction.UP) == pytest.approx(f + 0.25 * WEAK_LIMIT_MW)
    records = tl.to_grid_prequalifications()
    pv = next(r for r in records if r.resource_id == "u-pv" and r.valid == MTU)
    assert pv.light is TrafficLight.AMBER and pv.max_down_mw == 0.0
    assert pv.max_up_mw == pytest.approx(f + 0.25 * WEAK_LIMIT_MW)
    hp = next(r for r in records if r.resource_id == "u-hp" and r.valid == MTU)
    assert hp.light is TrafficLight.GREEN and hp.max_up_mw is None
    assert len(records) == 3 * 2


def test_voltage_headroom_matches_the_sensitivities(
    feeder: tuple[GridModel, Register, Any],
) -> None:
    grid, register, forecast = feeder
    tl = compute_traffic_light(
        register, grid, forecast, operator_id="dso", vm_min_pu=0.9, vm_max_pu=1.01
    )
    vs = grid.voltage_sensitivity()
    hi = 1.01 - 0.1 * (1.01 - 0.9) / 2
    col = list(vs.injection_bus_ids).index(2)
    c = vs.dvm_dp_pu_per_mw[:, col]
    v = forecast.vm_pu[:, 0]
    expected = np.min(np.where(c > 1e-6, (hi - v) / np.where(c > 1e-6, c, 1.0), np.inf))
    x = tl.limit_mw("u-pv", MTU, Direction.UP)
    if expected < 5.0:
        assert tl.limit_kind("u-pv", MTU, Direction.UP) is LimitKind.OVERVOLTAGE
        assert x == pytest.approx(min(expected, x if x is not None else np.inf), rel=1e-9)
        assert x == pytest.approx(expected, rel=1e-9)
    # AC check: injecting x keeps the voltage below the un-margined limit
    pgm = to_pgm(grid.net)
    assert x is not None
    ac = run_ac_batch(pgm, Injections.single(bus_p_mw={2: x}), threading=-1)
    assert float(ac.vm_pu.iloc[0].max()) <= 1.01


def test_explanations_hide_the_topology(feeder: tuple[GridModel, Register, Any]) -> None:
    grid, register, forecast = feeder
    tl = wide(grid, register, forecast, safety_margin=0.75)
    texts = [e.text for e in tl.explanations_for_fsp("fsp-a")]
    assert texts and any("thermal limit in the distribution grid" in t for t in texts)
    assert any("red, not allowed" in t for t in texts)
    assert any("amber, at most" in t for t in texts)
    for text in texts:
        assert not re.search(r"\b(line|trafo|bus)\b", text, re.IGNORECASE)
        assert "Feeder" not in text
    report = tl.internal_report()
    assert set(report.asset) == {"line:1"} and "Feeder line 1-2" in set(report.asset_name)
    # the battery behind the overloaded line: only DOWN (more load on the line) is limited
    assert {e.direction for e in tl.explanations_for_fsp("fsp-b")} == {Direction.DOWN}


def bid(bid_id: str, resource: str, direction: str, mw: float, **kw: Any) -> Bid:
    return Bid(
        id=bid_id,
        fsp_id="fsp-b" if resource == "u-bess" else "fsp-a",
        resource_id=resource,
        product_id="p",
        direction=direction,
        activation_price_eur_per_mwh=kw.pop("price", 100.0),
        quantities=[{"interval": m, "quantity": mw} for m in DAY[:2]],
        submitted_at=ISSUED,
        **kw,
    )


def test_filter_bids_curtails_and_rejects(feeder: tuple[GridModel, Register, Any]) -> None:
    grid, register, forecast = feeder
    tl = wide(grid, register, forecast, safety_margin=0.75)
    x_up = tl.limit_mw("u-pv", MTU, Direction.UP)
    assert x_up is not None
    bids = [
        bid("b-green", "u-hp", "up", 1.0),
        bid("b-curtail", "u-pv", "up", 4.0),
        bid("b-indivisible", "u-pv", "up", 4.0, divisible=False),
        bid("b-min", "u-pv", "up", 4.0, min_acceptance=3.5),
        bid("b-red", "u-pv", "down", 1.0),
        bid("b-fits", "u-pv", "up", 1.0),
    ]
    before = copy.deepcopy(bids)
    result = filter_bids(bids, tl, register)
    assert bids == before  # nothing mutated
    assert {b.id for b in result.passed} == {"b-green", "b-fits"}
    assert result.passed[0] is bids[0]
    assert [b.id for b in result.curtailed] == ["b-curtail"]
    assert [q.quantity for q in result.curtailed[0].quantities] == pytest.approx([x_up] * 2)
    assert {b.id for b in result.rejected} == {"b-indivisible", "b-min", "b-red"}
    reasons = result.decision("b-curtail").reasons
    assert reasons[0].startswith(f"curtailed to {x_up:.2f} MW at 2026-05-31T22:00Z: thermal")
    assert "indivisible" in result.decision("b-indivisible").reasons[0]
    assert "minimum acceptance" in result.decision("b-min").reasons[0]
    assert "(red)" in result.decision("b-red").reasons[0]
    assert len(result.forwarded) == 3


def test_activation_check_suggests_alternatives(feeder: tuple[GridModel, Register, Any]) -> None:
    grid, register, forecast = feeder
    tl = wide(grid, register, forecast, mode="intraday", safety_margin=0.5)
    ok = assess_activation({"u-pv": {MTU: 0.5}}, tl, register, direction=Direction.DOWN)
    assert ok.safe and ok.light is TrafficLight.GREEN and not ok.alternatives
    x_down = tl.limit_mw("u-pv", MTU, Direction.DOWN)
    assert x_down is not None and x_down < 1.0
    bids = [
        bid("b-pv", "u-pv", "down", 1.0),
        bid("b-hp", "u-hp", "down", 1.0, price=50.0),
        bid("b-bess", "u-bess", "down", 0.5, price=10.0),
    ]
    check = assess_activation({"b-pv": {MTU: 1.0}}, tl, register, bids=bids)
    assert not check.safe and check.light is TrafficLight.AMBER
    assert check.items[0].safe_mw == pytest.approx(x_down, rel=1e-9)
    assert "thermal limit in the distribution grid" in check.reasons[0]
    # the FSP's own heat pump first (behind the weak line's upstream end: it does not load it)
    first = check.alternatives[0]
    assert first.resource_id == "u-hp" and not first.other_fsp and first.bid_id == "b-hp"
    assert sum(a.volume_mw for a in check.alternatives) == pytest.approx(1.0 - x_down)


# --- SimBench: AC cross-check -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rural() -> tuple[GridModel, Register, Any]:
    grid = load_grid(MV_RURAL)
    base = build_portfolio(grid)
    # a large group (all generators of the feeder's FSP) makes thermal limits bite
    gens = tuple(u.id for u in base.units if u.id.startswith("sgen:"))
    register = Register(
        operators=base.operators,
        areas=base.areas,
        fsps=base.fsps,
        connection_points=base.connection_points,
        units=base.units,
        groups=(Group(id="g-all-gen", fsp_id=base.unit(gens[0]).fsp_id, unit_ids=gens),),
    )
    forecast = forecast_from_profiles(grid, start_step=96 * 150, intervals=DAY, issued_at=ISSUED)
    return grid, register, forecast


def _ac_after(grid: GridModel, pgm: Any, step: int, injections: list[dict[int, float]]) -> Any:
    profiles = Profiles.of(grid.net)
    k = 96 * 150 + step
    n = len(injections)
    loads, sgens = grid.net.load.index, grid.net.sgen.index
    buses = sorted({b for inj in injections for b in inj})
    return run_ac_batch(
        pgm,
        Injections(
            load_p_mw=pd.DataFrame(
                np.repeat(profiles.load_p.values(k, k + 1), n, 0), columns=loads
            ),
            load_q_mvar=pd.DataFrame(
                np.repeat(profiles.load_q.values(k, k + 1), n, 0), columns=loads
            ),
            sgen_p_mw=pd.DataFrame(
                np.repeat(profiles.sgen_p.values(k, k + 1), n, 0), columns=sgens
            ),
            bus_p_mw=pd.DataFrame(
                [[inj.get(b, 0.0) for b in buses] for inj in injections], columns=buses
            ),
        ),
        threading=-1,
    )


@pytest.mark.slow
@pytest.mark.parametrize("band", [None, (0.8, 1.2)], ids=["simbench-band", "wide-band"])
def test_amber_volumes_are_safe_in_ac(  # noqa: PLR0915 - one scenario built step by step
    rural: tuple[GridModel, Register, Any], band: tuple[float, float] | None
) -> None:
    grid, register, forecast = rural
    vm_band = {} if band is None else {"vm_min_pu": band[0], "vm_max_pu": band[1]}
    tl = compute_traffic_light(register, grid, forecast, operator_id="dso", **vm_band)
    counts = tl.counts()
    assert counts["amber"] > 0 and counts["green"] > 0
    amber = np.argwhere(tl.light_code == 1)
    kinds = tl.kind_code[tuple(amber.T)]
    rng = np.random.default_rng(0)
    sample = [*amber[kinds == 1][:3], *amber[rng.choice(len(amber), 6, replace=False)]]
    if band is not None:  # with a wide voltage band, thermal limits bind
        assert any(tl.kind_code[tuple(c)] == 1 for c in sample), "no thermal amber sampled"
    pgm = to_pgm(grid.net)
    model = tl.model
    n_branch = len(model.branches.value)
    limits = grid.branch_limits()
    rows = [grid.ptdf().branch_names.index(n) for n in tl.constraint_names[:n_branch]]
    unmargined = limits.limit_mw[rows]
    vs_buses = [int(n.split(":")[1]) for n in tl.constraint_names[n_branch:]]
    vmin = grid.net.bus.min_vm_pu.reindex(vs_buses).to_numpy() if band is None else band[0]
    vmax = grid.net.bus.max_vm_pu.reindex(vs_buses).to_numpy() if band is None else band[1]
    vmin, vmax = np.broadcast_to(vmin, len(vs_buses)), np.broadcast_to(vmax, len(vs_buses))
    worst_error = 0.0
    for r, t, d in sample:
        x = tl.safe_mw[r, t, d]
        sign = 1.0 if d == 0 else -1.0
        units = register.units_of(tl.resource_ids[r])
        total = sum(u.p_range_mw for u in units)
        inj: dict[int, float] = {}
        for u in units:
            bus = register.connection_point(u.connection_point_id).bus
            inj[bus] = inj.get(bus, 0.0) + sign * x * u.p_range_mw / total
        ac = _ac_after(grid, pgm, int(t), [{}, inj])
        base_f = ac.p_from_mw.iloc[0][list(tl.constraint_names[:n_branch])].to_numpy()
        after_f = ac.p_from_mw.iloc[1][list(tl.constraint_names[:n_branch])].to_numpy()
        base_v = ac.vm_pu.iloc[0][vs_buses].to_numpy()
        after_v = ac.vm_pu.iloc[1][vs_buses].to_numpy()
        assert np.allclose(base_f, model.branches.value[:, t], atol=1e-6)
        # within the un-margined limit, or no worse than before where already beyond it
        assert np.all((np.abs(after_f) <= unmargined) | (np.abs(after_f) <= np.abs(base_f) + 1e-6))
        over = (after_v <= vmax) | (after_v <= base_v + 1e-9)
        under = (after_v >= vmin) | (after_v >= base_v - 1e-9)
        assert np.all(over & under)
        # linearisation error at the binding constraint, as a share of its limit / band
        c = tl.constraint[r, t, d]
        if c < n_branch:
            linear = base_f[c] + sign * x * model.s_flow[c, r]
            worst_error = max(worst_error, abs(after_f[c] - linear) / unmargined[c])
        else:
            m = c - n_branch
            linear = base_v[m] + sign * x * model.s_vm_p[m, r]
            worst_error = max(worst_error, abs(after_v[m] - linear) / (vmax[m] - vmin[m]))
        # clearly more than the margined volume violates the margined bound in the linear model
        more = x / (1 - tl.safety_margin) + 0.05
        if c < n_branch:
            value = model.branches.value[c, t] + sign * more * model.s_flow[c, r]
            assert abs(value) > model.branches.upper[c]
        else:
            value = model.buses.value[m, t] + sign * more * model.s_vm_p[m, r]
            assert value > model.buses.upper[m] or value < model.buses.lower[m]
    print(f"largest linearisation error at the binding limit: {worst_error:.2%} of limit/band")
    assert worst_error < tl.safety_margin


@pytest.mark.slow
def test_red_resources_have_no_headroom(rural: tuple[GridModel, Register, Any]) -> None:
    grid, register, forecast = rural
    tl = compute_traffic_light(register, grid, forecast, operator_id="dso")
    model = tl.model
    n_branch = len(model.branches.value)
    red = np.argwhere(tl.light_code == 2)
    for r, t, d in red[np.random.default_rng(1).choice(len(red), 20, replace=False)]:
        assert tl.safe_mw[r, t, d] < tl.amber_floor_mw
        c = tl.constraint[r, t, d]
        sign = 1.0 if d == 0 else -1.0
        step = sign * tl.amber_floor_mw
        if c < n_branch:
            value = model.branches.value[c, t] + step * model.s_flow[c, r]
            assert abs(value) > model.branches.upper[c] - 1e-9
        else:
            m = c - n_branch
            value = model.buses.value[m, t] + step * model.s_vm_p[m, r]
            assert value > model.buses.upper[m] - 1e-12 or value < model.buses.lower[m] + 1e-12


@pytest.mark.slow
def test_day_ahead_and_intraday_differ_deterministically(
    rural: tuple[GridModel, Register, Any],
) -> None:
    grid, register, _ = rural

    def run(noise: float, seed: int, mode: Any) -> Any:
        fc = forecast_from_profiles(
            grid, start_step=96 * 150, intervals=DAY, noise=noise, seed=seed, issued_at=ISSUED
        )
        return compute_traffic_light(register, grid, fc, operator_id="dso", mode=mode)

    da, da_again, intraday = (
        run(0.1, 1, "day_ahead"),
        run(0.1, 1, "day_ahead"),
        run(0.03, 2, "intraday"),
    )
    assert np.array_equal(da.light_code, da_again.light_code)
    assert np.array_equal(da.safe_mw, da_again.safe_mw)
    assert not np.array_equal(da.light_code, intraday.light_code)
    assert intraday.mode == "intraday" and da.mode == "day_ahead"
    texts = " ".join(e.text for e in da.explanations_for_fsp("fsp:MV1.101"))
    names = set(grid.net.bus.name) | set(grid.net.line.name) | set(grid.net.trafo.name)
    assert not any(str(n) in texts for n in names)
    assert not re.search(r"\b(line|trafo|bus)\b", texts)
