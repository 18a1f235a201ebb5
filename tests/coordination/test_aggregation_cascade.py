"""The Redispatch 3.0 cascade (seed L1093–L1097, L2113) on SimBench 1-HVMV-mixed: TSO (EHV) →
HV DSO (HV1) → 18 MV DSOs, and on 1-MV-rural (two levels).

Bids: every battery (UP, its full range) and every tenth MV load (UP, load reduction) of a
seeded portfolio; thermal limits only (SimBench HV/MV starts above its MV voltage band).
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flexcoord.coordination.aggregation import (
    aggregate_cascade,
    aggregated_offer_curve,
    bid_columns,
    build_dso_model,
    cascade_models,
    cascade_of,
    disaggregate_cascade,
)
from flexcoord.coordination.aggregation.cascade import (
    CascadeDispatch,
    CascadePotential,
    merit_order_targets,
    virtual_unit_id,
)
from flexcoord.domain import Bid, Direction, Interval, Register, Technology
from flexcoord.errors import InvalidInputError, NotFoundError
from flexcoord.grid.pgm import Injections, run_ac_batch
from flexcoord.grid.violations import Limits, resolve_limits
from tests.conftest import MV_RURAL

pytestmark = pytest.mark.slow

HVMV = "1-HVMV-mixed-all-0-sw"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
MTU = Interval(start=T0, end=T0 + timedelta(minutes=15))
MARGIN = 0.05


def _bids(register: Register, area_ids: set[str]) -> list[Bid]:
    """Batteries UP at their full range, every tenth load UP by half its range, in the areas."""
    out = []
    loads = 0
    for unit in register.units:
        if register.connection_point(unit.connection_point_id).area_id not in area_ids:
            continue
        if unit.technology is Technology.BESS:
            quantity, price = unit.p_max_mw, 40.0 + len(out) % 7
        elif unit.technology is Technology.GENERIC_LOAD and unit.p_max_mw - unit.p_min_mw > 0.05:
            loads += 1
            if loads % 10:
                continue
            quantity, price = 0.5 * (unit.p_max_mw - unit.p_min_mw), 80.0 + len(out) % 11
        else:
            continue
        out.append(
            Bid(
                id=f"b:{unit.id}",
                fsp_id=unit.fsp_id,
                resource_id=unit.id,
                product_id="p",
                direction="up",
                quantities=({"interval": MTU, "quantity": quantity},),  # type: ignore[arg-type]
                submitted_at=T0 - timedelta(hours=2),
                activation_price_eur_per_mwh=price,
            )
        )
    return out


@functools.cache
def hvmv_case() -> tuple[Any, Register, Any, dict[str, Any], list[Bid]]:
    """Grid, register (30 batteries), three-level cascade, its models, the bids."""
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio

    grid = load_grid(HVMV)
    register = build_portfolio(grid, additions=ScenarioAdditions(batteries=30, seed=0))
    cascade = cascade_of(grid, tso_min_vn_kv=220)
    models = cascade_models(grid, cascade, safety_margin=MARGIN, voltages=False)
    bids = _bids(register, {a.id for a in register.areas} - {"tso"})
    return grid, register, cascade, models, bids


def _potential(bids: list[Bid], models: dict[str, Any] | None = None) -> CascadePotential:
    _, register, cascade, own, _ = hvmv_case()
    return aggregate_cascade(
        cascade, models or own, bids, register, direction=Direction.UP, interval=MTU, levels=10
    )


def _ac_loading(grid: Any, potential: CascadePotential, dispatch: CascadeDispatch) -> pd.Series:
    """Every branch's AC loading / its limit with the dispatch's bids applied (whole grid)."""
    register = potential.register
    by_bus: dict[int, float] = {}
    bids = {b.id: b for n in potential.nodes.values() for b in n.bids}
    for bid_id, mw in dispatch.accepted_mw.items():
        unit = register.units_of(bids[bid_id].resource_id)[0]
        bus = register.connection_point(unit.connection_point_id).bus
        by_bus[bus] = by_bus.get(bus, 0.0) + mw
    pgm = grid.pgm()
    result = run_ac_batch(pgm, Injections.single(bus_p_mw=by_bus))
    _, _, lmax = resolve_limits(pgm, Limits())
    loading = result.loading_percent.iloc[0].to_numpy(dtype=float) / lmax
    return pd.Series(loading, index=pgm.branches.index)


def test_the_cascade_follows_the_voltage_levels() -> None:
    grid, _, cascade, models, _ = hvmv_case()
    assert cascade.n_levels == 3
    assert cascade.thresholds_kv == (220.0, 110.0)
    assert cascade.top == ("HV1",)
    hv = cascade.node("HV1")
    assert len(hv.children) == 18
    assert {cp.id for cp in hv.area.coupling_points} == {f"trafo:{i}" for i in range(22, 28)}
    assert all(
        cascade.node(c).parent_id == "HV1" and cascade.node(c).level == 2 for c in hv.children
    )
    # each coupling transformer's limit belongs to the area below it
    assert not {"trafo:0", "trafo:1"} & set(models["HV1"].branch_names)
    assert {"trafo:0", "trafo:1"} <= set(models["MV1.102"].branch_names)
    default = cascade_of(grid)  # the grid's own split: TSO (EHV + HV) over the MV areas
    assert default.n_levels == 2 and len(default.top) == 18
    with pytest.raises(NotFoundError, match="HV1"):
        cascade.node("HV9")
    with pytest.raises(InvalidInputError, match="tso_min_vn_kv"):
        cascade_of(grid, tso_min_vn_kv=-1.0)


def test_mv_potential_reaches_the_tso_only_through_the_hv_dso() -> None:
    _, _, cascade, models, bids = hvmv_case()
    potential = _potential(bids)
    offers = potential.offers()
    assert offers and {b.resource_id for b in offers} == {virtual_unit_id("HV1")}
    hv_bids = potential.nodes["HV1"].bids
    mv_max = {c: potential.nodes[c].max_mw for c in cascade.node("HV1").children}
    assert sum(mv_max.values()) > 5.0
    assert {b.resource_id for b in hv_bids} == {virtual_unit_id(c) for c, v in mv_max.items() if v}
    # an HV line made tight shrinks what reaches the TSO, not what the MV areas offer
    tight = _tightened_hv(models, potential)
    narrowed = _potential(bids, tight)
    assert {c: narrowed.nodes[c].max_mw for c in mv_max} == pytest.approx(mv_max)
    assert potential.nodes["HV1"].max_mw <= sum(mv_max.values())  # HV losses on top
    assert narrowed.nodes["HV1"].max_mw < potential.nodes["HV1"].max_mw - 0.3


def _tightened_hv(models: dict[str, Any], potential: CascadePotential) -> dict[str, Any]:
    """The HV model with the HV line most loaded by the largest MV area's delivery given 0.3 MW
    of room in that direction (margin included)."""
    hv = models["HV1"]
    cascade = potential.cascade
    child = max(cascade.node("HV1").children, key=lambda c: potential.nodes[c].max_mw)
    bus = cascade.node(child).area.coupling_points[0].hv_bus
    g = hv.dp_from_dp[:, hv.bus_positions([bus])[0]]
    lines = [i for i, b in enumerate(hv.branch_names) if b.startswith("line")]
    worse = [i for i in lines if hv.p_from_mw[i] * g[i] > 0]
    b = max(worse, key=lambda i: abs(g[i]))
    s0 = float(np.hypot(hv.p_from_mw[b], hv.q_from_mvar[b]))
    s_max = hv.s_max_mva.copy()
    s_max[b] = (s0 + 0.3 * abs(g[b])) / (1.0 - MARGIN)
    return {**models, "HV1": dataclasses.replace(hv, s_max_mva=s_max)}


def _node_rows_hold(
    potential: CascadePotential, models: dict[str, Any], d: CascadeDispatch
) -> None:
    """Every node's limits in its linear model at its dispatch (own bids and children's MW); no
    limit is violated at the operating point here, so the potential's models are these."""
    for node_id, model in models.items():
        assert np.array_equal(potential.models[node_id].s_max_mva, model.s_max_mva), node_id
    for node_id, nd in d.nodes.items():
        if nd.split is None:
            continue
        cols = bid_columns(
            models[node_id], potential.nodes[node_id].bids, potential.register, at=MTU.start
        )
        x = dict(zip(nd.split.resource_ids, nd.split.dp_mw.tolist(), strict=True))
        xv = np.array([x.get(i, 0.0) for i in cols.ids])
        rows = models[node_id].limit_rows(cols.ep, cols.eq)  # the given limits, not relaxed
        assert np.all(rows.a @ xv <= rows.upper + 1e-6), node_id


