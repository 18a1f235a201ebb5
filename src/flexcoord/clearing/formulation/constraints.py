"""One ``define_<family>`` function per family of columns and rows of the clearing LP/MILP.

Each function adds its blocks to the shared :class:`Builder` (see the package docstring for
what every block means) and returns what later families or the :class:`Formulation` need. A
family that the problem does not use adds empty blocks, or none where the block's mere presence
would change the model (the nodal injections exist only when grid rows do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexcoord.clearing.capability import CapabilityRows, capability_rows, unique_inverse
from flexcoord.clearing.dispatch import shortfall_price_eur_per_mwh
from flexcoord.clearing.formulation.blocks import BlockKind
from flexcoord.clearing.formulation.builder import Builder, Members, SoftLimit
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray, IntArray

__all__ = [
    "AcceptanceUnits",
    "Injections",
    "NeedRows",
    "define_acceptance_units",
    "define_balance",
    "define_branch_flows",
    "define_interface_flows",
    "define_interfaces",
    "define_links",
    "define_minimum_acceptance",
    "define_needs",
    "define_nodal_injections",
    "define_unit_capability",
    "define_voltages",
    "define_xor",
    "eligible_pairs",
]

_INF = np.inf


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptanceUnits:
    """The ``bid-accept`` columns: one per slot of an ordinary bid, one per block bid.

    Attributes:
        start: first column of the block.
        bid: bid of each unit.
        mtu: MTU of each unit (``-1`` for a block bid's single unit).
        slot_col: unit (offset from ``start``) of each slot.
        indivisible: whether each unit's bid is indivisible (the column is binary).
        tie_break_cost: the tie-break part of each unit's cost (€).
    """

    start: int
    bid: IntArray
    mtu: IntArray
    slot_col: IntArray
    indivisible: BoolArray
    tie_break_cost: FloatArray

    @property
    def size(self) -> int:
        """Number of units."""
        return int(self.bid.shape[0])

    def members(self, units: IntArray) -> Members:
        """The (bid, MTU) members of rows or columns made for ``units``."""
        return Members(self.bid[units], self.mtu[units])


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedRows:
    """The (need, slot) pairs that count, and each need's shortfall price (€/MWh)."""

    eligible_need: IntArray
    eligible_slot: IntArray
    shortfall_price_eur_per_mwh: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True)
class Injections:
    """First column of the nodal active / reactive injections (``-1``: not modelled)."""

    p_start: int
    q_start: int


def eligible_pairs(problem: ClearingProblem) -> tuple[IntArray, IntArray, BoolArray]:
    """The (need, slot) pairs that count, and for every problem pair whether it was above the cap.

    Returns ``(need, slot, above_cap)`` where ``above_cap`` has one entry per pair of the problem
    that matches in direction and power type (the pairs a price cap alone excluded are ``True``).
    """
    p = problem
    n, s = p.eligible_need, p.eligible_slot
    match = (p.slot_up[s] == p.need_up[n]) & (p.slot_reactive[s] == p.need_reactive[n])
    cap = p.need_price_cap_eur_per_mwh[n]
    above = match & np.isfinite(cap) & (p.slot_price_eur_per_mwh[s] > cap)
    keep = match & ~above
    return n[keep], s[keep], above


def define_acceptance_units(
    b: Builder, p: ClearingProblem, options: ClearingOptions
) -> AcceptanceUnits:
    """``bid-accept``: the acceptance ratio of each unit, priced at its slots' energy × price
    plus the tie-break (later bids a little dearer); binary for indivisible bids."""
    n_t, n_b = p.n_mtu, p.n_bid
    block_slot = p.bid_block[p.slot_bid]
    key = p.slot_bid * (n_t + 1) + np.where(block_slot, n_t, p.slot_mtu)
    unit_key, slot_col = unique_inverse(key, max(n_b, 1) * (n_t + 1))
    n_acc = unit_key.shape[0]
    acc_bid = unit_key // (n_t + 1)
    acc_mtu = unit_key % (n_t + 1)
    acc_mtu = np.where(acc_mtu == n_t, -1, acc_mtu)
    tie = options.tie_break_eur_per_mwh * (np.arange(n_b) + 1.0) / max(n_b, 1)
    slot_energy = p.slot_quantity_mw * p.mtu_duration_h[p.slot_mtu]
    tie_break_slot = slot_energy * tie[p.slot_bid]
    acc_cost: FloatArray = np.bincount(
        slot_col, weights=slot_energy * p.slot_price_eur_per_mwh + tie_break_slot, minlength=n_acc
    ).astype(np.float64, copy=False)
    indiv = p.bid_indivisible[acc_bid]
    start = b.new_cols(BlockKind.BID_ACCEPT, Members(acc_bid, acc_mtu), acc_cost, integer=indiv)
    return AcceptanceUnits(
        start=start,
        bid=acc_bid,
        mtu=acc_mtu,
        slot_col=slot_col,
        indivisible=indiv,
        tie_break_cost=np.bincount(slot_col, weights=tie_break_slot, minlength=n_acc).astype(
            np.float64, copy=False
        ),
    )


