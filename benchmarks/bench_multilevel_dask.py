"""Benchmark: a multi-level day with one DSO per area, its DSO markets serially and on Dask.

``build_coordination_scenario("1-HVMV-mixed-all-0-sw", dso_per_area=True)`` (18 MV areas, each its
own DSO, so ``onenet-multi-level`` opens 18 DSO markets and then the TSO's), one shared
``JointModel``, then ``run_scheme(preset("onenet-multi-level"), ..., ac_check=False)`` ``--reps``
times serially and ``--reps`` times with ``client=`` a local Dask cluster of ``--workers`` processes
(``flexcoord.simulation.cluster.dask_client``, one thread each). Prints min-median-max wall of the
whole run and of its DSO markets' solve (the stage's ``solve_markets`` call: the 18 clearings, on
Dask with the scatter, submission and gather), whether the outcomes are identical, the peak RSS of
this process and each worker's RSS after the runs; the last line: serial wall / (raw HiGHS + raw PGM
time of that serial run, ``_raw_calls.RawCalls``) and the Dask wall over the same raw time (the
workers' HiGHS time is in other processes, so the serial run's raw time is the yardstick).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_multilevel_dask.py [--bids 1200]
[--mtu 96] [--reps 3] [--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from typing import Any

from _raw_calls import RawCalls
from _timing import spread
from flexcoord.coordination import JointModel, SchemeOutcome, markets, preset, run_scheme
from flexcoord.simulation.cluster import dask_client
from flexcoord.simulation.scenario import build_coordination_scenario

GRID = "1-HVMV-mixed-all-0-sw"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def worker_rss_mb() -> float:
    """A worker's resident set after the runs (its ``ru_maxrss`` is the spawning process's
    high-water mark, inherited across ``exec``)."""
    import psutil

    return float(psutil.Process().memory_info().rss / 1e6)


def timed_run(scenario: Any, joint: Any, client: Any) -> tuple[float, float, SchemeOutcome]:
    """Wall of the run and of its DSO markets' solve (the stage's ``solve_markets`` call:
    building nothing, solving and gathering the 18 markets), and the outcome."""
    solve = markets.solve_markets
    spent: list[float] = []

    def timed_solve(problems: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        out = solve(problems, *args)
        if len(problems) > 1:
            spent.append(time.perf_counter() - t0)
        return out

    markets.solve_markets = timed_solve  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        out = run_scheme(
            preset("onenet-multi-level"), scenario, joint=joint, ac_check=False, client=client
        )
        wall = time.perf_counter() - start
    finally:
        markets.solve_markets = solve
    return wall, sum(spent), out


def same(a: SchemeOutcome, b: SchemeOutcome) -> bool:
    return dict(a.accepted_mw) == dict(b.accepted_mw) and [
        dict(m.accepted_mw) for m in a.markets
    ] == [dict(m.accepted_mw) for m in b.markets]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bids", type=int, default=1200)
    ap.add_argument("--mtu", type=int, default=96)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}", flush=True)
    t0 = time.perf_counter()
    scenario = build_coordination_scenario(
        GRID, n_bids=args.bids, n_mtu=args.mtu, dso_per_area=True
    )
    joint = JointModel.of(scenario)
    print(f"scenario + joint model {time.perf_counter() - t0:.1f} s", flush=True)
    serial: list[tuple[float, float]] = []
    raw_s: list[float] = []
    outcome = None
    for _ in range(args.reps):
        with RawCalls() as raw:
            wall, stage, outcome = timed_run(scenario, joint, None)
        serial.append((wall, stage))
        raw_s.append(raw.highs_s + raw.pgm_s)
    assert outcome is not None
    n_dso = sum(str(m.id).startswith("dso:") for m in outcome.markets)
    t0 = time.perf_counter()
    with dask_client(args.workers) as client:
        start_s = time.perf_counter() - t0
        parallel: list[tuple[float, float]] = []
        identical = True
        for _ in range(args.reps):
            wall, stage, other = timed_run(scenario, joint, client)
            parallel.append((wall, stage))
            identical &= same(outcome, other)
        workers_mb = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)
    print(
        f"onenet-multi-level, {len(scenario.bids)} bids x {len(scenario.intervals)} MTUs, "
        f"{n_dso} DSO markets + TSO: serial run {spread([w for w, _ in serial])} "
        f"(DSO markets' solve {spread([s for _, s in serial])}); on {args.workers} Dask "
        f"workers {spread([w for w, _ in parallel])} (DSO markets' solve "
        f"{spread([s for _, s in parallel])}; "
        f"cluster start {start_s:.1f} s, not counted); identical outcome: {identical}; "
        f"raw HiGHS + PGM of a serial run {spread(raw_s)}; peak RSS {peak_rss_mb():.0f} MB "
        f"here, workers' RSS after the runs {sorted(round(v) for v in workers_mb.values())} MB",
        flush=True,
    )
    print(f"load average {os.getloadavg()}")
    raw = statistics.median(raw_s)
    print(
        f"ratio_to_raw: serial wall / (raw HiGHS + raw PGM) "
        f"{statistics.median(w for w, _ in serial) / raw:.2f}; Dask wall / same "
        f"{statistics.median(w for w, _ in parallel) / raw:.2f}"
    )


if __name__ == "__main__":
    main()
