"""The final dispatch of a scheme run: the markets' awards after the scheme's conflict rule.

After the sub-markets, the TSO's (or common market's) awards in DSO areas are checked against
the DSO markets' awards and limits (:mod:`flexcoord.coordination.conflicts`) and handled by the
scheme's rule (:func:`conflict_rule`); the DSO markets' awards stand as cleared. A scheme with
primacy rules (``SchemeConfig.primacy``, the ESO's MW Dispatch) has its conflicts decided by them
instead (:mod:`flexcoord.coordination.primacy`): there a DSO award may lose to the ESO's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import shift_constraints
from flexcoord.coordination.config import DsoGridInTsoMarket, SchemeConfig
from flexcoord.coordination.conflicts import (
    AwardInfo,
    Conflict,
    ConflictKind,
    ConflictRule,
    resolve_conflicts,
)
from flexcoord.coordination.identities import Dispatch, DispatchKey, MarketKind, Mtu, summed
from flexcoord.coordination.markets import MarketsState, SchemeContext
from flexcoord.coordination.primacy import PrimacyDecision, PrimacyRules, Winner, resolve_primacy
from flexcoord.domain import Direction

FloatArray = NDArray[np.float64]

__all__ = ["FinalDispatch", "conflict_rule", "dso_dispatch", "final_dispatch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalDispatch:
    """A run's awards after the conflict rule (MW per root bid and MTU, zeros dropped) and the
    conflicts found on the way; with primacy rules, how they decided each (``primacy``)."""

    accepted_mw: Mapping[DispatchKey, float]
    conflicts: tuple[Conflict, ...]
    primacy: tuple[PrimacyDecision, ...] = ()


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
    if ctx.config.primacy is not None:
        return _primacy_dispatch(ctx, tso_acc, dso_acc, ctx.config.primacy)
    overloads = _dso_overloads(ctx, dso_acc, set(ctx.tso_areas))
    volumes, conflicts = resolve_conflicts(
        {k: _award_info(ctx, k, v) for k, v in tso_acc.items()},
        {k: _award_info(ctx, k, v) for k, v in dso_acc.items()},
        conflict_rule(ctx.config),
        overloads.overload if overloads is not None else _no_overload,
        tso_areas=frozenset(ctx.tso_areas),
        scaled_overload=overloads.scaled if overloads is not None else None,
    )
    final = dict(dso_acc)
    for key, mw in volumes.items():
        final[key] = final.get(key, 0.0) + mw
    return FinalDispatch(
        accepted_mw={k: v for k, v in final.items() if v > 0.0}, conflicts=conflicts
    )


def _primacy_dispatch(
    ctx: SchemeContext, tso_acc: Dispatch, dso_acc: Dispatch, rules: PrimacyRules
) -> FinalDispatch:
    """The final dispatch under primacy rules: the ESO's awards in DSO areas against the DSO's
    awards and limits; each decision also recorded as a :class:`Conflict` (``block``: the ESO's
    instruction refused, ``curtail``: scaled down, ``flag``: it stands)."""
    tso_areas = set(ctx.tso_areas)
    eso = {k: _award_info(ctx, k, v) for k, v in tso_acc.items()}
    in_dso = {k: v for k, v in eso.items() if v.area_id not in tso_areas}
    overloads = _dso_overloads(ctx, dso_acc, tso_areas)
    resolved = resolve_primacy(
        in_dso,
        {k: _award_info(ctx, k, v) for k, v in dso_acc.items()},
        price_eur_per_mwh={
            k.root: ctx.bids_by_root[k.root].activation_price_eur_per_mwh or 0.0
            for k in (*tso_acc, *dso_acc)
        },
        hours=ctx.joint.mtu_duration_h,
        rules=rules,
        dso_overload=overloads.overload if overloads is not None else _no_overload,
        scaled_overload=overloads.scaled if overloads is not None else None,
    )
    final = dict(resolved.dso_mw)
    for key, mw in tso_acc.items():  # the ESO's awards in DSO areas as the rules decided
        final[key] = final.get(key, 0.0) + resolved.eso_mw.get(key, mw)
    groups: dict[tuple[object, ...], list[PrimacyDecision]] = defaultdict(list)
    # as resolve_conflicts counts: one DSO-limit conflict per area and MTU
    for d in resolved.decisions:
        same = (d.eso.bid_id,) if d.kind is ConflictKind.DOUBLE_ACTIVATION else ()
        groups[(d.kind, d.area_id, d.mtu, *same)].append(d)
    conflicts = tuple(_as_conflict(group) for group in groups.values())
    return FinalDispatch(
        accepted_mw={k: v for k, v in final.items() if v > 0.0},
        conflicts=conflicts,
        primacy=resolved.decisions,
    )


def _as_conflict(decisions: list[PrimacyDecision]) -> Conflict:
    """Primacy decisions of one conflict (a shared DER; or a DSO limit in one area and MTU, one
    decision per ESO instruction) as the conflict record every scheme reports and the KPIs
    count."""
    first = decisions[0]
    after = sum(d.eso_mw_after for d in decisions)
    action = (
        ConflictRule.FLAG
        if first.winner is Winner.ESO
        else ConflictRule.BLOCK
        if after <= 0.0
        else ConflictRule.CURTAIL
    )
    return Conflict(
        kind=first.kind,
        area_id=first.area_id,
        mtu=first.mtu,
        tso_bid_ids=tuple(sorted(d.eso.bid_id for d in decisions)),
        action=action,
        tso_mw_before=sum(d.eso.mw for d in decisions),
        tso_mw_after=after,
        reason=f"primacy {first.rule}, {first.winner} wins: {first.reason}",
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


def _no_overload(_: Mapping[DispatchKey, float]) -> dict[tuple[str, Mtu], float]:
    return {}


def _dso_overloads(
    ctx: SchemeContext, dso_acc: Dispatch, tso_areas: set[str]
) -> _DsoOverloads | None:
    """The overloads the TSO's volumes add on the DSO areas' branches (``None``: no DSO area)."""
    dist_areas = [a for a in ctx.joint.all_areas if a not in tso_areas]
    return _DsoOverloads(ctx, dso_acc, dist_areas) if dist_areas else None


class _DsoOverloads:
    """The overloads the TSO's volumes add to the DSO markets' dispatch on the DSO branches.

    The DSO-only flows are computed once. :meth:`overload` is the
    :data:`~flexcoord.coordination.conflicts.DsoOverload` of the whole dispatch (one PTDF product
    over every MTU); :meth:`scaled` the
    :data:`~flexcoord.coordination.conflicts.ScaledOverload` of one (area, MTU): the flows there
    are linear in the scaling ``s`` of the curtailed awards, ``f(s) = f_others + s · f_keys``,
    so each bisection step is a few vector operations on that area's branches in that MTU, and
    gives the figure :meth:`overload` gives (up to the order of floating-point additions).
    """

    def __init__(self, ctx: SchemeContext, dso_acc: Dispatch, dist_areas: list[str]) -> None:
        j = ctx.joint
        self.joint = j
        gc = j.views.constraints(dist_areas)
        self.gc = gc
        self.base = shift_constraints(
            gc, j.grid_map.real_bus_ids, *j.injections(dso_acc)
        ).base_flow_mw
        self.lim = (1.0 - gc.safety_margin) * gc.limit_mw[:, None]
        self.over_before = np.maximum(np.abs(self.base) - self.lim, 0.0)
        columns = {int(b): i for i, b in enumerate(gc.bus_ids)}
        cols = np.array([columns.get(int(b), -1) for b in j.grid_map.real_bus_ids], dtype=np.int64)
        self.known = cols >= 0
        self.cols = cols[self.known]
        areas = ctx.scenario.grid.asset_areas()
        self.branch_area = [areas[n] for n in gc.branch_names]
        self.mtus = [Mtu(iv.start) for iv in gc.intervals]
        self.mtu_column = {m: t for t, m in enumerate(self.mtus)}

    def _bus_injections(self, tso_vol: Mapping[DispatchKey, float]) -> FloatArray:
        """``(n_constraint_bus, T)`` active injections of TSO volumes."""
        p_mw, _ = self.joint.injections(tso_vol)
        inj = np.zeros((len(self.gc.bus_ids), p_mw.shape[1]))
        np.add.at(inj, self.cols, p_mw[self.known])
        return inj

    def overload(self, tso_vol: Mapping[DispatchKey, float]) -> dict[tuple[str, Mtu], float]:
        """MW above the margined limits, beyond the DSO dispatch's own, per (DSO area, MTU)."""
        after = self.base + self.gc.ptdf @ self._bus_injections(tso_vol)
        extra = np.maximum(np.maximum(np.abs(after) - self.lim, 0.0) - self.over_before, 0.0)
        out: dict[tuple[str, Mtu], float] = defaultdict(float)
        rows, ts = np.nonzero(extra > 1e-9)
        for r, t in zip(rows.tolist(), ts.tolist(), strict=True):
            out[(self.branch_area[r], self.mtus[t])] += float(extra[r, t])
        return dict(out)

    def scaled(
        self,
        tso_vol: Mapping[DispatchKey, float],
        keys: list[DispatchKey],
        where: tuple[str, Mtu],
    ) -> Callable[[float], float]:
        """``s →`` :meth:`overload` at ``where`` with ``keys`` scaled by ``s``."""
        area, mtu = where
        t = self.mtu_column[mtu]
        rows = np.array([r for r, a in enumerate(self.branch_area) if a == area], dtype=np.int64)
        scaled = set(keys)
        others = {k: v for k, v in tso_vol.items() if k.mtu == mtu and k not in scaled}
        ptdf = self.gc.ptdf[rows]
        flow_others = self.base[rows, t] + ptdf @ self._bus_injections(others)[:, t]
        flow_keys = ptdf @ self._bus_injections({k: tso_vol[k] for k in keys})[:, t]
        lim = self.lim[rows, 0]
        over_before = self.over_before[rows, t]

        def at(scale: float) -> float:
            after = flow_others + scale * flow_keys
            extra = np.maximum(np.maximum(np.abs(after) - lim, 0.0) - over_before, 0.0)
            return sum(extra[extra > 1e-9].tolist(), 0.0)

        return at
