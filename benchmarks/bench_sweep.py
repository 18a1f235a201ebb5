"""Benchmark: a sweep of ≥ 8 study cells on Dask, 1 worker against 2 (goal: speed-up ≥ 1.7×).

The sweep: SimBench 1-MV-rural, ``--presets`` presets × ``--seeds`` seeds, each cell a study of
``--days`` market days (default 4: about 5 s each). :func:`flexcoord.simulation.sweep.run_sweep`
runs it into a fresh folder on a new ``LocalCluster`` of 1 worker, then of 2 (one process each,
one thread: cluster start, imports, grid loads and the gathering of the tables are inside the
times: about 4 s, which bounds the speed-up of short sweeps). Raw:
``client.map`` of the same cell function (:func:`~flexcoord.simulation.sweep.run_cell`) over the
same cells on a new 2-worker cluster with the same worker environment, results gathered in
memory — no folder, no resume, no tables written. ``--repeats N``: the best of N runs of
each (the machine may be shared). The three runs' gathered tables are checked
identical first (serial against 1 and 2 workers is the test's job).

Last line: ``ratio ours/raw (2 workers): <our 2-worker sweep / raw client.map>``.

    .venv/bin/python benchmarks/bench_sweep.py [--days 4] [--seeds 4] [--presets 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dask
import pandas as pd
from dask.distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of
from flexcoord.coordination.presets import PRESETS
from flexcoord.schemas.sweep import SweepFile
from flexcoord.simulation.study_run import WORKER_ENVIRON
from flexcoord.simulation.sweep import check_sweep, run_cell, run_sweep

_PRESETS = ("smartnet-local", "smartnet-common", "onenet-multi-level", "smartnet-centralised")


def _sweep(days: int, seeds: int, presets: int) -> SweepFile:
    known = {c.id for c in PRESETS}
    return SweepFile.model_validate(
        {
            "name": "bench-sweep",
            "base": {"grid": "1-MV-rural--0-sw", "days": days},
            "matrix": {
                "schemes": [p for p in _PRESETS if p in known][:presets],
                "seeds": list(range(seeds)),
            },
        }
    )


def _ours(sweep: SweepFile, folder: Path, workers: int, repeats: int) -> tuple[float, Any]:
    """The best wall time of ``repeats`` sweeps, and that run's result."""
    best: tuple[float, Any] = (float("inf"), None)
    for k in range(repeats):
        # a fresh folder each time: the same one would resume, not recompute
        start = time.perf_counter()
        result = run_sweep(sweep, folder=folder / f"w{workers}-{k}", workers=workers)
        wall = time.perf_counter() - start
        assert not result.failed, [r.error for r in result.failed]
        best = min(best, (wall, result), key=lambda run: run[0])
    return best


def _report(label: str, wall: float, result: Any) -> None:
    cells_s = sum(r.wall_s for r in result.cells)
    print(
        f"{label} {wall:.1f} s; the cells' own wall times sum to {cells_s:.1f} s "
        f"({cells_s / len(result.cells):.2f} s per cell; more with 2 workers = contention)"
    )


def _raw(sweep: SweepFile, workers: int, repeats: int) -> float:
    cells = check_sweep(sweep)
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ")) | WORKER_ENVIRON

    def once() -> list[Any]:
        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            outcomes: list[Any] = client.gather(client.map(run_cell, cells, pure=False))
        assert all(o.error is None for o in outcomes)
        return outcomes

    return best_of(repeats, once)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--presets", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs of each")
    args = parser.parse_args()
    sweep = _sweep(args.days, args.seeds, args.presets)
    print(
        f"sweep: 1-MV-rural--0-sw, {sweep.n_cells()} cells "
        f"({args.presets} presets x {args.seeds} seeds), {args.days} day(s) per cell"
    )
    folder = Path(tempfile.mkdtemp(prefix="flexcoord-bench-sweep-"))
    try:
        one, result_one = _ours(sweep, folder, 1, args.repeats)
        _report("1 worker: ", one, result_one)
        two, result_two = _ours(sweep, folder, 2, args.repeats)
        _report("2 workers:", two, result_two)
        for name, table in result_one.tables.items():
            pd.testing.assert_frame_equal(table, result_two.tables[name])
        print("tables of 1 and 2 workers identical")
        print(f"speed-up 2 workers / 1: {one / two:.2f}x (goal >= 1.7x)")
        raw = _raw(sweep, 2, args.repeats)
        print(f"raw client.map, 2 workers: {raw:.1f} s")
        print(f"ratio ours/raw (2 workers): {two / raw:.3f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
