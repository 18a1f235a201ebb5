"""Grid-aware redispatch day: lazy voltage rows vs the full formulation vs pandapower's OPFs.

Case: SimBench ``1-MV-rural--0-sw``, profile day 150 (1 June), 96 quarter-hours, the full
portfolio of ``tests/clearing/simbench_market.py`` (every sgen offers DOWN, every load, EV and
heat pump UP, 4 batteries both ways as an exclusive pair: 246 bids, ``min(range, 1.5 MW)`` in
every MTU, prices U(20, 300) €/MWh), no explicit need: pure redispatch. Grid constraints: every
branch (PTDF) and every non-slack bus's voltage, band 0.95-1.05 pu (``--vm-max``), base case from
the profiles (the day has ~100 (bus, MTU) pairs above 1.05 pu at noon: PV).

Timed, min-median-max over ``--reps`` runs, in one process:

* **ours**: domain-level ``clear()`` with the default options (validation, mapping, lazy voltage
  and branch rows, the MILP's integral LP relaxation, HiGHS, extraction); also with lazy voltage
  rows only (``lazy_branch_rows=False``);
* **full**: the same with every branch and voltage row built (``lazy_voltage_rows=False``);
* **HiGHS alone**: wall time inside ``Highs.passModel`` + ``Highs.run`` during *ours* and *full*
  (``_raw_calls.RawCalls``);
* **rundcopp loop** (raw baseline): pandapower ``rundcopp`` once per MTU over the 96 MTUs, on
  the same base case, every bid a controllable element at its bus with the bid's price as a
  linear cost (an UP bid an sgen of ``[0, q]`` MW, a DOWN bid a load of ``[0, q]`` MW); DC, so it
  has **no voltage limit** at all (what a DC OPF loop gives you) - a lower bound on the work;
* **AC loop**: ``clear()`` with ``ac_max_iterations=3`` and the power-grid-model AC check
  (``PgmAcCheck``) over the 96 MTUs: iterations until no new AC violation, time, the AC voltage
  violation left;
* **runopp** (``--opp-mtus``, default 1): pandapower's AC OPF (PIPS) on the MTUs with the
  highest base voltage, the same elements and costs plus the voltage band; the per-MTU time
  extrapolated ×96 for the day (an extrapolation, stated as such).

Last line: ``ratio_to_raw: ours / rundcopp loop`` (median over median).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_redispatch.py            # ~3 min
    PYTHONPATH=src .venv/bin/python benchmarks/bench_redispatch.py --opp-mtus 0
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.clearing.simbench_market import simbench_market

from _raw_calls import RawCalls
from _timing import spread
from flexcoord.clearing import ClearingOptions
from flexcoord.clearing.ac import PgmAcCheck
from flexcoord.clearing.grid_constraints import grid_constraints
from flexcoord.clearing.market import clear
from flexcoord.grid.forecast import profile_operating_points
from flexcoord.grid.model import load_grid

GRID = "1-MV-rural--0-sw"


def timed(reps: int, fn: Any) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def opf_net(grid: Any, market: Any) -> tuple[Any, list[tuple[str, int, str]]]:
    """A copy of the grid's pandapower net with one controllable element per bid (cost = the
    bid's price), every original element fixed. Returns the net and, per bid, its element."""
    import pandapower as pp

    net = copy.deepcopy(grid.net)
    for table in ("sgen", "load", "storage", "gen"):
        if len(net[table]):
            net[table]["controllable"] = False
    net.poly_cost.drop(net.poly_cost.index, inplace=True)
    net.pwl_cost.drop(net.pwl_cost.index, inplace=True)
    units = {u.id: u for u in market.register.units}
    elements = []
    for bid in market.bids:
        unit = units[bid.resource_id]
        bus = market.register.connection_point(unit.connection_point_id).bus
        q = float(bid.quantities[0].quantity)
        price = float(bid.activation_price_eur_per_mwh)
        # up: more injection, an extra controllable generator; down: an extra controllable load
        table, create = (
            ("sgen", pp.create_sgen) if bid.direction == "up" else ("load", pp.create_load)
        )
        idx = create(
            net,
            bus,
            p_mw=0.0,
            min_p_mw=0.0,
            max_p_mw=q,
            controllable=True,
            min_q_mvar=0.0,
            max_q_mvar=0.0,
        )
        pp.create_poly_cost(net, idx, table, cp1_eur_per_mw=price)
        elements.append((table, int(idx), bid.id))
    net.ext_grid["controllable"] = True  # the slack balances, free (as in the clearing)
    for idx in net.ext_grid.index:
        pp.create_poly_cost(net, idx, "ext_grid", cp1_eur_per_mw=0.0)
    return net, elements


