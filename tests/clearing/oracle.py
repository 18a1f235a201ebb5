"""Brute-force oracle: enumerate every integer choice of a small market, solve each continuous
remainder with scipy's ``linprog`` on an independently written dense formulation, keep the best.

Written from the semantics in :mod:`flexcoord.clearing.formulation`'s docstring, not from its code:
one ratio ``ρ_s`` per slot (slots of a block bid are tied equal), flows and voltages expanded
directly (no nodal variables), XOR handled by choosing which member (if any) may be accepted,
indivisible units by fixing ρ at 0 or 1, minimum quantities by an off/on state with a lower bound,
unit capabilities as one plain row per capability and MTU (the engine emits only the rows the
offers can exceed).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from flexcoord.clearing import ClearingOptions, ClearingProblem


def oracle_objective(p: ClearingProblem, o: ClearingOptions) -> float:
    """The optimal objective (€, without tie-break: run with ``tie_break_eur_per_mwh=0``)."""
    n_s, n_t, n_n, n_b = p.n_slot, p.n_mtu, p.n_need, p.n_bid
    n_l, n_v = p.n_branch, p.n_vbus
    dur = p.mtu_duration_h
    q = p.slot_quantity_mw
    sgn = np.where(p.slot_up, 1.0, -1.0)
    # variable layout: rho[S], short[N*T], bo[L*T], bu[L*T], vo[V*T], vu[V*T], b+[T], b-[T]
    o_sh = n_s
    o_bo = o_sh + n_n * n_t
    o_bu = o_bo + n_l * n_t
    o_vo = o_bu + n_l * n_t
    o_vu = o_vo + n_v * n_t
    o_bp = o_vu + n_v * n_t
    o_bm = o_bp + n_t
    nvar = o_bm + n_t
    c = np.zeros(nvar)
    c[:n_s] = q * dur[p.slot_mtu] * p.slot_price_eur_per_mwh
    cap = p.need_price_cap_eur_per_mwh
    for n in range(n_n):
        pen = cap[n] if np.isfinite(cap[n]) else o.shortfall_penalty_eur_per_mwh
        for t in range(n_t):
            c[o_sh + n * n_t + t] = pen * dur[t]
    for t in range(n_t):
        c[o_bo + t * n_l : o_bo + (t + 1) * n_l] = o.branch_penalty_eur_per_mwh * dur[t]
        c[o_bu + t * n_l : o_bu + (t + 1) * n_l] = o.branch_penalty_eur_per_mwh * dur[t]
        c[o_vo + t * n_v : o_vo + (t + 1) * n_v] = o.voltage_penalty_eur_per_pu_h * dur[t]
        c[o_vu + t * n_v : o_vu + (t + 1) * n_v] = o.voltage_penalty_eur_per_pu_h * dur[t]
        c[o_bp + t] = c[o_bm + t] = o.balance_penalty_eur_per_mwh * dur[t]
    a_ub: list[np.ndarray] = []
    b_ub: list[float] = []
    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []

    def row() -> np.ndarray:
        return np.zeros(nvar)

    # needs: -(Σ q ρ + short) <= -Q
    for n in range(n_n):
        for t in range(n_t):
            r = row()
            r[o_sh + n * n_t + t] = -1.0
            for k in range(p.eligible_need.shape[0]):
                if p.eligible_need[k] != n:
                    continue
                s = int(p.eligible_slot[k])
                if p.slot_mtu[s] != t or p.slot_up[s] != p.need_up[n]:
                    continue
                if p.slot_reactive[s] != p.need_reactive[n]:
                    continue
                if np.isfinite(cap[n]) and p.slot_price_eur_per_mwh[s] > cap[n]:
                    continue
                r[s] -= q[s]
            a_ub.append(r)
            b_ub.append(-float(p.need_required_mw[n, t]))
    # grid: flows and voltages as explicit expressions of ρ
    lim = (1.0 - p.safety_margin) * p.limit_mw
    grid_rows = n_l > 0 or n_v > 0
    for t in range(n_t):
        for line in range(n_l):
            expr = row()
            for s in range(n_s):
                if p.slot_mtu[s] == t and p.slot_bus[s] >= 0 and not p.slot_reactive[s]:
                    expr[s] = p.ptdf[line, p.slot_bus[s]] * sgn[s] * q[s]
            up = expr.copy()
            up[o_bo + t * n_l + line] = -1.0
            a_ub.append(up)
            b_ub.append(lim[line] - p.base_flow_mw[line, t])
            lo = -expr
            lo[o_bu + t * n_l + line] = -1.0
            a_ub.append(lo)
            b_ub.append(lim[line] + p.base_flow_mw[line, t])
        for v in range(n_v):
            expr = row()
            for s in range(n_s):
                if p.slot_mtu[s] == t and p.slot_bus[s] >= 0 and grid_rows:
                    sens = p.dvm_dq if p.slot_reactive[s] else p.dvm_dp
                    expr[s] = sens[v, p.slot_bus[s]] * sgn[s] * q[s]
            up = expr.copy()
            up[o_vo + t * n_v + v] = -1.0
            a_ub.append(up)
            b_ub.append(p.vm_max_pu[v] - p.base_vm_pu[v, t])
            lo = -expr
            lo[o_vu + t * n_v + v] = -1.0
            a_ub.append(lo)
            b_ub.append(p.base_vm_pu[v, t] - p.vm_min_pu[v])
        if p.energy_balance:
            r = row()
            for s in range(n_s):
                if p.slot_mtu[s] == t and not p.slot_reactive[s]:
                    r[s] = sgn[s] * q[s]
            r[o_bp + t] = 1.0
            r[o_bm + t] = -1.0
            a_eq.append(r)
            b_eq.append(0.0)
    # unit capabilities: per capability and MTU, Σ weight · q · ρ over its bids' slots <= limit
    # (every row, whether or not the offers can exceed it)
    for unit_cap in range(len(p.cap_names)):
        for t in range(n_t):
            r = row()
            for k in range(p.cap_use_cap.shape[0]):
                if p.cap_use_cap[k] != unit_cap:
                    continue
                for s in range(n_s):
                    if p.slot_bid[s] == p.cap_use_bid[k] and p.slot_mtu[s] == t:
                        r[s] += p.cap_use_weight[k] * q[s]
            a_ub.append(r)
            b_ub.append(float(p.cap_limit_mw[unit_cap]))
    slots_of = [np.flatnonzero(p.slot_bid == b) for b in range(n_b)]
    # blocks: all slots of a block bid share one ratio
    for b in range(n_b):
        if p.bid_block[b]:
            ss = slots_of[b]
            for s in ss[1:]:
                r = row()
                r[ss[0]] = 1.0
                r[s] = -1.0
                a_eq.append(r)
                b_eq.append(0.0)
    # links: child ratio <= each parent ratio
    for b in range(n_b):
        par = int(p.bid_parent[b])
        if par >= 0:
            for s in slots_of[b]:
                for sp in slots_of[par]:
                    r = row()
                    r[s] = 1.0
                    r[sp] = -1.0
                    a_ub.append(r)
                    b_ub.append(0.0)
    # integer units
    units: list[tuple[int, np.ndarray, str, float]] = []
    for b in range(n_b):
        if p.bid_indivisible[b] or p.bid_min_mw[b] > 0:
            groups = [slots_of[b]] if p.bid_block[b] else [np.array([s]) for s in slots_of[b]]
            for g in groups:
                qmax = float(q[g].max())
                ratio = p.bid_min_mw[b] / qmax if qmax > 0 else 1.0
                units.append((b, g, "indivisible" if p.bid_indivisible[b] else "min", ratio))
    xor_sets = sorted(set(p.bid_xor[p.bid_xor >= 0].tolist()))
    xor_choices = [[-1, *np.flatnonzero(p.bid_xor == k).tolist()] for k in xor_sets]
    mat_ub = np.array(a_ub) if a_ub else None
    vec_ub = np.array(b_ub) if b_ub else None
    mat_eq = np.array(a_eq) if a_eq else None
    vec_eq = np.array(b_eq) if b_eq else None
    best = np.inf
    for states in itertools.product([0, 1], repeat=len(units)):
        for pick in itertools.product(*xor_choices):
            lo = np.zeros(nvar)
            hi = np.full(nvar, np.inf)
            hi[:n_s] = 1.0
            for n in range(n_n):
                for t in range(n_t):
                    hi[o_sh + n * n_t + t] = p.need_required_mw[n, t]
            for (_b, g, kind, ratio), on in zip(units, states, strict=True):
                if not on:
                    hi[g] = 0.0
                elif kind == "indivisible":
                    lo[g] = 1.0
                else:
                    if ratio > 1.0:
                        hi[g] = -1.0  # infeasible state
                    lo[g] = np.minimum(ratio, 1.0)
            for k, chosen in zip(xor_sets, pick, strict=True):
                for b in np.flatnonzero(p.bid_xor == k):
                    if b != chosen:
                        hi[slots_of[b]] = 0.0
            if np.any(hi < lo):
                continue
            res = linprog(
                c,
                A_ub=mat_ub,
                b_ub=vec_ub,
                A_eq=mat_eq,
                b_eq=vec_eq,
                bounds=np.column_stack([lo, hi]),
                method="highs",
            )
            if res.status == 0 and res.fun < best:
                best = float(res.fun)
    return best
