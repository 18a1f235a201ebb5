"""PQ region of the largest MV area of 1-HVMV-mixed (64 directions): ours vs raw HiGHS.

Ours: :func:`feasible_pq_region` without refinement (one HiGHS model, 64 warm-started re-solves
with changed costs, vertices, halfplanes, gap). Raw: a fresh ``highspy.Highs`` per direction
solving the identical LP arrays from scratch. Model build (one PGM batch) is timed separately.
Last line: ratio ours / raw.

    .venv/bin/python benchmarks/bench_aggregation.py [--grid CODE] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import highspy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of
from flexcoord.coordination.aggregation import build_dso_model, feasible_pq_region, flexible_units
from flexcoord.coordination.aggregation.pq_region import region_lp
from flexcoord.grid.model import load_grid
from flexcoord.grid.pgm import to_pgm
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="1-HVMV-mixed-all-0-sw")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    directions = 64

    grid = load_grid(args.grid)
    register = build_portfolio(grid, additions=ScenarioAdditions(batteries=10, ev_chargers=40))
    pgm = to_pgm(grid.net)
    t0 = time.perf_counter()
    model = build_dso_model(grid, pgm=pgm)
    build_s = time.perf_counter() - t0
    units = flexible_units(grid, register, model.area_id)

    def ours() -> object:
        return feasible_pq_region(model, units, directions=directions, refine_budget=0)

    arrays, g_p, g_q = region_lp(model, units)
    lp = arrays.highs_lp()
    theta = 2.0 * np.pi * np.arange(directions) / directions

    def raw() -> np.ndarray:
        out = np.zeros((directions, len(g_p)))
        for k, th in enumerate(theta):
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)
            lp.col_cost_ = -(np.cos(th) * g_p + np.sin(th) * g_q)
            h.passModel(lp)
            h.run()
            out[k] = h.getSolution().col_value
        return out

    ours()
    raw()
    t_ours, region = best_of(args.repeats, ours)
    t_raw, _ = best_of(args.repeats, raw)
    refined = feasible_pq_region(model, units, directions=directions)
    print(
        f"grid {args.grid}, area {model.area_id}: {model.n_bus} buses, "
        f"{len(model.branch_names)} branches, {units.n_units} units, "
        f"{arrays.a.shape[0]} rows after screening"
    )
    print(f"model build (one PGM batch of {2 * model.n_bus + 1} AC flows): {build_s * 1e3:.1f} ms")
    print(
        f"ours  (64 warm-started LPs + polygon): {t_ours * 1e3:.1f} ms, "
        f"gap {region.approximation_gap_mw:.4f} MW"
    )  # type: ignore[attr-defined]
    print(f"raw   (64 fresh HiGHS solves):         {t_raw * 1e3:.1f} ms")
    print(
        f"refined region: {len(refined.directions_rad)} directions, "
        f"gap {refined.approximation_gap_mw:.4f} MW, {refined.solve_s * 1e3:.1f} ms"
    )
    print(f"ratio ours/raw: {t_ours / t_raw:.3f}")


if __name__ == "__main__":
    main()
