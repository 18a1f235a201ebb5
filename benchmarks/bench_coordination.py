"""Benchmark: every coordination preset on one HV/MV market day, with the comparison table.

Builds ``build_coordination_scenario("1-HVMV-mixed-all-0-sw")`` (96 MTUs, ``--bids`` bids,
congestion on both grids), then does what ``flexcoord coordinate --all`` does: one shared
``JointModel`` and every preset of :data:`flexcoord.coordination.presets.PRESETS` through
``run_scheme`` (AC check on). Prints the comparison table; the wall time of the joint model and
the scheme runs; the time inside raw HiGHS calls (``Highs.run``, ``Highs.passModel``) and raw
power-grid-model calls (``calculate_power_flow``) of that same window (``_raw_calls.RawCalls``);
then, from a second run under cProfile, the five costliest flexcoord functions outside HiGHS and
PGM (own time plus the library code they call, ``_raw_calls.non_solver_costs``); and on its last
line ``ratio_wall_to_raw_highs_pgm`` = wall / (HiGHS + PGM).

``--scaling`` instead runs the same calls on 200, 1,000 and 5,000 bids (``--scaling-mtu`` MTUs,
24 by default) and prints the time per bid.

Run: ``.venv/bin/python benchmarks/bench_coordination.py [--bids 1200] [--mtu 96] [--json PATH]
[--no-profile] [--scaling [--scaling-mtu 24]]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from _raw_calls import RawCalls, non_solver_costs, profiled
from flexcoord.coordination import PRESETS, JointModel, SchemeOutcome, run_scheme
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.simulation.scenario import build_coordination_scenario

GRID = "1-HVMV-mixed-all-0-sw"


def row_of(outcome: SchemeOutcome) -> dict[str, Any]:
    """One table row: the comparison KPIs of a scheme run."""
    k = outcome.kpis
    return {
        "preset": outcome.config.id,
        "total_cost_eur": k.cost.total_cost_eur,
        "bid_cost_eur": k.cost.bid_cost_eur,
        "shortfall_mwh": dict(k.shortfall_mwh),
        "violation_tso_mwh": k.residual_violation_tso_mwh,
        "violation_dso_mwh": k.residual_violation_dso_mwh,
        "dso_violation_caused_by_tso_mwh": k.dso_violation_caused_by_tso_mwh,
        "conflicts": {
            "double_activation": k.conflicts_double_activation,
            "counter_activation": k.conflicts_counter_activation,
            "dso_limit": k.conflicts_dso_limit,
        },
        "forwarded_bids": k.forwarded_bids,
        "activated_mwh": k.activated_mwh,
        "curtailed_renewable_mwh": k.curtailed_renewable_mwh,
        "wall_s": outcome.wall_s,
        "solver_s": outcome.solver_s,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table."""
    head = (
        f"{'preset':32s} {'total €':>13s} {'bids €':>10s} {'short tso/dso/brp MWh':>23s} "
        f"{'viol tso/dso MWh':>17s} {'confl d/c/l':>11s} {'fwd':>5s} {'act MWh':>8s} "
        f"{'RES MWh':>8s} {'wall s':>7s} {'HiGHS s':>7s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        s = r["shortfall_mwh"]
        c = r["conflicts"]
        short = "/".join(f"{s.get(b, 0.0):.2f}" for b in ("tso", "dso", "brp"))
        conf = f"{c['double_activation']}/{c['counter_activation']}/{c['dso_limit']}"
        lines.append(
            f"{r['preset']:32s} {r['total_cost_eur']:13.2f} {r['bid_cost_eur']:10.2f} "
            f"{short:>23s} {r['violation_tso_mwh']:8.3f}/{r['violation_dso_mwh']:<8.3f} "
            f"{conf:>11s} {r['forwarded_bids']:5d} {r['activated_mwh']:8.2f} "
            f"{r['curtailed_renewable_mwh']:8.2f} {r['wall_s']:7.2f} {r['solver_s']:7.3f}"
        )
    return "\n".join(lines)


def run_all(scenario: CoordinationInput) -> tuple[float, list[SchemeOutcome]]:
    """What ``coordinate --all`` runs after building the scenario; its wall time."""
    t0 = time.perf_counter()
    joint = JointModel.of(scenario)
    outcomes = [run_scheme(config, scenario, joint=joint, ac_check=True) for config in PRESETS]
    return time.perf_counter() - t0, outcomes


def cpu_run_all(scenario: CoordinationInput) -> tuple[float, float, list[SchemeOutcome]]:
    """:func:`run_all` with its process CPU time too."""
    c0 = time.process_time()
    wall, outcomes = run_all(scenario)
    return wall, time.process_time() - c0, outcomes


def raw_line(raw: RawCalls) -> str:
    """The raw library times and call counts."""
    parts = [f"{k} {raw.seconds[k]:.2f} s / {raw.calls[k]} calls" for k in sorted(raw.seconds)]
    return "; ".join(parts)


def scaling(mtu: int, seed: int) -> None:
    """``coordinate --all`` on 200, 1,000 and 5,000 bids: wall time per bid."""
    print(f"scaling: every preset, {GRID}, {mtu} MTUs, AC check on")
    print(
        f"{'bids':>6s} {'wall s':>8s} {'ms/bid':>8s} {'HiGHS s':>8s} {'PGM s':>7s} {'ratio':>6s} "
        f"{'CPU ms/bid':>8s} {'CPU ratio':>6s}"
    )
    for n_bids in (200, 1000, 5000):
        scenario = build_coordination_scenario(GRID, n_mtu=mtu, n_bids=n_bids, seed=seed)
        with RawCalls() as raw:
            wall, cpu, _ = cpu_run_all(scenario)
        print(
            f"{n_bids:6d} {wall:8.2f} {1e3 * wall / n_bids:8.2f} {raw.highs_s:8.2f} "
            f"{raw.pgm_s:7.2f} {wall / (raw.highs_s + raw.pgm_s):6.2f} "
            f"{1e3 * cpu / n_bids:8.2f} {cpu / raw.raw_cpu_s:6.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bids", type=int, default=1200)
    parser.add_argument("--mtu", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="dump the table as JSON here")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--top", type=int, default=5, help="rows of the non-solver cost table")
    parser.add_argument("--scaling", action="store_true", help="200 / 1,000 / 5,000 bids")
    parser.add_argument("--scaling-mtu", type=int, default=24)
    args = parser.parse_args()
    if args.scaling:
        scaling(args.scaling_mtu, args.seed)
        return

    t0 = time.perf_counter()
    with RawCalls() as raw:
        scenario = build_coordination_scenario(
            GRID, n_mtu=args.mtu, n_bids=args.bids, seed=args.seed
        )
    build_s = time.perf_counter() - t0
    print(
        f"scenario: {scenario.name}; {len(scenario.intervals)} MTU, {len(scenario.bids)} bids, "
        f"{len(scenario.needs)} needs, congested {sorted(scenario.limit_overrides_mw)}"
    )
    print(f"scenario build {build_s:.2f} s ({raw_line(raw)})")

    with RawCalls() as raw:
        wall, cpu, outcomes = cpu_run_all(scenario)
    rows = [row_of(o) for o in outcomes]
    print(table(rows))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "scenario": scenario.name,
                    "rows": rows,
                    "wall_s": wall,
                    "highs_s": raw.highs_s,
                    "pgm_s": raw.pgm_s,
                },
                indent=2,
            )
        )
    if not args.no_profile:
        with RawCalls():  # so the profile sees the raw calls as the wrappers, left out
            stats = profiled(lambda: run_all(scenario))
        costs = non_solver_costs(stats)
        total = sum(c[2] for c in costs)
        print(f"top {args.top} non-solver costs (cProfile run; flexcoord total {total:.2f} s):")
        for name, calls, seconds in costs[: args.top]:
            print(f"  {seconds:7.2f} s {calls:9d} calls  {name}")
    print(f"raw calls: {raw_line(raw)}")
    print(
        f"wall (joint model + {len(rows)} scheme runs) {wall:.2f} s; raw HiGHS "
        f"{raw.highs_s:.2f} s; raw PGM {raw.pgm_s:.2f} s; "
        f"rest {wall - raw.highs_s - raw.pgm_s:.2f} s"
    )
    print(
        f"process CPU time {cpu:.2f} s, in raw calls {raw.raw_cpu_s:.2f} s: "
        f"ratio {cpu / raw.raw_cpu_s:.2f} (the same ratio, less sensitive to a busy machine)"
    )
    print(f"ratio_wall_to_raw_highs_pgm: {wall / (raw.highs_s + raw.pgm_s):.2f}")


if __name__ == "__main__":
    main()
