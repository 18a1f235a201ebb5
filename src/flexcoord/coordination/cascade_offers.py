"""The Redispatch 3.0 cascade in a scheme run: potentials to the TSO market, targets back down.

The market model ``cascade`` (:mod:`flexcoord.coordination.market_models`) forwards each DSO's
unused bids as in ``local``; instead of one offer curve per area, the bids are aggregated up the
operator cascade (:func:`~flexcoord.coordination.aggregation.aggregate_cascade`) per MTU and
direction, on the base case moved by the dispatch so far, and the TSO's market is offered the
potentials of the nodes connected to it. The volume it accepts of a node is that node's target,
disaggregated down the cascade (:func:`~flexcoord.coordination.aggregation.disaggregate_cascade`)
onto the forwarded bids before the ledger records it.

The cascade of a scheme run (:func:`scheme_cascade`) takes the German reading of the grid, the
one Redispatch 3.0 works in (VDE 4140): the TSO keeps only the voltage levels from the lowest
transformer high side above the scenario's TSO/DSO split, so on 1-HVMV-mixed the 110 kV grid is
the HV DSO's (TSO ≥ 220 kV → HV1 → MV areas). The scenario's transmission bids on HV buses are
then the HV DSO's, forwarded to the TSO through its potential; its tightened HV lines bind in the
HV DSO's aggregation (and stay monitored by the TSO's market, as every scenario TSO branch). A
grid without a transformer above the split (1-MV-rural) keeps two levels.
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
    cascade_of,
    disaggregate_cascade,
)
from flexcoord.coordination.aggregation.cascade import CascadeNode
from flexcoord.coordination.identities import BidInMtu, MarketId, Mtu
from flexcoord.coordination.interface import InterfaceBasis, bids_by_interval, dso_models
from flexcoord.coordination.markets import MarketsState, SchemeContext, shifted_forecast
from flexcoord.domain import Bid, Direction, Register

__all__ = [
    "CascadeOffers",
    "build_cascade_offers",
    "cascade_offers",
    "scenario_cascade",
    "scheme_cascade",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeOffers:
    """The top nodes' potentials as bids, with what is needed to disaggregate an award.

    Attributes:
        register: The register knowing the nodes' virtual units.
        bids: The potentials' steps offered to the TSO (every MTU and direction).
        potentials: Step bid id → its MTU's and direction's potential.
    """

    register: Register
    bids: tuple[Bid, ...]
    potentials: Mapping[str, CascadePotential] = field(default_factory=dict)

    def is_offer(self, bid_id: str) -> bool:
        """Whether ``bid_id`` is a potential's step."""
        return bid_id in self.potentials

    def behind(self, bid_id: str) -> tuple[str, ...]:
        """The forwarded bids the step's node aggregated (its subtree's), or ``()``."""
        potential = self.potentials.get(bid_id)
        if potential is None:
            return ()
        return potential.behind(_node_of(potential, bid_id))

    def expand(self, accepted: Mapping[BidInMtu, float]) -> dict[BidInMtu, float]:
        """Accepted steps → targets per top node → the cascade's disaggregation onto the bids."""
        targets: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        entries: dict[int, CascadePotential] = {}
        for key, mw in accepted.items():
            entry = self.potentials.get(key.bid_id)
            if entry is None:
                continue
            targets[id(entry)][_node_of(entry, key.bid_id)] += mw
            entries[id(entry)] = entry
        out: dict[BidInMtu, float] = defaultdict(float)
        for pid, per_node in targets.items():
            potential = entries[pid]
            dispatch = disaggregate_cascade(potential, per_node)
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
    """Each of the scenario's DSO areas ``area_ids`` one node under the TSO (two levels: where
    Industry4Redispatch places its Pareto points)."""
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
    potentials: dict[str, CascadePotential] = {}
    rows = {a: basis.forecast.branch_rows(m.branch_names) for a, m in basis.models.items()}
    by_interval = bids_by_interval(bids)
    for t, interval in enumerate(basis.intervals):
        in_mtu = by_interval.get(interval, [])
        if not in_mtu:
            continue
        models = {
            a: m.with_branch_flows(basis.forecast.branch_flow_mw[rows[a], t])
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
            potentials |= {s.id: potential for s in steps}
    return CascadeOffers(register=register, bids=tuple(offers), potentials=potentials)


def scheme_cascade(ctx: SchemeContext) -> Cascade:
    """The cascade of a scheme run: the TSO keeps the voltage levels from the lowest transformer
    high side above the scenario's TSO/DSO split (the German reading, where the 110 kV grid is a
    DSO's: on 1-HVMV-mixed the TSO is 220 kV and above, then HV1, then the MV areas); a grid with
    no transformer above the split keeps the scenario's two levels."""
    grid = ctx.scenario.grid
    split = grid.areas
    net = grid.net
    trafo = net.trafo[net.trafo.in_service.to_numpy(dtype=bool)]
    vn = net.bus.vn_kv.astype(float)
    above = sorted({float(vn[h]) for h in trafo.hv_bus if float(vn[h]) > split.tso_min_vn_kv})
    return cascade_of(grid, tso_min_vn_kv=above[0] if above else None)


_NODE_CUTS = 64
"""Tangent lines per branch circle of a node built for the run (the HV DSO's): its tightened lines
are congested at their peak and held where they are (``no_worse_than_base``), and 16 cuts would
let the flow grow by up to 1.9 % beyond that point (0.12 % with 64)."""


def _models(ctx: SchemeContext, cascade: Cascade) -> dict[str, DsoLinearModel]:
    """Each node's model: the scenario's DSO area model where the node is one (same buses), else
    one built for the node with the scenario's limit overrides and :data:`_NODE_CUTS` cuts,
    without its children's coupling transformers."""
    s = ctx.scenario
    own = {a.id: a for a in s.grid.areas.dso_areas}
    shared = [n.id for n in cascade.nodes if n.id in own and own[n.id].bus_ids == n.area.bus_ids]
    out = ctx.joint.dso_models.models(shared)
    for node in cascade.nodes:
        if node.id in out:
            continue
        model = dso_models(
            s.grid,
            [node.area],
            safety_margin=s.safety_margin,
            limit_overrides_mw=s.limit_overrides_mw,
            voltages=s.voltages,
        )[node.id]
        below = [cp.id for c in node.children for cp in cascade.node(c).area.coupling_points]
        out[node.id] = dataclasses.replace(model.without_branches(below), n_cuts=_NODE_CUTS)
    return out


def cascade_offers(
    ctx: SchemeContext,
    state: MarketsState,
    transmission: Sequence[Bid],
    forwarded: Sequence[Bid],
) -> tuple[MarketsState, tuple[Bid, ...], CascadeOffers]:
    """The stage of the ``cascade`` market model: the DSOs' ``forwarded`` bids and the
    ``transmission`` bids on buses of a cascade node (the HV DSO's), forwarded to the TSO
    market by that node, as the cascade's potentials on the base case moved by the dispatch so
    far; returns the state, the transmission bids the TSO keeps, and the offers."""
    s = ctx.scenario
    cascade = scheme_cascade(ctx)
    owned = frozenset().union(*(n.area.bus_ids for n in cascade.nodes))
    register = s.register
    in_node = [b for b in transmission if _buses(register, b) <= owned]
    direct = tuple(b for b in transmission if not _buses(register, b) <= owned)
    ledger, by_node = state.ledger.forward(in_node, MarketId.tso(ctx.round))
    state = dataclasses.replace(state, ledger=ledger, forwarded=state.forwarded + len(by_node))
    basis = InterfaceBasis(
        grid=s.grid,
        models=_models(ctx, cascade),
        intervals=s.intervals,
        forecast=shifted_forecast(ctx, state),
    )
    offers = build_cascade_offers(register, basis, (*forwarded, *by_node), cascade)
    return state, direct, offers


def _buses(register: Register, bid: Bid) -> frozenset[int]:
    return frozenset(
        register.connection_point(u.connection_point_id).bus
        for u in register.units_of(bid.resource_id)
    )