@pytest.mark.parametrize("tight", [False, True])
def test_no_limit_is_violated_at_any_level(tight: bool) -> None:
    """The TSO asks for the whole potential: every node's linear limits hold (with the tightened
    HV line too), and without it the dispatch is AC-feasible on every branch of every level."""
    grid, _, _, models, bids = hvmv_case()
    potential = _potential(bids)
    if tight:
        models = _tightened_hv(models, potential)
        potential = _potential(bids, models)
    target = potential.nodes["HV1"].max_mw
    d = disaggregate_cascade(potential, {"HV1": target})
    assert d.feasible
    assert d.nodes["HV1"].delivered_mw == pytest.approx(target, rel=1e-6)
    _node_rows_hold(potential, models, d)
    if not tight:
        loading = _ac_loading(grid, potential, d)
        mine = sorted({b for m in models.values() for b in m.branch_names})
        assert loading[mine].max() <= 1.0, loading[mine].idxmax()


def test_unit_setpoints_meet_the_target_at_each_connection_point() -> None:
    grid, _, _, _, bids = hvmv_case()
    potential = _potential(bids)
    targets = merit_order_targets(potential, 6.0)
    assert targets == {"HV1": pytest.approx(6.0)}
    d = disaggregate_cascade(potential, targets)
    hv = d.nodes["HV1"]
    assert hv.delivered_mw == pytest.approx(6.0, abs=1e-6)
    assert sum(hv.child_targets_mw.values()) + sum(hv.accepted_mw.values()) == pytest.approx(
        6.0, rel=0.03
    )  # within the HV grid's losses
    for child, target in hv.child_targets_mw.items():
        node = d.nodes[child]
        assert node.target_mw == pytest.approx(target, rel=1e-8)
        assert node.delivered_mw == pytest.approx(target, abs=1e-6)  # the boundary condition
        assert sum(node.accepted_mw.values()) == pytest.approx(target, rel=0.02)  # MV losses
    assert len([c for c, t in hv.child_targets_mw.items() if t > 0]) >= 2
    # in AC the EHV/HV transformers carry about 6 MW less import
    base = _ac_flows(grid, {})
    after = _ac_flows(grid, _bus_mw(potential, d))
    assert base - after == pytest.approx(6.0, abs=0.3)


