"""Benchmark: every coordination preset on one HV/MV market day, with the comparison table.

Builds ``build_coordination_scenario("1-HVMV-mixed-all-0-sw")`` (96 MTUs, ``--bids`` bids,
congestion on both grids), runs every preset of :data:`flexcoord.coordination.presets.PRESETS`
with one shared joint model, prints the comparison table, the total wall time and, on the last
line, ``ratio_to_raw_solver_time`` = total wall time of all scheme runs / sum of their HiGHS
solve times (``SchemeOutcome.solver_s``).

Run: ``.venv/bin/python benchmarks/bench_coordination.py [--bids 1200] [--mtu 96] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from flexcoord.coordination import PRESETS, JointModel, SchemeOutcome, run_scheme
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bids", type=int, default=1200)
    parser.add_argument("--mtu", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="dump the table as JSON here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    scenario = build_coordination_scenario(GRID, n_mtu=args.mtu, n_bids=args.bids, seed=args.seed)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    joint = JointModel.of(scenario)
    joint_s = time.perf_counter() - t0
    print(
        f"scenario: {scenario.name}; {len(scenario.intervals)} MTU, {len(scenario.bids)} bids, "
        f"{len(scenario.needs)} needs, congested {sorted(scenario.limit_overrides_mw)}"
    )
    print(f"scenario build {build_s:.2f} s, joint model {joint_s:.2f} s")

    rows = []
    for config in PRESETS:
        rows.append(row_of(run_scheme(config, scenario, joint=joint)))
    print(table(rows))
    wall = sum(r["wall_s"] for r in rows)
    solver = sum(r["solver_s"] for r in rows)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"scenario": scenario.name, "rows": rows, "wall_s": wall, "solver_s": solver},
                indent=2,
            )
        )
    print(
        f"total wall time of all scheme runs: {wall:.2f} s; sum of HiGHS solve times {solver:.3f} s"
    )
    print(f"ratio_to_raw_solver_time: {wall / solver:.2f}")


if __name__ == "__main__":
    main()
