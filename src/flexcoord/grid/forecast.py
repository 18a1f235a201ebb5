"""Per-MTU operating-point forecasts: branch flows and bus voltages a DSO expects, per MTU.

An :class:`OperatingForecast` is what the traffic light (:mod:`flexcoord.grid.traffic_light`)
linearises around: for every market time unit, the flow of every branch (signed, at its *from*
side, same names and order as :meth:`GridModel.ptdf <flexcoord.grid.model.GridModel.ptdf>`) and
the voltage magnitude of every bus. The flow is the active power (``FlowQuantity.ACTIVE``, the
default) or, with ``flows=FlowQuantity.THERMAL``, the thermal-equivalent flow of
:mod:`flexcoord.grid.thermal` (the branch's current as MW at nominal voltage, signed as the active
power): the quantity the thermal limits and the AC check are written in, so a linear model around
it is exact at the base case (``docs/decisions/008-thermal-equivalent-flows.md``). It records when
it was issued (knowledge time), kept apart from the MTUs it is about (event time), as FlexMeasures
does: a day-ahead and an intraday forecast of the same MTUs differ in ``issued_at`` and in error.

:func:`forecast_from_profiles` builds one from a SimBench grid's profiles through a
power-grid-model batch AC power flow (the profile arrays and update buffers of
:mod:`flexcoord.grid.timeseries_profiles`, the conversion of :mod:`flexcoord.grid.pgm_conversion`).
Forecast error is simulated: every load, generator and storage setpoint of every step is
multiplied by ``1 + noise · ε`` with ``ε ~ N(0, 1)`` drawn from a seeded generator (the same seed
gives the same forecast). Suggested noise levels, our choice: :data:`DAY_AHEAD_NOISE` (10 %, a
typical day-ahead error of a distribution feeder's load and DER) and :data:`INTRADAY_NOISE` (3 %,
an intraday update). ``noise=0`` is the perfect forecast (the profile itself).

:func:`profile_operating_points` gives the same base case as setpoints
(:class:`~flexcoord.grid.pgm.Injections`, one scenario per step): what a DSO model is linearised
at (:func:`~flexcoord.coordination.aggregation.build_dso_model`'s ``operating_point``).

:func:`forecast_from_snapshot` repeats the network's own operating point (one AC power flow of the
loaded values) over the given MTUs: for hand-built grids without profiles and for tests.

Time: SimBench step ``k`` is the quarter-hour starting ``2016-01-01 00:00 + k·15 min`` (profile
labels taken as UTC). The caller places the horizon on any market day it chooses by passing the
``intervals`` (e.g. ``market_time_units(date)``); they must be contiguous quarter-hours, one per
step. Without ``intervals`` the profile's own 2016 time stamps are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from power_grid_model import CalculationMethod, ComponentType
from power_grid_model.errors import PowerGridError  # type: ignore[attr-defined]

from flexcoord.domain import Interval
from flexcoord.errors import GridError, InvalidInputError, Issue
from flexcoord.grid.pgm import Injections, run_ac, to_pgm
from flexcoord.grid.pgm_conversion import PgmGrid, select_branches
from flexcoord.grid.thermal import THERMAL_OUTPUTS, thermal_flow_mw
from flexcoord.grid.timeseries_profiles import Profiles, ProfileSeries, UpdateBuffers

__all__ = [
    "DAY_AHEAD_NOISE",
    "INTRADAY_NOISE",
    "LOAD_KEY",
    "ElementInjections",
    "FlowQuantity",
    "OperatingForecast",
    "element_injections",
    "forecast_from_profiles",
    "forecast_from_snapshot",
    "forecast_with_changes",
    "profile_operating_points",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Relative (1 σ) error of a day-ahead forecast of each load / DER setpoint (our choice).
DAY_AHEAD_NOISE = 0.10
#: Relative (1 σ) error of an intraday forecast update (our choice).
INTRADAY_NOISE = 0.03


class FlowQuantity(StrEnum):
    """What a forecast's ``branch_flow_mw`` holds (MW, signed, positive from → to)."""

    ACTIVE = "active"  # the active power at the from side
    THERMAL = "thermal"  # the thermal-equivalent flow (flexcoord.grid.thermal)


_OUTPUTS: dict[FlowQuantity, dict[ComponentType, list[str]]] = {
    FlowQuantity.ACTIVE: {
        ComponentType.node: ["u_pu"],
        ComponentType.line: ["p_from"],
        ComponentType.transformer: ["p_from"],
    },
    FlowQuantity.THERMAL: {ComponentType.node: ["u_pu"], **THERMAL_OUTPUTS},
}