def set_step(net: Any, points: Any, k: int) -> None:
    """The original elements' setpoints of profile scenario ``k``."""
    for frame, table, column in (
        (points.load_p_mw, "load", "p_mw"),
        (points.load_q_mvar, "load", "q_mvar"),
        (points.sgen_p_mw, "sgen", "p_mw"),
        (points.storage_p_mw, "storage", "p_mw"),
    ):
        if frame is not None:
            net[table].loc[frame.columns, column] = frame.iloc[k].to_numpy()


def rundcopp_loop(net: Any, points: Any, n_mtu: int) -> tuple[int, float]:
    import pandapower as pp

    converged, cost = 0, 0.0
    for k in range(n_mtu):
        set_step(net, points, k)
        pp.rundcopp(net)
        converged += bool(net.OPF_converged)
        cost += float(net.res_cost) * 0.25
    return converged, cost


def runopp_mtus(
    net: Any, points: Any, mtus: list[int], vm_max: float, vm_min: float = 0.95
) -> list[tuple[bool, float]]:
    import pandapower as pp

    net.bus["max_vm_pu"] = vm_max
    net.bus["min_vm_pu"] = vm_min
    out = []
    for k in mtus:
        set_step(net, points, k)
        t0 = time.perf_counter()
        try:
            pp.runopp(net, init="pf")
            ok = bool(net.OPF_converged)
        except Exception:
            ok = False
        out.append((ok, time.perf_counter() - t0))
    return out


