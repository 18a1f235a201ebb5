"""Forwarding a DSO area's bids to the TSO as one aggregated offer per coupling point, and back.

The Polish demonstrator's design (seed L657–L659) and SmartNet's local scheme: the DSO forwards
not its FSPs' bids but "an equivalent balancing offer at the TSO–DSO coupling point that adheres to
DSO network restrictions". For every DSO area, MTU and direction,
:func:`~flexcoord.coordination.aggregation.aggregated_offer_curve` builds the price–quantity
curve of the area's forwarded bids under the area's linear model; its steps become bids of a
virtual :attr:`~flexcoord.domain.Technology.AGGREGATE` unit at the area's coupling point (each step
linked to the one before, so they clear in merit order). After the TSO's clearing,
:meth:`InterfaceOffers.expand` turns the accepted interface volume back into the volumes of the
bids behind it (the curve's allocation at that volume, interpolated within the step) — the
disaggregation of Redispatch 3.0, on the same linear model.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flexcoord.coordination.aggregation import (
    DsoLinearModel,
    OfferCurve,
    aggregated_offer_curve,
    build_dso_model,
)
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    Direction,
    FlexibilityServiceProvider,
    Interval,
    Register,
    Technology,
    Unit,
)

__all__ = ["InterfaceOffers", "build_interface_offers"]

Key = tuple[str, str]  # (bid id, MTU label)


@dataclass(slots=True)
class InterfaceOffers:
    """The aggregated offers of the DSO areas, the register that knows their virtual units, and
    the curves needed to expand accepted volumes back to the bids behind them."""

    register: Register
    bids: tuple[Bid, ...]
    curves: dict[str, tuple[OfferCurve, int]] = field(default_factory=dict)  # step bid id → curve

    def expand(self, accepted: Mapping[Key, float]) -> dict[Key, float]:
        """Accepted interface-step volumes → volumes of the bids behind them (per MTU)."""
        per_curve: dict[tuple[int, str], float] = defaultdict(float)
        curve_of: dict[int, OfferCurve] = {}
        for (bid_id, mtu), mw in accepted.items():
            if bid_id not in self.curves:
                continue
            curve, _ = self.curves[bid_id]
            per_curve[(id(curve), mtu)] += mw
            curve_of[id(curve)] = curve
        out: dict[Key, float] = defaultdict(float)
        for (cid, mtu), volume in per_curve.items():
            for bid_id, mw in _allocation(curve_of[cid], volume).items():
                out[(bid_id, mtu)] += mw
        return dict(out)


def _allocation(curve: OfferCurve, volume: float) -> dict[str, float]:
    """The curve's allocation to its bids at interface ``volume`` (linear within a step)."""
    previous: Mapping[str, float] = {}
    start = 0.0
    for step in curve.steps:
        if volume <= step.cumulative_mw + 1e-9 or step is curve.steps[-1]:
            span = step.cumulative_mw - start
            share = 1.0 if span <= 1e-12 else min(max((volume - start) / span, 0.0), 1.0)
            ids = sorted(set(previous) | set(step.allocation_mw))
            return {
                b: previous.get(b, 0.0)
                + share * (step.allocation_mw.get(b, 0.0) - previous.get(b, 0.0))
                for b in ids
                if previous.get(b, 0.0)
                + share * (step.allocation_mw.get(b, 0.0) - previous.get(b, 0.0))
                > 1e-9
            }
        previous, start = step.allocation_mw, step.cumulative_mw
    return {}