def define_minimum_acceptance(b: Builder, p: ClearingProblem, units: AcceptanceUnits) -> None:
    """``bid-minimum`` binaries ``z`` with ``ratio_min · z <= r <= z`` for each unit of a
    divisible bid with a minimum quantity (``ratio_min = q_min / q``, ``q`` the unit's largest
    slot quantity)."""
    q_ref = np.zeros(units.size)
    np.maximum.at(q_ref, units.slot_col, p.slot_quantity_mw)
    macc = np.flatnonzero((p.bid_min_mw[units.bid] > 0) & ~units.indivisible)
    ratio = np.where(
        q_ref[macc] > 0, p.bid_min_mw[units.bid[macc]] / np.maximum(q_ref[macc], 1e-300), 1.0
    )
    members = units.members(macc)
    z0 = b.new_cols(BlockKind.BID_MINIMUM, members, integer=True)
    k = np.arange(macc.shape[0])
    ru = b.new_rows(BlockKind.BID_MINIMUM_UPPER, members, -_INF, 0.0)
    b.add(ru + k, units.start + macc, 1.0)
    b.add(ru + k, z0 + k, -1.0)
    rl = b.new_rows(BlockKind.BID_MINIMUM_LOWER, members, 0.0, _INF)
    b.add(rl + k, units.start + macc, 1.0)
    b.add(rl + k, z0 + k, -ratio)


def define_xor(b: Builder, p: ClearingProblem, units: AcceptanceUnits) -> None:
    """``bid-select`` binaries ``u`` per XOR member with ``r <= u`` for each of its units, and
    ``xor``: ``Σ u <= 1`` per set."""
    xor_bids = np.flatnonzero(p.bid_xor >= 0)
    sel_of_bid = np.full(p.n_bid, -1, dtype=np.int64)
    sel_of_bid[xor_bids] = np.arange(xor_bids.shape[0])
    u0 = b.new_cols(BlockKind.BID_SELECT, Members.whole(xor_bids), integer=True)
    sel_units = np.flatnonzero(sel_of_bid[units.bid] >= 0)
    rs = b.new_rows(BlockKind.BID_SELECT, units.members(sel_units), -_INF, 0.0)
    k = np.arange(sel_units.shape[0])
    b.add(rs + k, units.start + sel_units, 1.0)
    b.add(rs + k, u0 + sel_of_bid[units.bid[sel_units]], -1.0)
    sets = np.unique(p.bid_xor[xor_bids])
    set_row = np.searchsorted(sets, p.bid_xor[xor_bids])
    rx = b.new_rows(BlockKind.XOR, Members.whole(sets), -_INF, 1.0)
    b.add(rx + set_row, u0 + np.arange(xor_bids.shape[0]), 1.0)


