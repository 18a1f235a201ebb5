"""Industry4Redispatch in a scheme run: the TSO picks one Pareto-optimal combination (L1047).

Seed: "The platform receives the bids [...] and solves an optimization problem to identify a set of
pareto optimal bid combinations. It provides these aggregation results to the TSO who can select
the most suitable one for redispatch" (L1047), computed on the DSO's simplified (linearised) model
with safety margins (L1061, L1067). The market model ``pareto_set``:

* for every DSO area, MTU in which the TSO has a need and direction of that need, the forwarded
  bids of that direction are treated as **indivisible** and the area's Pareto front of feasible
  combinations (min cost, max power, XOR-free) is computed by
  :func:`~flexcoord.coordination.aggregation.pareto_front` on the area's linear model with the
  scenario's safety margin, rebased on the MTU's base case;
* each front point becomes one indivisible bid of the area's virtual unit at its coupling point:
  quantity = the point's linear interface delivery, price = the combination's cost per MWh
  delivered; the points of one area, MTU and direction form one exclusive (XOR) set;
* the TSO's market clears them with its own bids and grid (cost + priced shortfall, a MILP): at
  most one point per area and MTU, whole, never a combination outside the set; the accepted point
  expands to its bids at their full quantities.

Choices where the seed is silent: at most :data:`MAX_BIDS_PER_FRONT` bids per front (the
cheapest per MWh, then by id; the enumeration grows as 2ⁿ); the AC check of
:func:`pareto_front` is skipped (the linear check with the margin is what the platform forwards;
the run's AC KPIs report the outcome); only the TSO's need MTUs and directions are computed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flexcoord.coordination.aggregation import DsoLinearModel, ParetoResult, pareto_front
from flexcoord.coordination.aggregation.cascade import (
    CASCADE_FSP_ID,
    virtual_unit_id,
    with_virtual_units,
)
from flexcoord.coordination.cascade_offers import scenario_cascade
from flexcoord.coordination.identities import BidInMtu, Mtu
from flexcoord.coordination.markets import MarketsState, SchemeContext, shifted_forecast
from flexcoord.domain import Bid, Direction, Interval, Register

__all__ = ["MAX_BIDS_PER_FRONT", "ParetoOffers", "build_pareto_offers", "pareto_offers"]

MAX_BIDS_PER_FRONT = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class ParetoOffers:
    """The areas' Pareto points as indivisible, mutually exclusive bids.

    Attributes:
        register: The register knowing the areas' virtual units.
        bids: One bid per front point (every area, MTU and direction).
        points: Point bid id → MW of each (forwarded) bid of its combination.
        fronts: ``(area, MTU start, direction) →`` the enumeration behind the points.
    """

    register: Register
    bids: tuple[Bid, ...]
    points: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    fronts: Mapping[tuple[str, Mtu, Direction], ParetoResult] = field(default_factory=dict)

    def is_offer(self, bid_id: str) -> bool:
        """Whether ``bid_id`` is a Pareto point."""
        return bid_id in self.points

    def behind(self, bid_id: str) -> tuple[str, ...]:
        """The bids of the point's combination, or ``()``."""
        return tuple(self.points.get(bid_id, {}))

    def expand(self, accepted: Mapping[BidInMtu, float]) -> dict[BidInMtu, float]:
        """An accepted point → its combination's bids at their full quantities (a point is
        indivisible; a fraction, which the clearing does not give, would scale them)."""
        quantity = {b.id: b.quantities[0].quantity for b in self.bids}
        out: dict[BidInMtu, float] = defaultdict(float)
        for key, mw in accepted.items():
            combination = self.points.get(key.bid_id)
            if combination is None:
                continue
            share = min(mw / quantity[key.bid_id], 1.0)
            for bid_id, bid_mw in combination.items():
                out[BidInMtu(bid_id, key.mtu)] += share * bid_mw
        return dict(out)


