"""The KPIs of a scheme run and of a timeframe chain, as frozen records with units in their names.

Definitions: ``docs/coordination.md`` (*KPIs*); energies in MWh, money in €, the final dispatch is
the dispatch after the conflict rule. :func:`~flexcoord.simulation.report.comparison_rows` and
:func:`~flexcoord.simulation.report.chain_rows` flatten them into the comparison tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from flexcoord.clearing.costs import cost_fields
from flexcoord.clearing.dispatch import branch_overload_mw, outside_band
from flexcoord.coordination.conflicts import Conflict, ConflictKind
from flexcoord.coordination.evaluation import DispatchCost
from flexcoord.coordination.identities import Dispatch
from flexcoord.coordination.joint import JointModel
from flexcoord.coordination.liquidity import Liquidity
from flexcoord.coordination.markets import MarketRun, MarketsState, SchemeContext
from flexcoord.coordination.resolution import FinalDispatch
from flexcoord.domain import Direction, Technology

__all__ = [
    "AcViolation",
    "ChainKpis",
    "CostKpis",
    "SchemeKpis",
    "ac_violation",
    "dso_overload_added_mwh",
    "scheme_kpis",
]

_RENEWABLE = frozenset({Technology.PV, Technology.WIND, Technology.HYDRO, Technology.BIOMASS})


@dataclass(frozen=True, slots=True, kw_only=True)
class CostKpis:
    """The yardstick's cost split (€, to the cent; :func:`~flexcoord.clearing.costs.cost_fields`).

    ``total_cost_eur`` = ``bid_cost_eur`` + ``availability_payment_eur`` (a chain's reservations;
    ``None`` in a single run) + ``shortfall_penalty_eur`` + ``violation_penalty_eur``, the latter
    split by kind (branch, voltage, interface, balance); ``penalty_share`` the penalties over the
    total (``None`` for a zero total).
    """

    total_cost_eur: float
    bid_cost_eur: float
    availability_payment_eur: float | None
    shortfall_penalty_eur: float
    violation_penalty_eur: float
    violation_penalty_by_kind_eur: Mapping[str, float]
    penalty_share: float | None

    @classmethod
    def of(cls, cost: DispatchCost, availability_payment_eur: float | None = None) -> CostKpis:
        """The split of ``cost`` (plus a chain's availability payments)."""
        fields = cost_fields(cost, availability_payment_eur)
        return cls(
            total_cost_eur=fields["total_cost_eur"],
            bid_cost_eur=fields["bid_cost_eur"],
            availability_payment_eur=fields.get("availability_payment_eur"),
            shortfall_penalty_eur=fields["shortfall_penalty_eur"],
            violation_penalty_eur=fields["violation_penalty_eur"],
            violation_penalty_by_kind_eur=dict(fields["violation_penalty_by_kind_eur"]),
            penalty_share=fields["penalty_share"],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AcViolation:
    """Energy above the thermal limits (no safety margin) in AC per TSO / DSO grid, and pu·h
    outside the voltage band (``None`` when the scenario monitors no voltages)."""

    tso_mwh: float
    dso_mwh: float
    voltage_pu_h: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeKpis:
    """The KPIs of one scheme run (or of one round of a chain, on the round's problem).

    Attributes:
        cost: the yardstick's cost split of the final dispatch.
        procurement_eur: per buyer, its share of the sub-markets' payments.
        shortfall_mwh: per buyer, the energy its needs lack in the final dispatch.
        activated_mwh: Σ accepted MW × hours, final dispatch.
        forwarded_bids: bids the ledger forwarded from DSO markets to the TSO market.
        residual_violation_tso_mwh, residual_violation_dso_mwh: energy above the margined limits
            of TSO / DSO branches, linear model.
        dso_violation_caused_by_tso_mwh: what the TSO's activations add to DSO overloads.
        conflicts_double_activation, conflicts_counter_activation, conflicts_dso_limit: the
            conflicts detected, by kind.
        liquidity: distinct root bids, units and FSPs that could serve the needs
            (:class:`~flexcoord.coordination.liquidity.Liquidity`, over every market's needs).
        curtailed_renewable_mwh: accepted DOWN energy of all-renewable resources.
        markets: sub-markets run.
        ac_violation: the AC check of the final dispatch (``None`` without one).
        ac_dso_violation_caused_by_tso_mwh: what the TSO's activations add to the AC DSO
            violation (``None`` without an AC check).
    """

    cost: CostKpis
    procurement_eur: Mapping[str, float]
    shortfall_mwh: Mapping[str, float]
    activated_mwh: float
    forwarded_bids: int
    residual_violation_tso_mwh: float
    residual_violation_dso_mwh: float
    dso_violation_caused_by_tso_mwh: float
    conflicts_double_activation: int
    conflicts_counter_activation: int
    conflicts_dso_limit: int
    liquidity: Liquidity
    curtailed_renewable_mwh: float
    markets: int
    ac_violation: AcViolation | None = None
    ac_dso_violation_caused_by_tso_mwh: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainKpis:
    """The KPIs of a scheme over a timeframe chain (MW summed over MTUs; MWh; €).

    Attributes:
        cost: the cost split of the activation dispatch plus the availability payments.
        activation_cost_eur: the activation dispatch's whole yardstick cost (the total without
            the availability payments).
        availability_mw, activated_mw: reserved and activated MW, summed over MTUs.
        activation_shortfall_mwh: energy the activation needs lack.
        capacity_not_procured_mw: availability needs no availability round of the scheme took.
        obligated_bids: obligatory activation bids of availability awards.
        forwarded_bids: unused bids forwarded between rounds.
        rounds, markets: rounds run, sub-markets run.
        ac_violation: the AC check of the activation dispatch (``None`` without one).
    """

    cost: CostKpis
    activation_cost_eur: float
    availability_mw: float
    activated_mw: float
    activation_shortfall_mwh: float
    capacity_not_procured_mw: float
    obligated_bids: int
    forwarded_bids: int
    rounds: int
    markets: int
    ac_violation: AcViolation | None = None


def scheme_kpis(
    ctx: SchemeContext,
    state: MarketsState,
    final: FinalDispatch,
    cost: DispatchCost,
    dso_caused_by_tso_mwh: float,
) -> SchemeKpis:
    """The KPIs of one run (without the AC check: see :func:`ac_violation`)."""
    scenario, joint = ctx.scenario, ctx.joint
    buyer_of_need = {n.id: n.buyer_id for n in scenario.needs}
    shortfall: dict[str, float] = defaultdict(float)
    for need_id, mwh in cost.shortfall_mwh.items():
        shortfall[buyer_of_need[need_id]] += mwh
    tso_mwh, dso_mwh = _by_grid(joint, cost.branch_violation_mwh.items())
    dur = joint.mtu_duration_h
    eligible = {n: r for m in state.markets for n, r in m.eligible_roots.items()}
    return SchemeKpis(
        cost=CostKpis.of(cost),
        procurement_eur=dict(sorted(_procurement(state.markets, buyer_of_need).items())),
        shortfall_mwh=dict(sorted(shortfall.items())),
        activated_mwh=sum(mw * dur[k.mtu] for k, mw in final.accepted_mw.items()),
        forwarded_bids=state.forwarded,
        residual_violation_tso_mwh=tso_mwh,
        residual_violation_dso_mwh=dso_mwh,
        dso_violation_caused_by_tso_mwh=dso_caused_by_tso_mwh,
        conflicts_double_activation=_count(final.conflicts, ConflictKind.DOUBLE_ACTIVATION),
        conflicts_counter_activation=_count(final.conflicts, ConflictKind.COUNTER_ACTIVATION),
        conflicts_dso_limit=_count(final.conflicts, ConflictKind.DSO_LIMIT),
        liquidity=Liquidity.of(eligible, ctx.bids_by_root, scenario.register),
        curtailed_renewable_mwh=_curtailed_renewable_mwh(ctx, final.accepted_mw),
        markets=len(state.markets),
    )


def _count(conflicts: Sequence[Conflict], kind: ConflictKind) -> int:
    return sum(1 for c in conflicts if c.kind == kind)


def _by_grid(joint: JointModel, per_branch: Iterable[tuple[str, float]]) -> tuple[float, float]:
    """A per-branch figure summed over the TSO's and the DSOs' branches (by asset area)."""
    areas = joint.scenario.grid.asset_areas()
    tso = dso = 0.0
    for branch, value in per_branch:
        if areas.get(branch) == "tso":
            tso += value
        else:
            dso += value
    return tso, dso


def _procurement(
    markets: Sequence[MarketRun], buyer_of_need: Mapping[str, str]
) -> dict[str, float]:
    """Each market's payments split over its buyers pro rata to the need energy each covered
    there; a market that paid without covering a need splits equally over its buyers."""
    procurement: dict[str, float] = defaultdict(float)
    for m in markets:
        paid = float(np.sum(m.result.slot_payment_eur))
        covered: dict[str, float] = defaultdict(float)
        problem = m.result.problem
        energy = (m.result.need_covered_mw * problem.mtu_duration_h).sum(axis=1).tolist()
        for need_id, mwh in zip(problem.need_ids, energy, strict=True):
            covered[buyer_of_need[need_id]] += mwh
        total = sum(covered.values())
        if total > 0:
            for buyer, mwh in covered.items():
                procurement[buyer] += paid * mwh / total
        elif paid > 0:
            for buyer in m.buyer_ids:
                procurement[buyer] += paid / len(m.buyer_ids)
    return procurement


def _curtailed_renewable_mwh(ctx: SchemeContext, dispatch: Dispatch) -> float:
    """Accepted DOWN energy of resources whose units are all renewable."""
    dur = ctx.joint.mtu_duration_h
    register = ctx.scenario.register
    out = 0.0
    for key, mw in dispatch.items():
        bid = ctx.bids_by_root[key.root]
        units = register.units_of(bid.resource_id)
        if bid.direction == Direction.DOWN and all(u.technology in _RENEWABLE for u in units):
            out += mw * dur[key.mtu]
    return out


def ac_violation(joint: JointModel, dispatch: Dispatch) -> AcViolation:
    """The AC check of a dispatch on the joint problem's base case (power-grid-model)."""
    flows = joint.ac_flows(dispatch)
    gc = joint.views.constraints(joint.all_areas)
    dur = joint.problem.mtu_duration_h
    over = branch_overload_mw(flows.branch_flow_mw, gc.limit_mw) * dur[None, :]
    tso_mwh, dso_mwh = _by_grid(joint, zip(gc.branch_names, over.sum(axis=1).tolist(), strict=True))
    voltage: float | None = None
    if joint.scenario.voltages and len(gc.vbus_ids):
        vm = flows.vm_pu
        outside = outside_band(vm, gc.vm_min_pu[:, None], gc.vm_max_pu[:, None]) * dur[None, :]
        voltage = float(outside.sum())
    return AcViolation(tso_mwh=tso_mwh, dso_mwh=dso_mwh, voltage_pu_h=voltage)


def dso_overload_added_mwh(joint: JointModel, after: DispatchCost, before: DispatchCost) -> float:
    """Energy the TSO's activations add above the (margined) limits of DSO branches, counted per
    branch and MTU, so relief on one branch never offsets an overload on another."""
    p = joint.problem
    if not p.n_branch:
        return 0.0
    lim = (1.0 - p.safety_margin) * p.limit_mw
    over_after = branch_overload_mw(after.flow_mw, lim)
    over_before = branch_overload_mw(before.flow_mw, lim)
    added = np.maximum(over_after - over_before, 0.0) * p.mtu_duration_h[None, :]
    areas = joint.scenario.grid.asset_areas()
    dso = np.array([areas.get(n) != "tso" for n in p.branch_names], dtype=bool)
    return float(added[dso].sum())
