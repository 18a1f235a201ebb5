"""Clearing benchmark instances on a SimBench grid (ecosystem lab §2d, array level).

Grid: 1-MV-rural--0-sw, DC PTDF of every in-service branch (``flexcoord.grid.sensitivities``).
Base flows: PTDF × the grid's own load and generation, scaled per MTU by a daily profile
(loads 0.6-1.0, PV 0-1 sine); 30 random branches get a limit of 0.9·max|f0| so congestion binds,
the others 1.1·max|f0|. Bids: a random non-slack bus, quantity U(0.05, 1)·s MW (s shrinks with N),
price U(20, 300) €/MWh, up or down, a start MTU, 80 % one MTU and 20 % four-MTU blocks, a share of
indivisible bids. Needs: a TSO need 2·|sin| MW at the interface (every bus), up when the sine is
positive and down otherwise, no price cap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flexcoord.clearing import ClearingProblem
from flexcoord.grid.loading import load_network
from flexcoord.grid.sensitivities import compute_ptdf

GRID = "1-MV-rural--0-sw"


def grid_arrays(code: str = GRID, n_t: int = 96, seed: int = 0) -> dict[str, Any]:
    """PTDF, base flows and limits of ``code`` for ``T`` quarter-hours."""
    rng = np.random.default_rng(seed)
    net = load_network(code)
    ptdf = compute_ptdf(net)
    pos = {int(b): i for i, b in enumerate(ptdf.bus_ids)}
    nb = len(ptdf.bus_ids)
    load = np.zeros(nb)
    gen = np.zeros(nb)
    for bus, p in zip(net.load.bus, net.load.p_mw, strict=True):
        load[pos[int(bus)]] += float(p)
    for bus, p in zip(net.sgen.bus, net.sgen.p_mw, strict=True):
        gen[pos[int(bus)]] += float(p)
    hours = np.arange(n_t) / 4.0
    load_prof = 0.8 + 0.2 * np.sin((hours - 6) / 24 * 2 * np.pi)
    pv_prof = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    inj = gen[:, None] * pv_prof[None, :] - load[:, None] * load_prof[None, :]
    f0 = ptdf.matrix @ inj
    peak = np.abs(f0).max(axis=1) + 1e-3
    limit = 1.1 * peak
    tight = rng.choice(len(peak), size=min(30, len(peak)), replace=False)
    limit[tight] = 0.9 * peak[tight]
    slack = np.isin(ptdf.bus_ids, ptdf.slack_bus_ids)
    return dict(
        ptdf=ptdf.matrix,
        bus_ids=tuple(str(b) for b in ptdf.bus_ids),
        branch_names=ptdf.branch_names,
        base_flow_mw=f0,
        limit_mw=limit,
        non_slack=np.flatnonzero(~slack),
    )


def instance(
    n_bids: int,
    *,
    n_t: int = 96,
    indivisible_share: float = 0.0,
    seed: int = 0,
    grid: dict[str, Any] | None = None,
) -> ClearingProblem:
    """One benchmark market of ``n_bids`` bids over ``T`` MTUs."""
    rng = np.random.default_rng(seed)
    g = grid or grid_arrays(n_t=n_t, seed=seed)
    s = 1000.0 / max(n_bids, 1000) ** 0.5 / 31.6 * 10
    block = (rng.random(n_bids) < 0.2) & (n_t >= 4)
    length = np.where(block, 4, 1)
    start = rng.integers(0, max(n_t - 3, 1), n_bids)
    slot_bid = np.repeat(np.arange(n_bids), length)
    offset = np.arange(slot_bid.shape[0]) - np.repeat(np.cumsum(length) - length, length)
    slot_mtu = start[slot_bid] + offset
    n_s = slot_bid.shape[0]
    up = rng.random(n_bids) < 0.5
    bus = rng.choice(g["non_slack"], n_bids)
    price = np.round(rng.uniform(20, 300, n_bids), 2)
    qty = np.round(rng.uniform(0.05, 1.0, n_bids) * s, 3)
    sine = 2.0 * np.sin(np.arange(n_t) / n_t * 2 * np.pi * 2)
    need = np.vstack([np.clip(sine, 0, None), np.clip(-sine, 0, None)])
    return ClearingProblem(
        mtu_labels=tuple(f"t{t:02d}" for t in range(n_t)),
        mtu_duration_h=np.full(n_t, 0.25),
        bid_ids=tuple(f"b{i}" for i in range(n_bids)),
        bid_submitted_s=rng.integers(0, 3600, n_bids).astype(float),
        bid_indivisible=rng.random(n_bids) < indivisible_share,
        bid_block=block,
        bid_min_mw=np.zeros(n_bids),
        bid_xor=np.full(n_bids, -1),
        bid_parent=np.full(n_bids, -1),
        slot_bid=slot_bid,
        slot_mtu=slot_mtu,
        slot_quantity_mw=qty[slot_bid],
        slot_price_eur_per_mwh=price[slot_bid],
        slot_up=up[slot_bid],
        slot_reactive=np.zeros(n_s, bool),
        slot_bus=bus[slot_bid],
        need_ids=("tso-down", "tso-up"),
        need_required_mw=need[::-1],
        need_up=np.array([False, True]),
        need_reactive=np.zeros(2, bool),
        need_price_cap_eur_per_mwh=np.full(2, np.nan),
        eligible_need=np.concatenate([np.zeros(n_s, np.int64), np.ones(n_s, np.int64)]),
        eligible_slot=np.concatenate([np.arange(n_s), np.arange(n_s)]),
        bus_ids=g["bus_ids"],
        branch_names=g["branch_names"],
        ptdf=g["ptdf"],
        base_flow_mw=g["base_flow_mw"][:, :n_t],
        limit_mw=g["limit_mw"],
    )
