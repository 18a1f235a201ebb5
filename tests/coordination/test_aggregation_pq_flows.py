"""A PQ region on per-area interface-flow columns: the same constraint as dense rows, sparser.

Hand-built: ``with_pq_region_flows`` on the lossless two-bus model (flows, bounds per MTU, the
empty region, bad input). SimBench 1-MV-rural: the region's inner halfplanes stated dense (one
row over every area bus) and on two flow columns clear to the same result, with far fewer
nonzeros; the support halfplanes on flow columns keep the TSO's interface point inside them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from flexcoord.clearing import ClearingOptions, nodal_injections
from flexcoord.clearing.formulation import BlockKind, build_formulation
from flexcoord.clearing.grid_constraints import GridConstraints, grid_constraints
from flexcoord.clearing.market import build_problem, clear
from flexcoord.clearing.problem import canonical
from flexcoord.coordination.aggregation import UnitBoxes, feasible_pq_region
from flexcoord.coordination.aggregation.pq_constraints import with_pq_region, with_pq_region_flows
from flexcoord.domain import Bid, Location, MtuQuantity, Need
from flexcoord.errors import InvalidInputError
from tests.coordination.test_aggregation_fixtures import T0, lossless_model, mv_rural_case
from tests.coordination.test_aggregation_pq_in_clearing import PRODUCT, empty_gc, quarter_hours


def one_unit(dp_max_mw: float) -> UnitBoxes:
    return UnitBoxes(
        unit_ids=("u1",),
        bus_ids=np.array([1], dtype=np.int64),
        p_mw=np.zeros(1),
        q_mvar=np.zeros(1),
        dp_min_mw=np.zeros(1),
        dp_max_mw=np.array([dp_max_mw]),
        dq_min_mvar=np.array([-1.0]),
        dq_max_mvar=np.array([1.0]),
    )


def test_flows_and_support_bounds_per_mtu() -> None:
    model = lossless_model(s_max_mva=4.0)
    big = feasible_pq_region(model, one_unit(5.0), directions=8, refine_budget=0)
    small = feasible_pq_region(model, one_unit(1.0), directions=8, refine_budget=0)
    iv = quarter_hours(3)
    gc = empty_gc(iv, [7, 2, 1])  # model buses 1, 2 sit in columns 2, 1
    out = with_pq_region_flows(gc, model, [big, None, small], name_prefix="a")
    assert out.interface_flow_names == ("a/p", "a/q")
    assert np.array_equal(out.interface_flow_p[0, [2, 1]], model.interface_dp_dp)
    assert np.array_equal(out.interface_flow_q[1, [2, 1]], model.interface_dq_dq)
    assert out.n_interface == 8 and out.interface_names[0] == "a/d0"
    assert np.all(out.interface_p == 0.0) and np.all(out.interface_q == 0.0)
    theta = big.directions_rad
    assert np.allclose(out.interface_flow_coeff, np.column_stack([np.cos(theta), np.sin(theta)]))
    assert np.all(np.isposinf(out.interface_upper[:, 1]))  # no region: unconstrained
    # lossless, unit at bus 1: ΔP_if = -dp, ΔQ_if = -dq; the small region reaches dp = 1 MW
    up = out.interface_upper
    k_west = int(np.argmin(np.abs(theta - np.pi)))  # direction -P_if
    assert up[k_west, 0] == pytest.approx(4.0, abs=1e-6)  # 4 MVA line binds before 5 MW
    assert up[k_west, 2] == pytest.approx(1.0, abs=1e-6)
    empty = replace(small, feasible=False)
    frozen = with_pq_region_flows(gc, model, [empty, None, None])
    assert np.all(frozen.interface_upper[:, 0] == 0.0)
    with pytest.raises(InvalidInputError, match="one per MTU"):
        with_pq_region_flows(gc, model, [big])
    with pytest.raises(InvalidInputError, match="at least one MTU"):
        with_pq_region_flows(gc, model, [None, None, None])
    other = feasible_pq_region(model, one_unit(1.0), directions=12, refine_budget=0)
    with pytest.raises(InvalidInputError, match="same in every MTU"):
        with_pq_region_flows(gc, model, [big, other, None])
    with pytest.raises(InvalidInputError, match="not columns"):
        with_pq_region_flows(empty_gc(iv, [1]), model, [big, None, None])


def test_grid_constraints_flow_input_errors() -> None:
    gc = empty_gc(quarter_hours(1), [1, 2])
    with pytest.raises(InvalidInputError, match="interface_flow_names"):
        gc.with_interface_flows(("f", "f"), np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="interface_flow_p"):
        gc.with_interface_flows(("f",), np.zeros((1, 3)), np.zeros((1, 2)))
    flows = gc.with_interface_flows(("f",), np.ones((1, 2)), np.zeros((1, 2)))
    with pytest.raises(InvalidInputError, match="interface_flow_coeff"):
        flows.with_interface(
            ("c",), np.zeros((1, 2)), np.zeros((1, 2)), [-np.inf], [1.0], flow_coeff=np.ones((1, 2))
        )


def inner_rows_on_flows(gc: GridConstraints, model: object, region: object) -> GridConstraints:
    """The region's inner halfplanes (those of ``with_pq_region``) on two flow columns."""
    dense = with_pq_region(empty_gc(gc.intervals, [int(b) for b in gc.bus_ids]), model, region)  # type: ignore[arg-type]
    flows = with_pq_region_flows(gc, model, [region] * gc.n_mtu)  # type: ignore[arg-type, list-item]
    flows = replace(
        flows,
        interface_names=(),
        interface_p=np.zeros((0, len(gc.bus_ids))),
        interface_q=np.zeros((0, len(gc.bus_ids))),
        interface_lower=np.zeros((0, gc.n_mtu)),
        interface_upper=np.zeros((0, gc.n_mtu)),
        interface_flow_coeff=np.zeros((0, 2)),
    )
    a, _ = region._irredundant_halfplanes()  # type: ignore[attr-defined]
    n_c = dense.n_interface
    zeros = np.zeros((n_c, len(gc.bus_ids)))
    return flows.with_interface(
        dense.interface_names,
        zeros,
        zeros,
        dense.interface_lower,
        dense.interface_upper,
        flow_coeff=a,
    )


