"""Benchmark: a simulated week (7 × 96 MTU, every preset) on SimBench 1-HVMV-mixed.

Runs :func:`flexcoord.simulation.study_run.run_study` serially in this process (so the raw
library calls can be timed: ``_raw_calls.RawCalls`` wraps HiGHS's ``run``/``passModel`` and
power-grid-model's ``calculate_power_flow``) and prints the wall time per day and scheme, the
share of it inside raw HiGHS and raw power-grid-model (goal: ≥ 60 %), then, unless
``--no-demo``, the wall time of ``flexcoord demo`` (two Dask workers, the README's main job).

The last line is the ratio wall / (raw HiGHS + raw PGM) of the serial week.

    .venv/bin/python benchmarks/bench_simulation.py [--days 7] [--grid CODE] [--no-demo]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _raw_calls import RawCalls
from flexcoord.schemas.study import StudyFile
from flexcoord.simulation.day_run import NO_FLEXIBILITY
from flexcoord.simulation.study_run import run_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--grid", default="1-HVMV-mixed-all-0-sw")
    parser.add_argument("--no-demo", action="store_true", help="skip timing `flexcoord demo`")
    args = parser.parse_args()
    study = StudyFile.model_validate(
        {
            "name": "bench-week",
            "grid": args.grid,
            "start": date(2026, 6, 1),
            "days": args.days,
            "schemes": ["all"],
            "outputs": {"report": False},
        }
    )
    folder = Path(tempfile.mkdtemp(prefix="flexcoord-bench-"))
    try:
        with RawCalls() as raw:
            t0 = time.perf_counter()
            result = run_study(study, folder=folder / "study", report=None)
            wall = time.perf_counter() - t0
        every = result.tables["kpis"]
        kpis = every[every["scheme"] != NO_FLEXIBILITY]  # the reference row runs no market
        n = len(kpis)
        print(
            f"study: {args.grid}, {args.days} day(s) x {kpis['scheme'].nunique()} schemes "
            "(and the no-flexibility reference)"
        )
        print(f"serial wall {wall:.1f} s ({wall / max(n, 1):.2f} s per scheme-day)")
        share = (raw.highs_s + raw.pgm_s) / wall
        print(
            f"raw HiGHS {raw.highs_s:.1f} s ({raw.calls.get('Highs.run', 0)} runs), raw PGM "
            f"{raw.pgm_s:.1f} s ({raw.calls.get('calculate_power_flow', 0)} calls): "
            f"{share:.0%} of wall time in the two (goal >= 60 %)"
        )
        if not args.no_demo:
            out = folder / "demo"
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "flexcoord.cli.app", "demo", "--days", str(args.days)]
            subprocess.run(
                [*cmd, "--out", str(out), "--grid", args.grid],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            demo_s = time.perf_counter() - t0
            print(f"flexcoord demo ({args.days} days, 2 workers, report): {demo_s:.1f} s")
        print(f"ratio wall / (raw HiGHS + raw PGM): {wall / (raw.highs_s + raw.pgm_s):.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
