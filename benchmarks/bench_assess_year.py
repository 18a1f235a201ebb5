"""Benchmark: ``flexcoord grid assess`` on a year (or ``--days``) vs raw power-grid-model.

Each run starts two fresh processes, one after the other, so that each peak RSS is its own:

* ours: the CLI, ``flexcoord grid assess CODE --steps N --json <file>`` (and with
  ``--violations-csv``, ``--violations-csv <file>``: every violation streamed to the CSV; with
  ``--violations-parquet``, ``--violations-parquet <file>``: the same rows as Parquet). Its
  time is the assessment's own ``elapsed_s`` (conversion to PGM, profiles → update data, every
  batch power flow, violation detection, summary, CSV rows); the wall time of the whole command
  (Python start, loading the SimBench grid, writing and syncing the files) is shown beside it.
* raw: ``PowerGridModel.calculate_power_flow`` on the same model, the same update data in chunks
  of the same size (built outside the timing), the same output attributes and threading, doing
  nothing with the output. With ``--violations-parquet`` a third child, raw doing the same
  work: the same power flows, then per chunk the same violation rows found with numpy and
  written with one pyarrow ``ParquetWriter`` of ours's schema and settings (``_RawParquet``);
  the last line is then the throughput ratio to it (the ratio to raw PGM alone is the line
  before).

``--gens-as-sgens`` (for the national grid ``1-EHVHVMVLV-mixed-all-0-sw``, whose 338 EHV power
plants are pandapower ``gen`` elements, voltage-controlled PV buses that power-grid-model 1.12
cannot model and ``grid assess`` refuses): both sides run on a copy where every ``gen`` is a
PQ ``sgen`` with the same P profile and a fixed Q, the one it gives in pandapower's base-case
power flow (no voltage control: with Q = 0 power-grid-model diverges), ours then through
``GridModel.assess`` in the child (what the CLI calls) instead of the CLI. An approximation to
measure memory and throughput on a grid of this size, not a study result.

``--pandapower`` (a grid with voltage-controlled plants, which ``grid assess`` runs with
pandapower, :mod:`flexcoord.grid.timeseries_pandapower`): raw is a ``pandapower.runpp`` loop
(numba, warm-started) on SimBench's own absolute values of each step
(``simbench.get_absolute_values``, written outside the timing); the window's extreme voltages
and loading of both are printed side by side as an independent check of ours.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (the kernel's high-water mark, VmHWM).
Prints every run, then min–median–max of each figure over the runs; the last line is the
throughput ratio ours / raw (steps/s over steps/s; the goal of issue 12 is >= 0.9).

    .venv/bin/python benchmarks/bench_assess_year.py [--grid CODE] [--days N] [--runs 3]
        [--violations-csv] [--violations-parquet]
"""

from __future__ import annotations

import argparse
import copy
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


def _run(command: list[str]) -> tuple[float, float, str, float]:
    """Wall time (s), peak RSS (MB), stdout and CPU time (user + system, s) of a child."""
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
        cpu = usage.ru_utime + usage.ru_stime
        return wall, usage.ru_maxrss / 1024, out.read().decode(), cpu


def _ours(args: argparse.Namespace, steps: int, folder: Path) -> dict[str, Any]:
    doc = folder / "assess.json"
    csv = folder / "violations.csv"
    parquet = folder / "violations.parquet"
    if args.gens_as_sgens:
        command = [sys.executable, __file__, "--ours-child", "--gens-as-sgens", "--grid", args.grid]
        command += ["--start", str(args.start), "--steps", str(steps), "--out", str(doc)]
        command += ["--violations-csv"] if args.violations_csv else []
        command += ["--violations-parquet"] if args.violations_parquet else []
    else:
        command = [sys.executable, "-c", "from flexcoord.cli.app import main; main()"]
        command += ["grid", "assess", args.grid, "--start", str(args.start)]
        command += ["--steps", str(steps), "--json", str(doc)]
        command += ["--violations-csv", str(csv)] if args.violations_csv else []
        command += ["--violations-parquet", str(parquet)] if args.violations_parquet else []
    wall, rss, _, cpu = _run(command)
    totals = json.loads(doc.read_text())["totals"]
    csv_mb = csv.stat().st_size / 1e6 if csv.exists() else 0.0
    parquet_mb = parquet.stat().st_size / 1e6 if parquet.exists() else 0.0
    csv.unlink(missing_ok=True)
    parquet.unlink(missing_ok=True)
    return {
        "wall_s": wall,
        "rss_mb": rss,
        "cpu_s": cpu,
        "time_s": totals["elapsed_s"],
        "violations": totals["violations"],
        "non_converged": totals["non_converged_steps"],
        "extremes": {k: totals[k] for k in ("min_vm_pu", "max_vm_pu", "max_loading_percent")},
        "csv_mb": csv_mb,
        "parquet_mb": parquet_mb,
    }


