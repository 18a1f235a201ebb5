"""PTDF of a SimBench grid: flexcoord's ``compute_ptdf`` vs a plain scipy sparse LU baseline.

Ours is the whole job from a pandapower network (copy, islanding check, pandapower's internal
DC matrices, LU, mapping back to pandapower buses and branch names). The baseline is the bare
linear algebra on matrices handed to it: ``splu(Bbus[nonref, nonref])`` and one solve against
``Bf[:, nonref]ᵀ``. Last line: ratio ours / baseline (goal ≤ 1.2 on 1-HVMV-mixed).

    .venv/bin/python benchmarks/bench_ptdf.py [--grid CODE] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of
from flexcoord.grid.loading import load_network
from flexcoord.grid.sensitivities import compute_ptdf, dc_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="1-HVMV-mixed-all-0-sw")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    net = load_network(args.grid)
    compute_ptdf(net)  # warm-up (imports, pandapower's first-call costs)
    dc = dc_network(net)
    bbus, bf, ref = dc.bbus, dc.bf, dc.ref
    nonref = np.setdiff1d(np.arange(bbus.shape[0]), ref)

    def raw() -> np.ndarray:
        reduced = sp.csc_matrix(bbus[nonref][:, nonref])
        rhs = bf[:, nonref].T.toarray()
        return np.asarray(spla.splu(reduced).solve(rhs).T)

    t_raw, h_raw = best_of(args.repeats, raw)
    t_ours, ptdf = best_of(args.repeats, lambda: compute_ptdf(net))
    ours_internal = ptdf.matrix[:, np.searchsorted(ptdf.bus_ids, dc.bus_ids)]
    # agreement: every non-slack bus column of ours equals the baseline's column of its internal bus
    pos = {int(b): i for i, b in enumerate(nonref)}
    cols = [i for i, b in enumerate(dc.bus_to_ppci) if int(b) in pos]
    diff = np.abs(
        ours_internal[:, cols]
        - h_raw[dc.branch_rows][:, [pos[int(dc.bus_to_ppci[i])] for i in cols]]
    ).max()

    print(
        f"grid {args.grid}: PTDF {ptdf.matrix.shape[0]} branches x {ptdf.matrix.shape[1]} buses "
        f"({ptdf.matrix.nbytes / 1e6:.1f} MB), max |ours - baseline| = {diff:.1e}"
    )
    print(f"baseline scipy splu + solve : {t_raw * 1e3:8.1f} ms (min of {args.repeats})")
    print(f"flexcoord compute_ptdf      : {t_ours * 1e3:8.1f} ms (min of {args.repeats})")
    print(f"ratio_to_raw_scipy_lu: {t_ours / t_raw:.2f}")


if __name__ == "__main__":
    main()
