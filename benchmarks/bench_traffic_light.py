"""Traffic light for every unit of a SimBench grid × 96 MTUs: ours vs the raw min-ratio in numpy.

Ours is the whole :func:`compute_traffic_light` call (resource selection, weight matrices,
sensitivity products, margins, the pruned kernel, colours, anonymised references), with the
forecast, PTDF and voltage sensitivities already computed (cached on the grid). The baseline is the
bare dense numpy min-ratio on the same precomputed per-resource sensitivities (branches and buses
× resources × MTUs × 2 directions, chunked over resources), without colours or bookkeeping. Last
line: ratio ours / raw.

    .venv/bin/python benchmarks/bench_traffic_light.py [--grid CODE] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of
from flexcoord.domain import market_time_units
from flexcoord.grid.forecast import forecast_from_profiles
from flexcoord.grid.model import load_grid
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.grid.traffic_light import compute_traffic_light


def raw_min_ratio(
    value: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    s: np.ndarray,
    cap: np.ndarray,
    chunk: int = 16,
) -> np.ndarray:
    """Dense (n, R, T) min-ratio, both directions: the numpy work of the safe volume."""
    n_r, n_t = s.shape[1], value.shape[1]
    out = np.empty((n_r, n_t, 2))
    for r0 in range(0, n_r, chunk):
        a = s[:, r0 : r0 + chunk, None]
        for d, sign in enumerate((1.0, -1.0)):
            sa = sign * a
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(sa > 0, upper[:, None, None], lower[:, None, None])
                ratio = (ratio - value[:, None, :]) / sa
            ratio[~np.isfinite(ratio)] = np.inf
            np.maximum(ratio, 0.0, out=ratio)
            out[r0 : r0 + chunk, :, d] = np.minimum(ratio.min(axis=0), cap[r0 : r0 + chunk, None])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="1-HVMV-mixed-all-0-sw")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    grid = load_grid(args.grid)
    register = build_portfolio(grid)
    forecast = forecast_from_profiles(
        grid,
        start_step=96 * 150,
        intervals=market_time_units(date(2026, 6, 1)),
        issued_at=datetime(2026, 5, 31, 9, tzinfo=UTC),
    )
    grid.voltage_sensitivity()

    def ours() -> object:
        return compute_traffic_light(register, grid, forecast, operator_id="dso")

    t_ours, tl = best_of(args.repeats, ours)
    m = tl.model  # type: ignore[attr-defined]
    s_vm = m.s_vm_p + m.s_vm_q * m.q_ratio[None, :]

    def influential(s: np.ndarray, cs: object) -> np.ndarray:
        """The same no-influence rule as the kernel: tiny sensitivities count as zero."""
        keep = (np.abs(s) > cs.min_sensitivity) & (  # type: ignore[attr-defined]
            np.abs(s) * tl.range_mw[None, :] > cs.min_effect  # type: ignore[attr-defined]
        )
        return np.where(keep, s, 0.0)

    s_flow = influential(m.s_flow, m.branches)
    s_volt = influential(s_vm, m.buses)

    def raw() -> np.ndarray:
        thermal = raw_min_ratio(
            m.branches.value, m.branches.lower, m.branches.upper, s_flow, tl.range_mw
        )  # type: ignore[attr-defined]
        voltage = raw_min_ratio(m.buses.value, m.buses.lower, m.buses.upper, s_volt, tl.range_mw)  # type: ignore[attr-defined]
        return np.minimum(thermal, voltage)

    t_raw, x_raw = best_of(args.repeats, raw)
    # the pruned kernel ignores sensitivities below its thresholds: agree to those
    agree = np.abs(x_raw - tl.safe_mw).max()  # type: ignore[attr-defined]
    n_r, n_t, _ = tl.safe_mw.shape  # type: ignore[attr-defined]
    print(
        f"grid {args.grid}: {n_r} resources x {n_t} MTU x 2 directions, "
        f"{len(m.branches.value)} branches, {len(m.buses.value)} buses monitored"
    )
    print(f"lights: {tl.counts()}, max |ours - raw| = {agree:.2e} MW")  # type: ignore[attr-defined]
    print(f"ours (compute_traffic_light): {t_ours * 1e3:.1f} ms")
    print(f"raw numpy min-ratio (dense):  {t_raw * 1e3:.1f} ms")
    print(f"ratio ours/raw: {t_ours / t_raw:.3f}")


if __name__ == "__main__":
    main()
