"""From a raw HiGHS solution to a :class:`ClearingResult`: quantities, prices, explanations.

Explanations are computed from the solution and the duals, in this order for a bid with nothing
accepted (the first that applies wins; see :class:`RejectionReason`):

1. no quantity offered; 2. its parent got nothing; 3. another member of its XOR set was accepted;
4. every need it matches in place, direction and type has a price cap below its price;
5. it is wanted (in the money, or - matching no need - relieving a binding grid limit) but its
   unit's capability in that direction and MTU is sold out to other bids (or what is left is
   less than its indivisible / minimum quantity);
6. it matches no need (and no binding grid limit wants it);
7. it was *in the money* (cheaper than the need's cleared price, or the need is short) but a binding
   grid limit it would push further blocks it - the limit with the largest dual weight is named
   (a branch, or an interface constraint such as a DSO area's PQ region);
8. in the money but indivisible / above what is left of the need (minimum acceptance);
9. the needs it matches were covered by cheaper bids; 10. otherwise not economic (e.g. a block
   whose other MTUs are not needed).

A bid accepted in part because its unit's capability is sold out is listed as a curtailment
(``ClearingResult.curtailments``) with the same words; sold-out capability rows with a non-zero
dual are binding constraints of kind ``unit-capability``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.capability import capability_label, capability_words
from flexcoord.clearing.dispatch import GridState, Violations, grid_state, violations
from flexcoord.clearing.formulation import BlockKind, Formulation, eligible_pairs
from flexcoord.clearing.options import ClearingOptions, PricingRule
from flexcoord.clearing.problem import BoolArray, FloatArray, IntArray
from flexcoord.clearing.result import (
    BindingConstraint,
    ClearingResult,
    SolverStats,
)
from flexcoord.clearing.solve import RawSolution

__all__ = ["extract"]

_DUAL_TOL = 1e-7


def _block(
    form: Formulation, blocks: str, kind: BlockKind, values: FloatArray | None
) -> FloatArray:
    table = form.col_blocks if blocks == "col" else form.row_blocks
    b = table.get(kind)
    if b is None or values is None:
        return np.zeros(0)
    return values[b.start : b.stop]


def extract(
    form: Formulation, raw: RawSolution, options: ClearingOptions, build_s: float
) -> ClearingResult:
    """Turn ``raw`` into a :class:`ClearingResult` (see the module docstring for the reasons).

    Stages: the accepted MW per slot; the needs' coverage and prices; the grid state and what it
    breaks (the dispatch kernel); locational prices; each slot's price and payment; the
    objective's parts; the binding limits and the explanations.
    """
    t0 = time.perf_counter()
    p = form.problem
    slot_mw = _accepted_mw(form, raw.col_value, options.tolerance_mw)
    y = raw.row_dual
    needs = _need_outcome(form, slot_mw, y, options.tolerance_mw)
    state = grid_state(p, slot_mw)
    broken = violations(p, state, slot_mw)
    lmp = _lmp(form, y)
    price, payment = _slot_prices(form, slot_mw, needs, lmp, options.pricing)
    why = _explanation(form, state, broken, slot_mw, needs, y, options)
    return ClearingResult(
        problem=p,
        pricing=options.pricing,
        slot_accepted_mw=_ro(slot_mw),
        slot_price_eur_per_mwh=_ro(price),
        slot_payment_eur=_ro(payment),
        need_covered_mw=_ro(needs.covered),
        need_shortfall_mw=_ro(needs.shortfall),
        need_cleared_price_eur_per_mwh=_ro(needs.cleared),
        need_marginal_price_eur_per_mwh=_ro(needs.marginal),
        lmp_eur_per_mwh=_ro(lmp),
        branch_flow_mw=_ro(state.flow_mw),
        branch_violation_mw=_ro(broken.branch_mw),
        vm_pu=_ro(state.vm_pu),
        voltage_violation_pu=_ro(broken.voltage_pu),
        interface_value=_ro(state.interface),
        interface_violation=_ro(broken.interface),
        slot_capability_ref=why.cap_ref,
        balance_violation_mw=_ro(broken.balance_mw),
        # not BLAS's ddot: OpenBLAS wakes its threads for it, 5-12 ms on a busy machine
        objective_eur=raw.objective - float(np.sum(form.tie_break_cost * raw.col_value)),
        procurement_cost_eur=float(
            np.sum(slot_mw * p.mtu_duration_h[p.slot_mtu] * p.slot_price_eur_per_mwh)
        ),
        penalty_cost_eur=_penalty_eur(form, needs.shortfall, broken, options),
        binding=why.binding,
        rejection_code=why.rejection_code,
        rejection_ref=why.rejection_ref,
        shortfall_reasons=why.shortfall_reasons,
        stats=_stats(form, raw, build_s, time.perf_counter() - t0),
    )


def _accepted_mw(form: Formulation, x: FloatArray, tol: float) -> FloatArray:
    """MW per slot: the acceptance ratio in ``[0, 1]`` (integers rounded), times the slot's
    quantity, below ``tol`` read as nothing."""
    acc_ratio = np.clip(_block(form, "col", BlockKind.BID_ACCEPT, x), 0.0, 1.0)
    acc_ratio = np.where(form.integrality[: acc_ratio.shape[0]] > 0, np.rint(acc_ratio), acc_ratio)
    slot_mw = form.problem.slot_quantity_mw * acc_ratio[form.slot_col]
    out: FloatArray = np.where(slot_mw > tol, slot_mw, 0.0)
    return out


@dataclass(frozen=True, slots=True)
class _Needs:
    """Per need and MTU: covered and short MW, the cleared price (the dearest accepted eligible
    slot) and the marginal price (the cover row's dual per hour)."""

    covered: FloatArray
    shortfall: FloatArray
    cleared: FloatArray
    marginal: FloatArray


def _need_outcome(
    form: Formulation, slot_mw: FloatArray, y: FloatArray | None, tol: float
) -> _Needs:
    p = form.problem
    n_t, n_n = p.n_mtu, p.n_need
    e_need, e_slot = form.eligible_need, form.eligible_slot
    e_t = p.slot_mtu[e_slot]
    covered: FloatArray = (
        np.bincount(e_need * n_t + e_t, weights=slot_mw[e_slot], minlength=n_n * n_t)
        .astype(np.float64, copy=False)
        .reshape(n_n, n_t)
    )
    shortfall = np.clip(p.need_required_mw - covered, 0.0, None)
    shortfall = np.where(shortfall > tol, shortfall, 0.0)
    cleared_flat = np.full(n_n * n_t, np.nan)
    pos = slot_mw[e_slot] > 0
    np.fmax.at(cleared_flat, (e_need * n_t + e_t)[pos], p.slot_price_eur_per_mwh[e_slot][pos])
    need_dual = _block(form, "row", BlockKind.NEED_COVER, y)
    marginal = (
        need_dual.reshape(n_n, n_t) / p.mtu_duration_h
        if need_dual.size == n_n * n_t
        else np.full((n_n, n_t), np.nan)
    )
    return _Needs(
        covered=covered,
        shortfall=shortfall,
        cleared=cleared_flat.reshape(n_n, n_t),
        marginal=marginal,
    )


def _lmp(form: Formulation, y: FloatArray | None) -> FloatArray:
    """``(n_bus, T)`` locational price: minus the nodal balance row's dual (plus the energy
    balance row's), per hour; NaN without those duals."""
    p = form.problem
    nb, n_t = p.n_bus, p.n_mtu
    nodal_dual = _block(form, "row", BlockKind.NODAL_P, y)
    bal_dual = _block(form, "row", BlockKind.BALANCE, y)
    lmp = np.full((nb, n_t), np.nan)
    if nodal_dual.size == nb * n_t:
        value = -nodal_dual.reshape(n_t, nb)
        if bal_dual.size == n_t:
            value = value + bal_dual[:, None]
        lmp = (value / p.mtu_duration_h[:, None]).T
    return lmp


def _slot_prices(
    form: Formulation, slot_mw: FloatArray, needs: _Needs, lmp: FloatArray, pricing: PricingRule
) -> tuple[FloatArray, FloatArray]:
    """Each slot's price (€/MWh, NaN when nothing is accepted) and payment (€) by the pricing
    rule; the expected-activation part of a combined product's merit score is paid later."""
    p = form.problem
    e_need, e_slot = form.eligible_need, form.eligible_slot
    e_t = p.slot_mtu[e_slot]
    dur = p.mtu_duration_h
    merit = p.slot_price_eur_per_mwh
    markup = merit - p.slot_payment_price_eur_per_mwh  # expected-activation part, paid later
    price = p.slot_payment_price_eur_per_mwh.copy()
    if pricing == PricingRule.PAY_AS_CLEARED and e_slot.size:
        best = np.full(p.n_slot, -np.inf)
        np.fmax.at(best, e_slot, needs.cleared[e_need, e_t])
        served = np.isfinite(best)
        price = np.where(served, np.maximum(best, merit) - markup, price)
    elif pricing == PricingRule.LOCATIONAL:
        slot_value = np.zeros(p.n_slot)
        if np.isfinite(lmp).all() and lmp.size:
            act = (p.slot_bus >= 0) & ~p.slot_reactive
            sign = np.where(p.slot_up[act], 1.0, -1.0)
            slot_value[act] = sign * lmp[p.slot_bus[act], p.slot_mtu[act]]
        if np.isfinite(needs.marginal).all() and e_slot.size:
            np.add.at(slot_value, e_slot, needs.marginal[e_need, e_t])
        price = np.maximum(slot_value, merit) - markup
    price = np.where(slot_mw > 0, price, np.nan)
    payment = np.where(slot_mw > 0, slot_mw * dur[p.slot_mtu] * np.nan_to_num(price), 0.0)
    return price, payment


def _penalty_eur(
    form: Formulation, shortfall: FloatArray, broken: Violations, options: ClearingOptions
) -> float:
    """The objective's penalty part (without tie-break): shortfall, branch, voltage, balance and
    interface violations, each at its price."""
    dur = form.problem.mtu_duration_h
    penalty = float(np.sum(shortfall * form.shortfall_price_eur_per_mwh[:, None] * dur[None, :]))
    penalty += float(np.sum(broken.branch_mw * dur[None, :])) * options.branch_penalty_eur_per_mwh
    penalty += (
        float(np.sum(broken.voltage_pu * dur[None, :])) * options.voltage_penalty_eur_per_pu_h
    )
    penalty += float(np.sum(np.abs(broken.balance_mw) * dur)) * options.balance_penalty_eur_per_mwh
    if form.problem.n_interface:
        penalty += float(np.sum(broken.interface * dur[None, :])) * options.interface_penalty
    return penalty


@dataclass(frozen=True, slots=True)
class _Explanation:
    """The binding limits, each bid's rejection reason and reference, each slot's capability
    row (-1: none), each shortfall's reasons."""

    binding: tuple[BindingConstraint, ...]
    rejection_code: NDArray[np.int8]
    rejection_ref: IntArray
    cap_ref: IntArray
    shortfall_reasons: tuple[str, ...]


def _explanation(
    form: Formulation,
    state: GridState,
    broken: Violations,
    slot_mw: FloatArray,
    needs: _Needs,
    y: FloatArray | None,
    options: ClearingOptions,
) -> _Explanation:
    """The binding limits (branches, voltages, interface rows, capabilities), each rejected bid's
    reason (with ``options.explain``) and each shortfall's reasons."""
    p = form.problem
    lim = (1.0 - p.safety_margin) * p.limit_mw
    binding, grid_side = _binding(
        form, state.flow_mw, state.vm_pu, lim, broken.branch_mw, broken.voltage_pu, y, options
    )
    branch_side, v_side = grid_side[: p.n_branch], grid_side[p.n_branch :]
    ic_binding, ic_side = _interface_binding(form, state.interface, broken.interface, y, options)
    cap_binding, cap_ref = _capability(form, slot_mw, y, options.tolerance_mw)
    binding += ic_binding + cap_binding
    if options.explain:
        # limit rows: branches, then interface constraints, then voltages
        limit_side = (
            np.vstack([branch_side, ic_side, v_side])
            if p.n_interface
            else np.vstack([branch_side, v_side])
        )
        rej_code, rej_ref = _rejections(
            form, slot_mw, needs.cleared, needs.shortfall, limit_side, cap_ref
        )
    else:
        rej_code = np.full(p.n_bid, -1, dtype=np.int8)
        rej_ref = np.full(p.n_bid, -1, dtype=np.int64)
    for a in (rej_code, rej_ref, cap_ref):
        a.setflags(write=False)
    return _Explanation(
        binding=binding,
        rejection_code=rej_code,
        rejection_ref=rej_ref,
        cap_ref=cap_ref,
        shortfall_reasons=_shortfall_reasons(form, needs.shortfall, binding, cap_ref),
    )


def _stats(form: Formulation, raw: RawSolution, build_s: float, extract_s: float) -> SolverStats:
    return SolverStats(
        n_rows=form.n_row,
        n_cols=form.n_col,
        n_nonzeros=int(form.a_matrix.nnz),
        n_integer=int(form.integrality.sum()),
        status=raw.status,
        optimal=raw.optimal,
        mip_gap=raw.mip_gap,
        simplex_iterations=raw.simplex_iterations,
        mip_nodes=raw.mip_nodes,
        build_s=build_s + raw.pass_s,
        solve_s=raw.solve_s,
        duals_s=raw.duals_s,
        extract_s=extract_s,
    )


def _ro(a: FloatArray) -> FloatArray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _limit_binding(
    form: Formulation,
    y: FloatArray | None,
    *,
    row_kind: BlockKind,
    names: tuple[str, ...],
    value: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    violation: FloatArray,
    tol: float,
    text: Callable[[str, str, str], str],
    excess: str,
) -> tuple[list[BindingConstraint], FloatArray]:
    """Binding rows of one kind of soft limit (``value`` within ``[lower, upper]`` per (row, t)),
    and their signed dual (+ upper, − lower) per (row, t). ``text(name, side, mtu)`` words a row;
    ``excess`` formats an unrelievable violation (e.g. ``"{:.3f} MW"``)."""
    p = form.problem
    n, n_t = len(names), p.n_mtu
    if not n:
        return [], np.zeros((0, n_t))
    raw = _block(form, "row", row_kind, y)
    dual = raw.reshape(n_t, n).T if raw.size == n * n_t else np.zeros((n, n_t))
    block = form.row_blocks.get(row_kind)
    if raw.size and raw.size != n * n_t and block is not None:
        dual[block.entity, block.mtu] = raw  # only some rows built (lazy voltage rows)
    at_upper = value >= upper - tol
    at_lower = value <= lower + tol
    hit = (at_upper | at_lower) & ((np.abs(dual) > _DUAL_TOL) | (violation > tol))
    side_dual = np.where(at_upper, np.abs(dual), np.where(at_lower, -np.abs(dual), 0.0)) * hit
    out: list[BindingConstraint] = []
    for row, t in zip(*np.nonzero(hit), strict=True):
        side = "upper" if at_upper[row, t] else "lower"
        name, mtu = names[row], p.mtu_labels[t]
        v = float(violation[row, t])
        extra = f", exceeded by {excess.format(v)} (not relievable)" if v > tol else ""
        out.append(
            BindingConstraint(
                kind=str(row_kind),
                element=name,
                side=side,
                mtu=mtu,
                dual_eur_per_unit=float(dual[row, t] / p.mtu_duration_h[t]),
                violation=v,
                text=text(name, side, mtu) + extra,
            )
        )
    return out, side_dual


def _binding(
    form: Formulation,
    flow: FloatArray,
    vm: FloatArray,
    lim: FloatArray,
    br_viol: FloatArray,
    v_viol: FloatArray,
    y: FloatArray | None,
    options: ClearingOptions,
) -> tuple[tuple[BindingConstraint, ...], FloatArray]:
    """Binding branch and voltage limits; also their signed duals (branches, then voltages)."""
    p = form.problem
    branches, branch_side = _limit_binding(
        form,
        y,
        row_kind=BlockKind.BRANCH_FLOW,
        names=p.branch_names,
        value=flow,
        lower=-lim[:, None],
        upper=lim[:, None],
        violation=br_viol,
        tol=max(options.tolerance_mw, 1e-6),
        excess="{:.3f} MW",
        text=lambda name, side, mtu: f"{name} {side} limit at {mtu}",
    )
    voltages, v_side = _limit_binding(
        form,
        y,
        row_kind=BlockKind.VOLTAGE,
        names=p.vbus_names,
        value=vm,
        lower=p.vm_min_pu[:, None],
        upper=p.vm_max_pu[:, None],
        violation=v_viol,
        tol=1e-7,
        excess="{:.5f} pu",
        text=lambda name, side, mtu: f"{name} voltage {side} limit at {mtu}",
    )
    return (*branches, *voltages), np.vstack([branch_side, v_side])


def _interface_binding(
    form: Formulation,
    value: FloatArray,
    viol: FloatArray,
    y: FloatArray | None,
    options: ClearingOptions,
) -> tuple[tuple[BindingConstraint, ...], FloatArray]:
    """Binding interface constraints; also their signed dual (+ upper, - lower) per (c, t)."""
    p = form.problem
    out, side_dual = _limit_binding(
        form,
        y,
        row_kind=BlockKind.INTERFACE,
        names=p.ic_names,
        value=value,
        lower=p.ic_lower,
        upper=p.ic_upper,
        violation=viol,
        tol=max(options.tolerance_mw, 1e-6),
        excess="{:.3f}",
        text=lambda name, side, mtu: f"interface constraint {name} {side} limit at {mtu}",
    )
    return tuple(out), side_dual


def _in_money(
    form: Formulation, cleared: FloatArray, shortfall: FloatArray
) -> tuple[BoolArray, BoolArray]:
    """Per slot: whether it is in the money for some need it is eligible for (the need is short,
    or cleared above the slot's price); per bid: whether it is eligible for any need."""
    p = form.problem
    e_need, e_slot = form.eligible_need, form.eligible_slot
    e_t = p.slot_mtu[e_slot]
    price = p.slot_price_eur_per_mwh[e_slot]
    cl = cleared[e_need, e_t]
    pair = (shortfall[e_need, e_t] > 0) | (np.isfinite(cl) & (price < cl - 1e-9))
    in_money = np.bincount(e_slot, weights=pair.astype(float), minlength=p.n_slot) > 0
    has_elig = np.bincount(p.slot_bid[e_slot], minlength=p.n_bid) > 0
    return in_money, has_elig


def _grid_push(
    form: Formulation, wants: BoolArray, branch_side: FloatArray
) -> tuple[IntArray, BoolArray]:
    """Per slot of a bid that ``wants`` in: the binding limit it would push furthest (the limit
    index of :func:`_rejections`, -1 = none), and whether it would relieve some binding limit."""
    p = form.problem
    blocker = np.full(p.n_slot, -1, dtype=np.int64)
    helps = np.zeros(p.n_slot, dtype=bool)
    nl, nc, nv = p.n_branch, p.n_interface, p.n_vbus
    has_rows = nl + nc + nv > 0
    lines = np.flatnonzero(np.any(branch_side != 0, axis=1)) if has_rows else np.zeros(0, np.int64)
    if not lines.size:
        return blocker, helps
    br_lines = lines[lines < nl]
    ic_lines = lines[(lines >= nl) & (lines < nl + nc)] - nl
    v_lines = lines[lines >= nl + nc] - nl - nc
    at_t = np.zeros((3, p.n_mtu), dtype=bool)
    at_t[0] = np.any(branch_side[br_lines] != 0, axis=0)
    at_t[1] = np.any(branch_side[nl + ic_lines] != 0, axis=0)
    at_t[2] = np.any(branch_side[nl + nc + v_lines] != 0, axis=0)
    cand = (p.slot_bus >= 0) & wants[p.slot_bid]
    cand &= (~p.slot_reactive & at_t[0][p.slot_mtu]) | at_t[1][p.slot_mtu] | at_t[2][p.slot_mtu]
    act = np.flatnonzero(cand)
    if not act.size:
        return blocker, helps
    sign = np.where(p.slot_up[act], 1.0, -1.0)
    bus = p.slot_bus[act]
    # effect[l, slot] of one signed MW: ptdf for branches (active slots); for interface
    # constraints ic_p (+ k · ic_q for an active slot with k Mvar/MW), ic_q (reactive slots)
    active = ~p.slot_reactive[act]
    k = p.slot_q_mvar_per_mw[act][None, :]
    ic_p, ic_q = p.ic_p_total, p.ic_q_total
    effect = np.vstack(
        [
            p.ptdf[br_lines][:, bus] * active[None, :],
            np.where(
                active[None, :],
                ic_p[ic_lines][:, bus] + ic_q[ic_lines][:, bus] * k,
                ic_q[ic_lines][:, bus],
            ),
            # voltages: dV/dP (+ k · dV/dQ) for active slots, dV/dQ for reactive ones
            np.where(
                active[None, :],
                p.dvm_dp[v_lines][:, bus] + p.dvm_dq[v_lines][:, bus] * k,
                p.dvm_dq[v_lines][:, bus],
            ),
        ]
    )
    # weight[l, slot] = sign * effect[l, slot] * side_dual[l, t]  (> 0: the slot worsens l)
    w = sign[None, :] * effect * branch_side[lines][:, p.slot_mtu[act]]
    best = np.argmax(w, axis=0)
    ok = w[best, np.arange(act.shape[0])] > 1e-9
    blocker[act[ok]] = lines[best[ok]]
    helps[act] = np.min(w, axis=0) < -1e-9
    return blocker, helps


def _first_slot(p_slot_bid: IntArray, flag: BoolArray, n_bid: int) -> IntArray:
    """Per bid, its first slot with ``flag`` (slots are in (bid, MTU) order), else -1."""
    first = np.full(n_bid, -1, dtype=np.int64)
    hit = np.flatnonzero(flag)[::-1]
    first[p_slot_bid[hit]] = hit  # reversed, so the first stays
    return first


def _rejections(
    form: Formulation,
    slot_mw: FloatArray,
    cleared: FloatArray,
    shortfall: FloatArray,
    branch_side: FloatArray,
    cap_ref: IntArray,
) -> tuple[NDArray[np.int8], IntArray]:
    """Per bid: the index of its :class:`RejectionReason` (-1 = something accepted) and a
    reference (parent bid, XOR winner, ``c * n_mtu + mtu`` of the sold-out unit capability, or
    ``limit * n_mtu + mtu`` of the blocking limit, where ``limit`` < ``n_branch`` is a branch,
    ``n_branch + c`` interface constraint ``c`` and ``n_branch + n_interface + v`` the voltage of
    monitored bus ``v``).

    ``branch_side`` holds the signed duals of the branches, of the interface constraints, then of
    the voltages (+ upper, − lower); ``cap_ref`` per slot the sold-out capability holding it back.
    """
    p = form.problem
    n_b = p.n_bid
    got = np.bincount(p.slot_bid, weights=slot_mw, minlength=n_b)
    offered = np.bincount(p.slot_bid, weights=p.slot_quantity_mw, minlength=n_b)
    _, _, above = eligible_pairs(p)
    has_above = np.bincount(p.slot_bid[p.eligible_slot[above]], minlength=n_b) > 0
    slot_in_money, has_elig = _in_money(form, cleared, shortfall)
    in_money = np.bincount(p.slot_bid, weights=slot_in_money.astype(float), minlength=n_b) > 0
    blocker, helps = _grid_push(form, (got <= 0) & (in_money | ~has_elig), branch_side)
    # a unit capability holds a bid back where the bid is wanted: in the money, or (matching no
    # need) relieving a binding grid limit
    wanted = slot_in_money | (~has_elig[p.slot_bid] & helps)
    cap_slot = _first_slot(p.slot_bid, (cap_ref >= 0) & wanted, n_b)
    blocked_slot = _first_slot(p.slot_bid, blocker >= 0, n_b)
    # XOR winner per set: the first accepted member in canonical order
    n_sets = int(p.bid_xor.max(initial=-1)) + 1
    winner = np.full(n_sets + 1, -1, dtype=np.int64)
    won = np.flatnonzero((p.bid_xor >= 0) & (got > 0))[::-1]
    winner[p.bid_xor[won]] = won  # reversed, so the first in canonical order stays
    par = p.bid_parent
    xs = p.bid_xor
    xor_win = np.where(xs >= 0, winner[np.maximum(xs, 0)], -1)
    blocked = blocked_slot >= 0
    lumpy = p.bid_indivisible | (p.bid_min_mw > 0) | p.bid_block
    conditions = [  # in the order of RejectionReason
        offered <= 0,
        (par >= 0) & (got[np.maximum(par, 0)] <= 0),
        xor_win >= 0,
        ~has_elig & has_above,
        cap_slot >= 0,
        ~has_elig & ~blocked,
        blocked & (in_money | ~has_elig),
        in_money & lumpy,
        ~in_money,
    ]
    code = np.select(conditions, np.arange(len(conditions)), default=len(conditions))
    bs_safe = np.maximum(blocked_slot, 0)
    grid_ref = blocker[bs_safe] * p.n_mtu + p.slot_mtu[bs_safe]
    cap_bid_ref = cap_ref[np.maximum(cap_slot, 0)] if p.n_slot else np.full(n_b, -1)
    ref = np.select(
        [code == 1, code == 2, code == 4, code == 6],
        [par, xor_win, cap_bid_ref, grid_ref],
        default=-1,
    )
    code8: NDArray[np.int8] = np.where(got <= 0, code, -1).astype(np.int8)
    return code8, np.where(code8 >= 0, ref, -1).astype(np.int64)


def _capability(
    form: Formulation, slot_mw: FloatArray, y: FloatArray | None, tol: float
) -> tuple[tuple[BindingConstraint, ...], IntArray]:
    """Binding unit-capability rows in domain words, and per slot not fully accepted the
    ``c * n_mtu + t`` of the sold-out capability holding it back (-1: none).

    A capability holds a slot back when what is left of it is less than the least the slot can
    take: any MW for a divisible bid, all of it for an indivisible one, its minimum share for a
    bid with a minimum acceptance quantity."""
    p = form.problem
    rows = form.capability
    n_t = p.n_mtu
    cap_ref = np.full(p.n_slot, -1, dtype=np.int64)
    if not rows.size:
        return (), cap_ref
    es, er = rows.entry_slot, rows.entry_row
    q = p.slot_quantity_mw
    used = np.bincount(er, weights=rows.entry_weight * slot_mw[es], minlength=rows.size)
    left = p.cap_limit_mw[rows.row_cap] - used
    q_ref = np.zeros(int(form.slot_col.max(initial=-1)) + 1)
    np.maximum.at(q_ref, form.slot_col, q)
    bid = p.slot_bid[es]
    min_ratio = np.where(
        p.bid_indivisible[bid],
        1.0,
        np.where(
            p.bid_min_mw[bid] > 0,
            p.bid_min_mw[bid] / np.maximum(q_ref[form.slot_col[es]], 1e-300),
            0.0,
        ),
    )
    least = rows.entry_weight * q[es] * np.minimum(min_ratio, 1.0)
    held = (slot_mw[es] < q[es] - tol) & (left[er] < np.maximum(least - tol, tol))
    key = rows.row_cap * n_t + rows.row_mtu
    hs = np.flatnonzero(held)[::-1]
    cap_ref[es[hs]] = key[er[hs]]  # reversed, so the first (lowest) row stays
    dual = _block(form, "row", BlockKind.UNIT_CAPABILITY, y)
    if dual.size != rows.size:
        dual = np.zeros(rows.size)
    out = []
    for r in np.flatnonzero((left <= tol) & (np.abs(dual) > _DUAL_TOL)):
        c, t = int(rows.row_cap[r]), int(rows.row_mtu[r])
        out.append(
            BindingConstraint(
                kind="unit-capability",
                element=p.cap_names[c] + (":q" if p.cap_reactive[c] else ""),
                side="up" if p.cap_up[c] else "down",
                mtu=p.mtu_labels[t],
                dual_eur_per_unit=float(dual[r] / p.mtu_duration_h[t]),
                violation=0.0,
                text=f"{capability_words(p, c, t)} sold out",
            )
        )
    return tuple(out), cap_ref


def _shortfall_reasons(
    form: Formulation,
    shortfall: FloatArray,
    binding: tuple[BindingConstraint, ...],
    cap_ref: IntArray,
) -> tuple[str, ...]:
    """One reason per (need, MTU) with a shortfall, in (need, MTU) order."""
    p = form.problem
    n_t = p.n_mtu
    e_need, e_slot = form.eligible_need, form.eligible_slot
    e_t = p.slot_mtu[e_slot]
    offered = np.bincount(
        e_need * n_t + e_t,
        weights=p.slot_quantity_mw[e_slot],
        minlength=p.n_need * n_t,
    ).reshape(p.n_need, n_t)
    grid_at = {b.mtu for b in binding if b.kind != "unit-capability"}
    held = cap_ref[e_slot] >= 0
    out = []
    for n, t in zip(*np.nonzero(shortfall > 0), strict=True):
        caps = np.unique(cap_ref[e_slot[held & (e_need == n) & (e_t == t)]] // max(n_t, 1))
        if offered[n, t] + 1e-9 < p.need_required_mw[n, t]:
            out.append(
                f"not enough eligible bids at or below the price cap "
                f"({offered[n, t]:.3f} of {p.need_required_mw[n, t]:.3f} MW offered)"
            )
        elif caps.size:
            units = ", ".join(capability_label(p, int(c)).replace(",", " ") for c in caps[:5])
            out.append(f"eligible bids held back by sold-out unit capabilities ({units})")
        elif p.mtu_labels[t] in grid_at:
            out.append("eligible bids blocked by grid limits")
        else:
            out.append("eligible bids excluded by XOR, links, blocks or minimum quantities")
    return tuple(out)