def _raw(args: argparse.Namespace, steps: int, parquet: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--raw-child", "--grid", args.grid]
    command += ["--start", str(args.start), "--steps", str(steps)]
    command += ["--gens-as-sgens"] if args.gens_as_sgens else []
    command += ["--pandapower"] if args.pandapower else []
    command += ["--out", str(parquet)] if parquet else []
    wall, rss, out, cpu = _run(command)
    data = json.loads(out.strip().splitlines()[-1])
    if parquet is not None:
        data["parquet_mb"] = parquet.stat().st_size / 1e6
        parquet.unlink()
    return {
        "rows": data.get("rows", 0),
        "parquet_mb": data.get("parquet_mb", 0.0),
        "wall_s": wall,
        "rss_mb": rss,
        "cpu_s": cpu,
        "time_s": data["calc_s"],
        "chunk": data["chunk"],
        "extremes": {
            k: data[k] for k in ("min_vm_pu", "max_vm_pu", "max_loading_percent") if k in data
        },
    }


def _network(grid_code: str, *, gens_as_sgens: bool) -> Any:
    import pandapower as pp

    from flexcoord.grid.loading import load_network

    net = load_network(grid_code)
    if gens_as_sgens and len(net.gen):
        base = copy.deepcopy(net)
        pp.runpp(base)  # the base case with the gens as PV buses: their Q there
        gen = net.gen[net.gen["in_service"].astype(bool)]
        pp.create_sgens(
            net,
            gen["bus"].to_numpy(),
            p_mw=gen["p_mw"].to_numpy(),
            q_mvar=base.res_gen.loc[gen.index, "q_mvar"].to_numpy(),
            name=gen["name"].to_numpy(),
            scaling=gen["scaling"].to_numpy(),
            profile=gen["profile"].to_numpy(),
        )
        net.gen = net.gen.iloc[0:0]
    return net


def _ours_child(args: argparse.Namespace, steps: int) -> None:
    """``GridModel.assess`` as the CLI calls it, on the (approximated) network."""
    import contextlib

    from flexcoord.grid.model import GridModel

    net = _network(args.grid, gens_as_sgens=args.gens_as_sgens)
    csv = Path(args.out).with_name("violations.csv")
    parquet = Path(args.out).with_name("violations.parquet")
    with (
        csv.open("wb") if args.violations_csv else contextlib.nullcontext() as sink,
        parquet.open("wb") if args.violations_parquet else contextlib.nullcontext() as pq,
    ):
        result = GridModel(net, code=args.grid).assess(
            start=args.start,
            steps=steps,
            keep_violations=False,
            violations_csv=sink,
            violations_parquet=pq,
        )
    Path(args.out).write_text(json.dumps({"totals": result.totals()}))


def _raw_child(
    grid_code: str, start: int, steps: int, *, gens_as_sgens: bool, parquet: Path | None
) -> None:
    """The raw loop (a child process): only ``calculate_power_flow`` is timed; with ``parquet``
    also the raw writing of the same violation rows (:class:`_RawParquet`)."""
    from power_grid_model import CalculationMethod, PowerGridModel

    from flexcoord.grid.pgm_conversion import to_pgm
    from flexcoord.grid.timeseries import OUTPUT_ATTRIBUTES, default_chunk_steps
    from flexcoord.grid.timeseries_profiles import Profiles, UpdateBuffers

    net = _network(grid_code, gens_as_sgens=gens_as_sgens)
    grid = to_pgm(net, injection_buses=())
    model = PowerGridModel(dict(grid.input_data))
    chunk = default_chunk_steps(grid)
    profiles = Profiles.of(net)
    buffers = UpdateBuffers(grid, profiles, min(chunk, steps))
    outputs: dict[Any, Any] = {k: v for k, v in OUTPUT_ATTRIBUTES.items() if k in grid.input_data}
    sink = _RawParquet(grid, profiles, start, steps, parquet) if parquet else None
    calc, rows = 0.0, 0
    for c0 in range(0, steps, chunk):
        update = buffers.fill(start + c0, start + min(c0 + chunk, steps))
        t0 = time.perf_counter()
        out = model.calculate_power_flow(
            update_data=update,
            threading=0,
            output_component_types=outputs,
            calculation_method=CalculationMethod.newton_raphson,
            continue_on_batch_error=True,
        )
        if sink is not None:
            rows += sink.write(c0, out)
        calc += time.perf_counter() - t0
    if sink is not None:
        t0 = time.perf_counter()
        sink.close()
        calc += time.perf_counter() - t0
    print(json.dumps({"calc_s": calc, "chunk": chunk, "rows": rows}))


class _RawParquet:
    """The raw libraries writing the violation rows ``--violations-parquet`` writes: per chunk
    numpy (loading in percent by pandapower's rule, the same limits, ``np.nonzero`` of the
    overload, undervoltage and overvoltage masks in (time, kind, asset) order) and one pyarrow
    ``ParquetWriter`` with ours's schema and settings (time; the 5 text columns of an asset as
    dictionaries over the (asset, kind) pairs, with placeholder texts of the same count; its 2
    numbers taken per row; value; snappy, statistics on time and value). No asset table, area
    tag or atomic file: the rows and their encoding, which is the work. Set up outside the
    timing."""

    def __init__(self, grid: Any, profiles: Any, start: int, steps: int, path: Path) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        from flexcoord.grid.violations import Limits, resolve_limits

        self.np, self.pa = np, pa
        self.grid = grid
        vmin, vmax, lmax = resolve_limits(grid, Limits())
        self.lmax, self.vmin, self.vmax = lmax, vmin, vmax
        n_pair = len(lmax) + 2 * len(vmin)
        times, _ = profiles.times(start, steps)
        self.time = pa.Array.from_pandas(times)
        text = pa.array([f"pair {i}" for i in range(n_pair)])
        self.number = pa.array(np.concatenate([lmax, vmin, vmax]))
        self.text = text
        # ours's column order: time, area, operator, asset, kind, value, limit, voltage level,
        # name; the texts as dictionary columns, the numbers of a pair taken per row
        self.order = ("time", "t", "t", "t", "t", "value", "n", "n", "t")
        names = ("time", "area", "operator", "asset", "kind", "value", "limit", "vn_kv", "name")
        kinds = {
            "time": self.time.type,
            "value": pa.float64(),
            "n": pa.float64(),
            "t": pa.dictionary(pa.int32(), text.type),
        }
        fields = [pa.field(n, kinds[k]) for n, k in zip(names, self.order, strict=True)]
        self.schema = pa.schema(fields)
        self.writer = pq.ParquetWriter(
            str(path),
            self.schema,
            compression="snappy",
            write_statistics=["time", "value"],
            use_dictionary=[f.name for f in fields if f.name != "value"],
        )

    def write(self, c0: int, out: Any) -> int:
        from power_grid_model import ComponentType

        from flexcoord.grid.pgm_conversion import branch_loading_percent

        np, pa = self.np, self.pa
        vm = out[ComponentType.node]["u_pu"]
        loading = branch_loading_percent(self.grid, out)
        mask = np.concatenate([loading > self.lmax, vm < self.vmin, vm > self.vmax], axis=1)
        step, pair = np.nonzero(mask)
        value = np.concatenate([loading, vm, vm], axis=1)[step, pair]
        for r0 in range(0, len(pair), 1 << 20):
            r1 = r0 + (1 << 20)
            codes = pa.array(pair[r0:r1].astype(np.int32))
            columns = []
            for kind in self.order:
                if kind == "time":
                    columns.append(self.time.take(pa.array(step[r0:r1] + c0)))
                elif kind == "value":
                    columns.append(pa.array(value[r0:r1]))
                elif kind == "n":
                    columns.append(self.number.take(codes))
                else:
                    columns.append(pa.DictionaryArray.from_arrays(codes, self.text))
            self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        return len(pair)

    def close(self) -> None:
        self.writer.close()


def _raw_pandapower_child(grid_code: str, start: int, steps: int) -> None:
    """The raw loop of a grid with voltage-controlled plants (a child process): SimBench's own
    absolute values of each step (``simbench.get_absolute_values`` on the window's profiles,
    written outside the timing), then ``pandapower.runpp`` (numba, warm from the previous step,
    from the DC power flow when that does not converge), only ``runpp`` timed."""
    import pandapower as pp
    import simbench as sb

    from flexcoord.grid.loading import load_network

    net = load_network(grid_code)
    net.profiles = {
        k: v.iloc[start : start + steps].reset_index(drop=True) for k, v in net.profiles.items()
    }
    values = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    values = {k: v for k, v in values.items() if isinstance(k, tuple) and v.shape[1]}
    calc, failed, warm = 0.0, 0, False
    vm_min, vm_max, loading_max = float("inf"), float("-inf"), float("-inf")
    for t in range(steps):
        for (table, column), frame in values.items():
            net[table].loc[frame.columns, column] = frame.iloc[t].to_numpy()
        t0 = time.perf_counter()
        try:
            pp.runpp(net, init="results" if warm else "auto", numba=True)
        except pp.LoadflowNotConverged:
            try:
                pp.runpp(net, init="dc", numba=True, max_iteration=30)
            except pp.LoadflowNotConverged:
                calc += time.perf_counter() - t0
                failed, warm = failed + 1, False
                continue
        calc += time.perf_counter() - t0
        warm = True
        vm = net.res_bus.vm_pu[net.bus.in_service.astype(bool)]
        vm_min, vm_max = min(vm_min, float(vm.min())), max(vm_max, float(vm.max()))
        branch = [net.res_line.loading_percent[net.line.in_service.astype(bool)]]
        branch.append(net.res_trafo.loading_percent[net.trafo.in_service.astype(bool)])
        loading_max = max(loading_max, *(float(b.max()) for b in branch if len(b)))
    print(
        json.dumps(
            {
                "calc_s": calc,
                "chunk": 1,
                "failed": failed,
                "min_vm_pu": vm_min,
                "max_vm_pu": vm_max,
                "max_loading_percent": loading_max,
            }
        )
    )


def _spread(values: list[float], fmt: str) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:{fmt}} - {mid:{fmt}} - {high:{fmt}}"


