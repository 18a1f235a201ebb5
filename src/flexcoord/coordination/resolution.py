"""The final dispatch of a scheme run: the markets' awards after the scheme's conflict rule.

After the sub-markets, the TSO's (or common market's) awards in DSO areas are checked against
the DSO markets' awards and limits (:mod:`flexcoord.coordination.conflicts`) and handled by the
scheme's rule (:func:`conflict_rule`); the DSO markets' awards stand as cleared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from flexcoord.clearing import shift_constraints
from flexcoord.coordination.config import DsoGridInTsoMarket, SchemeConfig
from flexcoord.coordination.conflicts import (
    AwardInfo,
    Conflict,
    ConflictRule,
    DsoOverload,
    resolve_conflicts,
)
from flexcoord.coordination.identities import Dispatch, DispatchKey, MarketKind, Mtu, summed
from flexcoord.coordination.markets import MarketsState, SchemeContext
from flexcoord.domain import Direction

__all__ = ["FinalDispatch", "conflict_rule", "dso_dispatch", "final_dispatch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalDispatch:
    """A run's awards after the conflict rule (MW per root bid and MTU, zeros dropped) and the
    conflicts found on the way."""

    accepted_mw: Mapping[DispatchKey, float]
    conflicts: tuple[Conflict, ...]


def conflict_rule(config: SchemeConfig) -> ConflictRule:
    """The scheme's rule for activation conflicts.

    ``ignored`` DSO grid: conflicts are only flagged for the DSO (the centralised scheme's
    weakness, reported as DSO violations caused by the TSO); ``traffic_light``: the TSO's awards
    are curtailed to what the DSO grid can host; ``full``: they are blocked (the joint clearing
    should not produce any); ``pq_region``: curtailed like behind a traffic light (the region
    is a projection: an interface point inside it is deliverable by *some* dispatch of the area,
    not necessarily by the TSO's awards).
    """
    return {
        DsoGridInTsoMarket.IGNORED: ConflictRule.FLAG,
        DsoGridInTsoMarket.TRAFFIC_LIGHT: ConflictRule.CURTAIL,
        DsoGridInTsoMarket.FULL: ConflictRule.BLOCK,
        DsoGridInTsoMarket.PQ_REGION: ConflictRule.CURTAIL,
    }[config.dso_grid_in_tso_market]


def dso_dispatch(state: MarketsState) -> dict[DispatchKey, float]:
    """The DSO markets' awards of a run."""
    return summed(m.accepted_mw for m in state.markets if m.id.kind is MarketKind.DSO)


def final_dispatch(ctx: SchemeContext, state: MarketsState) -> FinalDispatch:
    """The run's awards after the scheme's conflict rule (see the module docstring)."""
    tso_runs = [m for m in state.markets if m.id.kind is not MarketKind.DSO]
    if not tso_runs:
        return FinalDispatch(accepted_mw=state.dispatch(), conflicts=())
    tso_acc = {k: v for m in tso_runs for k, v in m.accepted_mw.items()}
    dso_acc = dso_dispatch(state)
    volumes, conflicts = resolve_conflicts(
        {k: _award_info(ctx, k, v) for k, v in tso_acc.items()},
        {k: _award_info(ctx, k, v) for k, v in dso_acc.items()},
        conflict_rule(ctx.config),
        _dso_overload(ctx, dso_acc),
        tso_areas=frozenset(ctx.tso_areas),
    )
    final = dict(dso_acc)
    for key, mw in volumes.items():
        final[key] = final.get(key, 0.0) + mw
    return FinalDispatch(
        accepted_mw={k: v for k, v in final.items() if v > 0.0}, conflicts=conflicts
    )


def _award_info(ctx: SchemeContext, key: DispatchKey, mw: float) -> AwardInfo:
    bid = ctx.bids_by_root[key.root]
    return AwardInfo(
        area_id=ctx.joint.bid_area[bid.id],
        unit_ids=tuple(u.id for u in ctx.scenario.register.units_of(bid.resource_id)),
        up=bid.direction == Direction.UP,
        mw=mw,
        divisible=bid.divisible and not bid.block,
        min_mw=bid.min_acceptance or 0.0,
    )


def _dso_overload(ctx: SchemeContext, dso_acc: Dispatch) -> DsoOverload:
    """``tso volumes → overload (MW above the margined limit) per (DSO area, MTU)`` that the
    TSO's volumes add to the DSO markets' dispatch. The DSO-only flows are computed once; each
    call adds only the TSO volumes' flows (the bisection of a curtailment calls it often)."""
    j = ctx.joint
    dist_areas = [a for a in j.all_areas if a not in set(ctx.tso_areas)]
    if not dist_areas:
        return lambda _: {}
    gc = j.views.constraints(dist_areas)
    base = shift_constraints(gc, j.grid_map.real_bus_ids, *j.injections(dso_acc)).base_flow_mw
    lim = (1.0 - gc.safety_margin) * gc.limit_mw[:, None]
    over_before = np.maximum(np.abs(base) - lim, 0.0)
    columns = {int(b): i for i, b in enumerate(gc.bus_ids)}
    cols = np.array([columns.get(int(b), -1) for b in j.grid_map.real_bus_ids], dtype=np.int64)
    known = cols >= 0
    areas = ctx.scenario.grid.asset_areas()
    branch_area = [areas[n] for n in gc.branch_names]
    mtus = [Mtu(iv.start) for iv in gc.intervals]

    def overload(tso_vol: Mapping[DispatchKey, float]) -> dict[tuple[str, Mtu], float]:
        p_mw, _ = j.injections(tso_vol)
        inj = np.zeros((len(gc.bus_ids), p_mw.shape[1]))
        np.add.at(inj, cols[known], p_mw[known])
        after = base + gc.ptdf @ inj
        extra = np.maximum(np.maximum(np.abs(after) - lim, 0.0) - over_before, 0.0)
        out: dict[tuple[str, Mtu], float] = defaultdict(float)
        rows, ts = np.nonzero(extra > 1e-9)
        for r, t in zip(rows.tolist(), ts.tolist(), strict=True):
            out[(branch_area[r], mtus[t])] += float(extra[r, t])
        return dict(out)

    return overload