def define_links(b: Builder, p: ClearingProblem, units: AcceptanceUnits) -> None:
    """``bid-parent`` ratio ``ρ`` per parent with ``parent-min``: ``ρ <= r`` for each parent
    unit, and ``link``: ``r_child <= ρ_parent`` for each child unit."""
    parents = np.unique(p.bid_parent[p.bid_parent >= 0])
    rho_of_bid = np.full(p.n_bid, -1, dtype=np.int64)
    rho_of_bid[parents] = np.arange(parents.shape[0])
    rho0 = b.new_cols(BlockKind.BID_PARENT, Members.whole(parents))
    par_units = np.flatnonzero(rho_of_bid[units.bid] >= 0)
    rp = b.new_rows(BlockKind.PARENT_MIN, units.members(par_units), -_INF, 0.0)
    k = np.arange(par_units.shape[0])
    b.add(rp + k, rho0 + rho_of_bid[units.bid[par_units]], 1.0)
    b.add(rp + k, units.start + par_units, -1.0)
    child_units = np.flatnonzero(p.bid_parent[units.bid] >= 0)
    rc = b.new_rows(BlockKind.LINK, units.members(child_units), -_INF, 0.0)
    k = np.arange(child_units.shape[0])
    b.add(rc + k, units.start + child_units, 1.0)
    b.add(rc + k, rho0 + rho_of_bid[p.bid_parent[units.bid[child_units]]], -1.0)


def define_needs(
    b: Builder, p: ClearingProblem, options: ClearingOptions, units: AcceptanceUnits
) -> NeedRows:
    """``need-shortfall`` columns priced just above the need's cap (or at the shortfall
    penalty) and ``need-cover``: Σ eligible accepted MW + shortfall >= required MW."""
    n_n, n_t = p.n_need, p.n_mtu
    e_need, e_slot, _ = eligible_pairs(p)
    short_price = shortfall_price_eur_per_mwh(p, options)
    members = Members.entity_major(n_n, n_t)
    req = p.need_required_mw.ravel()
    cost = short_price[members.entity] * p.mtu_duration_h[members.mtu]
    sh0 = b.new_cols(BlockKind.NEED_SHORTFALL, members, cost, (0.0, req))
    rn = b.new_rows(BlockKind.NEED_COVER, members, req, _INF)
    b.add(rn + np.arange(n_n * n_t), sh0 + np.arange(n_n * n_t), 1.0)
    b.add(
        rn + e_need * n_t + p.slot_mtu[e_slot],
        units.start + units.slot_col[e_slot],
        p.slot_quantity_mw[e_slot],
    )
    return NeedRows(
        eligible_need=e_need, eligible_slot=e_slot, shortfall_price_eur_per_mwh=short_price
    )


def define_nodal_injections(b: Builder, p: ClearingProblem, units: AcceptanceUnits) -> Injections:
    """``injection-p`` / ``injection-q``: free columns per bus and MTU with ``nodal-p`` /
    ``nodal-q``: injection = Σ signed accepted MW (Mvar) at the bus. Only when grid rows exist
    (reactive ones only when a voltage or a reactive interface term sees reactive slots)."""
    nb = p.n_bus
    located = p.slot_bus >= 0
    act = located & ~p.slot_reactive
    rea = located & p.slot_reactive
    coupled = act & (p.slot_q_mvar_per_mw != 0)
    use_p = nb > 0 and (p.n_branch > 0 or p.n_vbus > 0 or p.n_interface > 0)
    q_rows = p.n_vbus > 0 or bool(p.n_interface > 0 and np.any(p.ic_q_total != 0))
    use_q = nb > 0 and q_rows and bool(rea.any() or coupled.any())
    sign = np.where(p.slot_up, 1.0, -1.0)
    q = p.slot_quantity_mw
    at_bus = p.slot_mtu * nb + p.slot_bus  # offset of each located slot's nodal row
    col = units.start + units.slot_col
    p0 = q0 = -1
    n_inj = nb * p.n_mtu
    if use_p:
        p0, rnp = _nodal_block(b, p, BlockKind.INJECTION_P, BlockKind.NODAL_P)
        sa = np.flatnonzero(act)
        b.add(rnp + at_bus[sa], col[sa], -sign[sa] * q[sa])
        b.mark_active(p0, np.bincount(at_bus[sa], minlength=n_inj) > 0)
    if use_q:
        q0, rnq = _nodal_block(b, p, BlockKind.INJECTION_Q, BlockKind.NODAL_Q)
        sr = np.flatnonzero(rea)
        b.add(rnq + at_bus[sr], col[sr], -sign[sr] * q[sr])
        sc = np.flatnonzero(coupled)
        b.add(rnq + at_bus[sc], col[sc], -sign[sc] * q[sc] * p.slot_q_mvar_per_mw[sc])
        b.mark_active(q0, np.bincount(at_bus[np.concatenate([sr, sc])], minlength=n_inj) > 0)
    return Injections(p_start=p0, q_start=q0)


