"""Year-long 15-min grid assessment: where and when a grid is congested, with power-grid-model.

:func:`assess` runs an AC power flow (Newton–Raphson, power-grid-model batch calculation on all
cores) for every quarter-hour of a SimBench network's profiles and reports every branch overload
and bus voltage violation per asset and time: the congestion a DSO or TSO must buy flexibility
for. On the 97-bus MV rural grid a whole year (35,136 steps) takes about 2.5 s.

Operating points come from the network's SimBench profiles, as
``simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)`` computes them
(relative profile × the element's ``p_mw`` / ``q_mvar``; an element without a profile keeps its
value), but built here per chunk from the relative profiles: the same numbers without the 0.3–0.5 s
of the pandas merge and without holding year-long absolute arrays in memory. Loads get ``p_mw``
and ``q_mvar``, sgens and storage ``p_mw``; everything is multiplied by the element's ``scaling``
as pandapower does.

Time: SimBench profile labels (``01.01.2016 00:00`` …, 35,136 quarter-hours of the leap year
2016) are German wall-clock time with daylight saving (they skip 02:00–02:45 on 27 March and
repeat it on 30 October); results are stamped in UTC, so step 0 is 2015-12-31 23:00 UTC and a
local market day has 92, 96 or 100 steps (:mod:`flexcoord.grid.timeseries_profiles`).

The calculation runs in chunks of whole days, so memory stays bounded (a year of the 1,942-bus
HV/MV grid would need gigabytes at once) and ``progress`` can drive a progress bar; the
post-processing is vectorised per chunk.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from power_grid_model import CalculationMethod, ComponentType

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.ac_pandapower import needs_pandapower
from flexcoord.grid.pgm_conversion import PgmGrid, branch_loading_percent, network_name, to_pgm
from flexcoord.grid.timeseries_pandapower import pandapower_flows, structure_network
from flexcoord.grid.timeseries_profiles import Profiles, UpdateBuffers
from flexcoord.grid.violation_csv import ViolationCsvWriter
from flexcoord.grid.violation_parquet import ViolationParquetWriter
from flexcoord.grid.violations import (
    Limits,
    asset_table,
    categorical,
    resolve_limits,
    violation_masks,
    violation_table,
)

__all__ = ["OUTPUT_ATTRIBUTES", "GridAssessment", "assess", "default_chunk_steps"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The PGM output the assessment asks for (the output filter: all else is never computed out).
OUTPUT_ATTRIBUTES: dict[ComponentType, list[str]] = {
    ComponentType.node: ["u_pu"],
    ComponentType.line: ["loading"],
    ComponentType.transformer: ["i_from", "i_to"],
}

_CHUNK_BYTES = 64e6
_DAY_STEPS = 96


@dataclass(frozen=True, slots=True, kw_only=True)
class GridAssessment:
    """Every limit violation of a time series, per asset and time, and their summary.

    Attributes:
        violations: one row per (asset, time step) violation: ``time`` (UTC), ``asset``
            (``"line:12"``, ``"trafo:3"``, ``"bus:40"``), ``kind`` (``"overload"``,
            ``"undervoltage"``, ``"overvoltage"``), ``value`` (loading in percent or voltage in
            pu), ``limit``, ``voltage_level_kv`` (bus; line from-bus; transformer HV side),
            ``name`` (pandapower name, ``""`` if none). Sorted by time, kind, asset.
        summary: one row per violating (asset, kind): ``asset``, ``kind``, ``voltage_level_kv``,
            ``name``, ``steps`` (number of violating steps), ``hours``, ``worst_value`` (highest
            loading or voltage, lowest for undervoltage), ``limit``, ``first_time``,
            ``last_time``. Sorted by kind, then most steps first.
        per_step: one row per time step (index ``time``): ``max_loading_percent``,
            ``min_vm_pu``, ``max_vm_pu``, ``violations`` (count).
        grid_name: the network's name.
        start_time: first step (UTC). end_time: end of the last step (exclusive).
        steps: number of steps run. step_h: length of a step in hours.
        elapsed_s: wall time of :func:`assess`. steps_per_s: ``steps / elapsed_s``.
        max_loading_percent / max_loading_asset: the highest branch loading and its branch.
        min_vm_pu / min_vm_asset, max_vm_pu / max_vm_asset: the voltage extremes and their bus.
        non_converged_times: steps whose power flow did not converge (no results there).
        limits: the limits given (``None`` fields: each asset's own, see
            :mod:`flexcoord.grid.violations`).
        vm_pu / loading_percent: the full (time × bus / branch) results when asked for with
            ``keep_results=True``, else ``None``.
    """

    violations: pd.DataFrame
    summary: pd.DataFrame
    per_step: pd.DataFrame
    grid_name: str
    start_time: pd.Timestamp
    end_time: pd.Timestamp
    steps: int
    step_h: float
    elapsed_s: float
    steps_per_s: float
    max_loading_percent: float
    max_loading_asset: str
    min_vm_pu: float
    min_vm_asset: str
    max_vm_pu: float
    max_vm_asset: str
    non_converged_times: tuple[pd.Timestamp, ...]
    limits: Limits
    vm_pu: pd.DataFrame | None = None
    loading_percent: pd.DataFrame | None = None

    def totals(self) -> dict[str, Any]:
        """The global figures, JSON-serialisable."""
        return {
            "grid": self.grid_name,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat(),
            "steps": self.steps,
            "step_h": self.step_h,
            "elapsed_s": self.elapsed_s,
            "steps_per_s": self.steps_per_s,
            "violations": int(self.summary["steps"].sum()),
            "violating_assets": int(self.summary["asset"].nunique()),
            "steps_with_violations": int((self.per_step["violations"] > 0).sum()),
            "max_loading_percent": _json_float(self.max_loading_percent),
            "max_loading_asset": self.max_loading_asset,
            "min_vm_pu": _json_float(self.min_vm_pu),
            "min_vm_asset": self.min_vm_asset,
            "max_vm_pu": _json_float(self.max_vm_pu),
            "max_vm_asset": self.max_vm_asset,
            "non_converged_steps": len(self.non_converged_times),
            "non_converged_times": [t.isoformat() for t in self.non_converged_times],
            "limits": {
                "vm_min_pu": self.limits.vm_min_pu,
                "vm_max_pu": self.limits.vm_max_pu,
                "max_loading_percent": self.limits.max_loading_percent,
            },
        }

    def to_dict(self, *, include_violations: bool = True) -> dict[str, Any]:
        """Totals, summary and (optionally) violations as JSON-serialisable data.

        Times are ISO 8601 strings, ``NaN`` becomes ``None``.

        Example:
            >>> from flexcoord.grid.loading import load_network
            >>> import json
            >>> result = assess(load_network("1-MV-rural--0-sw"), steps=96)
            >>> sorted(json.loads(json.dumps(result.to_dict())))
            ['summary', 'totals', 'violations']
        """
        data: dict[str, Any] = {
            "totals": self.totals(),
            "summary": _records(self.summary),
        }
        if include_violations:
            data["violations"] = _records(self.violations)
        return data


def default_chunk_steps(grid: PgmGrid) -> int:
    """Steps per PGM batch call: whole days, about 64 MB of update and output data per chunk."""
    n_bus, n_branch = len(grid.buses), len(grid.branches)
    n_update = len(grid.loads) + len(grid.sgens) + len(grid.storages)
    bytes_per_step = 8 * (n_bus + 2 * n_branch) + 32 * n_update + 1
    days = max(1, int(_CHUNK_BYTES // bytes_per_step) // _DAY_STEPS)
    return min(days, 92) * _DAY_STEPS


def assess(  # noqa: PLR0913 - public: the grid, then keyword-only study options
    net: Any,
    *,
    start: int = 0,
    steps: int | None = None,
    chunk_steps: int | None = None,
    vm_min_pu: float | None = None,
    vm_max_pu: float | None = None,
    max_loading_percent: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_results: bool = False,
    keep_violations: bool = True,
    violations_csv: BinaryIO | None = None,
    violations_parquet: BinaryIO | None = None,
    tag: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    threading: int = 0,
) -> GridAssessment:
    """Run the SimBench profiles of ``net`` through AC power flows and report every violation.

    The caller's network is not modified.

    Args:
        net: a pandapower network with SimBench profiles (``net.profiles``), e.g. from
            :func:`flexcoord.grid.loading.load_network`.
        start: first time step (0 = 2016-01-01 00:00 German time = 2015-12-31 23:00 UTC).
        steps: number of steps; ``None`` runs to the end of the profiles (a whole year: 35,136).
        chunk_steps: steps per power-grid-model batch call (and per ``progress`` call);
            ``None`` picks whole days worth about 64 MB (:func:`default_chunk_steps`).
        vm_min_pu: lower voltage limit for every bus; by default each bus's ``min_vm_pu``
            (else 0.95, see :mod:`flexcoord.grid.violations`).
        vm_max_pu: upper voltage limit for every bus; by default each bus's ``max_vm_pu``
            (else 1.05).
        max_loading_percent: thermal limit for every branch; by default each branch's
            ``max_loading_percent`` (else 100).
        progress: called as ``progress(done_steps, total_steps)`` after each chunk.
        keep_results: also keep the full voltage and loading tables (memory: 8 bytes per
            step × (buses + branches), 55 MB for a year of MV rural).
        keep_violations: build the per-step ``violations`` table (about 40 bytes per row: a
            year of the HV/MV grid at SimBench's voltage bands has tens of millions of rows);
            when ``False`` it is empty and ``summary``, ``per_step`` and the totals are still
            complete.
        violations_csv: stream the per-step violations table to this binary file as CSV,
            chunk by chunk (:class:`~flexcoord.grid.violation_csv.ViolationCsvWriter`): the
            bytes ``violations.to_csv(index=False)`` gives with ``keep_violations=True``, in
            the memory of one chunk.
        violations_parquet: stream the same table to this binary file as Parquet
            (:class:`~flexcoord.grid.violation_parquet.ViolationParquetWriter`, one row group
            per million rows; far less CPU than the CSV's text), closed at the end.
        tag: adds columns to the violations and summary tables (e.g. the area of each asset;
            gets and returns a frame with an ``asset`` column, the caller's columns kept).
        threading: power-grid-model threading (0 all cores, -1 sequential, n threads).

    Returns:
        The assessment; steps whose power flow does not converge are listed in
        ``non_converged_times`` and carry no results.

    Raises:
        InvalidInputError: no SimBench profiles, a profile an element names is missing, or a
            time window outside the profiles.
        GridError: a network power-grid-model cannot model (unsupplied buses, PV generators, ...).

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> result = assess(load_network("1-MV-rural--0-sw"), start=16_000, steps=96 * 7)
        >>> result.steps, result.summary.columns[:3].tolist()
        (672, ['asset', 'kind', 'voltage_level_kv'])
    """
    t0 = time.perf_counter()
    limits = Limits(
        vm_min_pu=vm_min_pu, vm_max_pu=vm_max_pu, max_loading_percent=max_loading_percent
    )
    profiles = Profiles.of(net)
    total = profiles.n_steps
    steps = total - start if steps is None else steps
    _check_window(net, total=total, start=start, steps=steps, chunk_steps=chunk_steps)
    # voltage-controlled plants: pandapower's power flows, on power-grid-model's asset structure
    with_pandapower = needs_pandapower(net)
    grid = to_pgm(structure_network(net) if with_pandapower else net, injection_buses=())
    times, step_h = profiles.times(start, steps)
    vmin, vmax, lmax = resolve_limits(grid, limits)
    chunk = chunk_steps or default_chunk_steps(grid)

    assets = asset_table(grid)

    def table_of(
        step: IntArray, asset: IntArray, kind: IntArray, value: FloatArray, limit: FloatArray
    ) -> pd.DataFrame:
        table = violation_table(assets, step=step, asset=asset, kind=kind, value=value, limit=limit)
        table.insert(0, "time", times.take(table.pop("step").to_numpy()))
        return table if tag is None else tag(table)

    pairs = _pairs(vmin, vmax, lmax)
    writers: list[ViolationCsvWriter | ViolationParquetWriter] = []
    if violations_csv is not None:
        writers.append(
            ViolationCsvWriter(violations_csv, table_of=table_of, pairs=pairs, n_steps=steps)
        )
    if violations_parquet is not None:
        writers.append(
            ViolationParquetWriter(
                violations_parquet, table_of=table_of, pairs=pairs, n_steps=steps
            )
        )
    acc = _Accumulator(
        n_bus=len(grid.buses),
        n_branch=len(grid.branches),
        steps=steps,
        keep_violations=keep_violations,
        pairs=pairs,
        writers=tuple(writers),
    )
    kept_vm: list[FloatArray] = []
    kept_loading: list[FloatArray] = []
    if progress is not None:
        progress(0, steps)
    if with_pandapower:
        flows = pandapower_flows(net, grid, profiles, start=start, steps=steps, chunk=chunk)
    else:
        # two sets: one is filled while power-grid-model reads the other (see _flows)
        updates = tuple(UpdateBuffers(grid, profiles, min(chunk, steps)) for _ in range(2))
        outputs = {k: v for k, v in OUTPUT_ATTRIBUTES.items() if k in grid.input_data}
        flows = _flows(
            grid,
            updates,
            start=start,
            steps=steps,
            chunk=chunk,
            threading=threading,
            outputs=outputs,
        )
    for c0, c1, vm, loading, bad in flows:
        if bad is not None:
            acc.failed.append(bad + c0)
        acc.add(c0=c0, vm=vm, loading=loading, vmin=vmin, vmax=vmax, lmax=lmax)
        if keep_results:
            kept_vm.append(np.array(vm, dtype=float))
            kept_loading.append(np.array(loading, dtype=float))
        if progress is not None:
            progress(c1, steps)
    for writer in writers:
        writer.close()
    return acc.finish(
        grid=grid,
        net=net,
        assets=assets,
        table_of=table_of,
        tag=tag,
        times=times,
        step_h=step_h,
        limits=limits,
        t0=t0,
        vm=np.concatenate(kept_vm) if keep_results else None,
        loading=np.concatenate(kept_loading) if keep_results else None,
    )


def _flows(  # noqa: PLR0913 - private: the grid and its buffers, then the window by keyword
    grid: PgmGrid,
    updates: tuple[UpdateBuffers, ...],
    *,
    start: int,
    steps: int,
    chunk: int,
    threading: int,
    outputs: dict[ComponentType, list[str]],
) -> Iterator[tuple[int, int, FloatArray, FloatArray, IntArray | None]]:
    """``(c0, c1, vm_pu, loading_percent, failed steps or None)`` per chunk of the window.

    The batch calculation of the next chunk runs in a worker thread (power-grid-model releases
    the GIL) while the caller works on this one, and the update data of the chunk after it is
    built meanwhile in the other set of buffers: the profiles, the post-processing and the CSV
    rows overlap the power flows instead of following them. At most two chunks of output are
    alive.
    """
    node_ids = grid.input_data[ComponentType.node]["id"]
    node_pos = np.searchsorted(node_ids, grid.buses["node_id"].to_numpy())
    identity = bool(np.array_equal(node_pos, np.arange(len(node_ids))))
    bus_off = ~grid.buses["in_service"].to_numpy(dtype=bool)

    def calculate(update: dict[Any, Any]) -> tuple[Any, Any]:
        out = grid.model.calculate_power_flow(
            update_data=update,
            threading=threading,
            output_component_types=outputs,
            calculation_method=CalculationMethod.newton_raphson,
            continue_on_batch_error=True,
        )
        return out, grid.model.batch_error

    bounds = [(c0, min(c0 + chunk, steps)) for c0 in range(0, steps, chunk)]

    def fill(i: int) -> dict[Any, Any]:
        c0, c1 = bounds[i]
        return updates[i % 2].fill(start + c0, start + c1)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flexcoord-pgm") as pool:
        pending = pool.submit(calculate, fill(0))
        for i, (c0, c1) in enumerate(bounds):
            following = fill(i + 1) if i + 1 < len(bounds) else None  # while chunk i runs
            out, failed = pending.result()
            if following is not None:
                pending = pool.submit(calculate, following)
            vm = out[ComponentType.node]["u_pu"]
            vm = vm if identity else vm[:, node_pos]
            loading = branch_loading_percent(grid, out)
            bad = None
            if bus_off.any() or failed is not None:
                vm = np.array(vm, dtype=float)
                vm[:, bus_off] = np.nan
                if failed is not None:
                    bad = np.asarray(failed.failed_scenarios, dtype=np.int64)
                    vm[bad] = np.nan
                    loading = np.array(loading, dtype=float)
                    loading[bad] = np.nan
            yield c0, c1, vm, loading, bad


def _check_window(net: Any, *, total: int, start: int, steps: int, chunk_steps: int | None) -> None:
    if start < 0 or steps < 1 or start + steps > total:
        raise InvalidInputError(
            [
                Issue(
                    kind="TimeWindow",
                    object_id=network_name(net),
                    field="start/steps",
                    value=(start, steps),
                    message=f"must lie within the {total} profile steps",
                )
            ]
        )
    if chunk_steps is not None and chunk_steps < 1:
        raise InvalidInputError(
            [
                Issue(
                    kind="TimeWindow",
                    object_id=network_name(net),
                    field="chunk_steps",
                    value=chunk_steps,
                    message="must be >= 1",
                )
            ]
        )


def _pairs(
    vmin: FloatArray, vmax: FloatArray, lmax: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (asset code, kind code) a violation can have, and its limit.

    In the order of the columns of the overload, undervoltage and overvoltage masks side by
    side: branches (overload), then buses (undervoltage), then buses (overvoltage).
    """
    n_branch, n_bus = len(lmax), len(vmin)
    branches = np.arange(n_branch, dtype=np.int64)
    buses = np.arange(n_branch, n_branch + n_bus, dtype=np.int64)
    asset = np.concatenate([branches, buses, buses])
    kind = np.repeat(np.array([0, 1, 2], dtype=np.int64), [n_branch, n_bus, n_bus])
    return asset, kind, np.concatenate([lmax, vmin, vmax]).astype(float)


def _hit_values(step: IntArray, pair: IntArray, loading: FloatArray, vm: FloatArray) -> FloatArray:
    """The checked value of each hit of a (steps × pairs) block whose pairs are the branches, then
    the buses twice: read from ``loading`` and ``vm`` in place (no copy of the whole block)."""
    n_branch, n_bus = loading.shape[1], vm.shape[1]
    value = np.empty(len(pair))
    on_branch = pair < n_branch
    value[on_branch] = loading.reshape(-1)[step[on_branch] * n_branch + pair[on_branch]]
    on_bus = ~on_branch
    bus = (pair[on_bus] - n_branch) % n_bus if n_bus else pair[on_bus]
    value[on_bus] = vm.reshape(-1)[step[on_bus] * n_bus + bus]
    return value


class _Accumulator:
    """Violations, their per-asset summary and the extremes, gathered chunk by chunk."""

    def __init__(  # noqa: PLR0913 - private: sizes, pairs and sinks by keyword
        self,
        *,
        n_bus: int,
        n_branch: int,
        steps: int,
        keep_violations: bool,
        pairs: tuple[IntArray, IntArray, FloatArray],
        writers: tuple[ViolationCsvWriter | ViolationParquetWriter, ...],
    ) -> None:
        self.keep_violations = keep_violations
        self.pairs = pairs
        self.writers = writers
        self.parts: list[tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]] = []
        self.failed: list[IntArray] = []
        n_asset = n_branch + n_bus
        # per (asset code, kind code): violating steps, first and last violating step
        self.count = np.zeros((n_asset, 3), dtype=np.int64)
        self.first = np.full((n_asset, 3), -1, dtype=np.int64)
        self.last = np.full((n_asset, 3), -1, dtype=np.int64)
        self.limit = np.full((n_asset, 3), np.nan)
        self.max_loading = np.full(n_branch, np.nan)
        self.min_vm = np.full(n_bus, np.nan)
        self.max_vm = np.full(n_bus, np.nan)
        self.step_max_loading = np.full(steps, np.nan)
        self.step_min_vm = np.full(steps, np.nan)
        self.step_max_vm = np.full(steps, np.nan)
        self.step_violations = np.zeros(steps, dtype=np.int64)

    def add(  # noqa: PLR0913 - one chunk of results, by keyword
        self,
        *,
        c0: int,
        vm: FloatArray,
        loading: FloatArray,
        vmin: FloatArray,
        vmax: FloatArray,
        lmax: FloatArray,
    ) -> None:
        n = len(vm)
        if loading.shape[1]:
            self.max_loading = np.fmax(self.max_loading, np.fmax.reduce(loading, axis=0))
            self.step_max_loading[c0 : c0 + n] = np.fmax.reduce(loading, axis=1)
        self.min_vm = np.fmin(self.min_vm, np.fmin.reduce(vm, axis=0))
        self.max_vm = np.fmax(self.max_vm, np.fmax.reduce(vm, axis=0))
        self.step_min_vm[c0 : c0 + n] = np.fmin.reduce(vm, axis=1)
        self.step_max_vm[c0 : c0 + n] = np.fmax.reduce(vm, axis=1)
        masks = violation_masks(vm, loading, vmin, vmax, lmax)
        for m in masks:
            cols = slice(m.offset, m.offset + m.mask.shape[1])
            hits = m.mask.sum(axis=0)
            self.count[cols, m.kind] += hits
            self.step_violations[c0 : c0 + n] += m.mask.sum(axis=1)
            seen = hits > 0
            first = self.first[cols, m.kind]
            new = seen & (first < 0)
            first[new] = c0 + m.mask.argmax(axis=0)[new]
            self.first[cols, m.kind] = first
            last = c0 + n - 1 - m.mask[::-1].argmax(axis=0)
            self.last[cols, m.kind] = np.where(seen, last, self.last[cols, m.kind])
            self.limit[cols, m.kind] = m.limit
        if self.keep_violations or self.writers:
            # one (steps × pairs) block with the pairs in (kind, asset) order: np.nonzero walks
            # it in table order (time, kind, asset) and no sort is needed; chunks follow in time
            block = np.concatenate([m.mask for m in masks], axis=1)
            hit_step, pair = np.divmod(np.flatnonzero(block), block.shape[1])
            step: IntArray = hit_step + c0
            value: FloatArray = _hit_values(hit_step, pair, loading, vm)
            for writer in self.writers:
                writer.write(step, pair, value)
            if self.keep_violations:
                asset, kind, limit = self.pairs
                self.parts.append((step, asset[pair], kind[pair], value, limit[pair]))

    def finish(  # noqa: PLR0913 - the study's parts, by keyword
        self,
        *,
        grid: PgmGrid,
        net: Any,
        assets: pd.DataFrame,
        table_of: Callable[..., pd.DataFrame],
        tag: Callable[[pd.DataFrame], pd.DataFrame] | None,
        times: pd.DatetimeIndex,
        step_h: float,
        limits: Limits,
        t0: float,
        vm: FloatArray | None,
        loading: FloatArray | None,
    ) -> GridAssessment:
        empty = np.zeros(0, np.int64)
        parts = self.parts or [(empty, empty, empty, np.zeros(0), np.zeros(0))]
        step, asset, kind, value, limit = (np.concatenate(a) for a in zip(*parts, strict=True))
        self.parts.clear()
        table = table_of(step, asset, kind, value, limit)
        del step, asset, kind, value, limit
        n_branch = len(grid.branches)
        worst = np.column_stack(
            [
                np.concatenate([self.max_loading, np.full(len(grid.buses), np.nan)]),
                np.concatenate([np.full(n_branch, np.nan), self.min_vm]),
                np.concatenate([np.full(n_branch, np.nan), self.max_vm]),
            ]
        )
        summary = _summary(
            kinds=table["kind"].cat.categories,
            count=self.count,
            first=self.first,
            last=self.last,
            worst=worst,
            limit=self.limit,
            times=times,
            step_h=step_h,
            assets=assets,
        )
        if tag is not None:
            summary = tag(summary)
        per_step = pd.DataFrame(
            {
                "max_loading_percent": self.step_max_loading,
                "min_vm_pu": self.step_min_vm,
                "max_vm_pu": self.step_max_vm,
                "violations": self.step_violations,
            },
            index=times,
        )
        failed = np.concatenate(self.failed) if self.failed else np.zeros(0, np.int64)
        bus_names = [f"bus:{b}" for b in grid.buses.index]
        elapsed = time.perf_counter() - t0
        return GridAssessment(
            violations=table,
            summary=summary,
            per_step=per_step,
            grid_name=network_name(net),
            start_time=times[0],
            end_time=times[-1] + pd.Timedelta(hours=step_h),
            steps=len(times),
            step_h=step_h,
            elapsed_s=elapsed,
            steps_per_s=len(times) / elapsed,
            **_extreme("max_loading", self.max_loading, list(grid.branches.index), np.fmax),
            **_extreme("min_vm", self.min_vm, bus_names, np.fmin),
            **_extreme("max_vm", self.max_vm, bus_names, np.fmax),
            non_converged_times=tuple(times.take(np.sort(failed))),
            limits=limits,
            vm_pu=None if vm is None else pd.DataFrame(vm, index=times, columns=grid.buses.index),
            loading_percent=None
            if loading is None
            else pd.DataFrame(loading, index=times, columns=grid.branches.index),
        )


def _extreme(name: str, values: FloatArray, labels: list[str], ufunc: Any) -> dict[str, Any]:
    unit = "_percent" if name == "max_loading" else "_pu"
    if not len(values) or np.isnan(values).all():
        return {f"{name}{unit}": math.nan, f"{name}_asset": ""}
    pos = int(np.nanargmax(values) if ufunc is np.fmax else np.nanargmin(values))
    return {f"{name}{unit}": float(values[pos]), f"{name}_asset": labels[pos]}


def _summary(  # noqa: PLR0913 - private: the study's arrays, by keyword
    *,
    kinds: pd.Index,
    count: IntArray,
    first: IntArray,
    last: IntArray,
    worst: FloatArray,
    limit: FloatArray,
    times: pd.DatetimeIndex,
    step_h: float,
    assets: pd.DataFrame,
) -> pd.DataFrame:
    """One row per violating (asset, kind) from the (assets × kinds) accumulators."""
    a, k = np.nonzero(count)
    names = assets["name"].astype(object).where(assets["name"].notna(), "").to_numpy()
    summary = pd.DataFrame(
        {
            "asset": assets["asset"].to_numpy()[a],
            "kind": categorical(k, kinds),
            "voltage_level_kv": assets["voltage_level_kv"].to_numpy()[a],
            "name": names[a],
            "steps": count[a, k],
            "hours": count[a, k] * step_h,
            "worst_value": worst[a, k],
            "limit": limit[a, k],
            "first_time": times.take(first[a, k]),
            "last_time": times.take(last[a, k]),
        }
    )
    summary = summary.sort_values(["kind", "steps", "asset"], ascending=[True, False, True])
    return summary.reset_index(drop=True)


def _json_float(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    data = {}
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            values: list[Any] = [t.isoformat() for t in series]
        elif isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object:
            values = [None if v is None else str(v) for v in series.astype(object)]
        elif pd.api.types.is_integer_dtype(series.dtype):
            values = [int(v) for v in series]
        else:
            values = [_json_float(float(v)) for v in series]
        data[column] = values
    return [dict(zip(data, row, strict=True)) for row in zip(*data.values(), strict=True)]