def _issue(field: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [
            Issue(
                kind="OperatingForecast",
                object_id="forecast",
                field=field,
                value=value,
                message=message,
            )
        ]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatingForecast:
    """Forecast branch flows and bus voltages per MTU (event time), issued at a knowledge time.

    Attributes:
        intervals: The MTUs (UTC, time order), ``T`` of them.
        branch_names: ``"line:<i>"`` / ``"trafo:<i>"`` per row, as ``GridModel.ptdf`` names them.
        branch_flow_mw: ``(n_branch, T)`` active power at the from side, positive into the branch
            (or the thermal-equivalent flow, for a forecast built with ``FlowQuantity.THERMAL``).
        bus_ids: pandapower bus index per row of ``vm_pu``.
        vm_pu: ``(n_bus, T)`` voltage magnitudes.
        issued_at: When the forecast was made (aware; stored in UTC).
        label: Free text, e.g. ``"day-ahead, noise 0.10, seed 7"``.

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 6, 1, tzinfo=UTC)
        >>> f = OperatingForecast(
        ...     intervals=(Interval(start=t, end=t + timedelta(minutes=15)),),
        ...     branch_names=("line:0",), branch_flow_mw=np.array([[1.5]]),
        ...     bus_ids=np.array([0, 1]), vm_pu=np.array([[1.0], [0.99]]), issued_at=t)
        >>> f.n_steps, f.flow_of("line:0").tolist()
        (1, [1.5])
    """

    intervals: tuple[Interval, ...]
    branch_names: tuple[str, ...]
    branch_flow_mw: FloatArray
    bus_ids: IntArray
    vm_pu: FloatArray
    issued_at: datetime
    label: str = ""
    _branch_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_branch_index", {n: i for i, n in enumerate(self.branch_names)})
        issues: list[str] = []
        n_t = len(self.intervals)
        flows = np.asarray(self.branch_flow_mw, dtype=float)
        vm = np.asarray(self.vm_pu, dtype=float)
        bus_ids = np.asarray(self.bus_ids, dtype=np.int64)
        if n_t == 0:
            issues.append("intervals: must hold at least one MTU")
        if any(a.end > b.start for a, b in zip(self.intervals, self.intervals[1:], strict=False)):
            issues.append("intervals: must be in time order and non-overlapping")
        if flows.shape != (len(self.branch_names), n_t):
            issues.append(f"branch_flow_mw: shape {flows.shape} != (n_branch, n_mtu)")
        if vm.shape != (len(bus_ids), n_t):
            issues.append(f"vm_pu: shape {vm.shape} != (n_bus, n_mtu)")
        if self.issued_at.tzinfo is None:
            issues.append("issued_at: must be timezone-aware")
        if issues:
            raise InvalidInputError(
                Issue(
                    kind="OperatingForecast",
                    object_id=self.label or "forecast",
                    field=m.split(":")[0],
                    value=None,
                    message=m.split(": ", 1)[1],
                )
                for m in issues
            )
        for name, array in (("branch_flow_mw", flows), ("vm_pu", vm), ("bus_ids", bus_ids)):
            frozen = np.array(array, copy=True)
            frozen.setflags(write=False)
            object.__setattr__(self, name, frozen)
        object.__setattr__(self, "intervals", tuple(self.intervals))
        object.__setattr__(self, "branch_names", tuple(self.branch_names))

    @property
    def n_steps(self) -> int:
        """Number of MTUs."""
        return len(self.intervals)

    def flow_of(self, branch_name: str) -> FloatArray:
        """The forecast flow of one branch over the MTUs (MW)."""
        flow: FloatArray = self.branch_flow_mw[self.branch_names.index(branch_name)]
        return flow

    def branch_rows(self, names: Sequence[str]) -> IntArray:
        """Row positions of the named branches (``InvalidInputError`` for unknown names)."""
        index = self._branch_index
        missing = [n for n in names if n not in index]
        if missing:
            raise _issue("branch_names", missing[:10], "are not in the forecast")
        return np.fromiter((index[n] for n in names), dtype=np.int64, count=len(names))

    def bus_rows(self, buses: Sequence[int] | IntArray) -> IntArray:
        """Row positions of pandapower buses (``InvalidInputError`` for unknown buses)."""
        index = {int(b): i for i, b in enumerate(self.bus_ids)}
        wanted = [int(b) for b in buses]
        missing = [b for b in wanted if b not in index]
        if missing:
            raise _issue("bus_ids", missing[:10], "are not in the forecast")
        return np.fromiter((index[b] for b in wanted), dtype=np.int64, count=len(wanted))


def _check_intervals(intervals: Sequence[Interval], steps: int, step: timedelta) -> None:
    if len(intervals) != steps:
        raise _issue("intervals", len(intervals), f"must hold one MTU per step ({steps})")
    for i, mtu in enumerate(intervals):
        if mtu.duration != step or (i and intervals[i - 1].end != mtu.start):
            raise _issue(
                "intervals", str(mtu), f"must be contiguous MTUs of {step} (the profile step)"
            )


def forecast_from_profiles(  # noqa: PLR0913 - public: the grid, then keyword-only forecast options
    grid: Any,
    *,
    start_step: int,
    steps: int | None = None,
    intervals: Sequence[Interval] | None = None,
    noise: float = 0.0,
    seed: int = 0,
    issued_at: datetime,
    label: str = "",
    threading: int = -1,
    flows: FlowQuantity = FlowQuantity.ACTIVE,
) -> OperatingForecast:
    """Forecast flows and voltages of SimBench steps ``[start_step, start_step + steps)``.

    Runs the grid's SimBench profiles (optionally with seeded relative noise on every setpoint)
    through one power-grid-model batch AC power flow.

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel` with SimBench profiles (not modified).
        start_step: first profile step (0 = 2016-01-01 00:00).
        steps: number of steps; defaults to ``len(intervals)`` (one of the two is needed).
        intervals: the MTUs the steps are placed on (contiguous 15-min MTUs, one per step),
            e.g. ``market_time_units(date(2026, 6, 1))``; ``None`` keeps the 2016 time stamps.
        noise: relative (1 σ) error applied independently to each setpoint and step; 0 is the
            profile itself. See :data:`DAY_AHEAD_NOISE` and :data:`INTRADAY_NOISE`.
        seed: seed of the noise (same seed, same forecast).
        issued_at: knowledge time of the forecast (aware).
        label: free text stored on the forecast.
        threading: power-grid-model threading (-1 sequential, 0 all cores).
        flows: what ``branch_flow_mw`` holds (:class:`FlowQuantity`).

    Raises:
        InvalidInputError: no profiles, a window outside them, intervals that do not match.
        GridError: a power flow of the window does not converge.

    Example:
        >>> from datetime import UTC, date, datetime
        >>> from flexcoord.domain import market_time_units
        >>> from flexcoord.grid.model import load_grid
        >>> mtus = market_time_units(date(2026, 6, 1))
        >>> f = forecast_from_profiles(load_grid("1-MV-rural--0-sw"), start_step=96 * 150,
        ...     intervals=mtus, noise=0.1, seed=1, issued_at=datetime(2026, 5, 31, 9, tzinfo=UTC))
        >>> f.branch_flow_mw.shape, f.intervals[0] == mtus[0]
        ((101, 96), True)
    """
    if not (np.isfinite(noise) and noise >= 0):
        raise _issue("noise", noise, "must be a finite number >= 0")
    if steps is None:
        if intervals is None:
            raise _issue("steps", None, "or intervals must be given")
        steps = len(intervals)
    net = grid.net
    profiles = Profiles.of(net)
    if start_step < 0 or steps < 1 or start_step + steps > profiles.n_steps:
        raise _issue(
            "start_step/steps", (start_step, steps), f"must lie in the {profiles.n_steps} steps"
        )
    times, step_h = profiles.times(start_step, steps)
    step = timedelta(hours=step_h)
    if intervals is None:
        intervals = tuple(
            Interval(start=t.to_pydatetime(), end=t.to_pydatetime() + step) for t in times
        )
    _check_intervals(intervals, steps, step)
    pgm = to_pgm(net, injection_buses=())
    buffers = UpdateBuffers(pgm, profiles, steps)
    update = buffers.fill(start_step, start_step + steps)
    if noise > 0:
        rng = np.random.default_rng(seed)
        if ComponentType.sym_load in update:
            load = update[ComponentType.sym_load]
            factor = 1.0 + noise * rng.standard_normal(load["p_specified"].shape)
            load["p_specified"] *= factor
            load["q_specified"] *= factor  # NaN (storage keeps its q) stays NaN
        if ComponentType.sym_gen in update:
            gen = update[ComponentType.sym_gen]
            gen["p_specified"] *= 1.0 + noise * rng.standard_normal(gen["p_specified"].shape)
            np.maximum(gen["p_specified"], 0.0, out=gen["p_specified"])  # no negative generation
    outputs = {k: v for k, v in _OUTPUTS[FlowQuantity(flows)].items() if k in pgm.input_data}
    out = pgm.model.calculate_power_flow(
        update_data=update,
        threading=threading,
        output_component_types=outputs,
        calculation_method=CalculationMethod.newton_raphson,
        continue_on_batch_error=True,
    )
    failed = pgm.model.batch_error
    if failed is not None:
        bad = [intervals[int(i)] for i in failed.failed_scenarios[:5]]
        raise GridError(f"forecast power flow did not converge for {len(bad)}+ MTUs: {bad}")
    return _assemble(grid, pgm, out, tuple(intervals), issued_at, label, FlowQuantity(flows))


def _assemble(  # noqa: PLR0913 - private: the parts of one forecast, by keyword
    grid: Any,
    pgm: PgmGrid,
    out: Any,
    intervals: tuple[Interval, ...],
    issued_at: datetime,
    label: str,
    flows: FlowQuantity,
) -> OperatingForecast:
    ptdf = grid.ptdf()
    if flows is FlowQuantity.THERMAL:
        limits = grid.branch_limits()
        limit_of = dict(zip(limits.branch_names, limits.limit_mw.tolist(), strict=True))
        limit_mw = np.array([limit_of[n] for n in pgm.branches.index], dtype=float)
        flows_by_pgm = thermal_flow_mw(pgm, out, limit_mw)
    else:
        parts = [
            select_branches(pgm, table, out[ctype]["p_from"]) * 1e-6
            for table, ctype in (("line", ComponentType.line), ("trafo", ComponentType.transformer))
            if (pgm.branches["table"] == table).any()
        ]
        flows_by_pgm = np.concatenate(parts, axis=1) if parts else np.zeros((len(intervals), 0))
    position = {name: i for i, name in enumerate(pgm.branches.index)}
    rows = np.array([position[n] for n in ptdf.branch_names], dtype=np.int64)
    node_ids = pgm.input_data[ComponentType.node]["id"]
    buses = pgm.buses.loc[ptdf.bus_ids]
    vm = out[ComponentType.node]["u_pu"][:, np.searchsorted(node_ids, buses["node_id"])]
    return OperatingForecast(
        intervals=intervals,
        branch_names=ptdf.branch_names,
        branch_flow_mw=np.ascontiguousarray(flows_by_pgm[:, rows].T),
        bus_ids=np.asarray(ptdf.bus_ids, dtype=np.int64),
        vm_pu=np.ascontiguousarray(np.asarray(vm, dtype=float).T),
        issued_at=issued_at,
        label=label,
    )


def forecast_from_snapshot(
    grid: Any,
    *,
    intervals: Sequence[Interval],
    issued_at: datetime,
    label: str = "snapshot",
    flows: FlowQuantity = FlowQuantity.ACTIVE,
) -> OperatingForecast:
    """The network's own operating point (one AC power flow) repeated over ``intervals``.

    ``flows`` says what ``branch_flow_mw`` holds (:class:`FlowQuantity`).

    Example:
        >>> from datetime import UTC, date, datetime
        >>> from flexcoord.domain import market_time_units
        >>> from flexcoord.grid.model import load_grid
        >>> f = forecast_from_snapshot(load_grid("1-MV-rural--0-sw"),
        ...     intervals=market_time_units(date(2026, 6, 1))[:4],
        ...     issued_at=datetime(2026, 5, 31, tzinfo=UTC))
        >>> f.vm_pu.shape
        (97, 4)
    """
    if not intervals:
        raise _issue("intervals", (), "must hold at least one MTU")
    flows_mw, vm = _snapshot(grid, FlowQuantity(flows), intervals[0], issued_at)
    n_t = len(intervals)
    return OperatingForecast(
        intervals=tuple(intervals),
        branch_names=grid.ptdf().branch_names,
        branch_flow_mw=np.repeat(flows_mw[:, None], n_t, axis=1),
        bus_ids=np.asarray(grid.ptdf().bus_ids, dtype=np.int64),
        vm_pu=np.repeat(vm[:, None], n_t, axis=1),
        issued_at=issued_at,
        label=label,
    )


def _snapshot(
    grid: Any, flows: FlowQuantity, mtu: Interval, issued_at: datetime
) -> tuple[FloatArray, FloatArray]:
    """Branch flows (PTDF row order) and bus voltages (PTDF column order) of the network's own
    operating point."""
    ptdf = grid.ptdf()
    pgm = to_pgm(grid.net, injection_buses=())
    if flows is FlowQuantity.THERMAL:
        outputs = {k: v for k, v in _OUTPUTS[flows].items() if k in pgm.input_data}
        try:
            out = pgm.model.calculate_power_flow(
                output_component_types=outputs, calculation_method=CalculationMethod.newton_raphson
            )
        except PowerGridError as exc:
            raise GridError(f"snapshot power flow did not converge: {exc}") from exc
        batch = {k: {a: np.atleast_2d(v) for a, v in cols.items()} for k, cols in out.items()}
        one = _assemble(grid, pgm, batch, (mtu,), issued_at, "", flows)
        return one.branch_flow_mw[:, 0], one.vm_pu[:, 0]
    result = run_ac(pgm)
    p_from = result.p_from_mw.reindex(list(ptdf.branch_names)).to_numpy(dtype=float)
    return p_from, result.vm_pu.reindex(ptdf.bus_ids).to_numpy(dtype=float)


def profile_operating_points(grid: Any, *, start_step: int, steps: int) -> Injections:
    """The SimBench setpoints of steps ``[start_step, start_step + steps)`` as :class:`Injections`.

    One scenario per step (labels ``0 … steps-1``): every load's ``p_mw`` and ``q_mvar``, every
    sgen's and storage's ``p_mw`` (relative profile × the element's value, in the signs of the
    pandapower tables and before ``scaling``, as :class:`Injections` takes them). A power flow
    of scenario ``k`` is the power flow of profile step ``start_step + k`` that
    :func:`forecast_from_profiles` (without noise) runs.

    Raises:
        InvalidInputError: no profiles, or a window outside them.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> points = profile_operating_points(load_grid("1-MV-rural--0-sw"), start_step=0, steps=4)
        >>> points.n_scenarios, points.load_p_mw.shape
        (4, (4, 96))
    """
    net = grid.net
    profiles = Profiles.of(net)
    if start_step < 0 or steps < 1 or start_step + steps > profiles.n_steps:
        raise _issue(
            "start_step/steps", (start_step, steps), f"must lie in the {profiles.n_steps} steps"
        )
    t0, t1 = start_step, start_step + steps
    labels = pd.RangeIndex(steps)

    def frame(series: ProfileSeries, table: str, column: str) -> pd.DataFrame:
        values = pd.to_numeric(net[table][column], errors="coerce").fillna(0.0).to_numpy(float)
        relative = series.relative[t0:t1][:, series.position]
        return pd.DataFrame(relative * values, index=labels, columns=net[table].index)

    frames = {
        name: frame(series, table, column)
        for name, series, table, column in (
            ("load_p_mw", profiles.load_p, "load", "p_mw"),
            ("load_q_mvar", profiles.load_q, "load", "q_mvar"),
            ("sgen_p_mw", profiles.sgen_p, "sgen", "p_mw"),
            ("storage_p_mw", profiles.storage_p, "storage", "p_mw"),
        )
        if len(net[table])
    }
    return Injections(**frames)


#: The technology key of every load in :class:`ElementInjections` (SimBench's loads are
#: households, commercial and industrial demand, not told apart).
LOAD_KEY = "load"


@dataclass(frozen=True, slots=True, kw_only=True)
class ElementInjections:
    """The SimBench profile injections of a window, per element (one column each).

    Attributes:
        element_ids: ``"sgen:<i>"`` / ``"load:<i>"`` / ``"storage:<i>"``, as the portfolio names
            the units of these elements.
        technology: per element, :func:`~flexcoord.grid.portfolio.sgen_technology` of an sgen's
            type (``"pv"``, ``"wind"``, ...), :data:`LOAD_KEY` for a load, ``"bess"`` for storage.
        bus_column: per element, its bus's column in ``grid.ptdf().bus_ids``.
        p_mw: ``(steps, n_element)``, **positive into the grid** (generation positive, load and
            storage charging negative), ``scaling`` and ``in_service`` applied.
        n_bus: columns of :meth:`per_bus`.
    """

    element_ids: tuple[str, ...]
    technology: tuple[str, ...]
    bus_column: IntArray
    p_mw: FloatArray
    n_bus: int

    def per_bus(self, p_mw: FloatArray | None = None) -> FloatArray:
        """``p_mw`` (default: the profile's), ``(steps, n_element)``, summed per bus:
        ``(steps, n_bus)``."""
        values = self.p_mw if p_mw is None else np.asarray(p_mw, dtype=float)
        out = np.zeros((values.shape[0], self.n_bus))
        np.add.at(out.T, self.bus_column, values.T)
        return out


def element_injections(grid: Any, *, start_step: int, steps: int) -> ElementInjections:
    """The profile injections of steps ``[start_step, start_step + steps)`` per sgen, load and
    storage element (:class:`ElementInjections`): what a study perturbs per technology to make
    its forecasts.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> e = element_injections(load_grid("1-MV-rural--0-sw"), start_step=0, steps=4)
        >>> e.p_mw.shape, e.element_ids[0], sorted(set(e.technology))[:3]
        ((4, 198), 'sgen:0', ['biomass', 'generic_generator', 'hydro'])
    """
    from flexcoord.grid.portfolio import sgen_technology  # noqa: PLC0415 - portfolio imports us

    net = grid.net
    points = profile_operating_points(grid, start_step=start_step, steps=steps)
    column = {int(b): i for i, b in enumerate(grid.ptdf().bus_ids)}
    ids: list[str] = []
    techs: list[str] = []
    cols: list[int] = []
    parts: list[FloatArray] = []
    for table, frame, sign in (
        ("sgen", points.sgen_p_mw, 1.0),
        ("load", points.load_p_mw, -1.0),
        ("storage", points.storage_p_mw, -1.0),
    ):
        if frame is None or not len(net[table]):
            continue
        elements = net[table].loc[frame.columns]
        factor = sign * elements["scaling"].fillna(1.0).to_numpy(float)
        factor = factor * elements["in_service"].fillna(True).to_numpy(bool)
        ids += [f"{table}:{int(i)}" for i in elements.index]
        if table == "sgen":
            techs += [str(sgen_technology(t)) for t in elements["type"]]
        else:
            techs += [LOAD_KEY if table == "load" else "bess"] * len(elements)
        cols += [column[int(b)] for b in elements["bus"]]
        parts.append(frame.to_numpy(float) * factor)
    return ElementInjections(
        element_ids=tuple(ids),
        technology=tuple(techs),
        bus_column=np.array(cols, dtype=np.int64),
        p_mw=np.concatenate(parts, axis=1) if parts else np.zeros((steps, 0)),
        n_bus=len(column),
    )


def forecast_with_changes(  # noqa: PLR0913 - public: the grid, then keyword-only forecast parts
    grid: Any,
    *,
    start_step: int,
    intervals: Sequence[Interval],
    p_mw: FloatArray,
    q_mvar: FloatArray | None = None,
    issued_at: datetime,
    label: str = "",
) -> OperatingForecast:
    """The AC operating point of SimBench steps ``[start_step, start_step + len(intervals))``
    with ``p_mw`` / ``q_mvar`` (``(n_mtu, n_bus)``, ``grid.ptdf().bus_ids`` order, positive into
    the grid) added at the buses: a forecast whose error is known per bus (the study
    simulator's day-ahead and intraday forecasts), or the realised grid with a delivered
    dispatch. Flows are thermal-equivalent (:class:`FlowQuantity.THERMAL`), as the markets'.

    Raises:
        GridError: the power flow of an MTU does not converge.
    """
    from flexcoord.grid.ac_batch import BusInjectionBatch  # noqa: PLC0415 - heavy, used here only

    ptdf = grid.ptdf()
    n = len(intervals)
    p = np.asarray(p_mw, dtype=float)
    if p.shape != (n, len(ptdf.bus_ids)):
        raise _issue("p_mw", p.shape, f"must be (n_mtu, n_bus) = ({n}, {len(ptdf.bus_ids)})")
    q = np.zeros_like(p) if q_mvar is None else np.asarray(q_mvar, dtype=float)
    batch = BusInjectionBatch(
        grid,
        mtu_columns=np.arange(n, dtype=np.int64),
        bus_ids=ptdf.bus_ids,
        branch_names=ptdf.branch_names,
        voltage_bus_ids=ptdf.bus_ids,
        profile_start_step=start_step,
    )
    flow, vm = batch.run(p, q)
    return OperatingForecast(
        intervals=tuple(intervals),
        branch_names=ptdf.branch_names,
        branch_flow_mw=flow,
        bus_ids=np.asarray(ptdf.bus_ids, dtype=np.int64),
        vm_pu=vm,
        issued_at=issued_at,
        label=label,
    )
