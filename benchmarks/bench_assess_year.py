"""Benchmark: ``flexcoord grid assess`` on a year (or ``--days``) vs raw power-grid-model.

Each run starts two fresh processes, one after the other, so that each peak RSS is its own:

* ours: the CLI, ``flexcoord grid assess CODE --steps N --json <file>`` (and with
  ``--violations-csv``, ``--violations-csv <file>``: every violation streamed to the CSV). Its
  time is the assessment's own ``elapsed_s`` (conversion to PGM, profiles → update data, every
  batch power flow, violation detection, summary, CSV rows); the wall time of the whole command
  (Python start, loading the SimBench grid, writing and syncing the files) is shown beside it.
* raw: ``PowerGridModel.calculate_power_flow`` on the same model, the same update data in chunks
  of the same size (built outside the timing), the same output attributes and threading, doing
  nothing with the output.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (the kernel's high-water mark, VmHWM).
Prints every run, then min–median–max of each figure over the runs; the last line is the
throughput ratio ours / raw (steps/s over steps/s; the goal of issue 12 is >= 0.9).

    .venv/bin/python benchmarks/bench_assess_year.py [--grid CODE] [--days N] [--runs 3]
        [--violations-csv]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HV_MV = "1-HVMV-mixed-all-0-sw"


def _run(command: list[str]) -> tuple[float, float, str]:
    """Wall time (s), peak RSS (MB) and stdout of a child process."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            msg = f"{command} failed ({child.returncode}): {err.decode()[-2000:]}"
            raise RuntimeError(msg)
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def _ours(args: argparse.Namespace, steps: int, folder: Path) -> dict[str, Any]:
    doc = folder / "assess.json"
    command = [sys.executable, "-c", "from flexcoord.cli.app import main; main()"]
    command += ["grid", "assess", args.grid, "--start", str(args.start), "--steps", str(steps)]
    command += ["--json", str(doc)]
    csv = folder / "violations.csv"
    if args.violations_csv:
        command += ["--violations-csv", str(csv)]
    wall, rss, _ = _run(command)
    totals = json.loads(doc.read_text())["totals"]
    csv_mb = csv.stat().st_size / 1e6 if csv.exists() else 0.0
    csv.unlink(missing_ok=True)
    return {
        "wall_s": wall,
        "rss_mb": rss,
        "time_s": totals["elapsed_s"],
        "violations": totals["violations"],
        "csv_mb": csv_mb,
    }


def _raw(args: argparse.Namespace, steps: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--raw-child", "--grid", args.grid]
    command += ["--start", str(args.start), "--steps", str(steps)]
    wall, rss, out = _run(command)
    data = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "rss_mb": rss, "time_s": data["calc_s"], "chunk": data["chunk"]}


def _raw_child(grid_code: str, start: int, steps: int) -> None:
    """The raw loop (a child process): only ``calculate_power_flow`` is timed."""
    from power_grid_model import CalculationMethod, PowerGridModel

    from flexcoord.grid.loading import load_network
    from flexcoord.grid.pgm_conversion import to_pgm
    from flexcoord.grid.timeseries import OUTPUT_ATTRIBUTES, default_chunk_steps
    from flexcoord.grid.timeseries_profiles import Profiles, UpdateBuffers

    net = load_network(grid_code)
    grid = to_pgm(net, injection_buses=())
    model = PowerGridModel(dict(grid.input_data))
    chunk = default_chunk_steps(grid)
    buffers = UpdateBuffers(grid, Profiles.of(net), min(chunk, steps))
    outputs: dict[Any, Any] = {k: v for k, v in OUTPUT_ATTRIBUTES.items() if k in grid.input_data}
    calc = 0.0
    for c0 in range(0, steps, chunk):
        update = buffers.fill(start + c0, start + min(c0 + chunk, steps))
        t0 = time.perf_counter()
        model.calculate_power_flow(
            update_data=update,
            threading=0,
            output_component_types=outputs,
            calculation_method=CalculationMethod.newton_raphson,
            continue_on_batch_error=True,
        )
        calc += time.perf_counter() - t0
    print(json.dumps({"calc_s": calc, "chunk": chunk}))


def _spread(values: list[float], fmt: str) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:{fmt}} - {mid:{fmt}} - {high:{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default=HV_MV)
    parser.add_argument("--start", type=int, default=0, help="first 15-min step")
    parser.add_argument("--days", type=int, default=None, help="default: the whole year")
    parser.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--violations-csv", action="store_true", help="stream every violation")
    parser.add_argument("--raw-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = args.steps or (96 * args.days if args.days else 35_136 - args.start)
    if args.raw_child:
        _raw_child(args.grid, args.start, steps)
        return

    print(f"grid {args.grid}, steps {args.start}..{args.start + steps} ({steps}), ", end="")
    print(f"violations CSV: {args.violations_csv}, load average {os.getloadavg()[0]:.2f}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-assess-") as folder:
        for run in range(args.runs):
            ours, raw = _ours(args, steps, Path(folder)), _raw(args, steps)
            row = {
                "ours_s": ours["time_s"],
                "ours_wall_s": ours["wall_s"],
                "ours_rss_mb": ours["rss_mb"],
                "ours_steps_per_s": steps / ours["time_s"],
                "raw_s": raw["time_s"],
                "raw_rss_mb": raw["rss_mb"],
                "raw_steps_per_s": steps / raw["time_s"],
            }
            row["ratio"] = row["ours_steps_per_s"] / row["raw_steps_per_s"]
            rows.append(row)
            print(
                f"run {run + 1}: ours {row['ours_s']:.2f} s ({row['ours_steps_per_s']:,.0f} "
                f"steps/s; CLI wall {row['ours_wall_s']:.1f} s, peak RSS "
                f"{row['ours_rss_mb']:,.0f} MB; {ours['violations']:,} violations, CSV "
                f"{ours['csv_mb']:,.0f} MB) | raw PGM {row['raw_s']:.2f} s "
                f"({row['raw_steps_per_s']:,.0f} steps/s, chunks of {raw['chunk']}, peak RSS "
                f"{row['raw_rss_mb']:,.0f} MB) | ratio {row['ratio']:.3f}",
                flush=True,
            )
    print(f"min - median - max over {args.runs} runs (load average now {os.getloadavg()[0]:.2f}):")
    for key, label, fmt in (
        ("ours_s", "ours assessment s", ".2f"),
        ("ours_wall_s", "ours CLI wall s", ".1f"),
        ("ours_rss_mb", "ours peak RSS MB", ",.0f"),
        ("ours_steps_per_s", "ours steps/s", ",.0f"),
        ("raw_s", "raw PGM s", ".2f"),
        ("raw_steps_per_s", "raw PGM steps/s", ",.0f"),
        ("raw_rss_mb", "raw peak RSS MB", ",.0f"),
    ):
        print(f"  {label:<20} {_spread([r[key] for r in rows], fmt)}")
    print(f"throughput ratio ours/raw PGM: {_spread([r['ratio'] for r in rows], '.3f')}")


if __name__ == "__main__":
    main()
