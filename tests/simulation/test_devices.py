"""Device flexibility: physical rules hold for any activation; bids never exceed capability."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from flexcoord.domain import (
    Direction,
    PowerType,
    Product,
    ProductKind,
    Technology,
    Timeframe,
    market_time_units,
)
from flexcoord.errors import InvalidInputError
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio
from flexcoord.simulation.devices import (
    Device,
    DeviceKind,
    DeviceSpec,
    apply_activation,
    build_devices,
    capability_mw,
    default_baseline_mw,
)
from flexcoord.simulation.pooling import DevicePooling, device_bids, device_pools

MTUS = market_time_units(date(2026, 6, 2))  # 96 quarter-hours, local 00:00 = 22:00 UTC
N = len(MTUS)
STEP_H = 0.25
TOL = 1e-9
PRODUCT = Product(
    id="p-da",
    power_type=PowerType.ACTIVE,
    kind=ProductKind.ACTIVATION,
    timeframe=Timeframe.DAY_AHEAD,
    gate_closure_before_delivery=timedelta(hours=12),
)
SUBMITTED = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _device(kind: DeviceKind, unit_id: str = "u", **kw: Any) -> Device:
    technology = {
        DeviceKind.CURTAILMENT: "pv",
        DeviceKind.EV_CHARGING: "ev_charging",
        DeviceKind.HEAT_PUMP: "heat_pump",
        DeviceKind.BATTERY: "bess",
    }[kind]
    fields: dict[str, Any] = {"rated_mw": 0.02, "fsp_id": "f", "place": "trafo:0"} | kw
    if kind is DeviceKind.BATTERY:
        fields = {"energy_min_mwh": 0.0, "energy_max_mwh": 0.04, "soc_mwh": 0.02} | fields
    return Device(unit_id=unit_id, technology=technology, kind=kind, **fields)


def _orders(rated: float) -> st.SearchStrategy[np.ndarray]:
    """Sparse signed activation vectors, some beyond the device's rating."""
    values = st.one_of(st.just(0.0), st.floats(-2 * rated, 2 * rated))
    return arrays(np.float64, N, elements=values)


def _schedule(low: float, high: float) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, N, elements=st.floats(low, high))


def _plugged() -> np.ndarray:
    local_hours = np.array([(mtu.start + timedelta(hours=2)).hour for mtu in MTUS])  # CEST
    return (local_hours >= 18) | (local_hours < 7)


# --- physical rules for any activation ----------------------------------------------------------
@given(baseline=_schedule(-0.02, 0.0), order=_orders(0.02))
@settings(max_examples=60, deadline=None)
def test_a_heat_pump_is_energy_neutral_within_two_hours_of_its_activations(
    baseline: np.ndarray, order: np.ndarray
) -> None:
    hp = _device(DeviceKind.HEAT_PUMP)
    r = apply_activation(hp, baseline, order, mtus=MTUS)
    after = baseline + r.delivered_mw + r.rebound_mw
    assert abs(float((r.delivered_mw + r.rebound_mw).sum())) < TOL  # energy-neutral
    assert np.all(after <= TOL) and np.all(after >= -0.02 - TOL)  # within its range
    assert np.all(r.delivered_mw * order >= -TOL)  # never the wrong way
    assert np.all(np.abs(r.delivered_mw) <= np.abs(order) + TOL)
    active = np.flatnonzero(order)
    for t in np.flatnonzero(np.abs(r.rebound_mw) > TOL):
        assert len(active) and np.min(np.abs(active - t)) <= 8  # within ±2 h


