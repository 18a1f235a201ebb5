"""Domain-level clearing benchmarks: near-real-time (1k bids x 1 MTU + AC check) and 10k/100k bids.

NRT: ``clear`` from domain objects (validate_market, mapping, canonical order, build, HiGHS,
extraction, power-grid-model AC check of the dispatch) on 1-MV-rural--0-sw with its PTDF and
voltage constraints (profile day 150, one quarter-hour), against raw highspy (passModel + run of
the identical LP) plus raw power-grid-model (one power flow with the identical update). Grid
model, constraints and the PGM conversion are built once outside the timing (they are cached per
grid in operation). Goal: < 0.3 s. Last line: the ratio ours / (raw HiGHS + raw PGM).

``--large``: also domain objects → result for 1k/10k/100k bids over 96 MTUs (80 % one-MTU bids,
20 % four-MTU blocks, as ``clearing_instances.instance``), and the same bids as columns →
result (``BidTable.from_columns`` + ``clear``, no ``Bid`` objects; the identical result is
asserted), no AC check, against raw highspy
(``Highs.passModel`` of the identical LP + ``run``), min-median-max of ``--reps`` alternating
runs, wall and process CPU time; goal ours <= 1.25 x raw. Bids pick their units at random,
so a unit has several bids: the unit-capability rows they need are counted in the output.

    .venv/bin/python benchmarks/bench_clearing_nrt.py
    .venv/bin/python benchmarks/bench_clearing_nrt.py --large 10000,100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from dataclasses import replace

from benchmarks._timing import spread
from power_grid_model import CalculationMethod
from tests.clearing.simbench_market import PRODUCT

from flexcoord.clearing import ClearingOptions, nodal_injections
from flexcoord.clearing.ac import PgmAcCheck
from flexcoord.clearing.capability import capability_rows
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.grid_constraints import grid_constraints
from flexcoord.clearing.lazy_rows import screened_rows
from flexcoord.clearing.market import build_problem, clear
from flexcoord.clearing.problem import canonical
from flexcoord.clearing.solve import new_highs, pass_model
from flexcoord.domain import Bid, Location, MtuQuantity, Need, market_time_units, validate_market
from flexcoord.domain.bid_table import BidTable, bid_table
from flexcoord.grid.model import load_grid
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio

GRID = "1-MV-rural--0-sw"
SUBMITTED = datetime(2026, 5, 31, 9, tzinfo=UTC)


def market(grid, n_bids, mtus, *, block_share, seed=0, dso_per_area=False):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    register = replace(
        build_portfolio(
            grid, additions=ScenarioAdditions(batteries=20, seed=seed), dso_per_area=dso_per_area
        ),
        products=(PRODUCT,),
    )
    offers = []
    for u in register.units:
        if u.p_max_mw > 1e-3:
            offers.append((u, "down", u.p_max_mw))
        if u.p_min_mw < -1e-3:
            offers.append((u, "up", -u.p_min_mw))
    n_t = len(mtus)
    s = 1000.0 / max(n_bids, 1000) ** 0.5 / 31.6 * 10
    pick = rng.integers(0, len(offers), n_bids)
    block = (rng.random(n_bids) < block_share) & (n_t >= 4)
    start = rng.integers(0, max(n_t - 3, 1), n_bids)
    qty = rng.uniform(0.05, 1.0, n_bids) * s
    price = np.round(rng.uniform(20, 300, n_bids), 2)
    sub = rng.integers(0, 3600, n_bids)
    t0 = time.perf_counter()
    bids = []
    q_of_bid = []
    for k in range(n_bids):
        u, direction, cap = offers[int(pick[k])]
        q = float(round(min(qty[k], cap), 4))
        q_of_bid.append(q)
        length = 4 if block[k] else 1
        bids.append(
            Bid(
                id=f"b{k}",
                fsp_id=u.fsp_id,
                resource_id=u.id,
                product_id=PRODUCT.id,
                direction=direction,
                quantities=tuple(
                    MtuQuantity(interval=mtus[int(start[k]) + i], quantity=q) for i in range(length)
                ),
                submitted_at=SUBMITTED + timedelta(seconds=int(sub[k])),
                activation_price_eur_per_mwh=float(price[k]),
                block=bool(block[k]),
            )
        )
    make_s = time.perf_counter() - t0
    # the same bids as columns (what a bulk upload or a bid store holds): no Bid objects
    n_slots = np.where(block, 4, 1)
    first_mtu = np.repeat(start, n_slots) + (
        np.arange(int(n_slots.sum())) - np.repeat(np.cumsum(n_slots) - n_slots, n_slots)
    )
    t_start = np.array([m.start.replace(tzinfo=None) for m in mtus], "datetime64[us]")
    t_end = np.array([m.end.replace(tzinfo=None) for m in mtus], "datetime64[us]")
    columns = dict(
        ids=[f"b{k}" for k in range(n_bids)],
        fsp_ids=[offers[int(i)][0].fsp_id for i in pick],
        resource_ids=[offers[int(i)][0].id for i in pick],
        product_ids=[PRODUCT.id] * n_bids,
        up=np.array([offers[int(i)][1] == "up" for i in pick]),
        submitted_at=np.datetime64(SUBMITTED.replace(tzinfo=None), "us")
        + sub.astype("timedelta64[s]"),
        n_slots=n_slots,
        slot_start=t_start[first_mtu],
        slot_end=t_end[first_mtu],
        slot_quantity=np.repeat(np.array(q_of_bid), n_slots),
        activation_price_eur_per_mwh=price.astype(np.float64),
        block=block,
    )
    sine = 2.0 * np.sin(np.arange(n_t) / max(n_t, 1) * 2 * np.pi * 2 + 0.5)
    cp = min(cp.id for cp in grid.areas.dso_areas[0].coupling_points)
    needs = [
        Need(
            id=f"tso-{d}",
            buyer_id="tso",
            product_id=PRODUCT.id,
            location=Location.at_coupling_point(cp),
            direction=d,
            quantities=tuple(
                MtuQuantity(interval=m, quantity=float(v))
                for m, v in zip(mtus, np.clip(sign * sine, 0, None), strict=True)
            ),
            created_at=SUBMITTED - timedelta(hours=1),
        )
        for d, sign in (("up", 1.0), ("down", -1.0))
    ]
    return register, needs, bids, columns, make_s


def first_round_lp(problem, options):  # type: ignore[no-untyped-def]
    """The LP ``clear`` solves first: canonical order, the screened branch and voltage rows
    (lazy rows, the default). When ``clear`` needs no later round (``grid_rounds`` 1, printed)
    it is the very LP it solves; a later round only adds work to ours."""
    cp = canonical(problem)
    rows = screened_rows(cp, options)
    return build_formulation(cp, options, branch_rows=rows.branch, voltage_rows=rows.voltage)


def nrt(reps: int) -> float:
    grid = load_grid(GRID)
    mtus = market_time_units(date(2026, 6, 1))[48:49]
    register, needs, bids, _, _ = market(grid, 1000, mtus, block_share=0.0)
    gc = grid_constraints(grid, intervals=mtus, profile_start_step=96 * 150 + 48)
    ac = PgmAcCheck(grid, gc)
    options = ClearingOptions()
    clear(register, needs, bids, gc, options, ac_checker=ac)  # warm-up (imports, HiGHS banner)
    ours = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        result = clear(register, needs, bids, gc, options, ac_checker=ac)
        ours = min(ours, time.perf_counter() - t0)
    # raw HiGHS on the identical LP
    problem, grid_map = build_problem(register, needs, bids, gc)
    form = first_round_lp(problem, options)
    raw_highs = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        h = new_highs(options)
        pass_model(h, form)
        h.run()
        raw_highs = min(raw_highs, time.perf_counter() - t0)
    # raw PGM: one power flow with the identical update data
    checker = ac.checker_for(problem, grid_map)
    p_mw, q_mvar = nodal_injections(result.problem, result.slot_accepted_mw)
    batch = checker.batch  # type: ignore[attr-defined]
    update = batch.update_data(checker.grid_map.to_grid(p_mw).T, checker.grid_map.to_grid(q_mvar).T)  # type: ignore[attr-defined]
    raw_pgm = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        batch.pgm.model.calculate_power_flow(
            update_data=update,
            threading=-1,
            calculation_method=CalculationMethod.newton_raphson,
        )
        raw_pgm = min(raw_pgm, time.perf_counter() - t0)
    s = result.stats
    assert result.ac is not None
    print(
        f"NRT {len(bids)} bids x 1 MTU on {GRID} ({problem.n_branch} branches, {problem.n_vbus} "
        f"voltages, {form.row_blocks['unit-capability'].size} unit-capability rows): ours "
        f"{ours:.3f} s end to end (build {s.build_s:.3f}, solve {s.solve_s:.3f},"
        f" extract {s.extract_s:.3f}); raw highspy {raw_highs:.3f} s + raw PGM {raw_pgm:.4f} s;"
        f" AC linearisation error {result.ac.linearisation_error_flow_mw:.3f} MW, goal < 0.3 s;"
        f" raw LP {form.n_row}x{form.n_col}, grid rounds {s.grid_rounds}"
    )
    return ours / (raw_highs + raw_pgm)


def large(sizes: list[int], reps: int) -> tuple[float, float]:
    """Domain objects -> result and columns -> result against raw highspy on the identical LP,
    per size; the worst ratios of medians (objects, columns). Ours (both paths) and raw
    alternate, so load on the machine hits all alike. The column path's time includes
    ``BidTable.from_columns`` (its validation of the fields)."""
    grid = load_grid(GRID)
    mtus = market_time_units(date(2026, 6, 1))
    gc = grid_constraints(grid, intervals=mtus, voltages=False)
    options = ClearingOptions(milp_duals=False)
    worst, worst_cols = 0.0, 0.0
    for n in sizes:
        register, needs, bids, columns, make_s = market(grid, n, mtus, block_share=0.2)
        problem, _ = build_problem(register, needs, bids, gc)
        form = first_round_lp(problem, options)
        clear(register, needs, bids, gc, options)  # warm-up: the register's memos
        times: dict[str, list[float]] = {k: [] for k in ("ours", "cols", "raw")}
        cpu: dict[str, list[float]] = {k: [] for k in ("ours", "cols", "raw")}
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            result = clear(register, needs, bids, gc, options)
            times["ours"].append(time.perf_counter() - t0)
            cpu["ours"].append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            from_columns = clear(register, needs, BidTable.from_columns(**columns), gc, options)
            times["cols"].append(time.perf_counter() - t0)
            cpu["cols"].append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            h = new_highs(options)
            pass_model(h, form)
            h.run()
            times["raw"].append(time.perf_counter() - t0)
            cpu["raw"].append(time.process_time() - c0)
        assert from_columns.canonical_hash() == result.canonical_hash()
        t0 = time.perf_counter()
        table = bid_table(bids)
        table_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        BidTable.from_columns(**columns)
        columns_s = time.perf_counter() - t0
        kb = frozenset(int(b) for b in gc.bus_ids)
        t0 = time.perf_counter()
        validate_market(register, needs, bids, table=table, known_buses=kb)
        validate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_problem(register, needs, bids, gc, table=table)
        mapping_s = time.perf_counter() - t0
        med = {k: statistics.median(v) for k, v in times.items()}
        cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
        ratio, ratio_cols = med["ours"] / med["raw"], med["cols"] / med["raw"]
        worst, worst_cols = max(worst, ratio), max(worst_cols, ratio_cols)
        print(
            f"{n:>7} bids x 96 MTUs: objects -> result {spread(times['ours'])} (bid_table "
            f"{table_s:.3f}, validate_market {validate_s:.3f}, mapping {mapping_s:.3f}, build "
            f"{result.stats.build_s:.3f}, solve {result.stats.solve_s:.3f}, extract "
            f"{result.stats.extract_s:.3f}), ratio of medians {ratio:.2f}; columns -> result "
            f"{spread(times['cols'])} (from_columns {columns_s:.3f}), ratio of medians "
            f"{ratio_cols:.2f} (goal <= 1.25); raw highspy passModel+run {spread(times['raw'])}; "
            f"CPU (process time, less sensitive to a busy machine) objects {spread(cpu['ours'])}, "
            f"columns {spread(cpu['cols'])}, raw {spread(cpu['raw'])}, ratios of medians "
            f"{cpu_med['ours'] / cpu_med['raw']:.2f} / {cpu_med['cols'] / cpu_med['raw']:.2f}; "
            f"making the Bid objects {make_s:.2f} s (not counted); "
            f"{result.stats.n_rows}x{result.stats.n_cols} "
            f"({capability_rows(canonical(problem)).size} unit-capability rows), "
            f"raw LP {form.n_row}x{form.n_col}, grid rounds {result.stats.grid_rounds}"
        )
    return worst, worst_cols


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--large", default="")
    args = ap.parse_args()
    sizes = [int(v) for v in args.large.split(",")] if args.large else []
    worst, worst_cols = large(sizes, args.reps) if sizes else (0.0, 0.0)
    ratio = nrt(args.reps)
    tail = (
        f"; worst large ours / raw highspy (median): objects {worst:.3f}, columns {worst_cols:.3f}"
        if sizes
        else ""
    )
    print(f"ratio_to_raw: {ratio:.3f}{tail}")


if __name__ == "__main__":
    main()
