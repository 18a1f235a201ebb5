"""Small random markets on a hand-built 4-bus meshed grid, for the oracle and property tests.

Every bid sits on a unit (or a group of units) with a capability; see :func:`random_capabilities`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flexcoord.clearing import ClearingProblem

# 4 buses, lines 0-1, 1-2, 2-0, 2-3 (reactance in pu), slack bus 0.
LINES = ((0, 1, 0.1), (1, 2, 0.2), (2, 0, 0.25), (2, 3, 0.1))


def ptdf_4bus() -> np.ndarray:
    """DC PTDF (MW/MW) of the 4-bus grid, built by hand from the branch susceptances."""
    n = 4
    bf = np.zeros((len(LINES), n))
    bbus = np.zeros((n, n))
    for k, (i, j, x) in enumerate(LINES):
        b = 1.0 / x
        bf[k, i], bf[k, j] = b, -b
        bbus[i, i] += b
        bbus[j, j] += b
        bbus[i, j] -= b
        bbus[j, i] -= b
    keep = [1, 2, 3]
    ptdf = np.zeros((len(LINES), n))
    ptdf[:, keep] = bf[:, keep] @ np.linalg.inv(bbus[np.ix_(keep, keep)])
    return ptdf


def random_market(  # noqa: PLR0915 - draws every field of a market in one readable pass
    rng: np.random.Generator, *, max_bids: int = 10, max_mtu: int = 4, max_integer_states: int = 64
) -> ClearingProblem:
    """One random small market (≤ max_bids bids, ≤ max_mtu MTUs) with a bounded integer space."""
    n_t = int(rng.integers(1, max_mtu + 1))
    n_b = int(rng.integers(1, max_bids + 1))
    dur = np.full(n_t, float(rng.choice([0.25, 1.0])))
    indiv = rng.random(n_b) < 0.2
    block = rng.random(n_b) < 0.25
    min_mw = np.where(
        ~indiv & (rng.random(n_b) < 0.15), np.round(rng.uniform(0.1, 1.5, n_b), 2), 0.0
    )
    xor = np.full(n_b, -1)
    n_sets = 0
    for b in range(n_b):
        if rng.random() < 0.25:
            xor[b] = int(rng.integers(0, n_sets + 1))
            n_sets = max(n_sets, int(xor[b]) + 1)
    parent = np.full(n_b, -1)
    for b in range(1, n_b):
        if rng.random() < 0.12:
            parent[b] = int(rng.integers(0, b))
    slot_bid, slot_mtu = [], []
    for b in range(n_b):
        start = int(rng.integers(0, n_t))
        length = int(rng.integers(1, n_t - start + 1))
        for t in range(start, start + length):
            slot_bid.append(b)
            slot_mtu.append(t)
    sb = np.array(slot_bid)

    # bound the integer space: drop integer features until the enumeration is small
    def states() -> int:
        units = 0
        for b in range(n_b):
            if indiv[b] or min_mw[b] > 0:
                units += 1 if block[b] else int(np.sum(sb == b))
        total = 2**units
        for k in set(xor[xor >= 0].tolist()):
            total *= int(np.sum(xor == k)) + 1
        return total

    while states() > max_integer_states:
        cand = np.flatnonzero(indiv | (min_mw > 0) | (xor >= 0))
        b = int(rng.choice(cand))
        indiv[b] = False
        min_mw[b] = 0.0
        xor[b] = -1
    n_s = sb.shape[0]
    up_bid = rng.random(n_b) < 0.6
    reactive_bid = rng.random(n_b) < 0.1
    bus_bid = rng.integers(-1, 4, n_b)
    quantity = np.round(rng.uniform(0.1, 3.0, n_s), 2)
    price_bid = np.round(rng.uniform(10, 200, n_b), 2)
    price = np.round(price_bid[sb] + rng.uniform(0, 20, n_s) * (rng.random(n_s) < 0.3), 2)
    n_n = int(rng.integers(0, 3))
    need_up = rng.random(n_n) < 0.6
    need_reactive = rng.random(n_n) < 0.1
    required = np.round(rng.uniform(0, 4, (n_n, n_t)), 2) * (rng.random((n_n, n_t)) < 0.85)
    cap = np.where(rng.random(n_n) < 0.5, np.round(rng.uniform(50, 250, n_n), 2), np.nan)
    e_need, e_slot = [], []
    for n in range(n_n):
        buses = set(np.flatnonzero(rng.random(4) < 0.6).tolist()) | {-1}
        for s in range(n_s):
            if int(bus_bid[sb[s]]) in buses:
                e_need.append(n)
                e_slot.append(s)
    ptdf = ptdf_4bus()
    n_l = ptdf.shape[0]
    base_flow = rng.uniform(-3, 3, (n_l, n_t))
    limit = np.abs(base_flow).max(axis=1) * rng.uniform(0.8, 1.4, n_l) + 0.1
    n_v = 2
    dvm_dp = rng.uniform(0.0, 0.01, (n_v, 4))
    dvm_dq = rng.uniform(0.0, 0.02, (n_v, 4))
    dvm_dp[:, 0] = dvm_dq[:, 0] = 0.0
    base_vm = rng.uniform(0.955, 1.045, (n_v, n_t))
    # units from a child generator: the market's own draws (and those of the next markets of a
    # shared generator) stay the ones of the market without units
    caps = random_capabilities(rng.spawn(1)[0], up_bid, reactive_bid)
    return ClearingProblem(
        mtu_labels=tuple(f"t{t}" for t in range(n_t)),
        mtu_duration_h=dur,
        bid_ids=tuple(f"b{b}" for b in range(n_b)),
        bid_submitted_s=rng.integers(0, 5, n_b) * 1.0,
        bid_indivisible=indiv,
        bid_block=block,
        bid_min_mw=min_mw,
        bid_xor=xor,
        bid_parent=parent,
        slot_bid=sb,
        slot_mtu=np.array(slot_mtu),
        slot_quantity_mw=quantity,
        slot_price_eur_per_mwh=price,
        slot_up=up_bid[sb],
        slot_reactive=reactive_bid[sb],
        slot_bus=bus_bid[sb],
        need_ids=tuple(f"n{n}" for n in range(n_n)),
        need_required_mw=required.reshape(n_n, n_t),
        need_up=need_up,
        need_reactive=need_reactive,
        need_price_cap_eur_per_mwh=cap,
        eligible_need=np.array(e_need, dtype=np.int64),
        eligible_slot=np.array(e_slot, dtype=np.int64),
        bus_ids=("B0", "B1", "B2", "B3"),
        branch_names=("line_01", "line_12", "line_20", "line_23"),
        ptdf=ptdf,
        base_flow_mw=base_flow,
        limit_mw=limit,
        safety_margin=float(rng.choice([0.0, 0.1])),
        vbus_names=("B2", "B3"),
        dvm_dp=dvm_dp,
        dvm_dq=dvm_dq,
        base_vm_pu=base_vm,
        vm_min_pu=np.full(n_v, 0.95),
        vm_max_pu=np.full(n_v, 1.05),
        energy_balance=bool(rng.random() < 0.2),
        **caps,
    )


def random_capabilities(
    rng: np.random.Generator, up_bid: np.ndarray, reactive_bid: np.ndarray
) -> dict[str, Any]:
    """Units behind the bids: several bids per unit (their sum often above the unit's range) and
    a share of group bids over 2-3 units, weighted by the members' ranges as ``build_problem``
    does."""
    n_b = up_bid.shape[0]
    n_unit = int(rng.integers(1, n_b + 1))
    p_range = np.round(rng.uniform(0.2, 4.0, n_unit), 2)
    q_range = np.round(rng.uniform(0.2, 3.0, n_unit), 2)
    keys: dict[tuple[int, bool, bool], int] = {}
    use_cap, use_bid, use_weight = [], [], []
    for b in range(n_b):
        reactive = bool(reactive_bid[b])
        if n_unit >= 2 and rng.random() < 0.2:
            size = int(rng.integers(2, min(3, n_unit) + 1))
            members = rng.choice(n_unit, size=size, replace=False)
        else:
            members = rng.integers(0, n_unit, 1)
        ranges = (q_range if reactive else p_range)[members]
        for u, w in zip(members.tolist(), (ranges / ranges.sum()).tolist(), strict=True):
            key = (u, bool(up_bid[b]), reactive)
            use_cap.append(keys.setdefault(key, len(keys)))
            use_bid.append(b)
            use_weight.append(w)
    ordered = sorted(keys, key=keys.__getitem__)
    return dict(
        cap_names=tuple(f"u{u}" for u, _, _ in ordered),
        cap_up=np.array([up for _, up, _ in ordered], dtype=bool),
        cap_reactive=np.array([r for _, _, r in ordered], dtype=bool),
        cap_limit_mw=np.array([(q_range if r else p_range)[u] for u, _, r in ordered]),
        cap_use_cap=np.array(use_cap, dtype=np.int64),
        cap_use_bid=np.array(use_bid, dtype=np.int64),
        cap_use_weight=np.array(use_weight),
    )
