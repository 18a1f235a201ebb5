"""CGMES export: ours (``export_cgmes``: load, prepare, PowSyBl conversion, load flow, write to a
temporary file, read back through flexcoord's import and solve, rename) vs raw pypowsybl doing
the conversion, load flow and write alone.

Each export runs ``--repeats`` times on 1-MV-rural--0-sw and cigre-mv after one warm-up (the
JVM start); min-median-max are printed. Last line: ratio ours / raw (medians, all grids).

    .venv/bin/python benchmarks/bench_cgmes_export.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import spread, wall_times
from flexcoord.grid.cgmes_export import export_cgmes, prepare_for_powsybl
from flexcoord.grid.loading import load_network

GRIDS = ("1-MV-rural--0-sw", "cigre-mv")


def _raw(code: str, path: Path) -> None:
    import pypowsybl.loadflow as lf
    import pypowsybl.network as pn

    network = pn.convert_from_pandapower(prepare_for_powsybl(load_network(code)))
    parameters = lf.Parameters(
        distributed_slack=False,
        provider_parameters={"slackBusSelectionMode": "LARGEST_GENERATOR"},
    )
    lf.run_ac(network, parameters)
    network.save(str(path), format="CGMES")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export_cgmes(GRIDS[0], folder / "warm.zip")  # JVM start, grid caches
        ours_total, raw_total = 0.0, 0.0
        for code in GRIDS:
            out = folder / f"{code}.zip"
            ours = wall_times(args.repeats, lambda c=code, o=out: export_cgmes(c, o, force=True))
            raw = wall_times(args.repeats, lambda c=code, o=out: _raw(c, o))
            ours_total += median(ours)
            raw_total += median(raw)
            print(f"{code}: ours {spread(ours)}, raw pypowsybl {spread(raw)}")
    print(f"ratio ours/raw (median): {ours_total / raw_total:.2f}")


if __name__ == "__main__":
    main()