def _nodal_block(
    b: Builder, p: ClearingProblem, injection: BlockKind, nodal: BlockKind
) -> tuple[int, int]:
    """Free injection columns and their nodal rows (``injection - Σ ... = 0``, the sum added by
    the caller), per bus and MTU; returns the first column and the first row."""
    members = Members.mtu_major(p.n_bus, p.n_mtu)
    col = b.new_cols(injection, members, 0.0, (-_INF, _INF))
    row = b.new_rows(nodal, members, 0.0, 0.0)
    k = np.arange(p.n_bus * p.n_mtu)
    b.add(row + k, col + k, 1.0)
    return col, row


def define_branch_flows(
    b: Builder,
    p: ClearingProblem,
    options: ClearingOptions,
    inj: Injections,
    rows: BoolArray | None = None,
) -> None:
    """``branch-flow``: ``-L' - f0 <= Σ PTDF · p - over + under <= L' - f0`` per branch and
    MTU (``L' = (1 - margin) · L``), with the priced slacks ``branch-over`` / ``branch-under``.

    ``rows`` (``(n_branch, n_mtu)``, default all) keeps only the marked (branch, MTU) rows
    (lazy rows, :mod:`flexcoord.clearing.lazy_rows`)."""
    if not p.n_branch or inj.p_start < 0:
        return
    lim = np.tile((1.0 - p.safety_margin) * p.limit_mw, p.n_mtu)
    f0 = p.base_flow_mw.T.ravel()
    lower, upper = -lim - f0, lim - f0
    members = _subset(rows, p.n_branch)
    if members is not None:
        keep = members.mtu * p.n_branch + members.entity
        lower, upper = lower[keep], upper[keep]
    b.soft_rows(
        SoftLimit(
            rows=BlockKind.BRANCH_FLOW,
            over=BlockKind.BRANCH_OVER,
            under=BlockKind.BRANCH_UNDER,
            lower=lower,
            upper=upper,
            penalty=options.branch_penalty_eur_per_mwh,
            terms=((p.ptdf, inj.p_start),),
            members=members,
        )
    )