def main() -> None:  # noqa: PLR0915 - one benchmark, read top to bottom
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--vm-max", type=float, default=1.05)
    ap.add_argument("--opp-mtus", type=int, default=1, help="MTUs for pandapower runopp")
    ap.add_argument("--skip-full", action="store_true")
    args = ap.parse_args()
    grid = load_grid(GRID)
    market = simbench_market(grid, first_mtu=0, n_mtu=96)
    n_t = len(market.intervals)
    gc = grid_constraints(
        grid,
        intervals=market.intervals,
        profile_start_step=market.profile_start_step,
        vm_min_pu=0.95,
        vm_max_pu=args.vm_max,
    )
    over = int(np.sum(gc.base_vm_pu > gc.vm_max_pu[:, None]))
    loading = float(np.max(np.abs(gc.base_flow_mw) / gc.limit_mw[:, None]))
    print(
        f"{GRID}, {n_t} MTUs from step {market.profile_start_step}: {len(market.bids)} bids, "
        f"{len(gc.branch_names)} branches, {len(gc.vbus_ids)} voltages "
        f"(band 0.95-{args.vm_max}); base case: {over} (bus, MTU) above the band, max "
        f"{gc.base_vm_pu.max():.4f} pu, max loading {loading:.0%}"
    )

    def run(options: ClearingOptions) -> tuple[list[float], list[float], Any]:
        times, highs = [], []
        result = None
        for _ in range(args.reps):
            with RawCalls() as raw:
                t0 = time.perf_counter()
                result = clear(market.register, (), market.bids, gc, options)
                times.append(time.perf_counter() - t0)
            highs.append(raw.highs_s)
        return times, highs, result

    def line(label: str, times: list[float], highs: list[float], r: Any) -> str:
        st = r.stats
        return (
            f"{label}: {spread(times)}; HiGHS alone {spread(highs)}; {st.grid_rounds} round(s), "
            f"{st.n_rows}x{st.n_cols} nnz={st.n_nonzeros}, {st.n_integer} integer "
            f"({'relaxation integral' if st.n_integer and not st.mip_nodes else 'MILP'}); "
            f"objective {r.objective_eur:.2f} EUR, {len(r.awards())} awards, max voltage "
            f"violation {r.voltage_violation_pu.max():.2e} pu"
        )

    # ours (the default options: lazy voltage and branch rows) and the rundcopp loop alternate,
    # so a load spike of the shared machine hits both alike
    lazy = ClearingOptions()
    points = profile_operating_points(grid, start_step=market.profile_start_step, steps=n_t)
    net, _ = opf_net(grid, market)
    ours_t, ours_h, loop_t = [], [], []
    for _ in range(args.reps):
        with RawCalls() as raw:
            t0 = time.perf_counter()
            ours = clear(market.register, (), market.bids, gc, lazy)
            ours_t.append(time.perf_counter() - t0)
        ours_h.append(raw.highs_s)
        t0 = time.perf_counter()
        conv, cost = rundcopp_loop(net, points, n_t)
        loop_t.append(time.perf_counter() - t0)
    print(line("ours (default: lazy voltage + branch rows)", ours_t, ours_h, ours))
    print(
        f"pandapower rundcopp loop over {n_t} MTUs (no voltage limits): {spread(loop_t)}; "
        f"{conv}/{n_t} converged, cost {cost:.2f} EUR; per-run speed-up "
        f"{', '.join(f'{lo / o:.1f}x' for o, lo in zip(ours_t, loop_t, strict=True))}"
    )
    def_t, def_h, default = run(ClearingOptions(lazy_branch_rows=False))
    print(line("ours, lazy voltage rows only (every branch row)", def_t, def_h, default))
    print(
        f"  |dispatch voltage-only - ours| max "
        f"{np.max(np.abs(default.slot_accepted_mw - ours.slot_accepted_mw)):.2e} MW"
    )
    if not args.skip_full:
        full_t, full_h, full = run(ClearingOptions(lazy_voltage_rows=False, lazy_branch_rows=False))
        f = full.stats
        print(
            f"full formulation: {spread(full_t)}; HiGHS alone {spread(full_h)}; "
            f"{f.n_rows}x{f.n_cols} nnz={f.n_nonzeros}; objective {full.objective_eur:.2f} EUR;"
            f" |dispatch lazy - full| max "
            f"{np.max(np.abs(ours.slot_accepted_mw - full.slot_accepted_mw)):.2e} MW"
        )
        print(f"speed-up full/ours: {statistics.median(full_t) / statistics.median(ours_t):.1f}x")

    ac = PgmAcCheck(grid, gc)
    for tol in (1e-4, 1e-7):  # the default tolerance, and "no AC violation" to 1e-7 pu
        ac_opts = replace(lazy, ac_max_iterations=3, ac_tolerance_pu=tol)
        ac_t, ac_res = timed(
            args.reps,
            lambda o=ac_opts: clear(market.register, (), market.bids, gc, o, ac_checker=ac),
        )
        rep = ac_res.ac
        print(
            f"AC loop (ac_max_iterations=3, ac_tolerance_pu={tol:g}, PGM, offset correction): "
            f"{spread(ac_t)}; {rep.iterations} re-clearing(s), converged {rep.converged}, max AC "
            f"voltage violation {rep.max_voltage_violation_pu:.2e} pu, linearisation error "
            f"{rep.initial_linearisation_error_vm_pu:.2e} -> "
            f"{rep.linearisation_error_vm_pu:.2e} pu, objective {ac_res.objective_eur:.2f} EUR"
        )
    if args.opp_mtus:
        worst = list(np.argsort(-gc.base_vm_pu.max(axis=0))[: args.opp_mtus])
        opp_net, _ = opf_net(grid, market)
        per_run = []
        for _ in range(args.reps):
            outcome = runopp_mtus(opp_net, points, [int(k) for k in worst], args.vm_max)
            per_run.append(sum(t for _, t in outcome) / len(outcome))
            ok = sum(c for c, _ in outcome)
        opp_day = statistics.median(per_run) * n_t
        print(
            f"pandapower runopp (AC OPF, PIPS) on MTU(s) {[int(k) for k in worst]}: "
            f"{spread(per_run)} per MTU, {ok}/{len(worst)} converged; extrapolated day "
            f"x{n_t}: {opp_day:.0f} s; AC loop / runopp day {statistics.median(ac_t) / opp_day:.4f}"
        )
        # control: the bare net (no flexibility, only the ext_grid controllable, band 0.8-1.2)
        bare = copy.deepcopy(grid.net)
        for table in ("sgen", "load", "storage"):
            if len(bare[table]):
                bare[table]["controllable"] = False
        bare.ext_grid["controllable"] = True
        import pandapower as pp

        pp.create_poly_cost(bare, int(bare.ext_grid.index[0]), "ext_grid", cp1_eur_per_mw=1.0)
        control = runopp_mtus(bare, points, [int(worst[0])], 1.2, vm_min=0.8)
        print(f"  control: runopp on the bare net, band 0.8-1.2: converged {control[0][0]}")
    ratio = statistics.median(ours_t) / statistics.median(loop_t)
    default_ratio = statistics.median(def_t) / statistics.median(loop_t)
    print(f"speed-up rundcopp loop/ours, lazy voltage rows only: {1.0 / default_ratio:.1f}x")
    print(f"speed-up rundcopp loop/ours: {1.0 / ratio:.1f}x")
    print(f"ratio_to_raw: {ratio:.3f}")


if __name__ == "__main__":
    main()
