"""The Redispatch 3.0 cascade: aggregation up the operator hierarchy, disaggregation down (L2113).

Seed (Redispatch 3.0, L1093–L1097, L2113): "the flexibility potential is first calculated in all
subordinate distribution grids, which describe the possible power transfers at the connection
point [...] taking into account the bottlenecks in the distribution grid"; the higher-level grid
optimises with these potentials; "an optimization problem is solved in the downstream grid to find
target values for all controllable resources [...] The optimum power value previously calculated
by the higher-level network at the connection point is specified as a boundary condition". The
operators form a cascade (VDE 4140): TSO → HV DSO → MV DSO.

* :class:`Cascade` — the operator hierarchy, derived from the grid's voltage levels by
  :func:`cascade_of`: the TSO above ``tso_min_vn_kv``, then one level per transformer voltage
  below it (on SimBench 1-HVMV-mixed with ``tso_min_vn_kv=220``: EHV → HV1 → 18 MV areas; with
  the default 110 kV, or on an MV-only grid, two levels). Each node is one operator's area;
  its coupling points connect it to its parent.
* :func:`cascade_models` — one :class:`~.dso_model.DsoLinearModel` per node (the coupling
  transformers of its children are left to the children's models: each limit belongs to one
  operator).
* :func:`aggregate_cascade` — bottom up, each node's potential at its connection point is
  :func:`~.offer_curve.aggregated_offer_curve` over its own bids (batteries' included) and its
  children's potentials, the latter as bids of one virtual unit per child at the child's
  coupling point (the parent's bus): what a node offers upwards never exceeds what its own grid,
  and every grid below it, allows.
* :func:`disaggregate_cascade` — top down, each node's target at its connection point is
  :func:`~.disaggregation.disaggregate`-d onto its own bids and its children's virtual units
  (the interface value an equality: the boundary condition), and each child's share is the
  child's target.

Both rules exist once: the potential is the offer curve of ``offer_curve.py``, the target split is
the LP of ``disaggregation.py``; the cascade only decides who aggregates whom.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flexcoord.coordination.aggregation.disaggregation import Disaggregation, disaggregate
from flexcoord.coordination.aggregation.dso_model import DsoLinearModel, build_dso_model
from flexcoord.coordination.aggregation.linear_program import new_highs
from flexcoord.coordination.aggregation.offer_curve import (
    OfferCurve,
    aggregate_unit,
    aggregated_offer_curve,
)
from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    Direction,
    FlexibilityServiceProvider,
    Interval,
    Register,
    Unit,
)
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.grid.areas import DsoArea, split_areas
from flexcoord.grid.pgm import Injections

__all__ = [
    "Cascade",
    "CascadeDispatch",
    "CascadeNode",
    "CascadePotential",
    "NodeDispatch",
    "NodePotential",
    "aggregate_cascade",
    "cascade_models",
    "cascade_of",
    "disaggregate_cascade",
    "merit_order_targets",
    "no_worse_than_base",
    "virtual_unit_id",
]

CASCADE_FSP_ID = "fsp:aggregate"


def virtual_unit_id(node_id: str) -> str:
    """The virtual unit carrying node ``node_id``'s potential in its parent's grid."""
    return f"aggregate:{node_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeNode:
    """One operator's area in the cascade.

    Attributes:
        id: The area (and its operator's role in the cascade).
        level: 1 directly below the TSO, 2 below a level-1 node, ...
        parent_id: The node above (``None``: the TSO).
        area: Its buses and its coupling points to the parent.
        children: The nodes below it.
    """

    id: str
    level: int
    parent_id: str | None
    area: DsoArea
    children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Cascade:
    """The hierarchy of operators from the TSO down (VDE 4140, seed L1097).

    Attributes:
        thresholds_kv: The voltages splitting the levels, highest first (the first is the TSO's).
        tso_bus_ids: The TSO's buses.
        nodes: Every DSO node, top down (by level, then id).
    """

    thresholds_kv: tuple[float, ...]
    tso_bus_ids: frozenset[int]
    nodes: tuple[CascadeNode, ...]

    @property
    def n_levels(self) -> int:
        """Levels of operators, the TSO included (2 with a single DSO level)."""
        return 1 + max((n.level for n in self.nodes), default=0)

    @property
    def top(self) -> tuple[str, ...]:
        """The nodes connected to the TSO."""
        return tuple(n.id for n in self.nodes if n.parent_id is None)

    def node(self, node_id: str) -> CascadeNode:
        """The node ``node_id``.

        Raises:
            NotFoundError: naming the valid ids.
        """
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise NotFoundError(
            f"no cascade node {node_id!r}; nodes: {[n.id for n in self.nodes][:30]}"
        )

    def bottom_up(self) -> tuple[CascadeNode, ...]:
        """The nodes, deepest level first."""
        return tuple(sorted(self.nodes, key=lambda n: (-n.level, n.id)))

    def subtree_buses(self, node_id: str) -> frozenset[int]:
        """The buses of the node and of every node below it."""
        node = self.node(node_id)
        out = set(node.area.bus_ids)
        for child in node.children:
            out |= self.subtree_buses(child)
        return frozenset(out)


def cascade_of(grid: Any, *, tso_min_vn_kv: float | None = None) -> Cascade:
    """The grid's cascade: the TSO at and above ``tso_min_vn_kv`` (default: the grid's own split),
    one DSO level per distinct transformer high-side voltage below it.

    Each level's nodes are the connected areas below its threshold (:func:`split_areas`) less the
    buses of the levels under it; a node's parent is the node holding its coupling points' high
    sides.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> grid = load_grid("1-HVMV-mixed-all-0-sw")
        >>> cascade_of(grid).n_levels, cascade_of(grid, tso_min_vn_kv=220).n_levels
        (2, 3)
        >>> cascade_of(grid, tso_min_vn_kv=220).top
        ('HV1',)
    """
    net = grid.net
    top = float(tso_min_vn_kv if tso_min_vn_kv is not None else grid.areas.tso_min_vn_kv)
    vn = net.bus.vn_kv.astype(float)
    trafo = net.trafo[net.trafo.in_service.to_numpy(dtype=bool)]
    below = sorted({float(vn[h]) for h in trafo.hv_bus if float(vn[h]) < top}, reverse=True)
    thresholds = (top, *below)
    splits = [split_areas(net, tso_min_vn_kv=t) for t in thresholds]
    nodes: list[CascadeNode] = []
    lower_buses: frozenset[int] = frozenset()
    for level in range(len(splits), 0, -1):
        split = splits[level - 1]
        areas = split.dso_areas if level == len(splits) else _remainders(split, lower_buses, net)
        nodes += [CascadeNode(id=a.id, level=level, parent_id=None, area=a) for a in areas]
        lower_buses = lower_buses.union(*(a.bus_ids for a in areas))
    return Cascade(
        thresholds_kv=thresholds,
        tso_bus_ids=splits[0].tso_bus_ids,
        nodes=_linked(nodes),
    )


def _remainders(split: Any, lower: frozenset[int], net: Any) -> list[DsoArea]:
    """The split's areas less the buses of the levels below (named after their subnet)."""
    out = []
    for number, area in enumerate(split.dso_areas, start=1):
        buses = frozenset(area.bus_ids - lower)
        if not buses:
            continue
        labels = net.bus.subnet.reindex(sorted(buses)).dropna().astype(str)
        roots = Counter(label.split("_")[0] for label in labels)
        name = roots.most_common(1)[0][0] if roots else f"level-area-{number}"
        levels = tuple(sorted({float(net.bus.vn_kv[b]) for b in buses}, reverse=True))
        out.append(
            DsoArea(
                id=name,
                bus_ids=buses,
                coupling_points=area.coupling_points,
                voltage_levels_kv=levels,
            )
        )
    return out


def _linked(nodes: Sequence[CascadeNode]) -> tuple[CascadeNode, ...]:
    """The nodes with parents (the node holding a coupling point's high side) and children."""
    owner = {b: n.id for n in nodes for b in n.area.bus_ids}
    parent = {
        n.id: next((owner[cp.hv_bus] for cp in n.area.coupling_points if cp.hv_bus in owner), None)
        for n in nodes
    }
    children: dict[str, list[str]] = defaultdict(list)
    for child, p in parent.items():
        if p is not None:
            children[p].append(child)
    linked = [
        dataclasses.replace(n, parent_id=parent[n.id], children=tuple(sorted(children[n.id])))
        for n in nodes
    ]
    return tuple(sorted(linked, key=lambda n: (n.level, n.id)))


def cascade_models(  # noqa: PLR0913 - public: grid, cascade, then build_dso_model's options
    grid: Any,
    cascade: Cascade,
    *,
    operating_point: Injections | None = None,
    safety_margin: float = 0.0,
    voltage_margin_pu: float = 0.0,
    voltages: bool = True,
) -> dict[str, DsoLinearModel]:
    """One linear model per node (one power-grid-model batch each), without its children's
    coupling transformers; ``voltages=False`` opens the voltage band (thermal limits only)."""
    out: dict[str, DsoLinearModel] = {}
    for node in cascade.nodes:
        model = build_dso_model(
            grid,
            node.area,
            operating_point=operating_point,
            safety_margin=safety_margin,
            voltage_margin_pu=voltage_margin_pu,
        )
        below = [cp.id for c in node.children for cp in cascade.node(c).area.coupling_points]
        model = model.without_branches(below)
        out[node.id] = model if voltages else model.thermal_only()
    return out


# --- aggregation ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class NodePotential:
    """A node's flexibility potential at its connection point in one MTU and direction.

    Attributes:
        node_id: The node.
        curve: The potential: an offer curve at the node's coupling points.
        bids: What the node aggregated: its own bids and its children's potentials (bids of their
            virtual units).
        offers: The curve as bids of the node's virtual unit, for its parent (or the TSO).
    """

    node_id: str
    curve: OfferCurve
    bids: tuple[Bid, ...]
    offers: tuple[Bid, ...]

    @property
    def max_mw(self) -> float:
        """The largest quantity the node can deliver at its connection point."""
        return self.curve.max_quantity_mw


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadePotential:
    """Every node's potential in one MTU and direction (:func:`aggregate_cascade`).

    Attributes:
        cascade: The hierarchy.
        direction: UP or DOWN at every connection point.
        interval: The MTU.
        register: The register extended by one virtual unit per node.
        nodes: Node id → its potential.
        models: Node id → the model its potential was computed on (and its target is split on):
            the given one, with any limit its operating point already violates held where it is
            (:func:`no_worse_than_base`).
        left_out: Bids on resources spanning several nodes (aggregated by none).
    """

    cascade: Cascade
    direction: Direction
    interval: Interval
    register: Register
    nodes: Mapping[str, NodePotential]
    models: Mapping[str, DsoLinearModel] = field(default_factory=dict, repr=False)
    left_out: tuple[str, ...] = ()

    def offers(self) -> tuple[Bid, ...]:
        """What the TSO receives: the potentials of the nodes connected to it, as bids."""
        return tuple(b for n in self.cascade.top for b in self.nodes[n].offers)

    def behind(self, node_id: str) -> tuple[str, ...]:
        """The bids of units (no virtual unit) in the node's subtree that its potential uses."""
        node = self.cascade.node(node_id)
        virtual = {virtual_unit_id(c) for c in node.children}
        own = tuple(b.id for b in self.nodes[node_id].bids if b.resource_id not in virtual)
        return own + tuple(b for c in node.children for b in self.behind(c))


def aggregate_cascade(  # noqa: PLR0913 - public: cascade, models, bids, register, MTU options
    cascade: Cascade,
    models: Mapping[str, DsoLinearModel],
    bids: Sequence[Bid],
    register: Register,
    *,
    direction: Direction,
    interval: Interval,
    levels: int = 20,
) -> CascadePotential:
    """Each node's potential, bottom up (module docstring).

    Args:
        cascade: The hierarchy.
        models: A linear model per node (:func:`cascade_models`), at the MTU's operating point.
        bids: Candidate bids; each node takes those of ``direction`` in the MTU on its own buses.
        register: Resolves bids to units and buses.
        direction: UP or DOWN at the connection points.
        interval: The MTU.
        levels: Quantity levels per curve (:func:`aggregated_offer_curve`).

    Raises:
        InvalidInputError: a node without a model.
    """
    direction = Direction(direction)
    missing = [n.id for n in cascade.nodes if n.id not in models]
    if missing:
        raise InvalidInputError(
            Issue(kind="Cascade", object_id=m, field="models", value=None, message="no model")
            for m in missing
        )
    models = {n.id: no_worse_than_base(models[n.id]) for n in cascade.nodes}
    register = with_virtual_units(register, cascade)
    pool = [b for b in bids if b.direction is direction]
    node_of, left_out = _bids_by_node(cascade, pool, register)
    potentials: dict[str, NodePotential] = {}
    highs = new_highs()  # one instance for the nodes' curves
    for node in cascade.bottom_up():
        below = [b for c in node.children for b in potentials[c].offers]
        mine = (*node_of.get(node.id, ()), *below)
        curve = aggregated_offer_curve(
            models[node.id],
            mine,
            register,
            direction=direction,
            levels=levels,
            at=interval.start,
            highs=highs,
        )
        potentials[node.id] = NodePotential(
            node_id=node.id, curve=curve, bids=mine, offers=_as_offers(curve, node, mine, interval)
        )
    return CascadePotential(
        cascade=cascade,
        direction=direction,
        interval=interval,
        register=register,
        nodes=potentials,
        models=models,
        left_out=left_out,
    )


def no_worse_than_base(model: DsoLinearModel) -> DsoLinearModel:
    """The model with each limit its operating point already violates moved to that point (a new
    object): a node congested before any activation (a tightened HV line at its peak) offers what
    does not aggravate it, instead of nothing; limits the point respects are unchanged."""
    s0 = np.hypot(model.p_from_mw, model.q_from_mvar) / (1.0 - model.safety_margin)
    vm = model.vm_pu
    m = model.voltage_margin_pu
    return dataclasses.replace(
        model,
        s_max_mva=np.maximum(model.s_max_mva, s0),
        vm_max_pu=np.maximum(model.vm_max_pu, vm + m),
        vm_min_pu=np.minimum(model.vm_min_pu, vm - m),
    )


def _bids_by_node(
    cascade: Cascade, bids: Sequence[Bid], register: Register
) -> tuple[dict[str, list[Bid]], tuple[str, ...]]:
    """Each bid under the node holding every bus of its units; the others left out."""
    owner = {b: n.id for n in cascade.nodes for b in n.area.bus_ids}
    out: dict[str, list[Bid]] = defaultdict(list)
    left: list[str] = []
    for bid in bids:
        buses = {
            register.connection_point(u.connection_point_id).bus
            for u in register.units_of(bid.resource_id)
        }
        nodes = {owner.get(b) for b in buses}
        if len(nodes) == 1 and None not in nodes:
            out[str(next(iter(nodes)))].append(bid)
        elif len(nodes) > 1:
            left.append(bid.id)
    return dict(out), tuple(left)


def _as_offers(
    curve: OfferCurve, node: CascadeNode, bids: Sequence[Bid], interval: Interval
) -> tuple[Bid, ...]:
    """The curve's steps as bids of the node's virtual unit, ids unique per MTU."""
    if not curve.steps or not bids:
        return ()
    stamp = interval.start.strftime("%Y%m%dT%H%M")
    steps = curve.as_bids(
        fsp_id=CASCADE_FSP_ID,
        product_id=bids[0].product_id,
        interval=interval,
        submitted_at=min(b.submitted_at for b in bids),
        resource_id=virtual_unit_id(node.id),
        id_suffix=f"@{stamp}",
    )
    return steps


def with_virtual_units(register: Register, cascade: Cascade) -> Register:
    """``register`` plus one virtual unit per node (if not there yet), at the high side of the
    node's first coupling point (its low side for an ``ext_grid``), in the register's area
    holding that bus; its range is the subtree's units' total range, whichever the direction."""
    known = {u.id for u in register.units}
    points: list[ConnectionPoint] = []
    units: list[Unit] = []
    for node in cascade.nodes:
        uid = virtual_unit_id(node.id)
        if uid in known:
            continue
        cp = sorted(node.area.coupling_points, key=lambda c: c.id)[0]
        bus = cp.hv_bus if cp.hv_bus is not None else cp.lv_bus
        area = next((a.id for a in register.areas if bus in a.bus_ids), None)
        if area is None:
            continue
        subtree = cascade.subtree_buses(node.id)
        reach = sum(
            max(u.p_max_mw - u.p_min_mw, 0.0)
            for u in register.units
            if register.connection_point(u.connection_point_id).bus in subtree
        )
        point, unit = aggregate_unit(
            uid, fsp_id=CASCADE_FSP_ID, bus=bus, area_id=area, down_mw=reach, up_mw=reach
        )
        points.append(point)
        units.append(unit)
    if not units:
        return register
    fsps = register.fsps
    if CASCADE_FSP_ID not in {f.id for f in fsps}:
        fsps = (*fsps, FlexibilityServiceProvider(id=CASCADE_FSP_ID, name="aggregated potentials"))
    return dataclasses.replace(
        register,
        fsps=fsps,
        connection_points=(*register.connection_points, *points),
        units=(*register.units, *units),
    )


# --- the TSO's choice and the disaggregation ---------------------------------------------------
def merit_order_targets(potential: CascadePotential, need_mw: float) -> dict[str, float]:
    """A TSO without binding limits of its own: the cheapest steps of the top nodes' potentials
    up to ``need_mw``; the target per top node (the scheme's TSO market clears its own grid)."""
    steps = sorted(
        ((b.activation_price_eur_per_mwh or 0.0, b) for b in potential.offers()),
        key=lambda s: s[0],
    )
    left = max(need_mw, 0.0)
    out = dict.fromkeys(potential.cascade.top, 0.0)
    for _, bid in steps:
        take = min(bid.quantities[0].quantity, left)
        out[bid.resource_id.removeprefix("aggregate:")] += take
        left -= take
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeDispatch:
    """A node's target at its connection point and its split.

    Attributes:
        node_id: The node.
        target_mw: What the level above asked of it (clipped to its potential).
        split: The LP of :func:`disaggregate` (``None`` for a zero target).
        child_targets_mw: What it passes to each child.
        accepted_mw: MW of its own bids.
    """

    node_id: str
    target_mw: float
    split: Disaggregation | None
    child_targets_mw: Mapping[str, float] = field(default_factory=dict)
    accepted_mw: Mapping[str, float] = field(default_factory=dict)

    @property
    def delivered_mw(self) -> float:
        """The node's linear delivery at its connection point (its target when feasible)."""
        return 0.0 if self.split is None else self.split.delivered_mw


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeDispatch:
    """The cascade's disaggregation of the TSO's targets (:func:`disaggregate_cascade`)."""

    potential: CascadePotential
    nodes: Mapping[str, NodeDispatch]

    @property
    def accepted_mw(self) -> dict[str, float]:
        """MW per (unit) bid over every node."""
        return {b: mw for n in self.nodes.values() for b, mw in n.accepted_mw.items()}

    @property
    def feasible(self) -> bool:
        """Every node delivered its target in the linear model."""
        return all(n.split is None or n.split.feasible for n in self.nodes.values())


def disaggregate_cascade(
    potential: CascadePotential,
    targets_mw: Mapping[str, float],
    *,
    verify_ac: bool = False,
) -> CascadeDispatch:
    """Split the TSO's targets per top node down the cascade (module docstring).

    Each node's target is clipped to its potential (what it offered); its :func:`disaggregate`
    LP (least cost) meets it exactly in the node's linear model (the potential's) within its
    limits.

    Raises:
        InvalidInputError: a target for a node not connected to the TSO, or a negative one.
    """
    _check_targets(potential, targets_mw)
    out: dict[str, NodeDispatch] = {}
    queue = [(n, float(targets_mw.get(n, 0.0))) for n in potential.cascade.top]
    while queue:
        node_id, target = queue.pop(0)
        dispatch = _split_node(potential, node_id, target, verify_ac)
        out[node_id] = dispatch
        queue += [(c, dispatch.child_targets_mw.get(c, 0.0)) for c in _children(potential, node_id)]
    return CascadeDispatch(potential=potential, nodes=out)


def _check_targets(potential: CascadePotential, targets_mw: Mapping[str, float]) -> None:
    """Every target is for a node connected to the TSO and a number >= 0 (all issues at once)."""
    top = set(potential.cascade.top)
    issues = []
    for node_id, value in targets_mw.items():
        if node_id not in top:
            issues.append((node_id, value, "is not a node connected to the TSO"))
        if not (isinstance(value, int | float) and value >= 0):
            issues.append((node_id, value, "must be a number >= 0"))
    if issues:
        raise InvalidInputError(
            Issue(kind="Cascade", object_id=n, field="targets_mw", value=v, message=m)
            for n, v, m in issues
        )


def _children(potential: CascadePotential, node_id: str) -> tuple[str, ...]:
    return potential.cascade.node(node_id).children


def _split_node(
    potential: CascadePotential,
    node_id: str,
    target_mw: float,
    verify_ac: bool,
) -> NodeDispatch:
    """One node's :func:`disaggregate` of its (clipped) target onto its bids and children."""
    node = potential.nodes[node_id]
    target = min(target_mw, node.max_mw * (1.0 - 1e-9))
    if target <= 1e-9 or not node.bids:
        return NodeDispatch(node_id=node_id, target_mw=0.0, split=None)
    split = disaggregate(
        potential.models[node_id],
        direction=potential.direction,
        quantity_mw=target,
        bids=node.bids,
        register=potential.register,
        at=potential.interval.start,
        verify_ac=verify_ac,
    )
    resource = {b.id: b.resource_id for b in node.bids}
    child_of = {virtual_unit_id(c): c for c in _children(potential, node_id)}
    children: dict[str, float] = defaultdict(float)
    own: dict[str, float] = {}
    for bid_id, mw in zip(split.resource_ids, split.dp_mw.tolist(), strict=True):
        if mw <= 1e-9:
            continue
        child = child_of.get(resource[bid_id])
        if child is None:
            own[bid_id] = mw
        else:
            children[child] += mw
    return NodeDispatch(
        node_id=node_id,
        target_mw=target,
        split=split,
        child_targets_mw=dict(children),
        accepted_mw=own,
    )