@pytest.mark.slow
def test_flow_columns_clear_as_the_dense_rows_with_fewer_nonzeros() -> None:
    grid, base_register, base_model, units = mv_rural_case()
    model = base_model.with_margin(safety_margin=0.5)
    region = feasible_pq_region(model, units, directions=32)
    register = replace(base_register, products=(PRODUCT,))
    intervals = quarter_hours(8)
    gc = grid_constraints(grid, intervals=intervals, monitored=(), voltages=False)
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
    need = Need(
        id="need:tso",
        buyer_id="tso",
        product_id=PRODUCT.id,
        location=Location.at_coupling_point(model.coupling_point_ids[0]),
        direction="up",
        quantities=tuple(MtuQuantity(interval=iv, quantity=20.0) for iv in intervals),
        created_at=T0 - timedelta(hours=3),
        activation_price_cap_eur_per_mwh=500.0,
    )
    options = ClearingOptions()
    dense_gc = with_pq_region(gc, model, region)
    flow_gc = inner_rows_on_flows(gc, model, region)
    dense = clear(register, [need], bids, dense_gc, options)
    flows = clear(register, [need], bids, flow_gc, options)
    assert flows.objective_eur == pytest.approx(dense.objective_eur, rel=1e-7)
    assert np.allclose(flows.slot_accepted_mw, dense.slot_accepted_mw, atol=1e-6)
    assert np.allclose(flows.interface_value, dense.interface_value, atol=1e-6)
    assert {b.element for b in flows.binding} == {b.element for b in dense.binding}

    def region_nonzeros(gc_used: GridConstraints) -> int:
        """Nonzeros of the region's rows: the interface rows (dense or on the flows) and the
        flows' definition rows (the nodal injections exist in both forms)."""
        problem, _ = build_problem(register, [need], bids, gc_used)
        form = build_formulation(canonical(problem), options)
        a = form.a_matrix.tocsr()
        kinds = (BlockKind.INTERFACE, BlockKind.INTERFACE_FLOW_DEF)
        blocks = [form.row_blocks[k] for k in kinds if k in form.row_blocks]
        return sum(int(a[blk.start : blk.stop].nnz) for blk in blocks)

    nnz_dense, nnz_flows = region_nonzeros(dense_gc), region_nonzeros(flow_gc)
    print(f"region nonzeros over {len(intervals)} MTUs: dense {nnz_dense}, flows {nnz_flows}")
    assert nnz_dense > 10 * nnz_flows
    # the support halfplanes on flow columns (what the evolvDSO preset uses) hold too
    support = with_pq_region_flows(gc, model, [region] * len(intervals))
    held = clear(register, [need], bids, support, options)
    _, grid_map = build_problem(register, [need], bids, support)
    inj_p, inj_q = nodal_injections(held.problem, held.slot_accepted_mw)
    pos = {int(b): i for i, b in enumerate(grid_map.real_bus_ids)}
    rows = [pos[int(b)] for b in model.bus_ids if int(b) in pos]
    area = [int(b) in pos for b in model.bus_ids]
    dp, dq = grid_map.to_grid(inj_p)[rows], grid_map.to_grid(inj_q)[rows]
    p_if = (
        model.interface_p_mw + model.interface_dp_dp[area] @ dp + model.interface_dp_dq[area] @ dq
    )
    q_if = (
        model.interface_q_mvar + model.interface_dq_dp[area] @ dp + model.interface_dq_dq[area] @ dq
    )
    normals = np.column_stack([np.cos(region.directions_rad), np.sin(region.directions_rad)])
    reach = normals @ np.vstack([p_if, q_if]) - region.support[:, None]
    assert reach.max() <= 1e-6  # inside the support polygon in every MTU
    assert held.need_shortfall_mw.sum() > 1.0  # the region binds: the need is partly unserved
    assert region.distance_outside(p_if, q_if).max() <= region.approximation_gap_mw + 1e-6