def _bus_mw(potential: CascadePotential, d: CascadeDispatch) -> dict[int, float]:
    register = potential.register
    bids = {b.id: b for n in potential.nodes.values() for b in n.bids}
    out: dict[int, float] = {}
    for bid_id, mw in d.accepted_mw.items():
        unit = register.units_of(bids[bid_id].resource_id)[0]
        bus = register.connection_point(unit.connection_point_id).bus
        out[bus] = out.get(bus, 0.0) + mw
    return out


def _ac_flows(grid: Any, by_bus: dict[int, float]) -> float:
    """AC active flow EHV → HV summed over trafos 22–27 (from their EHV side)."""
    pgm = grid.pgm()
    result = run_ac_batch(pgm, Injections.single(bus_p_mw=by_bus or {0: 0.0}))
    names = [f"trafo:{i}" for i in range(22, 28)]
    return float(result.p_from_mw[names].iloc[0].sum())


def test_batteries_are_part_of_the_potential() -> None:
    _, register, _, _, bids = hvmv_case()
    batteries = {u.id for u in register.units if u.technology is Technology.BESS}
    without = [b for b in bids if b.resource_id not in batteries]
    assert 0 < len(without) < len(bids)
    full, less = _potential(bids), _potential(without)
    battery_mw = sum(b.quantities[0].quantity for b in bids if b.resource_id in batteries)
    shrink = full.nodes["HV1"].max_mw - less.nodes["HV1"].max_mw
    assert shrink > 0.5 * battery_mw > 0
    assert all(less.nodes[n].max_mw <= full.nodes[n].max_mw + 1e-6 for n in full.nodes)