@given(baseline=_schedule(-0.02, 0.0), order=_orders(0.02))
@settings(max_examples=60, deadline=None)
def test_an_ev_charges_the_same_energy_in_each_session_before_departure(
    baseline: np.ndarray, order: np.ndarray
) -> None:
    ev = _device(DeviceKind.EV_CHARGING)
    plugged = _plugged()
    baseline = np.where(plugged, baseline, 0.0)
    r = apply_activation(ev, baseline, order, mtus=MTUS)
    change = r.delivered_mw + r.rebound_mw
    after = baseline + change
    morning, evening = np.arange(N) < 40, np.arange(N) >= 40
    for session in (plugged & morning, plugged & evening):
        assert abs(float(change[session].sum())) < TOL  # the session's energy is delivered
    assert np.all(np.abs(change[~plugged]) < TOL)  # nothing while away
    assert np.all(after <= TOL) and np.all(after >= -0.02 - TOL)
    # the rebound of an MTU comes after it, in the same session (before departure)
    for session in (plugged & morning, plugged & evening):
        activated = np.flatnonzero(session & (order != 0))
        rebound = np.flatnonzero(session & (np.abs(r.rebound_mw) > TOL))
        assert len(rebound) == 0 or rebound.min() > activated.min()


@given(baseline=_schedule(-0.03, 0.03), order=_orders(0.02), soc=st.floats(0.0, 0.04))
@settings(max_examples=80, deadline=None)
def test_a_battery_stays_within_soc_and_power_for_any_activation(
    baseline: np.ndarray, order: np.ndarray, soc: float
) -> None:
    bess = _device(DeviceKind.BATTERY, soc_mwh=soc)
    r = apply_activation(bess, baseline, order, mtus=MTUS)
    after = r.schedule_mw
    assert np.all(np.abs(after) <= 0.02 + TOL)
    eta = np.sqrt(0.9)
    energy = soc + np.cumsum(np.where(after < 0, -after * eta, -after / eta) * STEP_H)
    assert np.all(energy >= -TOL) and np.all(energy <= 0.04 + TOL)
    assert r.state_after.soc_mwh == pytest.approx(energy[-1], abs=1e-9)
    assert 0.0 <= r.state_after.soc_mwh <= 0.04


@given(realised=_schedule(0.0, 0.02), order=_orders(0.02))
@settings(max_examples=60, deadline=None)
def test_pv_curtails_at_most_its_realised_output_and_never_rebounds(
    realised: np.ndarray, order: np.ndarray
) -> None:
    r = apply_activation(_device(DeviceKind.CURTAILMENT), realised, order, mtus=MTUS)
    assert np.all(r.rebound_mw == 0)
    assert np.all(r.delivered_mw <= 0)  # down only
    assert np.all(-r.delivered_mw <= realised + TOL)
    assert np.all(-r.delivered_mw <= np.maximum(-order, 0) + TOL)
    np.testing.assert_allclose(
        -r.delivered_mw, np.minimum(np.maximum(-order, 0), realised), rtol=0, atol=TOL
    )


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_without_activation_a_device_runs_its_physical_baseline_with_no_rebound(
    kind: DeviceKind,
) -> None:
    device = _device(kind)
    wanted = np.full(N, 0.03 if kind is DeviceKind.CURTAILMENT else -0.03)  # beyond its rating
    if kind is DeviceKind.BATTERY:
        wanted = np.full(N, -0.02)  # charging all day: full after 2 h at 20 kW
    r = apply_activation(device, wanted, np.zeros(N), mtus=MTUS)
    assert np.all(r.delivered_mw == 0) and np.all(r.rebound_mw == 0)
    assert np.all(np.abs(r.schedule_mw) <= 0.02 + TOL)
    if kind is DeviceKind.BATTERY:
        assert r.state_after.soc_mwh == pytest.approx(0.04)
        assert np.all(r.schedule_mw[-10:] == 0)  # full: it cannot charge on


# --- capability and bids ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(DeviceKind))
@given(data=st.data())
@settings(max_examples=15, deadline=None)
def test_what_a_device_offers_in_one_mtu_it_delivers_when_activated_there_alone(
    kind: DeviceKind, data: st.DataObject
) -> None:
    low, high = {DeviceKind.CURTAILMENT: (0.0, 0.02), DeviceKind.BATTERY: (-0.02, 0.02)}.get(
        kind, (-0.02, 0.0)
    )
    device = _device(kind)
    baseline = data.draw(_schedule(low, high))
    if kind is DeviceKind.EV_CHARGING:
        baseline = np.where(_plugged(), baseline, 0.0)
    up, down = capability_mw(device, baseline, mtus=MTUS)
    assert np.all(up >= 0) and np.all(down >= 0)
    t = data.draw(st.integers(0, N - 1))
    for quantity, sign in ((up[t], 1.0), (down[t], -1.0)):
        order = np.zeros(N)
        order[t] = sign * quantity
        r = apply_activation(device, baseline, order, mtus=MTUS)
        assert r.delivered_mw[t] == pytest.approx(sign * quantity, abs=TOL)


