"""CGMES import: ours (checks, cim2pp, regions, SV state, slack) vs raw pandapower ``from_cim``.

The datasets are written by PowSyBl at the start (the ``cgmes`` extra): the IEEE 57-bus network
and SimBench 1-MV-rural--0-sw through ``convert_from_pandapower``. Each import runs ``--repeats``
times; min-median-max are printed. Last line: ratio ours / raw (medians, all datasets).

    .venv/bin/python benchmarks/bench_cgmes.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import spread, wall_times
from flexcoord.grid.cgmes import import_cgmes
from flexcoord.grid.cgmes_export import write_pandapower_cgmes, write_powsybl_example
from flexcoord.grid.loading import load_network


def _raw(path: Path) -> object:
    from pandapower.converter.cim.cim2pp.from_cim import from_cim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return from_cim(file_list=[str(path)], cgmes_version="2.4.15")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        datasets = {
            "ieee57": write_powsybl_example("ieee57", folder / "ieee57.zip"),
            "1-MV-rural--0-sw": folder / "mv.zip",
        }
        write_pandapower_cgmes(load_network("1-MV-rural--0-sw"), datasets["1-MV-rural--0-sw"])
        ours_total, raw_total = 0.0, 0.0
        for name, path in datasets.items():
            ours = wall_times(args.repeats, lambda p=path: import_cgmes(p))
            raw = wall_times(args.repeats, lambda p=path: _raw(p))
            ours_total += median(ours)
            raw_total += median(raw)
            print(f"{name}: ours {spread(ours)}, raw from_cim {spread(raw)}")
    print(f"ratio ours/raw (median): {ours_total / raw_total:.2f}")


if __name__ == "__main__":
    main()