def pareto_offers(
    ctx: SchemeContext, state: MarketsState, forwarded: Sequence[Bid]
) -> ParetoOffers:
    """The forwarded bids' Pareto points per DSO area, MTU and direction of a TSO need, on the
    base case moved by the dispatch so far (the stage of the ``pareto_set`` market model)."""
    s = ctx.scenario
    wanted = {
        (q.interval, need.direction)
        for need in ctx.needs_of(ctx.tso_ids)
        for q in need.quantities
        if q.quantity > 0
    }
    by_area: dict[str, list[Bid]] = defaultdict(list)
    for bid in forwarded:
        by_area[ctx.area_of(bid, state.ledger)].append(bid)
    areas = sorted(set(by_area) - set(ctx.tso_areas))
    models = ctx.joint.dso_models.models(areas)
    register = with_virtual_units(s.register, scenario_cascade(ctx, areas))
    forecast = shifted_forecast(ctx, state)
    fronts: list[FrontRequest] = []
    rows = {area: forecast.branch_rows(models[area].branch_names) for area in areas}
    for t, interval in enumerate(s.intervals):
        directions = [d for d in (Direction.UP, Direction.DOWN) if (interval, d) in wanted]
        if not directions:
            continue
        for area in areas:
            at_t = models[area].with_branch_flows(forecast.branch_flow_mw[rows[area], t])
            fronts += [(at_t, by_area[area], interval, d) for d in directions]
    return build_pareto_offers(register, fronts)


FrontRequest = tuple[DsoLinearModel, Sequence[Bid], Interval, Direction]
"""One front to compute: an area's model at the MTU, candidate bids, the MTU, the direction."""


def build_pareto_offers(register: Register, fronts: Sequence[FrontRequest]) -> ParetoOffers:
    """The Pareto points of each requested front as bids of the area's virtual unit
    (``register`` must know it: :func:`~flexcoord.coordination.aggregation.cascade.
    with_virtual_units`); module docstring for quantities, prices and the XOR sets."""
    builder = _Builder(register=register)
    for model, bids, interval, direction in fronts:
        builder.add(model, bids, interval, direction)
    return builder.offers()


@dataclass(slots=True, kw_only=True)
class _Builder:
    """Collects the point bids of every front (a local accumulator, never returned)."""

    register: Register
    bids: list[Bid] = field(default_factory=list)
    points: dict[str, dict[str, float]] = field(default_factory=dict)
    fronts: dict[tuple[str, Mtu, Direction], ParetoResult] = field(default_factory=dict)

    def add(
        self, model: DsoLinearModel, bids: Sequence[Bid], interval: Interval, direction: Direction
    ) -> None:
        """The front of ``bids`` of ``direction`` in ``interval`` on ``model``, as point bids."""
        pool = _cheapest(bids, interval, direction)
        if not pool:
            return
        result = pareto_front(model, pool, self.register, at=interval.start, check_ac=False)
        self.fronts[(model.area_id, Mtu(interval.start), direction)] = result
        stamp = interval.start.strftime("%Y%m%dT%H%M")
        xor = f"pareto:{model.area_id}:{direction.value}@{stamp}"
        quantity = {b.id: _quantity(b, interval) for b in pool}
        for k, row in enumerate(result.front.tolist()):
            delivered = float(result.interface_mw[row])
            if delivered <= 1e-6:
                continue
            chosen = [result.bid_ids[j] for j in result.accepted[row].nonzero()[0].tolist()]
            point = Bid(
                id=f"{xor}#{k}",
                fsp_id=CASCADE_FSP_ID,
                resource_id=virtual_unit_id(model.area_id),
                product_id=pool[0].product_id,
                direction=direction,
                quantities=({"interval": interval, "quantity": delivered},),  # type: ignore[arg-type]
                submitted_at=min(b.submitted_at for b in pool),
                activation_price_eur_per_mwh=float(result.cost_eur[row]) / delivered,
                divisible=False,
                exclusive_set=xor,
            )
            self.bids.append(point)
            self.points[point.id] = {b: quantity[b] for b in chosen}

    def offers(self) -> ParetoOffers:
        """What was collected."""
        return ParetoOffers(
            register=self.register,
            bids=tuple(self.bids),
            points=dict(self.points),
            fronts=dict(self.fronts),
        )


def _quantity(bid: Bid, interval: Interval) -> float:
    return next(q.quantity for q in bid.quantities if q.interval == interval)


def _cheapest(bids: Sequence[Bid], interval: Interval, direction: Direction) -> list[Bid]:
    """The bids of ``direction`` offering in ``interval``, at most :data:`MAX_BIDS_PER_FRONT`,
    cheapest first (then by id)."""
    pool = [
        b
        for b in bids
        if b.direction is direction
        and any(q.interval == interval and q.quantity > 0 for q in b.quantities)
    ]
    pool.sort(key=lambda b: (b.activation_price_eur_per_mwh or 0.0, b.id))
    return pool[:MAX_BIDS_PER_FRONT]
