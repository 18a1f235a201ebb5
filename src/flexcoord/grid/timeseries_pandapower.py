"""The time-series power flows of a grid power-grid-model cannot model, with pandapower.

A grid with voltage-controlled generators (``net.gen``: PV buses, e.g. the 338 EHV/HV plants of
SimBench ``1-EHVHVMVLV-mixed-all-0-sw``) has no power-grid-model equivalent (it has no
voltage-regulated generator; the plants as fixed P/Q generators diverge on most steps). For such
a grid :func:`flexcoord.grid.timeseries.assess` takes its power flows from here: one pandapower
``runpp`` (Newton–Raphson, numba when installed) per profile step on one private copy of the
network, each step's setpoints written by the same rule as the clearing's pandapower AC check
(:class:`~flexcoord.grid.ac_pandapower.PandapowerAc`: loads' P and Q, static generators' and
storages' P, the plants' P where the grid profiles them; the plants keep their voltage set
points), warm-started from the previous step (``init="results"``, from the DC power flow when
that does not converge). A step that does not converge either way is reported as failed and
carries no results, as a failed power-grid-model scenario does.

Results come back in the order of the :class:`~flexcoord.grid.pgm_conversion.PgmGrid` structure
the assessment uses for its assets and limits: voltages per ``grid.buses`` row, loading in percent
per ``grid.branches`` row (pandapower's current-based ``loading_percent``, the definition
power-grid-model's loading follows).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.grid.ac_pandapower import _Setpoints, runpp_warm
from flexcoord.grid.pgm_conversion import PgmGrid

__all__ = ["pandapower_flows", "structure_network"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def structure_network(net: Any) -> Any:
    """A copy of ``net`` without its voltage-controlled generators: what the assessment's asset
    and limit tables are built from (buses and branches are the same; no power flow runs on
    it)."""
    work = copy.copy(net)
    work.gen = net.gen.iloc[0:0]
    return work


def _positions(index: Any, wanted: Any) -> IntArray:
    pos = np.asarray(index.get_indexer(wanted), dtype=np.int64)
    if (pos < 0).any():  # the structure comes from this network: cannot happen
        msg = "an asset of the structure is not in the network"
        raise ValueError(msg)
    return pos


def pandapower_flows(  # noqa: PLR0913 - the network, its structure and profiles, the window
    net: Any,
    grid: PgmGrid,
    profiles: Any,
    *,
    start: int,
    steps: int,
    chunk: int,
) -> Iterator[tuple[int, int, FloatArray, FloatArray, IntArray | None]]:
    """``(c0, c1, vm_pu, loading_percent, failed steps or None)`` per chunk of the window, as
    :func:`flexcoord.grid.timeseries.assess` consumes them (module docstring)."""
    work = copy.deepcopy(net)
    setpoints = _Setpoints.from_profiles(profiles, work)
    bus_pos = _positions(work.bus.index, grid.buses.index)
    tables = grid.branches["table"].to_numpy()
    elements = grid.branches["element"].to_numpy()
    is_line = tables == "line"
    line_pos = _positions(work.line.index, elements[is_line])
    trafo_pos = _positions(work.trafo.index, elements[~is_line])
    numba = _numba_available()
    warm = False
    for c0 in range(0, steps, chunk):
        c1 = min(c0 + chunk, steps)
        vm = np.full((c1 - c0, len(bus_pos)), np.nan)
        loading = np.full((c1 - c0, len(elements)), np.nan)
        failed: list[int] = []
        for t in range(c1 - c0):
            setpoints.apply(work, start + c0 + t)
            warm = runpp_warm(work, warm=warm, numba=numba)
            if not warm:
                failed.append(t)
                continue
            vm[t] = work.res_bus.vm_pu.to_numpy()[bus_pos]
            if len(line_pos):
                loading[t, is_line] = work.res_line.loading_percent.to_numpy()[line_pos]
            if len(trafo_pos):
                loading[t, ~is_line] = work.res_trafo.loading_percent.to_numpy()[trafo_pos]
        yield c0, c1, vm, loading, np.array(failed, dtype=np.int64) if failed else None


def _numba_available() -> bool:
    try:
        import numba  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True
