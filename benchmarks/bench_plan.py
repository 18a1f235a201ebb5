"""Benchmark: one planned year of `flexcoord plan` (1-MV-rural in 2045 with 8 MW of heat pumps)
against raw power-grid-model doing its power flows.

Ours: :func:`flexcoord.planning.plan.run_plan` for the single year 2045 (no report): the growth
path's network, its year of AC power flows, every congested asset's local flexibility (bisection
over the rules, each trial the power flows of the violating days) and reinforcement (each
candidate a re-run year), the decisions and the tables.

Raw: ``PowerGridModel.calculate_power_flow`` (Newton–Raphson, the same output components) on the
same 2045 network's full year of update arrays, built once outside the timing; its steps per
second times the number of power-flow steps the plan ran (every ``assess`` call counted) is the
raw time of the same work. The last line is ``ours / raw`` (time).

Usage: ``.venv/bin/python benchmarks/bench_plan.py [--reps R]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from power_grid_model import CalculationMethod, ComponentType, PowerGridModel

import flexcoord.grid.reinforcement as reinforcement_module
import flexcoord.planning.plan as plan_module
from flexcoord.grid.growth_path import network_on_path
from flexcoord.grid.pgm import to_pgm
from flexcoord.grid.timeseries import OUTPUT_ATTRIBUTES, assess
from flexcoord.grid.timeseries_profiles import Profiles, UpdateBuffers
from flexcoord.planning.plan import plan_growth_path, run_plan
from flexcoord.schemas.plan import PlanFile

PLAN = PlanFile.model_validate(
    {
        "name": "bench",
        "grid": "1-MV-rural--0-sw",
        "start_year": 2045,
        "horizon": 2045,
        "additions": {"heat_pump_mw": {2045: 8.0}},
    }
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()

    steps_run: list[int] = []

    def counting(net: Any, **kwargs: Any) -> Any:
        result = assess(net, **kwargs)
        steps_run.append(result.steps)
        return result

    plan_module.assess = counting  # type: ignore[attr-defined]
    reinforcement_module.assess = counting  # type: ignore[attr-defined]

    times: list[float] = []
    result = None
    for _ in range(args.reps):
        steps_run.clear()
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            result = run_plan(PLAN, folder=Path(folder), report=False)
            times.append(time.perf_counter() - t0)
    assert result is not None
    total_steps = sum(steps_run)

    net = network_on_path(plan_growth_path(PLAN), 2045)
    profiles = Profiles.of(net)
    grid = to_pgm(net, injection_buses=())
    model = PowerGridModel(dict(grid.input_data))
    update = UpdateBuffers(grid, profiles, profiles.n_steps).fill(0, profiles.n_steps)
    outputs: dict[ComponentType, Any] = {
        k: v for k, v in OUTPUT_ATTRIBUTES.items() if k in grid.input_data
    }
    raw_times = []
    for _ in range(2):
        t0 = time.perf_counter()
        model.calculate_power_flow(
            update_data=update,
            threading=0,
            output_component_types=outputs,
            calculation_method=CalculationMethod.newton_raphson,
        )
        raw_times.append(time.perf_counter() - t0)
    rate = profiles.n_steps / min(raw_times)
    raw_same_work = total_steps / rate
    best = min(times)
    crossover = result.tables["crossover"]
    print(f"plan year 2045 on 1-MV-rural: {len(crossover['asset'].unique())} congested assets")
    print(
        f"ours (run_plan, 1 year): {best:.1f} s (all: {', '.join(f'{t:.1f}' for t in times)}); "
        f"{len(steps_run)} assessments, {total_steps:,} power-flow steps "
        f"({total_steps / profiles.n_steps:.1f} year-equivalents)"
    )
    print(f"raw PGM: {rate:,.0f} steps/s -> {raw_same_work:.1f} s for the same steps")
    print(f"ratio_to_raw_pgm: {best / raw_same_work:.2f}")


if __name__ == "__main__":
    main()