def _block(kind: DeviceKind, t: int, k: int) -> np.ndarray:
    """The MTUs of the block a sustained offer at MTU ``t`` holds: ``k`` MTUs from ``t``, cut at
    the day's end and, for an EV, at its departure."""
    stop = min(t + k, N)
    if kind is DeviceKind.EV_CHARGING:
        plugged = _plugged()
        gaps = np.flatnonzero(~plugged[t:stop])
        stop = t + int(gaps[0]) if len(gaps) else stop
    return np.arange(t, stop)


@given(
    kind=st.sampled_from([DeviceKind.HEAT_PUMP, DeviceKind.EV_CHARGING, DeviceKind.BATTERY]),
    baseline=_schedule(-0.02, 0.0),
    soc=st.floats(0.0, 0.04),
    k=st.integers(2, 24),
    t=st.integers(0, N - 1),
    up=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_a_sustained_offer_is_delivered_in_full_over_its_whole_block(
    kind: DeviceKind, baseline: np.ndarray, soc: float, k: int, t: int, up: bool
) -> None:
    """What a device offers to hold for ``k`` MTUs from ``t`` it delivers when ordered at that
    level in every MTU of the block, whatever its schedule: the offer is an FSP promise."""
    device = _device(kind, soc_mwh=soc) if kind is DeviceKind.BATTERY else _device(kind)
    if kind is DeviceKind.EV_CHARGING:
        baseline = np.where(_plugged(), baseline, 0.0)
    offers = capability_mw(device, baseline, mtus=MTUS, sustain_mtus=k)
    x = float((offers[0] if up else offers[1])[t])
    assume_block = _block(kind, t, k)
    order = np.zeros(N)
    order[assume_block] = x if up else -x
    r = apply_activation(device, baseline, order, mtus=MTUS)
    assert np.allclose(r.delivered_mw[assume_block], order[assume_block], atol=1e-9)
    single = capability_mw(device, baseline, mtus=MTUS)
    assert x <= float((single[0] if up else single[1])[t]) + TOL  # never more than one MTU alone


def test_a_four_hour_block_is_held_by_a_heat_pump_and_a_battery_offers_its_energy() -> None:
    """The TSO's 13:00-17:00 need: a heat pump at half duty moves its full per-MTU room for
    4 h (its rebound goes to the 2 h either side), a 1-h battery only a quarter of its power."""
    hp = _device(DeviceKind.HEAT_PUMP)
    baseline = np.full(N, -0.01)
    block = np.arange(60, 76)  # 13:00-17:00 local (CEST)
    up, _ = capability_mw(hp, baseline, mtus=MTUS, sustain_mtus=16)
    assert up[60] == pytest.approx(0.01)
    order = np.zeros(N)
    order[block] = 0.01
    r = apply_activation(hp, baseline, order, mtus=MTUS)
    assert np.allclose(r.delivered_mw[block], 0.01)
    bess = _device(DeviceKind.BATTERY, energy_max_mwh=0.02, soc_mwh=0.02)  # 1 h at 20 kW
    held, _ = capability_mw(bess, np.zeros(N), mtus=MTUS, sustain_mtus=16)
    assert held[60] == pytest.approx(0.02 * np.sqrt(0.9) / 4)
    one, _ = capability_mw(bess, np.zeros(N), mtus=MTUS)
    assert one[60] == pytest.approx(0.02)


@given(
    kind=st.sampled_from([DeviceKind.HEAT_PUMP, DeviceKind.EV_CHARGING]),
    baseline=_schedule(-0.02, 0.0),
    order=arrays(np.float64, N, elements=st.one_of(st.just(0.0), st.floats(0.0, 0.02))),
)
@settings(max_examples=60, deadline=None)
def test_a_shifting_device_recovers_as_much_as_the_best_assignment_of_its_rebound(
    kind: DeviceKind, baseline: np.ndarray, order: np.ndarray
) -> None:
    """Upward orders (consume less now): the energy delivered equals the optimum of the
    transport LP (HiGHS through scipy) of each activated MTU's reduction to the free MTUs
    within its reach (±2 h; an EV's later MTUs of the session)."""
    device = _device(kind)
    plugged = _plugged() if kind is DeviceKind.EV_CHARGING else np.ones(N, dtype=bool)
    baseline = np.where(plugged, baseline, 0.0)
    consumption = -baseline
    r = apply_activation(device, baseline, order, mtus=MTUS)
    active = np.flatnonzero(order > 0)
    free = np.flatnonzero(order == 0)
    session = np.cumsum(plugged & ~np.concatenate(([False], plugged[:-1])))

    def reaches(a: int, s: int) -> bool:
        if kind is DeviceKind.EV_CHARGING:
            return bool(s > a and plugged[a] and plugged[s] and session[s] == session[a])
        return 0 < abs(s - a) <= 8

    pairs = [(a, s) for a in active for s in free if reaches(a, s)]
    if not pairs:
        assert np.allclose(r.delivered_mw, 0.0)
        return
    rows_a = {a: i for i, a in enumerate(active)}
    rows_s = {s: len(active) + i for i, s in enumerate(free)}
    a_ub = np.zeros((len(active) + len(free), len(pairs)))
    for j, (a, s) in enumerate(pairs):
        a_ub[rows_a[a], j] = 1.0
        a_ub[rows_s[s], j] = 1.0
    b_ub = np.concatenate(
        [np.minimum(order[active], consumption[active]), 0.02 - consumption[free]]
    )
    best = linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert best.status == 0
    assert float(r.delivered_mw.sum()) == pytest.approx(-best.fun, abs=1e-9)


def test_bids_never_exceed_what_the_pool_can_do_and_price_cost_with_markup() -> None:
    spec = DeviceSpec()
    devices = [
        *(_device(DeviceKind.HEAT_PUMP, f"hp{i}", rated_mw=0.01 * (i + 1)) for i in range(5)),
        *(_device(DeviceKind.CURTAILMENT, f"pv{i}") for i in range(2)),
        _device(DeviceKind.BATTERY, "bess"),
        _device(DeviceKind.EV_CHARGING, "ev"),
    ]
    noon = np.clip(np.sin(np.linspace(-0.6, np.pi + 0.6, N)), 0, None) * 0.02
    forecast = {"pv0": noon, "pv1": noon * 0.5}
    pooling = DevicePooling(units_per_pool=2)
    bids = device_bids(
        devices,
        forecast,
        mtus=MTUS,
        product=PRODUCT,
        submitted_at=SUBMITTED,
        markup=0.1,
        pooling=pooling,
    )
    groups = {g.id: g.unit_ids for g in device_pools(devices, pooling=pooling)}
    # pools of two per (FSP, place, technology): hp0+hp1, hp2+hp3, pv0+pv1; hp4, bess, ev alone
    assert sorted(groups.values()) == [("hp0", "hp1"), ("hp2", "hp3"), ("pv0", "pv1")]
    by_id = {d.unit_id: d for d in devices}
    index = {mtu: t for t, mtu in enumerate(MTUS)}
    for bid in bids:
        members = [by_id[u] for u in groups.get(bid.resource_id, (bid.resource_id,))]
        capability = np.zeros(N)
        for d in members:
            base = forecast[d.unit_id] if d.unit_id in forecast else default_baseline_mw(d, MTUS)
            up, down = capability_mw(d, base, mtus=MTUS)
            capability += up if bid.direction is Direction.UP else down
        for mq in bid.quantities:
            assert 0 < mq.quantity <= capability[index[mq.interval]] + TOL
        assert len(bid.quantities) <= 4
        cost = spec.cost_eur_per_mwh(members[0].kind, bid.direction)
        assert cost is not None
        assert bid.activation_price_eur_per_mwh == pytest.approx(cost * 1.1, abs=0.005)
    pv_bids = [b for b in bids if b.resource_id.startswith("pool:f:pv")]
    assert pv_bids and {b.direction for b in pv_bids} == {Direction.DOWN}
    assert {b.activation_price_eur_per_mwh for b in pv_bids} == {66.0}
    night = [mq for b in pv_bids for mq in b.quantities if noon[index[mq.interval]] == 0]
    assert night == []


def test_the_default_baselines_follow_the_documented_rules() -> None:
    ev = default_baseline_mw(_device(DeviceKind.EV_CHARGING), MTUS)
    plugged = _plugged()
    assert np.all(ev[~plugged] == 0)
    assert -ev.sum() * STEP_H == pytest.approx(2 * 2.0 * 0.02)  # two sessions, 2 h each at 20 kW
    assert np.all(default_baseline_mw(_device(DeviceKind.HEAT_PUMP), MTUS) == -0.01)
    assert np.all(default_baseline_mw(_device(DeviceKind.BATTERY), MTUS) == 0)
    with pytest.raises(InvalidInputError) as err:
        default_baseline_mw(_device(DeviceKind.CURTAILMENT), MTUS)
    assert err.value.issues[0].field == "forecast"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: DeviceSpec(heat_pump_duty=0.0), "heat_pump_duty"),
        (lambda: DeviceSpec(technologies=frozenset({Technology.GENERIC_LOAD})), "technologies"),
        (lambda: DeviceSpec(feed_in_tariff_eur_per_mwh=-1.0), "feed_in_tariff_eur_per_mwh"),
        (lambda: DevicePooling(units_per_pool=0), "units_per_pool"),
        (lambda: _device(DeviceKind.BATTERY, soc_mwh=0.5), "soc_mwh"),
        (lambda: _device(DeviceKind.HEAT_PUMP, rated_mw=0.0), "rated_mw"),
        (lambda: dataclasses.replace(_device(DeviceKind.HEAT_PUMP), technology="pv"), "kind"),
        (
            lambda: apply_activation(
                _device(DeviceKind.HEAT_PUMP), np.zeros(3), np.zeros(N), mtus=MTUS
            ),
            "baseline_mw",
        ),
        (
            lambda: apply_activation(
                _device(DeviceKind.HEAT_PUMP), np.zeros(N), np.full(N, np.nan), mtus=MTUS
            ),
            "activated_mw",
        ),
    ],
)
def test_bad_input_is_an_invalid_input_error_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        build()
    assert err.value.issues[0].field == field