def _subset(rows: BoolArray | None, n: int) -> Members | None:
    """The (entity, MTU) members marked in ``rows`` (``(n, n_mtu)``), MTU-major; ``None``: all."""
    if rows is None:
        return None
    keep = np.flatnonzero(np.asarray(rows, dtype=bool).T.ravel())
    return Members(keep % n, keep // n)


def define_voltages(
    b: Builder,
    p: ClearingProblem,
    options: ClearingOptions,
    inj: Injections,
    rows: BoolArray | None = None,
) -> None:
    """``voltage``: ``vm_min - v0 <= dvm_dp · p + dvm_dq · q - over + under <= vm_max - v0``
    per monitored bus and MTU, with the priced slacks ``voltage-over`` / ``voltage-under``.

    ``rows`` (``(n_vbus, n_mtu)``, default all) keeps only the marked (bus, MTU) rows: the
    lazy clearing (:mod:`flexcoord.clearing.lazy_rows`) adds the others only when needed."""
    if not p.n_vbus or inj.p_start < 0:
        return
    v0 = p.base_vm_pu.T.ravel()
    lower = np.tile(p.vm_min_pu, p.n_mtu) - v0
    upper = np.tile(p.vm_max_pu, p.n_mtu) - v0
    members = _subset(rows, p.n_vbus)
    if members is not None:
        keep = members.mtu * p.n_vbus + members.entity
        lower, upper = lower[keep], upper[keep]
    b.soft_rows(
        SoftLimit(
            rows=BlockKind.VOLTAGE,
            over=BlockKind.VOLTAGE_OVER,
            under=BlockKind.VOLTAGE_UNDER,
            lower=lower,
            upper=upper,
            penalty=options.voltage_penalty_eur_per_pu_h,
            terms=((p.dvm_dp, inj.p_start), (p.dvm_dq, inj.q_start)),
            members=members,
        )
    )


def define_interfaces(
    b: Builder, p: ClearingProblem, options: ClearingOptions, inj: Injections
) -> None:
    """``interface``: ``ic_lower <= ic_p · p + ic_q · q - over + under <= ic_upper`` per named
    interface constraint and MTU, with the priced slacks ``interface-over`` / ``-under``."""
    if not p.n_interface or inj.p_start < 0:
        return
    flows = define_interface_flows(b, p, inj)
    b.soft_rows(
        SoftLimit(
            rows=BlockKind.INTERFACE,
            over=BlockKind.INTERFACE_OVER,
            under=BlockKind.INTERFACE_UNDER,
            lower=p.ic_lower.T.ravel(),
            upper=p.ic_upper.T.ravel(),
            penalty=options.interface_penalty,
            terms=((p.ic_p, inj.p_start), (p.ic_q, inj.q_start), (p.ic_flow, flows)),
        )
    )


def define_interface_flows(b: Builder, p: ClearingProblem, inj: Injections) -> int:
    """``interface-flow``: a free column per interface flow and MTU, with
    ``interface-flow-def``: ``flow - if_p · p - if_q · q = 0``; returns the first column
    (``-1`` when the problem has no flow)."""
    n_f, n_t = p.n_interface_flow, p.n_mtu
    if not n_f:
        return -1
    members = Members.mtu_major(n_f, n_t)
    col = b.new_cols(BlockKind.INTERFACE_FLOW, members, 0.0, (-_INF, _INF))
    row = b.new_rows(BlockKind.INTERFACE_FLOW_DEF, members, 0.0, 0.0)
    k = np.arange(n_f * n_t)
    b.add(row + k, col + k, 1.0)
    for mat, start in ((p.if_p, inj.p_start), (p.if_q, inj.q_start)):
        if start < 0:
            continue
        mf, mk = np.nonzero(np.abs(mat) > 0.0)
        tt = np.repeat(np.arange(n_t), mf.shape[0])
        b.add(
            row + tt * n_f + np.tile(mf, n_t),
            start + tt * p.n_bus + np.tile(mk, n_t),
            -np.tile(mat[mf, mk], n_t),
        )
    return col


def define_balance(
    b: Builder, p: ClearingProblem, options: ClearingOptions, units: AcceptanceUnits
) -> None:
    """``balance`` (counter-trading): Σ signed accepted active MW + up - down = 0 per MTU, with
    the priced slacks ``balance-up`` / ``balance-down``."""
    if not p.energy_balance:
        return
    n_t = p.n_mtu
    t_all = np.arange(n_t)
    members = Members(np.full(n_t, -1), t_all)
    pen = options.balance_penalty_eur_per_mwh * p.mtu_duration_h
    bp = b.new_cols(BlockKind.BALANCE_UP, members, pen, (0.0, _INF))
    bm = b.new_cols(BlockKind.BALANCE_DOWN, members, pen, (0.0, _INF))
    rbal = b.new_rows(BlockKind.BALANCE, members, 0.0, 0.0)
    sa = np.flatnonzero(~p.slot_reactive)
    sign = np.where(p.slot_up[sa], 1.0, -1.0)
    b.add(rbal + p.slot_mtu[sa], units.start + units.slot_col[sa], sign * p.slot_quantity_mw[sa])
    b.add(rbal + t_all, bp + t_all, 1.0)
    b.add(rbal + t_all, bm + t_all, -1.0)


def define_unit_capability(
    b: Builder, p: ClearingProblem, units: AcceptanceUnits
) -> CapabilityRows:
    """``unit-capability`` (hard, no slack): ``Σ weight · q_s · r <= cap_limit_mw`` per unit
    capability and MTU, only where the offered quantities exceed the capability."""
    caps = capability_rows(p)
    members = Members(caps.row_cap, caps.row_mtu)
    rk = b.new_rows(BlockKind.UNIT_CAPABILITY, members, -_INF, p.cap_limit_mw[caps.row_cap])
    es = caps.entry_slot
    b.add(
        rk + caps.entry_row,
        units.start + units.slot_col[es],
        caps.entry_weight * p.slot_quantity_mw[es],
    )
    return caps
