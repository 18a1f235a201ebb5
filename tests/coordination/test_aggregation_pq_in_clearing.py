"""The DSO area's feasible PQ region as a constraint of the TSO's clearing (evolvDSO-style).

Hand-built: the conversion of halfplanes to injection rows on the lossless two-bus model.
SimBench 1-MV-rural: a TSO need at the coupling point, met by DSO bids, would push the interface
beyond the region; with the region attached the cleared interface point stays inside it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, RejectionReason, nodal_injections
from flexcoord.clearing.grid_constraints import GridConstraints, grid_constraints
from flexcoord.clearing.market import build_problem, clear
from flexcoord.coordination.aggregation import UnitBoxes, feasible_pq_region
from flexcoord.coordination.aggregation.pq_constraints import with_pq_region
from flexcoord.domain import Bid, Interval, Location, MtuQuantity, Need, Product
from flexcoord.errors import InvalidInputError
from tests.coordination.test_aggregation_fixtures import T0, lossless_model, mv_rural_case

PRODUCT = Product(
    id="p-redispatch",
    power_type="active",
    kind="activation",
    timeframe="intraday",
    gate_closure_before_delivery=timedelta(minutes=30),
)


def quarter_hours(n: int) -> tuple[Interval, ...]:
    step = timedelta(minutes=15)
    return tuple(Interval(start=T0 + k * step, end=T0 + (k + 1) * step) for k in range(n))


def test_halfplanes_become_rows_on_the_area_injections() -> None:
    # lossless: P_if = -p1 - p2, Q_if = -q1 - q2; unit 1 in [0, 5] MW x [-2, 2] Mvar, 4 MVA line
    model = lossless_model(s_max_mva=4.0, n_cuts=64)
    units = UnitBoxes(
        unit_ids=("u1",),
        bus_ids=np.array([1], dtype=np.int64),
        p_mw=np.zeros(1),
        q_mvar=np.zeros(1),
        dp_min_mw=np.zeros(1),
        dp_max_mw=np.array([5.0]),
        dq_min_mvar=np.array([-2.0]),
        dq_max_mvar=np.array([2.0]),
    )
    region = feasible_pq_region(model, units, directions=32)
    names, p_coeff, q_coeff, lower, upper = region.as_interface_constraints(
        model, quarter_hours(3), name_prefix="dso-a"
    )
    n_c = len(names)
    _, b = region.as_halfplanes()
    assert 4 <= n_c < len(b)  # the support halfplanes of a full polygon are dropped
    assert names[0].startswith("dso-a/h")
    assert len(set(names)) == n_c
    assert p_coeff.shape == q_coeff.shape == (n_c, 2)
    assert lower.shape == upper.shape == (n_c, 3)
    assert np.all(np.isneginf(lower))
    assert np.all(upper == upper[:, :1])
    # the rows describe the same polygon: a dispatch is admitted iff its interface point is inside
    rng = np.random.default_rng(3)
    dp = rng.uniform(-1.0, 6.0, (500, 2))
    dq = rng.uniform(-3.0, 3.0, (500, 2))
    rows_ok = np.all(dp @ p_coeff.T + dq @ q_coeff.T <= upper[:, 0] + 1e-9, axis=1)
    p_if = model.interface_p_mw + dp @ model.interface_dp_dp + dq @ model.interface_dp_dq
    q_if = model.interface_q_mvar + dp @ model.interface_dq_dp + dq @ model.interface_dq_dq
    inside = region.contains(p_if, q_if, tol=1e-9)
    assert (rows_ok == inside).all()
    assert 50 < inside.sum() < 450
    other = replace(model, area_id="elsewhere")
    with pytest.raises(InvalidInputError, match="area"):
        region.as_interface_constraints(other, quarter_hours(1))


def empty_gc(intervals: tuple[Interval, ...], buses: list[int]) -> GridConstraints:
    n_t = len(intervals)
    return GridConstraints(
        intervals=intervals,
        bus_ids=np.array(buses, dtype=np.int64),
        branch_names=(),
        ptdf=np.zeros((0, len(buses))),
        limit_mw=np.zeros(0),
        base_flow_mw=np.zeros((0, n_t)),
        vbus_ids=np.zeros(0, np.int64),
        injection_bus_ids=np.zeros(0, np.int64),
        dvm_dp=np.zeros((0, 0)),
        dvm_dq=np.zeros((0, 0)),
        base_vm_pu=np.zeros((0, n_t)),
        vm_min_pu=np.zeros(0),
        vm_max_pu=np.zeros(0),
    )


def test_with_pq_region_maps_columns_and_per_mtu_regions() -> None:
    model = lossless_model(s_max_mva=4.0)
    units = UnitBoxes(
        unit_ids=("u1",),
        bus_ids=np.array([1], dtype=np.int64),
        p_mw=np.zeros(1),
        q_mvar=np.zeros(1),
        dp_min_mw=np.zeros(1),
        dp_max_mw=np.array([5.0]),
        dq_min_mvar=np.zeros(1),
        dq_max_mvar=np.array([1.0]),
    )
    region = feasible_pq_region(model, units, directions=8)
    small = feasible_pq_region(model, units.scaled(0.5), directions=8)
    iv = quarter_hours(2)
    gc = empty_gc(iv, [7, 2, 1])  # model buses 1, 2 sit in columns 2, 1
    one = with_pq_region(gc, model, region)
    names, p_area, _, _, upper = region.as_interface_constraints(model, iv)
    assert one.interface_names == names
    assert np.array_equal(one.interface_p[:, [2, 1]], p_area)
    assert np.all(one.interface_p[:, 0] == 0.0)
    assert np.array_equal(one.interface_upper, upper)
    per = with_pq_region(gc, model, [region, small], name_prefix="area")
    first = [
        i
        for i, n in enumerate(per.interface_names)
        if n.startswith(f"area@{iv[0].start.isoformat()}")
    ]
    second = [
        i
        for i, n in enumerate(per.interface_names)
        if n.startswith(f"area@{iv[1].start.isoformat()}")
    ]
    assert first and second and len(first) + len(second) == per.n_interface
    assert np.all(np.isposinf(per.interface_upper[first, 1]))
    assert np.all(np.isfinite(per.interface_upper[first, 0]))
    assert np.all(np.isposinf(per.interface_upper[second, 0]))
    with pytest.raises(InvalidInputError, match="per MTU"):
        with_pq_region(gc, model, [region])
    with pytest.raises(InvalidInputError, match="not columns"):
        with_pq_region(empty_gc(iv, [1]), model, region)


@pytest.mark.slow
def test_tso_clearing_keeps_the_interface_inside_the_dso_region() -> None:
    grid, base_register, base_model, units = mv_rural_case()
    # the DSO keeps half of every branch rating free: its grid binds before the units run out
    model = base_model.with_margin(safety_margin=0.5)
    region = feasible_pq_region(model, units, directions=32)
    register = replace(base_register, products=(PRODUCT,))
    intervals = quarter_hours(2)
    gc = grid_constraints(grid, intervals=intervals, monitored=(), voltages=False)
    gc_region = with_pq_region(gc, model, region)
    # TSO need: 20 MW UP (more injection from the area: P_if falls) at the coupling point,
    # offered by every unit of the area within its range from the operating point
    rng = np.random.default_rng(5)
    bids = [
        Bid(
            id=f"b:{uid}",
            fsp_id=register.unit(uid).fsp_id,
            resource_id=uid,
            product_id=PRODUCT.id,
            direction="up",
            quantities=tuple(MtuQuantity(interval=iv, quantity=float(up)) for iv in intervals),
            submitted_at=T0 - timedelta(hours=2),
            activation_price_eur_per_mwh=round(float(rng.uniform(20, 300)), 2),
        )
        for uid, up in zip(units.unit_ids, units.dp_max_mw, strict=True)
        if up > 0.01
    ]
    cp = model.coupling_point_ids[0]
    need = Need(
        id="need:tso",
        buyer_id="tso",
        product_id=PRODUCT.id,
        location=Location.at_coupling_point(cp),
        direction="up",
        quantities=tuple(MtuQuantity(interval=iv, quantity=20.0) for iv in intervals),
        created_at=T0 - timedelta(hours=3),
        activation_price_cap_eur_per_mwh=500.0,
    )
    options = ClearingOptions()

    def interface_point(gc_used: GridConstraints) -> tuple[np.ndarray, np.ndarray, object]:
        result = clear(register, [need], bids, gc_used, options)
        problem, grid_map = build_problem(register, [need], bids, gc_used)
        inj_p, inj_q = nodal_injections(result.problem, result.slot_accepted_mw)
        real_p, real_q = grid_map.to_grid(inj_p), grid_map.to_grid(inj_q)
        pos = {int(b): i for i, b in enumerate(grid_map.real_bus_ids)}
        area = [pos.get(int(b), -1) for b in model.bus_ids]
        dp = np.array([real_p[i] if i >= 0 else np.zeros(len(intervals)) for i in area])
        dq = np.array([real_q[i] if i >= 0 else np.zeros(len(intervals)) for i in area])
        p_if = model.interface_p_mw + model.interface_dp_dp @ dp + model.interface_dp_dq @ dq
        q_if = model.interface_q_mvar + model.interface_dq_dp @ dp + model.interface_dq_dq @ dq
        assert problem.n_interface == gc_used.n_interface
        return p_if, q_if, result

    p_free, q_free, free = interface_point(gc)
    assert free.need_shortfall_mw.sum() == pytest.approx(0.0, abs=1e-6)  # 20 MW delivered
    assert np.all(region.distance_outside(p_free, q_free) > 1.0)  # > 1 MW beyond the region
    p_in, q_in, held = interface_point(gc_region)
    assert np.all(region.distance_outside(p_in, q_in) <= 1e-4)  # inside (linear model)
    assert held.stats.optimal
    assert held.penalty_cost_eur < 0.01 * options.interface_penalty  # no slack used, only
    short = held.need_shortfall_mw  # the need's shortfall is priced
    assert np.all(short > 1.0)
    assert np.all(p_in < model.interface_p_mw - 10.0)  # the region's room is still used
    bound = [b for b in held.binding if b.kind == "interface"]
    assert {b.mtu for b in bound} == {iv.start.isoformat() for iv in intervals}
    assert all(b.element.startswith(f"pq-region:{model.area_id}/h") for b in bound)
    blocked = [r for r in held.rejections() if r.reason is RejectionReason.GRID_LIMIT]
    assert blocked
    assert all(f"pq-region:{model.area_id}/h" in r.detail for r in blocked)