def test_bad_targets_and_missing_models_are_input_errors() -> None:
    _, register, cascade, models, bids = hvmv_case()
    potential = _potential(bids)
    with pytest.raises(InvalidInputError, match="connected to the TSO"):
        disaggregate_cascade(potential, {"MV1.101": 1.0})
    with pytest.raises(InvalidInputError, match=">= 0"):
        disaggregate_cascade(potential, {"HV1": -1.0})
    partial = {k: v for k, v in models.items() if k != "MV1.101"}
    with pytest.raises(InvalidInputError, match=r"MV1\.101"):
        aggregate_cascade(cascade, partial, bids, register, direction=Direction.UP, interval=MTU)


def test_two_levels_on_an_mv_grid_is_the_offer_curve_itself() -> None:
    """One implementation of the rule: with one DSO level the potential at the coupling point is
    the area's offer curve."""
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio

    grid = load_grid(MV_RURAL)
    register = build_portfolio(grid, additions=ScenarioAdditions(batteries=10, seed=1))
    cascade = cascade_of(grid)
    assert cascade.n_levels == 2 and cascade.top == ("MV1.101",)
    models = cascade_models(grid, cascade, safety_margin=MARGIN)
    bids = _bids(register, {"MV1.101"})
    potential = aggregate_cascade(
        cascade, models, bids, register, direction=Direction.UP, interval=MTU, levels=10
    )
    curve = aggregated_offer_curve(
        build_dso_model(grid, "MV1.101", safety_margin=MARGIN),
        bids,
        register,
        direction=Direction.UP,
        levels=10,
        at=MTU.start,
    )
    assert potential.nodes["MV1.101"].max_mw == pytest.approx(curve.max_quantity_mw, rel=1e-9)
    d = disaggregate_cascade(potential, {"MV1.101": curve.max_quantity_mw / 2})
    assert d.nodes["MV1.101"].delivered_mw == pytest.approx(curve.max_quantity_mw / 2, abs=1e-6)


def test_a_limit_violated_before_any_activation_is_not_aggravated() -> None:
    """A node congested at its operating point offers what keeps the congestion where it is."""
    from flexcoord.coordination.aggregation.cascade import no_worse_than_base

    _, _, _, models, _ = hvmv_case()
    hv = models["HV1"]
    s0 = np.hypot(hv.p_from_mw, hv.q_from_mvar)
    b = int(np.argmax(s0 / hv.s_max_mva))
    over = dataclasses.replace(
        hv, s_max_mva=np.where(np.arange(len(s0)) == b, 0.5 * s0, hv.s_max_mva)
    )
    held = no_worse_than_base(over)
    assert held.s_max_mva[b] * (1 - MARGIN) == pytest.approx(s0[b])
    others = np.arange(len(s0)) != b
    assert np.array_equal(held.s_max_mva[others], hv.s_max_mva[others])
    assert no_worse_than_base(hv).s_max_mva == pytest.approx(hv.s_max_mva)