def _summary(rows: list[dict[str, Any]], *, runs: int, raw_name: str) -> None:
    """min – median – max of every figure over the runs; the last line is the ratio to the raw
    libraries doing the same work."""
    print(f"min - median - max over {runs} runs (load average now {os.getloadavg()[0]:.2f}):")
    for key, label, fmt in (
        ("ours_s", "ours assessment s", ".2f"),
        ("ours_wall_s", "ours CLI wall s", ".1f"),
        ("ours_rss_mb", "ours peak RSS MB", ",.0f"),
        ("ours_steps_per_s", "ours steps/s", ",.0f"),
        ("raw_s", f"{raw_name} s", ".2f"),
        ("raw_steps_per_s", f"{raw_name} steps/s", ",.0f"),
        ("raw_rss_mb", "raw peak RSS MB", ",.0f"),
        ("ours_cpu_s", "ours process CPU s", ".0f"),
        ("raw_cpu_s", "raw process CPU s", ".0f"),
    ):
        print(f"  {label:<20} {_spread([r[key] for r in rows], fmt)}")
    if "same_ratio" in rows[0]:
        print(f"  {'raw + pyarrow rows s':<20} {_spread([r['same_s'] for r in rows], '.2f')}")
        print(f"  {'raw + pyarrow CPU s':<20} {_spread([r['same_cpu_s'] for r in rows], '.0f')}")
        print(f"throughput ratio ours/{raw_name}: {_spread([r['ratio'] for r in rows], '.3f')}")
        print(
            f"throughput ratio ours/(raw PGM + pyarrow, the same rows): "
            f"{_spread([r['same_ratio'] for r in rows], '.3f')}"
        )
        return
    print(f"throughput ratio ours/{raw_name}: {_spread([r['ratio'] for r in rows], '.3f')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default=HV_MV)
    parser.add_argument("--start", type=int, default=0, help="first 15-min step")
    parser.add_argument("--days", type=int, default=None, help="default: the whole year")
    parser.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--violations-csv", action="store_true", help="stream every violation")
    parser.add_argument(
        "--violations-parquet", action="store_true", help="stream every violation as Parquet"
    )
    parser.add_argument("--gens-as-sgens", action="store_true", help="gen → PQ sgen (above)")
    parser.add_argument(
        "--pandapower",
        action="store_true",
        help="a grid with voltage-controlled plants: ours runs pandapower (as grid assess does "
        "for it), raw is a pandapower runpp loop on SimBench's absolute values",
    )
    parser.add_argument("--raw-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ours-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps = args.steps or (96 * args.days if args.days else 35_136 - args.start)
    if args.raw_child and args.pandapower:
        _raw_pandapower_child(args.grid, args.start, steps)
        return
    if args.raw_child:
        _raw_child(
            args.grid,
            args.start,
            steps,
            gens_as_sgens=args.gens_as_sgens,
            parquet=Path(args.out) if args.out else None,
        )
        return
    if args.ours_child:
        _ours_child(args, steps)
        return

    print(f"grid {args.grid}, steps {args.start}..{args.start + steps} ({steps}), ", end="")
    print(f"violations CSV: {args.violations_csv}, Parquet: {args.violations_parquet}, ", end="")
    print(f"gens as sgens: {args.gens_as_sgens}, ", end="")
    print(f"load average {os.getloadavg()[0]:.2f}")
    raw_name = "raw pandapower" if args.pandapower else "raw PGM"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-assess-") as folder:
        for run in range(args.runs):
            ours, raw = _ours(args, steps, Path(folder)), _raw(args, steps)
            row = {
                "ours_s": ours["time_s"],
                "ours_wall_s": ours["wall_s"],
                "ours_rss_mb": ours["rss_mb"],
                "ours_steps_per_s": steps / ours["time_s"],
                "ours_cpu_s": ours["cpu_s"],
                "raw_cpu_s": raw["cpu_s"],
                "raw_s": raw["time_s"],
                "raw_rss_mb": raw["rss_mb"],
                "raw_steps_per_s": steps / raw["time_s"],
            }
            row["ratio"] = row["ours_steps_per_s"] / row["raw_steps_per_s"]
            same = None
            if args.violations_parquet and not args.pandapower:
                # the raw libraries doing the same work: power flows plus the same rows written
                same = _raw(args, steps, Path(folder) / "raw.parquet")
                row["same_s"], row["same_cpu_s"] = same["time_s"], same["cpu_s"]
                row["same_ratio"] = same["time_s"] / ours["time_s"]
            rows.append(row)
            print(
                f"run {run + 1}: ours {row['ours_s']:.2f} s ({row['ours_steps_per_s']:,.0f} "
                f"steps/s; CLI wall {row['ours_wall_s']:.1f} s, peak RSS "
                f"{row['ours_rss_mb']:,.0f} MB, CPU {row['ours_cpu_s']:.0f} s; "
                f"{ours['violations']:,} violations, {ours['non_converged']} steps not "
                f"converged, CSV {ours['csv_mb']:,.0f} MB, Parquet "
                f"{ours['parquet_mb']:,.0f} MB) | {raw_name} {row['raw_s']:.2f} s "
                f"({row['raw_steps_per_s']:,.0f} steps/s, chunks of {raw['chunk']}, peak RSS "
                f"{row['raw_rss_mb']:,.0f} MB, CPU {row['raw_cpu_s']:.0f} s) | "
                f"ratio {row['ratio']:.3f} | load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            if same is not None:
                print(
                    f"  raw PGM + pyarrow writing the same rows: {same['time_s']:.2f} s "
                    f"({same['rows']:,} rows, {same['parquet_mb']:,.0f} MB, CPU "
                    f"{same['cpu_s']:.0f} s) | ratio {row['same_ratio']:.3f}",
                    flush=True,
                )
            if raw["extremes"]:  # an independent check of ours: the same extremes
                gaps = {k: abs(ours["extremes"][k] - v) for k, v in raw["extremes"].items()}
                print(
                    "  |ours - raw| of the window's extremes: "
                    + ", ".join(f"{k} {v:.2e}" for k, v in gaps.items()),
                    flush=True,
                )
    _summary(rows, runs=args.runs, raw_name=raw_name)


if __name__ == "__main__":
    main()
