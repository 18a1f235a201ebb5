"""The Redispatch 3.0 cascade in a scheme run: potentials to the TSO market, targets back down.

The market model ``cascade`` (:mod:`flexcoord.coordination.market_models`) forwards each DSO's
unused bids as in ``local``; instead of one offer curve per area, the bids are aggregated up the
operator cascade (:func:`~flexcoord.coordination.aggregation.aggregate_cascade`) per MTU and
direction, on the base case moved by the dispatch so far, and the TSO's market is offered the
potentials of the nodes connected to it. The volume it accepts of a node is that node's target,
disaggregated down the cascade (:func:`~flexcoord.coordination.aggregation.disaggregate_cascade`)
onto the forwarded bids before the ledger records it.

The cascade of a scheme run follows the scenario's own TSO/DSO split: each DSO area is one node
below the TSO (two levels; the scenario's TSO area holds the HV grid). A deeper hierarchy
(TSO → HV DSO → MV DSO) is :func:`~flexcoord.coordination.aggregation.cascade_of` with a higher
``tso_min_vn_kv``, run directly on the aggregation functions.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flexcoord.coordination.aggregation import (
    Cascade,
    CascadePotential,
    DsoLinearModel,
    aggregate_cascade,
    disaggregate_cascade,
)
from flexcoord.coordination.aggregation.cascade import CascadeNode
from flexcoord.coordination.identities import BidInMtu, Mtu
from flexcoord.coordination.interface import InterfaceBasis
from flexcoord.coordination.markets import MarketsState, SchemeContext, shifted_forecast
from flexcoord.domain import Bid, Direction, Register

__all__ = ["CascadeOffers", "build_cascade_offers", "cascade_offers", "scenario_cascade"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeOffers:
    """The top nodes' potentials as bids, with what is needed to disaggregate an award.

    Attributes:
        register: The register knowing the nodes' virtual units.
        bids: The potentials' steps offered to the TSO (every MTU and direction).
        potentials: Step bid id → its MTU's and direction's potential and the models it used.
    """

    register: Register
    bids: tuple[Bid, ...]
    potentials: Mapping[str, tuple[CascadePotential, Mapping[str, DsoLinearModel]]] = field(
        default_factory=dict
    )

    def is_offer(self, bid_id: str) -> bool:
        """Whether ``bid_id`` is a potential's step."""
        return bid_id in self.potentials

    def behind(self, bid_id: str) -> tuple[str, ...]:
        """The forwarded bids the step's node aggregated (its subtree's), or ``()``."""
        entry = self.potentials.get(bid_id)
        if entry is None:
            return ()
        return entry[0].behind(_node_of(entry[0], bid_id))

    def expand(self, accepted: Mapping[BidInMtu, float]) -> dict[BidInMtu, float]:
        """Accepted steps → targets per top node → the cascade's disaggregation onto the bids."""
        targets: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        entries: dict[int, tuple[CascadePotential, Mapping[str, DsoLinearModel]]] = {}
        for key, mw in accepted.items():
            entry = self.potentials.get(key.bid_id)
            if entry is None:
                continue
            targets[id(entry[0])][_node_of(entry[0], key.bid_id)] += mw
            entries[id(entry[0])] = entry
        out: dict[BidInMtu, float] = defaultdict(float)
        for pid, per_node in targets.items():
            potential, models = entries[pid]
            dispatch = disaggregate_cascade(potential, models, per_node)
            mtu = Mtu(potential.interval.start)
            for bid_id, mw in dispatch.accepted_mw.items():
                out[BidInMtu(bid_id, mtu)] += mw
        return dict(out)


def _node_of(potential: CascadePotential, bid_id: str) -> str:
    """The top node whose potential a step bid is."""
    for node_id in potential.cascade.top:
        if any(b.id == bid_id for b in potential.nodes[node_id].offers):
            return node_id
    raise KeyError(bid_id)  # never: potentials map only their own steps


def scenario_cascade(ctx: SchemeContext, area_ids: Sequence[str]) -> Cascade:
    """The cascade of a scheme run: each of ``area_ids`` one node under the TSO."""
    split = ctx.scenario.grid.areas
    return Cascade(
        thresholds_kv=(split.tso_min_vn_kv,),
        tso_bus_ids=split.tso_bus_ids,
        nodes=tuple(
            CascadeNode(id=a, level=1, parent_id=None, area=split.dso_area(a))
            for a in sorted(area_ids)
        ),
    )


def build_cascade_offers(
    register: Register, basis: InterfaceBasis, bids: Sequence[Bid], cascade: Cascade
) -> CascadeOffers:
    """``bids`` aggregated up ``cascade`` per MTU and direction (models: ``basis.models``, their
    branch flows those of ``basis.forecast`` in each MTU)."""
    offers: list[Bid] = []
    potentials: dict[str, tuple[CascadePotential, Mapping[str, DsoLinearModel]]] = {}
    for t, interval in enumerate(basis.intervals):
        in_mtu = [b for b in bids if any(q.interval == interval for q in b.quantities)]
        if not in_mtu:
            continue
        models = {
            a: dataclasses.replace(
                m,
                p_from_mw=basis.forecast.branch_flow_mw[
                    basis.forecast.branch_rows(m.branch_names), t
                ],
            )
            for a, m in basis.models.items()
        }
        for direction in (Direction.UP, Direction.DOWN):
            if not any(b.direction is direction for b in in_mtu):
                continue
            potential = aggregate_cascade(
                cascade,
                models,
                in_mtu,
                register,
                direction=direction,
                interval=interval,
                levels=basis.levels,
            )
            register = potential.register
            steps = potential.offers()
            offers += steps
            potentials |= {s.id: (potential, models) for s in steps}
    return CascadeOffers(register=register, bids=tuple(offers), potentials=potentials)


def cascade_offers(
    ctx: SchemeContext, state: MarketsState, forwarded: Sequence[Bid]
) -> CascadeOffers:
    """The DSOs' forwarded bids as the cascade's potentials, on the base case moved by the
    dispatch so far (the stage of the ``cascade`` market model)."""
    s = ctx.scenario
    tso = set(ctx.tso_areas)
    areas = sorted({ctx.area_of(b, state.ledger) for b in forwarded} - tso)
    basis = InterfaceBasis(
        grid=s.grid,
        models=ctx.joint.dso_models.models(areas),
        intervals=s.intervals,
        forecast=shifted_forecast(ctx, state),
    )
    return build_cascade_offers(s.register, basis, forwarded, scenario_cascade(ctx, areas))
