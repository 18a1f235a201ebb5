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
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from flexcoord.coordination.aggregation import (
    DsoLinearModel,
    OfferCurve,
    aggregate_unit,
    aggregated_offer_curve,
    build_dso_model,
)
from flexcoord.coordination.aggregation.linear_program import new_highs
from flexcoord.coordination.identities import BidInMtu, Mtu
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    Direction,
    FlexibilityServiceProvider,
    Interval,
    Register,
    Unit,
)

if TYPE_CHECKING:
    from flexcoord.grid.areas import DsoArea
    from flexcoord.grid.forecast import OperatingForecast
    from flexcoord.grid.model import GridModel

__all__ = [
    "AggregatedOffers",
    "InterfaceBasis",
    "InterfaceOffers",
    "bids_by_interval",
    "build_interface_offers",
    "dso_models",
]


class AggregatedOffers(Protocol):
    """What a TSO market is offered besides individual bids: bids of virtual units standing for
    DSO bids behind them, and how an accepted volume goes back to those bids
    (:class:`InterfaceOffers`; :class:`~flexcoord.coordination.cascade_offers.CascadeOffers`,
    :class:`~flexcoord.coordination.pareto_offers.ParetoOffers`)."""

    @property
    def register(self) -> Register:
        """The register knowing the virtual units."""
        ...

    @property
    def bids(self) -> tuple[Bid, ...]:
        """The offers, as bids of the virtual units."""
        ...

    def is_offer(self, bid_id: str) -> bool:
        """Whether ``bid_id`` is one of :attr:`bids`."""
        ...

    def behind(self, bid_id: str) -> tuple[str, ...]:
        """The (forwarded) bids an offer stands for, or ``()`` for any other bid."""
        ...

    def expand(self, accepted: Mapping[BidInMtu, float]) -> dict[BidInMtu, float]:
        """Accepted offer volumes → volumes of the bids behind them (per MTU)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceOffers:
    """The aggregated offers of the DSO areas, the register that knows their virtual units, and
    the curves needed to expand accepted volumes back to the bids behind them."""

    register: Register
    bids: tuple[Bid, ...]
    curves: Mapping[str, OfferCurve] = field(default_factory=dict)  # step bid id → its curve

    def merged(self, other: InterfaceOffers) -> InterfaceOffers:
        """These offers and ``other``'s (built on this register), in that order."""
        return InterfaceOffers(
            register=other.register,
            bids=(*self.bids, *other.bids),
            curves={**self.curves, **other.curves},
        )

    def is_offer(self, bid_id: str) -> bool:
        """Whether ``bid_id`` is an interface step."""
        return bid_id in self.curves

    def behind(self, bid_id: str) -> tuple[str, ...]:
        """The (forwarded) bids behind an interface step, or ``()`` for any other bid."""
        curve = self.curves.get(bid_id)
        return () if curve is None else curve.bid_ids

    def expand(self, accepted: Mapping[BidInMtu, float]) -> dict[BidInMtu, float]:
        """Accepted interface-step volumes → volumes of the bids behind them (per MTU)."""
        per_curve: dict[tuple[int, Mtu], float] = defaultdict(float)
        curve_of: dict[int, OfferCurve] = {}
        for key, mw in accepted.items():
            curve = self.curves.get(key.bid_id)
            if curve is None:
                continue
            per_curve[(id(curve), key.mtu)] += mw
            curve_of[id(curve)] = curve
        out: dict[BidInMtu, float] = defaultdict(float)
        for (cid, mtu), volume in per_curve.items():
            for bid_id, mw in _allocation(curve_of[cid], volume).items():
                out[BidInMtu(bid_id, mtu)] += mw
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


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceBasis:
    """What aggregation needs of the grid: the linear model of each DSO area, the scenario's MTUs
    and the base case per MTU (its branch flows replace the model's operating point flows MTU by
    MTU; the sensitivities stay those of the model's operating point).

    Attributes:
        grid: the :class:`~flexcoord.grid.model.GridModel`.
        models: the linear model of each DSO area (:func:`dso_models`).
        intervals: the scenario's MTUs.
        forecast: the base case per MTU.
        levels: quantity levels per curve.
    """

    grid: GridModel
    models: Mapping[str, DsoLinearModel]
    intervals: tuple[Interval, ...]
    forecast: OperatingForecast
    levels: int = 6


