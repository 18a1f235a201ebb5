"""Industry4Redispatch over a day (pareto_day): time per MTU, ours vs the raw PGM batch calls.

Ours: :func:`pareto_day` on the seeded industrial case of the CLI's demo day (linearisation,
enumeration, linear check, AC batches, summaries). Raw: for every MTU one
``PowerGridModel.calculate_power_flow`` batch over the same combinations on a model copy that
holds the MTU's setpoints, with prebuilt update arrays (the area's bus injections) and only the
output a feasibility check reads, plus the shared linearisation's two batches (perturbations at
the day's mean point, the MTUs' base points) — the AC work alone, nothing else timed. Last line:
``ratio_to_raw: <ours / raw>``.

``--compare-linearisation`` also runs the day with one linearisation per MTU (no AC) and prints
the error of the shared sensitivities: their spread against the per-MTU ones, and how many
combinations and fronts the two linear checks judge differently.

    .venv/bin/python benchmarks/bench_pareto_day.py [--grid CODE] [--bids N] [--mtus N]
        [--direction up|down] [--no-voltages] [--compare-linearisation] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from power_grid_model import ComponentType, initialize_array

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of
from flexcoord.coordination.aggregation import (
    Linearisation,
    bid_columns,
    day_models,
    pareto_day,
    pareto_front,
)
from flexcoord.coordination.aggregation.day_models import mean_point
from flexcoord.coordination.aggregation.pareto import combinations
from flexcoord.domain import Direction, market_time_units
from flexcoord.grid.forecast import profile_operating_points
from flexcoord.grid.model import load_grid
from flexcoord.grid.pgm import Injections, with_setpoints
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.simulation.industry import industrial_case
from flexcoord.simulation.scenario import profile_step_of

_OUTPUT = {
    ComponentType.node: ["u_pu"],
    ComponentType.line: ["loading"],
    ComponentType.transformer: ["i_from", "i_to"],
}


def _at_buses(frames: Any, name: str, bus_ids: Any) -> Any:
    """The operating point's own bus injections (the sites' schedules) over ``bus_ids``."""
    given = frames.get(name)
    return 0.0 if given is None else given.reindex(columns=bus_ids, fill_value=0.0).to_numpy()


def _raw_batches(grid: Any, models: Any, case: Any, intervals: Any, direction: Direction) -> Any:
    """Per MTU: (model copy at the MTU's setpoints, update arrays of its combinations)."""
    pgm = grid.pgm()
    out = []
    for model, interval in zip(models, intervals, strict=True):
        cols = bid_columns(model, case.bids, case.register, at=interval.start, direction=direction)
        accepted = combinations(cols.n, [b.exclusive_set for b in cols.bids])
        x = accepted * cols.quantity_mw[None, :]
        frames = model.operating_point.frames()
        setpoints = {n: f for n, f in frames.items() if not n.startswith("bus_")}
        moved = with_setpoints(pgm, Injections(**setpoints))

        p = x @ cols.ep.T + _at_buses(frames, "bus_p_mw", model.bus_ids)
        q = x @ cols.eq.T + _at_buses(frames, "bus_q_mvar", model.bus_ids)
        ids = pgm.buses.loc[model.bus_ids, "injection_id"].to_numpy()
        gen = initialize_array("update", ComponentType.sym_gen, p.shape)
        gen["id"] = ids[None, :]
        gen["p_specified"] = p * 1e6
        gen["q_specified"] = q * 1e6
        out.append((moved.model, {ComponentType.sym_gen: gen}))
    return out


def _raw_linearisation(grid: Any, area_bus_ids: Any, points: Injections) -> list[Any]:
    """The shared linearisation's PGM work: ``2·n_bus + 1`` perturbations at the mean point,
    and the ``T`` base points, as (model, update) pairs."""
    from flexcoord.grid.pgm import _update_data  # the raw arrays (built untimed)

    pgm = grid.pgm()
    mean = mean_point(points)
    frames = mean.frames()
    moved = with_setpoints(pgm, Injections(**{n: f for n, f in frames.items() if "bus" not in n}))
    n = len(area_bus_ids)
    step = 0.1 * np.vstack([np.zeros((1, 2 * n)), np.eye(2 * n)])
    gen = initialize_array("update", ComponentType.sym_gen, (2 * n + 1, n))
    gen["id"] = pgm.buses.loc[area_bus_ids, "injection_id"].to_numpy()[None, :]
    gen["p_specified"] = (step[:, :n] + _at_buses(frames, "bus_p_mw", area_bus_ids)) * 1e6
    gen["q_specified"] = (step[:, n:] + _at_buses(frames, "bus_q_mvar", area_bus_ids)) * 1e6
    return [(moved.model, {ComponentType.sym_gen: gen}), (pgm.model, _update_data(pgm, points))]


def _compare(
    grid: Any, case: Any, points: Injections, intervals: Any, args: argparse.Namespace, day: Any
) -> None:
    kw = {"safety_margin": 0.1, "voltage_margin_pu": 0.004}
    t0 = time.perf_counter()
    exact = day_models(grid, None, points, linearisation=Linearisation.PER_MTU, **kw)
    per_mtu_s = time.perf_counter() - t0
    shared = day_models(grid, None, points, **kw)
    if args.no_voltages:
        exact = tuple(m.thermal_only() for m in exact)
        shared = tuple(m.thermal_only() for m in shared)
    flips = total = same = 0
    worst = {
        "dp_from_dp": 0.0,
        "dq_from_dq": 0.0,
        "dvm_dp_pu_per_mw": 0.0,
        "dvm_dq_pu_per_mvar": 0.0,
    }
    for a, b, interval in zip(exact, shared, intervals, strict=True):
        for name, value in worst.items():
            worst[name] = max(value, float(np.abs(getattr(a, name) - getattr(b, name)).max()))
        offered = bid_columns(
            a, case.bids, case.register, at=interval.start, direction=args.direction
        )
        ra = pareto_front(a, offered.bids, case.register, at=interval.start, check_ac=False)
        rb = pareto_front(b, offered.bids, case.register, at=interval.start, check_ac=False)
        flips += int((ra.linear_feasible != rb.linear_feasible).sum())
        total += len(ra.accepted)
        same += int(np.array_equal(ra.front, rb.front))
    print(
        f"per-MTU linearisation: {per_mtu_s:.2f} s ({1e3 * per_mtu_s / len(intervals):.1f} ms per "
        f"MTU) vs shared {day.linearise_s:.2f} s"
    )
    print(
        "shared vs per-MTU sensitivities, largest difference: "
        + ", ".join(f"{k} {v:.2g}" for k, v in worst.items())
    )
    print(
        f"linear feasibility judged differently: {flips} of {total} combinations; "
        f"identical fronts in {same} of {len(intervals)} MTUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="1-MV-rural--0-sw")
    parser.add_argument("--bids", type=int, default=12)
    parser.add_argument("--mtus", type=int, default=96)
    parser.add_argument("--direction", type=Direction, default=Direction.DOWN)
    parser.add_argument("--no-voltages", action="store_true")
    parser.add_argument("--compare-linearisation", action="store_true")
    parser.add_argument("--repeats", type=int, default=1, help="best of N (ours and raw)")
    args = parser.parse_args()

    grid = load_grid(args.grid)
    grid.pgm()
    day_mtus = market_time_units(date(2026, 6, 2))
    base = profile_operating_points(grid, start_step=profile_step_of(date(2016, 6, 1)), steps=96)
    case = industrial_case(
        grid, build_portfolio(grid), intervals=day_mtus, base_points=base, n_bids=args.bids
    )
    intervals = day_mtus[: args.mtus]
    points = case.operating_points.take(range(len(intervals)))
    kw = {"direction": args.direction, "voltages": not args.no_voltages}
    ours_s, day = best_of(
        args.repeats,
        lambda: pareto_day(
            grid, case.bids, case.register, intervals=intervals, operating_points=points, **kw
        ),
    )
    models = day_models(grid, day.area_id, points, safety_margin=0.1, voltage_margin_pu=0.004)
    raw_s = [
        best_of(
            args.repeats,
            lambda m=model, u=update: m.calculate_power_flow(
                update_data=u, threading=0, output_component_types=_OUTPUT
            ),
        )[0]
        for model, update in [
            *_raw_linearisation(grid, models[0].bus_ids, points),
            *_raw_batches(grid, models, case, intervals, args.direction),
        ]
    ]
    raw_linearise_s, raw_s = sum(raw_s[:2]), raw_s[2:]

    for m, raw in zip(day.mtus, raw_s, strict=True):
        print(
            f"MTU {m.interval.start:%H:%M} UTC  {m.n_combinations:6d} combinations  "
            f"ours {m.wall_s:7.3f} s  raw PGM {raw:7.3f} s  front {m.front_size:3d}  "
            f"rejected {m.n_margin_rejected}  dominating {m.n_margin_rejected_dominating}"
        )
    flows = day.n_ac_flows
    print(
        f"grid {args.grid}, area {day.area_id}, {args.bids} bids per direction ({args.direction}), "
        f"{len(intervals)} MTUs, voltages {'on' if day.voltages else 'off'}"
    )
    print(
        f"ours: {ours_s:.2f} s = {1e3 * ours_s / len(intervals):.1f} ms per MTU "
        f"(linearisation {day.linearise_s:.2f} s, shared); {flows} AC flows"
    )
    raw_total = raw_linearise_s + sum(raw_s)
    print(
        f"raw PGM batches: {raw_total:.2f} s = {1e3 * raw_total / len(intervals):.1f} ms per MTU "
        f"(linearisation {raw_linearise_s:.2f} s; combinations {flows / sum(raw_s):,.0f} flows/s)"
    )
    if args.compare_linearisation:
        _compare(grid, case, points, intervals, args, day)
    print(f"ratio_to_raw: {ours_s / raw_total:.3f}")


if __name__ == "__main__":
    main()
