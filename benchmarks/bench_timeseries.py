"""Benchmark: year-long 15-min grid assessment (flexcoord) vs raw power-grid-model batch.

Ours: ``flexcoord.grid.timeseries.assess(net)`` end to end: deep copy and conversion of the
network, SimBench profiles → update data per chunk, chunked Newton–Raphson batch calculation,
violation detection and summary.

Raw: ``PowerGridModel.calculate_power_flow(update_data=..., threading=0,
output_component_types=<the same>)`` on the identical update arrays, built once outside the
timing (as in the ecosystem lab, §2b), with nothing done to the output.

Both: minimum wall time of ``--reps`` repetitions, interleaved. The last line is the ratio
``ours / raw`` (time), the figure the house style asks every hot path to report.

Usage: ``.venv/bin/python benchmarks/bench_timeseries.py [--steps N] [--grid CODE] [--reps R]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from power_grid_model import CalculationMethod, ComponentType, PowerGridModel

from flexcoord.grid.loading import load_network
from flexcoord.grid.pgm import to_pgm
from flexcoord.grid.timeseries import OUTPUT_ATTRIBUTES, assess
from flexcoord.grid.timeseries_profiles import Profiles, UpdateBuffers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="1-MV-rural--0-sw")
    parser.add_argument("--steps", type=int, default=None, help="default: the whole year")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threading", type=int, default=0)
    args = parser.parse_args()

    net = load_network(args.grid)
    profiles = Profiles.of(net)
    steps = args.steps or profiles.n_steps

    # raw: the same model input and the identical update arrays, built once
    grid = to_pgm(net, injection_buses=())
    model = PowerGridModel(dict(grid.input_data))
    update = UpdateBuffers(grid, profiles, steps).fill(0, steps)
    outputs: dict[ComponentType, Any] = {
        k: v for k, v in OUTPUT_ATTRIBUTES.items() if k in grid.input_data
    }

    def raw() -> None:
        model.calculate_power_flow(
            update_data=update,
            threading=args.threading,
            output_component_types=outputs,
            calculation_method=CalculationMethod.newton_raphson,
        )

    def ours() -> None:
        assess(net, steps=steps, threading=args.threading)

    ours()  # warm-up (imports, first-call costs)
    t_ours: list[float] = []
    t_raw: list[float] = []
    for _ in range(args.reps):
        for fn, times in ((ours, t_ours), (raw, t_raw)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)

    result = assess(net, steps=steps, threading=args.threading)
    best_ours, best_raw = min(t_ours), min(t_raw)
    print(f"grid: {args.grid}, steps: {steps}, reps: {args.reps}, threading: {args.threading}")
    print(f"violations: {len(result.violations)} rows, {len(result.summary)} asset/kind rows")
    print(
        f"ours (assess):   {best_ours:.3f} s  {steps / best_ours:,.0f} steps/s  "
        f"(all: {', '.join(f'{t:.3f}' for t in t_ours)})"
    )
    print(
        f"raw PGM batch:   {best_raw:.3f} s  {steps / best_raw:,.0f} steps/s  "
        f"(all: {', '.join(f'{t:.3f}' for t in t_raw)})"
    )
    print(f"ratio_to_raw_pgm: {best_ours / best_raw:.2f}")


if __name__ == "__main__":
    main()