def build_interface_offers(
    register: Register, basis: InterfaceBasis, bids: Sequence[Bid], *, dso_id: str
) -> InterfaceOffers:
    """Aggregate ``bids`` (already forwarded, of DSO ``dso_id``, which acts as the virtual units'
    FSP) per area, MTU and direction; the register returned knows the virtual units."""
    by_area: dict[str, list[Bid]] = defaultdict(list)
    for bid in bids:
        first = register.units_of(bid.resource_id)[0]
        by_area[register.connection_point(first.connection_point_id).area_id].append(bid)
    fsp = FlexibilityServiceProvider(
        id=f"fsp:{dso_id}:interface", name=f"{dso_id} interface offers"
    )
    offerer = _Offerer(
        fsp_id=fsp.id, submitted_at=min((b.submitted_at for b in bids), default=None)
    )
    points: list[ConnectionPoint] = []
    units: list[Unit] = []
    out_bids: list[Bid] = []
    curves: dict[str, OfferCurve] = {}
    for area_id, area_bids in sorted(by_area.items()):
        model = basis.models.get(area_id)
        if model is None or not model.coupling_point_ids:
            continue
        area_curves = _area_curves(register, basis, model, area_bids, offerer)
        unit = _virtual_unit(basis, model, [curve for curve, _ in area_curves], offerer)
        if unit is None:
            continue
        points.append(unit[0])
        units.append(unit[1])
        for curve, steps in area_curves:
            out_bids += steps
            curves |= {step.id: curve for step in steps}
    extended = dataclasses.replace(
        register,
        fsps=(*register.fsps, fsp) if units else register.fsps,
        connection_points=(*register.connection_points, *points),
        units=(*register.units, *units),
    )
    return InterfaceOffers(register=extended, bids=tuple(out_bids), curves=curves)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Offerer:
    """Who forwards the aggregated offers (the DSO's interface FSP) and when (its earliest
    forwarded bid's submission; ``None``: at each MTU's start)."""

    fsp_id: str
    submitted_at: datetime | None


def _resource(model: DsoLinearModel) -> str:
    return f"interface:{model.area_id}"


def bids_by_interval(bids: Sequence[Bid]) -> dict[Interval, list[Bid]]:
    """The bids offering in each MTU, in the bids' order (one pass over their quantities)."""
    out: dict[Interval, list[Bid]] = {}
    for b in bids:
        for interval in dict.fromkeys(q.interval for q in b.quantities):
            out.setdefault(interval, []).append(b)
    return out


def _area_curves(
    register: Register,
    basis: InterfaceBasis,
    model: DsoLinearModel,
    bids: Sequence[Bid],
    offerer: _Offerer,
) -> list[tuple[OfferCurve, list[Bid]]]:
    """One DSO area's curves per MTU and direction (in that order), each with its steps as bids
    of the area's virtual unit."""
    out: list[tuple[OfferCurve, list[Bid]]] = []
    rows = basis.forecast.branch_rows(model.branch_names)
    by_interval = bids_by_interval(bids)
    highs = new_highs()  # one instance for the area's curves
    for t, interval in enumerate(basis.intervals):
        in_mtu = by_interval.get(interval, [])
        if not in_mtu:
            continue
        at_t = model.with_branch_flows(basis.forecast.branch_flow_mw[rows, t])
        for direction in (Direction.UP, Direction.DOWN):
            pool = [b for b in in_mtu if b.direction == direction]
            if not pool:
                continue
            curve = aggregated_offer_curve(
                at_t,
                pool,
                register,
                direction=direction,
                levels=basis.levels,
                at=interval.start,
                highs=highs,
            )
            as_bids = curve.as_bids(
                fsp_id=offerer.fsp_id,
                product_id=pool[0].product_id,
                interval=interval,
                submitted_at=offerer.submitted_at or interval.start,
                resource_id=_resource(model),
                id_suffix=interval.start.strftime("@%Y%m%dT%H%M"),  # step ids unique per MTU
            )
            out.append((curve, list(as_bids)))
    return out


def _virtual_unit(
    basis: InterfaceBasis,
    model: DsoLinearModel,
    curves: Sequence[OfferCurve],
    offerer: _Offerer,
) -> tuple[ConnectionPoint, Unit] | None:
    """The area's virtual unit at its (first) coupling point, its range the largest curve of
    each direction; ``None`` when the area can offer nothing."""
    largest = {Direction.UP: 0.0, Direction.DOWN: 0.0}
    for curve in curves:
        largest[curve.direction] = max(largest[curve.direction], curve.max_quantity_mw)
    if largest[Direction.UP] + largest[Direction.DOWN] <= 0:
        return None
    cp_id = sorted(model.coupling_point_ids)[0]
    lv_bus = next(
        cp.lv_bus
        for cp in basis.grid.areas.dso_area(model.area_id).coupling_points
        if cp.id == cp_id
    )
    return aggregate_unit(
        _resource(model),
        fsp_id=offerer.fsp_id,
        bus=lv_bus,
        area_id=model.area_id,
        down_mw=largest[Direction.DOWN],
        up_mw=largest[Direction.UP],
        coupling_point_id=cp_id,
    )


def dso_models(
    grid: GridModel,
    area_ids: Sequence[str | DsoArea],
    *,
    safety_margin: float,
    limit_overrides_mw: Mapping[str, float],
    voltages: bool,
) -> dict[str, DsoLinearModel]:
    """The linear model of each DSO area (one power-grid-model batch each), with the scenario's
    limit overrides (MW taken as MVA) and, for a thermal-only scenario, an open voltage band; an
    area is named by id or given as a :class:`~flexcoord.grid.areas.DsoArea` (a cascade level
    the grid's split does not have), keyed by its id."""
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
        out[model.area_id] = dataclasses.replace(model, **changes)
    return out
