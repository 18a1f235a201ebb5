"""Clearing benchmark: ours end to end vs raw highspy on the identical LP/MILP.

Ours = ``clear_problem`` from the array-level :class:`ClearingProblem` (canonical ordering,
vectorised build, HiGHS, extraction of awards / prices / binding limits / rejection reasons)
through the frozen result. Raw = ``highspy`` ``passModel`` + ``run`` on the very arrays our build
produced. Both: threads=1, min of ``--reps``. Last line: the ratio ours/raw of the largest case.

    .venv/bin/python benchmarks/bench_clearing.py --bids 1000,10000,100000
    .venv/bin/python benchmarks/bench_clearing.py --bids 10000 --indivisible 0.1 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from clearing_instances import grid_arrays, instance
from flexcoord.clearing import ClearingOptions, clear_problem
from flexcoord.clearing.formulation import build_formulation
from flexcoord.clearing.problem import canonical
from flexcoord.clearing.solve import new_highs, pass_model


def raw_seconds(problem, options, reps):  # type: ignore[no-untyped-def]
    form = build_formulation(canonical(problem), options)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        h = new_highs(options)
        pass_model(h, form)
        h.run()
        best = min(best, time.perf_counter() - t0)
    return best, form, h.getInfo().objective_function_value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bids", default="1000,10000,100000")
    ap.add_argument("--mtus", type=int, default=96)
    ap.add_argument("--indivisible", type=float, default=0.0)
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="seed of the grid limits and the bids")
    args = ap.parse_args()
    grid = grid_arrays(n_t=args.mtus, seed=args.seed)
    options = ClearingOptions(mip_rel_gap=args.gap, time_limit_s=300.0, milp_duals=False)
    ratio = float("nan")
    for n in (int(v) for v in args.bids.split(",")):
        problem = instance(
            n, n_t=args.mtus, indivisible_share=args.indivisible, seed=args.seed, grid=grid
        )
        raw, form, raw_obj = raw_seconds(problem, options, args.reps)
        ours = float("inf")
        for _ in range(args.reps):
            t0 = time.perf_counter()
            result = clear_problem(problem, options)
            ours = min(ours, time.perf_counter() - t0)
        s = result.stats
        kind = "MILP" if form.is_mip else "LP"
        print(
            f"{n:>7} bids {kind:4} {form.n_row}x{form.n_col} nnz={form.a_matrix.nnz} "
            f"int={s.n_integer}: ours {ours:.3f} s (build {s.build_s:.3f}, solve {s.solve_s:.3f},"
            f" extract {s.extract_s:.3f}) raw {raw:.3f} s; objective {result.objective_eur:.1f}"
            f" (raw {raw_obj:.1f}, gap {s.mip_gap:.1e}); accepted "
            f"{int((result.slot_accepted_mw > 0).sum())} slots, {len(result.binding)} binding"
        )
        ratio = ours / raw
        print(f"ratio ours/raw at {n} bids: {ratio:.3f}")
    print(f"ratio_to_raw: {ratio:.3f}")


if __name__ == "__main__":
    main()
