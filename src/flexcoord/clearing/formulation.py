"""The clearing LP/MILP as scipy.sparse blocks, ready for ``highspy.HighsLp``.

Columns (in this order; every block is a contiguous range):

==================  ==========================================================================
``bid-accept``      acceptance ratio ``r`` in [0, 1] of one *acceptance unit*: a slot for an
                    ordinary bid, the whole bid for a block bid (one ratio across its MTUs).
                    Accepted MW of slot ``s`` = ``q_s · r``. Binary for indivisible bids.
``bid-minimum``     binary ``z`` per unit of a divisible bid with a minimum acceptance quantity:
                    ``ratio_min · z <= r <= z`` (``ratio_min = q_min / q``; for a block, ``q`` is
                    its largest MTU quantity).
``bid-select``      binary ``u`` per XOR member: ``r <= u`` for each of its units,
                    ``Σ u <= 1`` over the set (divisible members use the binary too, so at most
                    one member of a set is accepted at all).
``bid-parent``      ``ρ`` in [0, 1] per parent bid, ``ρ <= r`` for each parent unit; each unit of a
                    child has ``r_child <= ρ_parent``: a child's ratio never exceeds its parent's
                    lowest ratio, so a child is accepted only if its parent is (linear, no binary).
``injection-p/q``   free nodal injection per bus and MTU (only when grid rows - branch, voltage
                    or interface - exist).
``need-shortfall``  ``[0, Q]`` per need and MTU, priced at the need's cap (see options).
``branch-over/under``, ``voltage-over/under``, ``interface-over/under``, ``balance-up/down``:
                    non-negative slacks of the soft grid limits, the interface constraints and
                    the counter-trading balance, priced by the options.
==================  ==========================================================================

Rows: ``need-cover`` (Σ eligible accepted MW + shortfall >= Q), the bid-structure rows above,
``nodal-p``/``nodal-q`` (injection = Σ signed accepted MW at the bus; an active slot with
``slot_q_mvar_per_mw = k`` also adds ``k`` × its signed MW to ``nodal-q``), ``branch-flow`` (ranged:
``-L' - f0 <= Σ PTDF · p - over + under <= L' - f0`` with ``L' = (1 - margin) · L``), ``voltage``
(ranged on ``dvm_dp · p + dvm_dq · q``), ``interface`` (ranged:
``ic_lower <= ic_p · p + ic_q · q - over + under <= ic_upper``, one row per named interface
constraint and MTU), ``balance`` and ``unit-capability`` (hard, no slack:
``Σ weight · q_s · r <= cap_limit_mw`` per unit capability and MTU, named
``unit-capability[<unit>,<up|down>,<mtu>]``, emitted only where the offered quantities exceed the
capability; see :mod:`flexcoord.clearing.capability`).

Eligibility: a (need, slot) pair from the problem counts only when direction and power type match
and the slot's price does not exceed the need's cap. A slot counts fully for every need it is
eligible for (a MW at a bus helps each need located there).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from flexcoord.clearing.capability import CapabilityRows, capability_label, capability_rows
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray, IntArray

__all__ = ["Block", "Formulation", "build_formulation", "eligible_pairs"]

_PTDF_DROP = 1e-10

NDArrayInt8 = NDArray[np.int8]
Values = FloatArray | float


@dataclass(frozen=True, slots=True)
class Block:
    """A contiguous range of rows or columns of one kind; ``entity``/``mtu`` index each member."""

    kind: str
    start: int
    entity: IntArray
    mtu: IntArray

    @property
    def size(self) -> int:
        """Number of rows or columns in the block."""
        return int(self.entity.shape[0])

    @property
    def stop(self) -> int:
        """One past the last index of the block."""
        return self.start + self.size


@dataclass(frozen=True, slots=True, kw_only=True)
class Formulation:
    """The LP/MILP arrays of one problem and the maps from rows/columns back to the problem."""

    problem: ClearingProblem
    a_matrix: sparse.csc_array
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    integrality: NDArrayInt8
    col_blocks: dict[str, Block]
    row_blocks: dict[str, Block]
    slot_col: IntArray
    tie_break_cost: FloatArray
    eligible_need: IntArray
    eligible_slot: IntArray
    shortfall_price_eur_per_mwh: FloatArray
    capability: CapabilityRows

    @property
    def n_col(self) -> int:
        """Number of columns."""
        return int(self.col_cost.shape[0])

    @property
    def n_row(self) -> int:
        """Number of rows."""
        return int(self.row_lower.shape[0])

    @property
    def is_mip(self) -> bool:
        """Whether any column is integer."""
        return bool(self.integrality.any())

    def col_name(self, j: int) -> str:
        """The domain name of column ``j``, e.g. ``bid-accept[b17,t03]``."""
        return self._name(self.col_blocks, j)

    def row_name(self, i: int) -> str:
        """The domain name of row ``i``, e.g. ``branch-flow[line_12,t03]``."""
        return self._name(self.row_blocks, i)

    def col_names(self) -> list[str]:
        """Every column name, in column order."""
        return [self.col_name(j) for j in range(self.n_col)]

    def row_names(self) -> list[str]:
        """Every row name, in row order."""
        return [self.row_name(i) for i in range(self.n_row)]

    def block_of(self, blocks: dict[str, Block], index: int) -> Block:
        """The block holding ``index``."""
        ordered = sorted((b for b in blocks.values() if b.size), key=lambda b: b.start)
        k = bisect.bisect_right([b.start for b in ordered], index) - 1
        if k < 0 or index >= ordered[k].stop:
            raise IndexError(index)
        return ordered[k]

    def entity_label(self, kind: str, entity: int) -> str:
        """The id of entity ``entity`` of a block kind (bid id, need id, bus, branch, ...)."""
        p = self.problem
        if entity < 0:
            return "-"
        if kind.startswith(("bid-", "parent-min", "link")):
            return p.bid_ids[entity]
        if kind.startswith("xor"):
            return p.xor_names[entity] if p.xor_names else f"xor{entity}"
        if kind.startswith("need-"):
            return p.need_ids[entity]
        if kind.startswith(("injection-", "nodal-")):
            return p.bus_ids[entity]
        if kind.startswith("branch-"):
            return p.branch_names[entity]
        if kind.startswith("voltage"):
            return p.vbus_names[entity]
        if kind.startswith("interface"):
            return p.ic_names[entity]
        if kind == "unit-capability":
            return capability_label(p, entity)
        return str(entity)

    def _name(self, blocks: dict[str, Block], index: int) -> str:
        block = self.block_of(blocks, index)
        k = index - block.start
        ent = self.entity_label(block.kind, int(block.entity[k]))
        t = int(block.mtu[k])
        parts = [ent] if ent != "-" else []
        if t >= 0:
            parts.append(self.problem.mtu_labels[t])
        return f"{block.kind}[{','.join(parts)}]"


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


def build_formulation(problem: ClearingProblem, options: ClearingOptions) -> Formulation:
    """Build the LP/MILP of ``problem`` (expected in canonical order) as CSC arrays.

    Vectorised over slots, MTUs and branches; no Python loop per bid or MTU.
    """
    p = problem
    n_t, n_b = p.n_mtu, p.n_bid
    nb, nl, nv, nc = p.n_bus, p.n_branch, p.n_vbus, p.n_interface
    dur = p.mtu_duration_h
    sign = np.where(p.slot_up, 1.0, -1.0)
    q = p.slot_quantity_mw
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []

    def add(r: IntArray, c: IntArray, v: Values) -> None:
        rows.append(r.astype(np.int64, copy=False))
        cols.append(c.astype(np.int64, copy=False))
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), r.shape))

    col_blocks: dict[str, Block] = {}
    row_blocks: dict[str, Block] = {}
    cost: list[FloatArray] = []
    lower: list[FloatArray] = []
    upper: list[FloatArray] = []
    integ: list[FloatArray] = []
    r_lo: list[FloatArray] = []
    r_up: list[FloatArray] = []
    n_col = 0
    n_row = 0

    def new_cols(
        kind: str,
        entity: IntArray,
        mtu: IntArray,
        c: Values,
        lo: Values,
        up: Values,
        integer: bool = False,
    ) -> int:
        nonlocal n_col
        start = n_col
        size = entity.shape[0]
        col_blocks[kind] = Block(kind, start, entity, mtu)
        cost.append(np.broadcast_to(np.asarray(c, dtype=np.float64), (size,)))
        lower.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (size,)))
        upper.append(np.broadcast_to(np.asarray(up, dtype=np.float64), (size,)))
        integ.append(np.full(size, 1.0 if integer else 0.0))
        n_col += size
        return start

    def new_rows(kind: str, entity: IntArray, mtu: IntArray, lo: Values, up: Values) -> int:
        nonlocal n_row
        start = n_row
        size = entity.shape[0]
        row_blocks[kind] = Block(kind, start, entity, mtu)
        r_lo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (size,)))
        r_up.append(np.broadcast_to(np.asarray(up, dtype=np.float64), (size,)))
        n_row += size
        return start

    inf = np.inf

    # --- acceptance units -------------------------------------------------------------------
    block_slot = p.bid_block[p.slot_bid]
    key = p.slot_bid * (n_t + 1) + np.where(block_slot, n_t, p.slot_mtu)
    unit_key, slot_col = np.unique(key, return_inverse=True)
    slot_col = slot_col.astype(np.int64)
    n_acc = unit_key.shape[0]
    acc_bid = unit_key // (n_t + 1)
    acc_mtu = unit_key % (n_t + 1)
    acc_mtu = np.where(acc_mtu == n_t, -1, acc_mtu)
    tie = options.tie_break_eur_per_mwh * (np.arange(n_b) + 1.0) / max(n_b, 1)
    slot_energy = q * dur[p.slot_mtu]
    tie_break_slot = slot_energy * tie[p.slot_bid]
    acc_cost: FloatArray = np.bincount(
        slot_col, weights=slot_energy * p.slot_price_eur_per_mwh + tie_break_slot, minlength=n_acc
    ).astype(np.float64, copy=False)
    acc_tie = np.bincount(slot_col, weights=tie_break_slot, minlength=n_acc)
    indiv = p.bid_indivisible[acc_bid]
    acc0 = new_cols("bid-accept", acc_bid, acc_mtu, acc_cost, 0.0, 1.0)
    integ[-1] = indiv.astype(np.float64)

    # --- minimum acceptance -------------------------------------------------------------------
    q_ref = np.zeros(n_acc)
    np.maximum.at(q_ref, slot_col, q)
    minacc = (p.bid_min_mw[acc_bid] > 0) & ~indiv
    macc = np.flatnonzero(minacc)
    ratio = np.where(
        q_ref[macc] > 0, p.bid_min_mw[acc_bid[macc]] / np.maximum(q_ref[macc], 1e-300), 1.0
    )
    z0 = new_cols("bid-minimum", acc_bid[macc], acc_mtu[macc], 0.0, 0.0, 1.0, integer=True)
    k = np.arange(macc.shape[0])
    ru = new_rows("bid-minimum-upper", acc_bid[macc], acc_mtu[macc], -inf, 0.0)
    add(ru + k, acc0 + macc, 1.0)
    add(ru + k, z0 + k, -1.0)
    rl = new_rows("bid-minimum-lower", acc_bid[macc], acc_mtu[macc], 0.0, inf)
    add(rl + k, acc0 + macc, 1.0)
    add(rl + k, z0 + k, -ratio)

    # --- XOR ----------------------------------------------------------------------------------
    xor_bids = np.flatnonzero(p.bid_xor >= 0)
    sel_of_bid = np.full(n_b, -1, dtype=np.int64)
    sel_of_bid[xor_bids] = np.arange(xor_bids.shape[0])
    u0 = new_cols(
        "bid-select", xor_bids, np.full(xor_bids.shape[0], -1), 0.0, 0.0, 1.0, integer=True
    )
    sel_units = np.flatnonzero(sel_of_bid[acc_bid] >= 0)
    rs = new_rows("bid-select", acc_bid[sel_units], acc_mtu[sel_units], -inf, 0.0)
    k = np.arange(sel_units.shape[0])
    add(rs + k, acc0 + sel_units, 1.0)
    add(rs + k, u0 + sel_of_bid[acc_bid[sel_units]], -1.0)
    sets = np.unique(p.bid_xor[xor_bids])
    set_row = np.searchsorted(sets, p.bid_xor[xor_bids])
    rx = new_rows("xor", sets, np.full(sets.shape[0], -1), -inf, 1.0)
    add(rx + set_row, u0 + np.arange(xor_bids.shape[0]), 1.0)

    # --- links ----------------------------------------------------------------------------------
    parents = np.unique(p.bid_parent[p.bid_parent >= 0])
    rho_of_bid = np.full(n_b, -1, dtype=np.int64)
    rho_of_bid[parents] = np.arange(parents.shape[0])
    rho0 = new_cols("bid-parent", parents, np.full(parents.shape[0], -1), 0.0, 0.0, 1.0)
    par_units = np.flatnonzero(rho_of_bid[acc_bid] >= 0)
    rp = new_rows("parent-min", acc_bid[par_units], acc_mtu[par_units], -inf, 0.0)
    k = np.arange(par_units.shape[0])
    add(rp + k, rho0 + rho_of_bid[acc_bid[par_units]], 1.0)
    add(rp + k, acc0 + par_units, -1.0)
    child_units = np.flatnonzero(p.bid_parent[acc_bid] >= 0)
    rc = new_rows("link", acc_bid[child_units], acc_mtu[child_units], -inf, 0.0)
    k = np.arange(child_units.shape[0])
    add(rc + k, acc0 + child_units, 1.0)
    add(rc + k, rho0 + rho_of_bid[p.bid_parent[acc_bid[child_units]]], -1.0)

    # --- needs ------------------------------------------------------------------------------------
    n_n = p.n_need
    e_need, e_slot, _ = eligible_pairs(p)
    cap = p.need_price_cap_eur_per_mwh
    short_price = np.where(
        np.isfinite(cap),
        cap + 2.0 * options.tie_break_eur_per_mwh,
        options.shortfall_penalty_eur_per_mwh,
    )
    need_ent = np.repeat(np.arange(n_n), n_t)
    need_t = np.tile(np.arange(n_t), n_n)
    req = p.need_required_mw.ravel()
    sh0 = new_cols(
        "need-shortfall", need_ent, need_t, short_price[need_ent] * dur[need_t], 0.0, req
    )
    rn = new_rows("need-cover", need_ent, need_t, req, inf)
    add(rn + np.arange(n_n * n_t), sh0 + np.arange(n_n * n_t), 1.0)
    add(rn + e_need * n_t + p.slot_mtu[e_slot], acc0 + slot_col[e_slot], q[e_slot])

    # --- grid -------------------------------------------------------------------------------------
    located = p.slot_bus >= 0
    act = located & ~p.slot_reactive
    rea = located & p.slot_reactive
    use_p = nb > 0 and (nl > 0 or nv > 0 or nc > 0)
    coupled = act & (p.slot_q_mvar_per_mw != 0)
    q_rows = nv > 0 or bool(nc > 0 and np.any(p.ic_q != 0))
    use_q = nb > 0 and q_rows and bool(rea.any() or coupled.any())
    bus_ent = np.tile(np.arange(nb), n_t)
    bus_t = np.repeat(np.arange(n_t), nb)
    if use_p:
        p0 = new_cols("injection-p", bus_ent, bus_t, 0.0, -inf, inf)
        rnp = new_rows("nodal-p", bus_ent, bus_t, 0.0, 0.0)
        add(rnp + np.arange(nb * n_t), p0 + np.arange(nb * n_t), 1.0)
        sa = np.flatnonzero(act)
        add(rnp + p.slot_mtu[sa] * nb + p.slot_bus[sa], acc0 + slot_col[sa], -sign[sa] * q[sa])
    if use_q:
        q0 = new_cols("injection-q", bus_ent, bus_t, 0.0, -inf, inf)
        rnq = new_rows("nodal-q", bus_ent, bus_t, 0.0, 0.0)
        add(rnq + np.arange(nb * n_t), q0 + np.arange(nb * n_t), 1.0)
        sr = np.flatnonzero(rea)
        add(rnq + p.slot_mtu[sr] * nb + p.slot_bus[sr], acc0 + slot_col[sr], -sign[sr] * q[sr])
        sc = np.flatnonzero(coupled)
        add(
            rnq + p.slot_mtu[sc] * nb + p.slot_bus[sc],
            acc0 + slot_col[sc],
            -sign[sc] * q[sc] * p.slot_q_mvar_per_mw[sc],
        )

    def soft_rows(
        name: str,
        slack: str,
        n: int,
        lower: FloatArray,
        upper: FloatArray,
        penalty: float,
        mats: tuple[tuple[FloatArray, int], ...],
    ) -> None:
        """``n`` rows per MTU of ``Σ mat · injection`` within ``[lower, upper]`` (flattened per
        MTU), each with priced over / under slacks (``slack-over`` / ``slack-under``), on the
        nodal injection columns that start at each ``mats`` entry's offset (−1: absent)."""
        ent = np.tile(np.arange(n), n_t)
        ent_t = np.repeat(np.arange(n_t), n)
        pen = penalty * dur[ent_t]
        over = new_cols(f"{slack}-over", ent, ent_t, pen, 0.0, inf)
        under = new_cols(f"{slack}-under", ent, ent_t, pen, 0.0, inf)
        rows = new_rows(name, ent, ent_t, lower, upper)
        for mat, start in mats:
            if start < 0:
                continue
            ml, mk = np.nonzero(np.abs(mat) > _PTDF_DROP)
            tt = np.repeat(np.arange(n_t), ml.shape[0])
            add(
                rows + tt * n + np.tile(ml, n_t),
                start + tt * nb + np.tile(mk, n_t),
                np.tile(mat[ml, mk], n_t),
            )
        add(rows + np.arange(n * n_t), over + np.arange(n * n_t), -1.0)
        add(rows + np.arange(n * n_t), under + np.arange(n * n_t), 1.0)

    q_start = q0 if use_q else -1
    if nl and use_p:
        lim = np.tile((1.0 - p.safety_margin) * p.limit_mw, n_t)
        f0 = p.base_flow_mw.T.ravel()
        soft_rows(
            "branch-flow",
            "branch",
            nl,
            -lim - f0,
            lim - f0,
            options.branch_penalty_eur_per_mwh,
            ((p.ptdf, p0),),
        )
    if nv and use_p:
        v0 = p.base_vm_pu.T.ravel()
        soft_rows(
            "voltage",
            "voltage",
            nv,
            np.tile(p.vm_min_pu, n_t) - v0,
            np.tile(p.vm_max_pu, n_t) - v0,
            options.voltage_penalty_eur_per_pu_h,
            ((p.dvm_dp, p0), (p.dvm_dq, q_start)),
        )
    if nc and use_p:
        soft_rows(
            "interface",
            "interface",
            nc,
            p.ic_lower.T.ravel(),
            p.ic_upper.T.ravel(),
            options.interface_penalty,
            ((p.ic_p, p0), (p.ic_q, q_start)),
        )
    if p.energy_balance:
        t_all = np.arange(n_t)
        pen = options.balance_penalty_eur_per_mwh * dur
        bp = new_cols("balance-up", np.full(n_t, -1), t_all, pen, 0.0, inf)
        bm = new_cols("balance-down", np.full(n_t, -1), t_all, pen, 0.0, inf)
        rbal = new_rows("balance", np.full(n_t, -1), t_all, 0.0, 0.0)
        sa = np.flatnonzero(~p.slot_reactive)
        add(rbal + p.slot_mtu[sa], acc0 + slot_col[sa], sign[sa] * q[sa])
        add(rbal + t_all, bp + t_all, 1.0)
        add(rbal + t_all, bm + t_all, -1.0)

    # --- unit capability: hard, only where the offers can exceed it ----------------------------
    caps = capability_rows(p)
    rk = new_rows("unit-capability", caps.row_cap, caps.row_mtu, -inf, p.cap_limit_mw[caps.row_cap])
    es = caps.entry_slot
    add(rk + caps.entry_row, acc0 + slot_col[es], caps.entry_weight * q[es])

    a = sparse.csc_array(
        (
            np.concatenate(vals) if vals else np.zeros(0),
            (
                np.concatenate(rows) if rows else np.zeros(0, np.int64),
                np.concatenate(cols) if cols else np.zeros(0, np.int64),
            ),
        ),
        shape=(n_row, n_col),
    )
    a.sum_duplicates()
    tie_full = np.zeros(n_col)
    tie_full[acc0 : acc0 + n_acc] = acc_tie
    return Formulation(
        problem=p,
        a_matrix=a,
        col_cost=np.concatenate(cost),
        col_lower=np.concatenate(lower),
        col_upper=np.concatenate(upper),
        row_lower=np.concatenate(r_lo) if r_lo else np.zeros(0),
        row_upper=np.concatenate(r_up) if r_up else np.zeros(0),
        integrality=np.concatenate(integ).astype(np.int8),
        col_blocks=col_blocks,
        row_blocks=row_blocks,
        slot_col=slot_col,
        tie_break_cost=tie_full,
        eligible_need=e_need,
        eligible_slot=e_slot,
        shortfall_price_eur_per_mwh=short_price,
        capability=caps,
    )
