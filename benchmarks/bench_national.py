"""National scale: SimBench 1-EHVHVMVLV-mixed-all-0-sw cleared with its TSO area and every DSO area.

Grid: 37,587 buses, 35,292 in-service branches, 338 voltage-controlled EHV/HV plants (so the AC
check is pandapower's ``runpp`` with numba: ``flexcoord.clearing.ac.ac_check`` picks it), TSO
area = EHV + HV (>= 110 kV, 3,755 buses), 33 MV/LV DSO areas. Portfolio: ``build_portfolio`` plus
20 batteries (41,739 units). Bids: ``bench_clearing_nrt.market`` (random units of the whole
portfolio, so every area, up or down within the unit's range, U(20, 300) EUR/MWh). Needs, common
scheme (one grid-aware clearing of every need and bid): the bench's TSO need at the first DSO
area's coupling point, a TSO need of 50 MW up in the TSO area (sine-shaped over the day) and a
1 MW down need in every DSO area.

Grid constraints (built once per market, outside the clearing's timing, timed and printed): the
AC base case of every branch per MTU (pandapower, numba), then the screening of
``flexcoord.grid.screening`` (docs/clearing.md "Monitored branches at national scale"): a branch
is monitored when its base-case peak plus the bids' worst-case PTDF-weighted swing reaches its
limit; only those PTDF rows are kept (no dense PTDF).

Timed, min-median-max over ``--reps``:
* **NRT**: 10,000 bids x 1 MTU (profile day 150, 12:00), ``clear()`` from domain objects with the
  AC check (one ``runpp``), goal < 10 s;
* **DA** (``--da``): 50,000 bids x 96 MTUs (80 % one-MTU bids, 20 % four-MTU blocks) with the AC
  check (96 ``runpp``), goal < 5 min (clearing; the grid constraints' build printed apart).
Raw: highspy ``passModel`` + ``run`` of the identical first-round LP, plus pandapower ``runpp``
(``init="results"``, numba, ``recycle`` of bus P/Q and plant set points after the loop's first
run, as ours) of the identical operating point once per MTU (power-grid-model cannot
model this grid's PV plants, so pandapower is the raw AC library here).
Screening error: a full AC flow of every branch after the clearing: unmonitored branches above
their limit. Peak RSS of the process.

Last line: ``ratio_to_raw: NRT ours / (raw highspy + raw runpp)`` (and DA's when run).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_national.py --reps 3 [--da]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import warnings
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.clearing.simbench_market import PRODUCT

from _timing import spread
from bench_clearing_nrt import SUBMITTED, first_round_lp, market
from flexcoord.clearing import ClearingOptions, nodal_injections
from flexcoord.clearing.ac import PandapowerAcCheck, ac_check
from flexcoord.clearing.dispatch import branch_overload_mw
from flexcoord.clearing.grid_constraints import screened_grid_constraints
from flexcoord.clearing.market import build_problem, clear
from flexcoord.clearing.solve import new_highs, pass_model
from flexcoord.coordination import JointModel, preset, run_scheme
from flexcoord.coordination.scheme import default_options
from flexcoord.domain import Location, MtuQuantity, Need, OperatorRole, market_time_units
from flexcoord.grid.ac_pandapower import PandapowerAc
from flexcoord.grid.model import load_grid
from flexcoord.grid.screening import screening_error
from flexcoord.grid.sensitivities import branch_names
from flexcoord.simulation.screened import bid_flex_per_bus, screened_scenario

GRID = "1-EHVHVMVLV-mixed-all-0-sw"
#: pandapower's reuse of its internal model between the raw runs (as ours: bus P/Q and plant set
#: points rewritten, the admittance matrix kept); the first run of a loop builds it in full.
RECYCLE = {"bus_pq": True, "gen": True, "trafo": False}
DAY_STEP = 96 * 150


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def national_needs(
    grid: Any, mtus: Any, base: list[Need], *, dso_per_area: bool = False
) -> list[Need]:
    n_t = len(mtus)
    shape = 0.5 + 0.5 * np.sin(np.arange(n_t) / max(n_t, 1) * 2 * np.pi + 0.5)
    created = SUBMITTED - timedelta(hours=1)
    needs = [
        *base,
        Need(
            id="tso-area-up",
            buyer_id="tso",
            product_id=PRODUCT.id,
            location=Location.in_area("tso"),
            direction="up",
            quantities=tuple(
                MtuQuantity(interval=m, quantity=float(round(50.0 * s, 3)))
                for m, s in zip(mtus, shape, strict=True)
            ),
            created_at=created,
        ),
    ]
    for area in grid.areas.dso_areas:
        needs.append(
            Need(
                id=f"dso-{area.id}-down",
                buyer_id=f"dso:{area.id}" if dso_per_area else "dso",
                product_id=PRODUCT.id,
                location=Location.in_area(area.id),
                direction="down",
                quantities=tuple(MtuQuantity(interval=m, quantity=1.0) for m in mtus),
                created_at=created,
            )
        )
    return needs


def within_range(register: Any, bids: list[Any]) -> list[Any]:
    """The bench market's bids with each quantity floored to 0.1 kW inside its unit's range
    (``market`` rounds to the nearest 0.1 kW, which can exceed a small LV unit's range)."""
    units = {u.id: u for u in register.units}
    out = []
    for b in bids:
        u = units[b.resource_id]
        cap = u.p_max_mw if b.direction == "down" else -u.p_min_mw
        cap = np.floor(cap * 1e4) / 1e4
        if cap <= 0:
            continue
        out.append(
            replace(
                b,
                quantities=tuple(
                    replace(q, quantity=float(min(q.quantity, cap))) for q in b.quantities
                ),
            )
        )
    return out


def overload_split(
    grid: Any, names: list[str], limit_mw: Any, base_mw: Any, after_mw: Any, subset: Any = None
) -> dict[str, tuple[float, float, float, float]]:
    """Per asset area (``"tso"``, each DSO area), the AC energy above the branches' limits in
    the base case (SimBench's own overloads, before any clearing) and after the clearing, and
    what the clearing added and relieved, counted per branch and MTU (so relief on one branch
    never offsets an overload on another): ``area -> (base, after, added, relieved)`` in MWh
    (quarter-hour MTUs). ``subset``: a branch mask (e.g. the monitored ones)."""
    before = branch_overload_mw(base_mw, limit_mw) * 0.25
    after = branch_overload_mw(after_mw, limit_mw) * 0.25
    areas = grid.asset_areas()
    keep = np.ones(len(names), dtype=bool) if subset is None else subset
    out: dict[str, list[float]] = {}
    for i in np.flatnonzero(keep):
        b, a = before[i], after[i]
        if not (b.any() or a.any()):
            continue
        row = out.setdefault(areas.get(names[i], "?"), [0.0, 0.0, 0.0, 0.0])
        row[0] += float(b.sum())
        row[1] += float(a.sum())
        row[2] += float(np.clip(a - b, 0.0, None).sum())
        row[3] += float(np.clip(b - a, 0.0, None).sum())
    return {k: (v[0], v[1], v[2], v[3]) for k, v in sorted(out.items())}


def print_overload_split(split: dict[str, tuple[float, float, float, float]], label: str) -> None:
    """The TSO's and the DSO areas' rows of :func:`overload_split` (areas without any listed)."""
    tso = split.get("tso", (0.0, 0.0, 0.0, 0.0))
    dso = [v for k, v in split.items() if k != "tso"]
    tot = tuple(sum(v[j] for v in dso) for j in range(4))
    print(
        f"  AC overload {label}, base case -> after clearing (MWh; added / relieved per branch "
        f"and MTU): TSO {tso[0]:.1f} -> {tso[1]:.1f} (+{tso[2]:.1f} / -{tso[3]:.1f}); DSO areas "
        f"{tot[0]:.1f} -> {tot[1]:.1f} (+{tot[2]:.1f} / -{tot[3]:.1f}), {len(dso)} DSO areas with "
        "any overload before or after",
        flush=True,
    )
    for area, (b, a, add, rel) in split.items():
        if area != "tso" and (add > 0.05 or rel > 0.05):
            print(f"    {area}: {b:.1f} -> {a:.1f} (+{add:.1f} / -{rel:.1f})")


def run_case(  # noqa: PLR0915 - one case, read top to bottom
    label: str,
    grid: Any,
    model: PandapowerAc,
    n_bids: int,
    mtus: Any,
    reps: int,
    goal_s: float,
    block_share: float,
    first_step: int,
) -> float:
    t0 = time.perf_counter()
    register, needs0, bids, _, make_s = market(grid, n_bids, mtus, block_share=block_share)
    bids = within_range(register, bids)
    needs = national_needs(grid, mtus, needs0)
    market_s = time.perf_counter() - t0
    buses, flex = bid_flex_per_bus(register, bids)
    t0 = time.perf_counter()
    gc, screening, base_all = screened_grid_constraints(
        grid,
        intervals=mtus,
        profile_start_step=first_step,
        flex_bus_ids=buses,
        flex_mw=flex,
        ac_model=model,
    )
    gc_s = time.perf_counter() - t0
    names = branch_names(grid.net)
    limits = grid.branch_limits().limit_mw
    base_over = int(np.sum(np.any(np.abs(base_all) > limits[:, None], axis=1)))
    print(
        f"{label}: market {len(bids)} bids, {len(needs)} needs, {len(register.units)} units "
        f"({market_s:.1f} s, Bid objects {make_s:.1f} s); grid constraints {gc_s:.1f} s "
        f"(AC base case of {len(names)} branches x {len(mtus)} MTU + screening "
        f"{screening.seconds:.1f} s): {len(gc.branch_names)} monitored of {screening.n_screened} "
        f"({screening.n_radial} radial, screened without a solve) "
        f"(flex on {len(buses)} buses, {flex.sum():.0f} MW), base case {base_over} branches "
        f"above their limit; PTDF rows {gc.ptdf.nbytes / 1e6:.0f} MB "
        f"(dense PTDF would be {len(names) * gc.ptdf.shape[1] * 8 / 1e9:.1f} GB)",
        flush=True,
    )
    # the screening already chose the rows that can bind: build them all at once (one round;
    # the lazy rows' base-flow screen would need a second solve for the rows the flexibility
    # itself loads)
    options = ClearingOptions(milp_duals=False, branch_screen=0.0)
    ac = ac_check(grid, gc)
    assert isinstance(ac, PandapowerAcCheck)
    ac = PandapowerAcCheck(grid, gc, model=model)
    ours: list[float] = []
    result = None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = clear(register, needs, bids, gc, options, ac_checker=ac)
        ours.append(time.perf_counter() - t0)
    assert result is not None and result.ac is not None
    # raw HiGHS on the identical LP
    problem, grid_map = build_problem(register, needs, bids, gc)
    form = first_round_lp(problem, options)
    raw_highs: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        h = new_highs(options)
        pass_model(h, form)
        h.run()
        raw_highs.append(time.perf_counter() - t0)
    # raw pandapower: runpp of the identical operating points (base + cleared injections)
    import pandapower as pp

    p_mw, q_mvar = nodal_injections(result.problem, result.slot_accepted_mw)
    p_real = grid_map.to_grid(p_mw).T
    q_real = grid_map.to_grid(q_mvar).T
    full = model.batch(
        mtu_columns=grid_map.mtu_columns,
        bus_ids=grid_map.real_bus_ids,
        branch_names=names,
        voltage_bus_ids=[],
        profile_start_step=first_step,
    )
    raw_pp: list[float] = []
    for _ in range(reps):
        spent = 0.0
        for t, step in enumerate(full.steps):
            # the point is written untimed; runpp warm-started from the previous MTU, as ours
            model.set_point(step, full.sgen_idx, p_real[t], q_real[t])
            t0 = time.perf_counter()
            pp.runpp(model.net, init="results", numba=True, recycle=RECYCLE if t else None)
            spent += time.perf_counter() - t0
        raw_pp.append(spent)
    # the AC check alone (what clear() spends in it), on the monitored branches
    checker = ac.checker_for(problem, grid_map)
    ac_times: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        checker.check(p_mw, q_mvar)
        ac_times.append(time.perf_counter() - t0)
    # the screening's error: every branch in AC after the clearing
    ac_all, _ = full.run(p_real, q_real)
    err = screening_error(names, gc.branch_names, ac_all, limits, base_all)
    mon = np.isin(np.array(names), np.array(gc.branch_names))
    st = result.stats
    raw = statistics.median(raw_highs) + statistics.median(raw_pp)
    ratio = statistics.median(ours) / raw
    accepted = float(np.sum(result.slot_accepted_mw))
    print(
        f"{label}: ours {spread(ours)} end to end, goal < {goal_s:g} s (build {st.build_s:.2f}, "
        f"solve {st.solve_s:.2f}, extract {st.extract_s:.2f}, grid rounds {st.grid_rounds}, "
        f"{st.n_rows}x{st.n_cols}); raw highspy {spread(raw_highs)} + raw pandapower runpp "
        f"{spread(raw_pp)} ({len(full.steps)} x); our AC check alone {spread(ac_times)}; "
        f"accepted {accepted:.1f} MW-slots, "
        f"AC: {result.ac.iterations} re-clearings, max branch violation "
        f"{result.ac.max_branch_violation_mw:.3f} MW, linearisation error "
        f"{result.ac.linearisation_error_flow_mw:.3f} MW; screening error: "
        f"{len(err.overloaded)} unmonitored branches above their limit after clearing "
        f"({len(err.base_overloaded)} of them already in the base case), worst unmonitored "
        f"loading {err.worst_loading:.1%}, worst monitored "
        f"{float(np.max(np.abs(ac_all[mon]) / limits[mon, None], initial=0.0)):.1%}; "
        f"ratio {ratio:.2f}; peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )
    if err.overloaded:
        print(f"  unmonitored overloads: {list(err.overloaded)[:10]}")
    return ratio


def multilevel(  # noqa: PLR0915 - one case, read top to bottom
    grid: Any, model: PandapowerAc, n_bids: int, mtus: Any, scheduler: str | None
) -> float:
    """The multi-level scheme through the engine: ``run_scheme(preset("onenet-multi-level"))`` on
    a scenario over one screened ``GridConstraints`` (every DSO area's market first, in parallel
    on Dask when ``scheduler`` is given, then the TSO's on the base case moved by the DSOs'
    awards, with the unused bids forwarded through each DSO's traffic light; the final and the
    DSO-only dispatch checked in AC with pandapower). Returns ours / raw (see the print)."""
    t0 = time.perf_counter()
    register, needs0, bids, _, _ = market(grid, n_bids, mtus, block_share=0.2, dso_per_area=True)
    bids = within_range(register, bids)
    needs = national_needs(grid, mtus, needs0, dso_per_area=True)
    market_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scenario, _ = screened_scenario(
        f"{GRID} multi-level day",
        grid,
        register,
        needs,
        bids,
        mtus,
        profile_start_step=DAY_STEP,
        issued_at=SUBMITTED - timedelta(hours=1),
        ac_model=model,
    )
    gc = scenario.screened
    assert gc is not None
    base_all = scenario.forecast.branch_flow_mw
    names = scenario.forecast.branch_names
    gc_s = time.perf_counter() - t0
    print(
        f"multi-level day: {len(bids)} bids x {len(mtus)} MTUs, {len(needs)} needs, "
        f"{len(scenario.operators_of_role(OperatorRole.DSO))} DSOs (market {market_s:.1f} s); "
        f"screened constraints + scenario {gc_s:.1f} s ({len(gc.branch_names)} monitored, "
        f"{gc.ptdf.nbytes / 1e6:.0f} MB of rows); peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )
    options = replace(default_options(), milp_duals=False, branch_screen=0.0)
    config = preset("onenet-multi-level")
    client = None
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
    t0 = time.perf_counter()
    joint = JointModel.of(scenario)
    joint_s = time.perf_counter() - t0
    marks: list[tuple[str, float]] = []

    def mark(event: Any) -> None:  # when each step of the run starts
        marks.append(
            (event.message if event.stage == "market" else event.stage, time.perf_counter())
        )

    t0 = time.perf_counter()
    out = run_scheme(config, scenario, joint=joint, options=options, client=client, progress=mark)
    ours = time.perf_counter() - t0
    marks.append(("end", time.perf_counter()))
    at = {m: t for m, t in reversed(marks)}  # first start of each step
    tso_at = next(t for m, t in marks if m == "clearing market tso")
    phases = (
        f"DSO stage {tso_at - t0:.1f} s (markets, then the traffic lights' forwarding), TSO "
        f"market {at['evaluation'] - tso_at:.1f} s, conflicts + pricing "
        f"{at.get('ac-check', marks[-1][1]) - at['evaluation']:.1f} s, AC check "
        f"{marks[-1][1] - at.get('ac-check', marks[-1][1]):.1f} s"
    )
    if client is not None:
        client.close()
    dso = [m for m in out.markets if str(m.id).startswith("dso:")]
    tso = [m for m in out.markets if not str(m.id).startswith("dso:")]
    per = [m.solver_s for m in dso] or [0.0]
    # raw: highspy on each sub-market's first-round LP, and pandapower runpp of the final
    # dispatch per MTU, twice (the AC check runs the final and the DSO-only dispatch)
    raw_highs = 0.0
    for m in out.markets:
        form = first_round_lp(m.result.problem, options)
        t1 = time.perf_counter()
        h = new_highs(options)
        pass_model(h, form)
        h.run()
        raw_highs += time.perf_counter() - t1
    import pandapower as pp

    p_all, q_all = joint.injections(out.accepted_mw)
    full = model.batch(
        mtu_columns=np.arange(len(mtus)),
        bus_ids=joint.grid_map.real_bus_ids,
        branch_names=names,
        voltage_bus_ids=[],
        profile_start_step=DAY_STEP,
    )
    raw_pp = 0.0
    for t, step in enumerate(full.steps):
        model.set_point(step, full.sgen_idx, p_all[:, t], q_all[:, t])
        t1 = time.perf_counter()
        pp.runpp(model.net, init="results", numba=True, recycle=RECYCLE if t else None)
        raw_pp += time.perf_counter() - t1
    flow, _ = full.run(p_all.T, q_all.T)
    limits = grid.branch_limits().limit_mw
    err = screening_error(names, gc.branch_names, flow, limits, base_all)
    where = f"Dask at {scheduler}" if scheduler else "serially in this process"
    ac = out.kpis.ac_violation
    assert ac is not None
    raw = raw_highs + 2.0 * raw_pp
    print(
        f"multi-level day via run_scheme: joint model {joint_s:.1f} s; run_scheme {ours:.1f} s "
        f"({phases}; {len(dso)} DSO markets {where}, HiGHS per market {min(per):.2f}-"
        f"{statistics.median(per):.2f}-{max(per):.2f} s; TSO market bids offered "
        f"{sum(m.bids_offered for m in tso)}, forwarded {sum(m.bids_forwarded for m in tso)}; "
        f"solver {out.solver_s:.1f} s); accepted {len(out.accepted_mw)} bid-MTUs, "
        f"{out.kpis.activated_mwh:.1f} MWh, {len(out.conflicts)} conflicts; AC (KPI, monitored "
        f"branches): TSO {ac.tso_mwh:.1f} MWh, DSO {ac.dso_mwh:.1f} MWh above limits (base-case "
        f"overloads included, split below); screening error: "
        f"{len(err.overloaded)} unmonitored branches above their limit "
        f"({len(err.base_overloaded)} already in the base case), worst unmonitored loading "
        f"{err.worst_loading:.1%}; raw highspy {raw_highs:.1f} s + 2 x raw runpp {raw_pp:.1f} s; "
        f"ratio {ours / raw:.2f}; peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )
    mon = np.isin(np.array(names), np.array(gc.branch_names))
    print_overload_split(
        overload_split(grid, list(names), limits, base_all, flow, mon), "on the monitored branches"
    )
    print_overload_split(
        overload_split(grid, list(names), limits, base_all, flow), "on every branch"
    )
    return ours / raw


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--da", action="store_true", help="also the day-ahead case (96 MTUs)")
    ap.add_argument("--no-nrt", action="store_true", help="skip the near-real-time case")
    ap.add_argument("--multilevel", action="store_true", help="the multi-level day (DSOs first)")
    ap.add_argument("--scheduler", default=None, help="Dask scheduler for the DSO markets")
    ap.add_argument("--nrt-bids", type=int, default=10_000)
    ap.add_argument("--da-bids", type=int, default=50_000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}", flush=True)
    t0 = time.perf_counter()
    grid = load_grid(GRID)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = PandapowerAc(grid)
    model_s = time.perf_counter() - t0
    print(
        f"{GRID}: loaded in {load_s:.1f} s ({len(grid.net.bus)} buses, "
        f"{len(grid.areas.dso_areas)} DSO areas + TSO); pandapower AC copy {model_s:.1f} s; "
        f"peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )
    day = market_time_units(date(2026, 6, 1))
    nrt = float("nan")
    if not args.no_nrt:
        nrt = run_case(
            "NRT", grid, model, args.nrt_bids, day[48:49], args.reps, 10.0, 0.0, DAY_STEP + 48
        )
    tail = ""
    if args.da:
        da = run_case("DA", grid, model, args.da_bids, day, args.reps, 300.0, 0.2, DAY_STEP)
        tail = f"; DA ours / raw {da:.3f}"
    if args.multilevel:
        ml = multilevel(grid, model, args.da_bids, day, args.scheduler)
        tail += f"; multi-level run_scheme / (raw highspy + 2 x raw runpp) {ml:.3f}"
    print(f"load average {os.getloadavg()}; peak RSS {peak_rss_gb():.2f} GB")
    print(f"ratio_to_raw: NRT ours / (raw highspy + raw pandapower runpp) {nrt:.3f}{tail}")


if __name__ == "__main__":
    main()