def build_interface_offers(
    register: Register,
    grid: Any,
    models: Mapping[str, DsoLinearModel],
    bids: Sequence[Bid],
    intervals: Sequence[Interval],
    *,
    dso_id: str,
    forecast: Any,
    levels: int = 6,
) -> InterfaceOffers:
    """Aggregate ``bids`` (already forwarded, of DSO ``dso_id``) per area, MTU and direction.

    Args:
        register: the scenario's register (extended with the virtual units, returned).
        grid: the :class:`~flexcoord.grid.model.GridModel`.
        models: the linear model of each DSO area of ``dso_id`` (:func:`dso_models`).
        bids: the forwarded bids.
        intervals: the scenario's MTUs.
        dso_id: the forwarding DSO (acts as the virtual units' FSP).
        forecast: the base case per MTU (its branch flows replace the model's operating point
            flows MTU by MTU; the sensitivities stay those of the model's operating point).
        levels: quantity levels per curve.
    """
    by_area: dict[str, list[Bid]] = defaultdict(list)
    for bid in bids:
        first = register.units_of(bid.resource_id)[0]
        by_area[register.connection_point(first.connection_point_id).area_id].append(bid)
    fsp = FlexibilityServiceProvider(
        id=f"fsp:{dso_id}:interface", name=f"{dso_id} interface offers"
    )
    points: list[ConnectionPoint] = []
    units: list[Unit] = []
    out_bids: list[Bid] = []
    curves: dict[str, tuple[OfferCurve, int]] = {}
    submitted = min((b.submitted_at for b in bids), default=None)
    for area_id, area_bids in sorted(by_area.items()):
        model = models.get(area_id)
        if model is None or not model.coupling_point_ids:
            continue
        resource = f"interface:{area_id}"
        up_total = down_total = 0.0
        rows = forecast.branch_rows(model.branch_names)
        for t, interval in enumerate(intervals):
            in_mtu = [b for b in area_bids if any(q.interval == interval for q in b.quantities)]
            if not in_mtu:
                continue
            at_t = dataclasses.replace(model, p_from_mw=forecast.branch_flow_mw[rows, t])
            for direction in (Direction.UP, Direction.DOWN):
                pool = [b for b in in_mtu if b.direction == direction]
                if not pool:
                    continue
                curve = aggregated_offer_curve(
                    at_t, pool, register, direction=direction, levels=levels, at=interval.start
                )
                steps = curve.as_bids(
                    fsp_id=fsp.id,
                    product_id=pool[0].product_id,
                    interval=interval,
                    submitted_at=submitted or interval.start,
                    resource_id=resource,
                )
                stamp = interval.start.strftime("%Y%m%dT%H%M")
                renamed = _renamed(steps, stamp)
                for k, step_bid in enumerate(renamed):
                    curves[step_bid.id] = (curve, k)
                out_bids.extend(renamed)
                if direction == Direction.UP:
                    up_total = max(up_total, curve.max_quantity_mw)
                else:
                    down_total = max(down_total, curve.max_quantity_mw)
        if up_total + down_total <= 0:
            continue
        cp_id = sorted(model.coupling_point_ids)[0]
        lv_bus = next(
            cp.lv_bus for cp in grid.areas.dso_area(area_id).coupling_points if cp.id == cp_id
        )
        points.append(
            ConnectionPoint(
                id=f"cp:{resource}", bus=lv_bus, area_id=area_id, coupling_point_id=cp_id
            )
        )
        units.append(
            Unit(
                id=resource,
                fsp_id=fsp.id,
                connection_point_id=f"cp:{resource}",
                technology=Technology.AGGREGATE,
                p_min_mw=-down_total - 1e-6,
                p_max_mw=up_total + 1e-6,
            )
        )
    extended = dataclasses.replace(
        register,
        fsps=(*register.fsps, fsp) if units else register.fsps,
        connection_points=(*register.connection_points, *points),
        units=(*register.units, *units),
    )
    return InterfaceOffers(register=extended, bids=tuple(out_bids), curves=curves)


def _renamed(steps: Sequence[Bid], stamp: str) -> list[Bid]:
    """Make step ids unique per MTU (the curve names them per area and direction only)."""
    out: list[Bid] = []
    for bid in steps:
        out.append(
            dataclasses.replace(
                bid,
                id=f"{bid.id}@{stamp}",
                parent_bid_id=None if bid.parent_bid_id is None else f"{bid.parent_bid_id}@{stamp}",
            )
        )
    return out


def dso_models(
    grid: Any,
    area_ids: Sequence[str],
    *,
    safety_margin: float,
    limit_overrides_mw: Mapping[str, float],
    voltages: bool,
) -> dict[str, DsoLinearModel]:
    """The linear model of each DSO area (one power-grid-model batch each), with the scenario's
    limit overrides (MW taken as MVA) and, for a thermal-only scenario, an open voltage band."""
    out = {}
    for area in area_ids:
        model = build_dso_model(grid, area, safety_margin=safety_margin)
        # An override is an active-power limit (what the markets' PTDF rows check); the model
        # limits apparent power, so the override becomes the circle through (limit, Q at the
        # operating point): a branch the DSO market relieved to exactly its P limit is then at,
        # not beyond, the model's limit.
        s_max = np.array(
            [
                float(np.hypot(limit_overrides_mw[n], q)) if n in limit_overrides_mw else s
                for n, s, q in zip(
                    model.branch_names,
                    model.s_max_mva.tolist(),
                    model.q_from_mvar.tolist(),
                    strict=True,
                )
            ]
        )
        changes: dict[str, Any] = {"s_max_mva": s_max}
        if not voltages:
            changes |= {
                "vm_min_pu": np.full_like(model.vm_min_pu, 0.01),
                "vm_max_pu": np.full_like(model.vm_max_pu, 10.0),
            }
        out[area] = dataclasses.replace(model, **changes)
    return out