@pytest.mark.slow
def test_devices_from_the_rural_portfolio_bid_on_a_register_that_accepts_their_pools(
    mv_rural: Any,
) -> None:
    register = build_portfolio(
        mv_rural, additions=ScenarioAdditions(ev_chargers=20, heat_pumps=10, batteries=2)
    )
    devices = build_devices(register)
    kinds = {k: sum(d.kind is k for d in devices) for k in DeviceKind}
    assert kinds[DeviceKind.EV_CHARGING] == 20 and kinds[DeviceKind.HEAT_PUMP] == 10
    assert kinds[DeviceKind.BATTERY] == 2 and kinds[DeviceKind.CURTAILMENT] > 0
    with_lv_res = DeviceSpec(technologies=DeviceSpec().technologies | {"generic_generator"})
    generic = [d for d in build_devices(register, with_lv_res) if d.kind == "curtailment"]
    assert len(generic) > kinds[DeviceKind.CURTAILMENT]  # SimBench's lv_RES curtailable too
    pooling = DevicePooling(units_per_pool=5)
    groups = device_pools(devices, pooling=pooling)
    with_groups = dataclasses.replace(register, groups=groups)  # validates the pools
    forecast = {d.unit_id: np.full(N, 0.5 * d.rated_mw) for d in devices if d.kind == "curtailment"}
    bids = device_bids(
        devices, forecast, mtus=MTUS, product=PRODUCT, submitted_at=SUBMITTED, pooling=pooling
    )
    resources = {u.id for u in with_groups.units} | {g.id for g in with_groups.groups}
    assert bids and {b.resource_id for b in bids} <= resources
    assert all(with_groups.fsp(b.fsp_id) for b in bids)
