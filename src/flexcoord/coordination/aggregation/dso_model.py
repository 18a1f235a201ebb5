"""A linearised model of one DSO area at an operating point, seen from its coupling point(s).

Sign conventions (written once, used everywhere in :mod:`flexcoord.coordination.aggregation`):

* **Injections** at area buses are positive into the grid (generation up or consumption down), as
  in pandapower and :mod:`flexcoord.grid.pgm`; a unit's setpoint follows the same sign.
* **Interface flow** ``P_if`` / ``Q_if`` is the sum over the area's coupling points of the power
  flowing **from the TSO into the DSO area** (transformer HV side, or the ``ext_grid``'s injection
  of an MV-only grid). An area that exports has ``P_if < 0``. One MW of extra injection in the area
  lowers ``P_if`` by about one MW (exactly ``-1`` without losses).
* **Branch flows** are taken at the *from* side (``line.from_bus``, ``trafo.hv_bus``).

How the sensitivities are obtained (an improvement over the DC PTDF + Jacobian mix of the design):
every sensitivity comes from **one power-grid-model batch** of ``2·n_bus + 1`` AC power flows —
the operating point, then a small active (``perturbation_mw``) and a small reactive
(``perturbation_mw`` Mvar) injection at each area bus in turn. Forward differences give, at once
and consistently with the AC check that later verifies the result: active *and* reactive branch
flows per MW and per Mvar (needed for the apparent-power limits; the DC PTDF has no reactive
part), voltage magnitudes per MW and Mvar, and the interface flows per MW and Mvar *with losses*
(``dP_if/dP`` is about ``-1.0x``, not exactly ``-1``). On the radial MV areas of SimBench the
active-flow part agrees with the DC PTDF within the losses (tested).

Limits:

* thermal: ``(P_b + ΔP_b)² + (Q_b + ΔQ_b)² ≤ ((1 - safety_margin) · S_max,b)²``, replaced by
  ``n_cuts`` tangent lines (a regular polygon circumscribing the circle: optimistic by at most
  ``1/cos(π/n_cuts) - 1``, 1.9 % with 16 cuts — keep ``safety_margin`` above it if the region
  must be inner). ``S_max,b`` is the branch's MW limit from
  :func:`flexcoord.grid.sensitivities.branch_limits` (at nominal voltage, with the grid's
  ``max_loading_percent``) times the from-bus voltage at the operating point, since the AC check is
  on current;
* voltage: ``vm_min + voltage_margin_pu ≤ vm ≤ vm_max - voltage_margin_pu`` with the grid's own
  band (:func:`flexcoord.grid.violations.resolve_limits`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.domain import Register
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.grid.areas import DsoArea
from flexcoord.grid.pgm import AcBatchResult, Injections, PgmGrid, run_ac_batch, with_setpoints
from flexcoord.grid.violations import Limits, resolve_limits

__all__ = [
    "AcCheck",
    "AreaFlows",
    "DsoLinearModel",
    "LinearRows",
    "UnitBoxes",
    "ac_check",
    "area_flows",
    "build_dso_model",
    "flexible_units",
    "interface_flows",
    "with_bus_injections",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearRows:
    """Linear limits on decision columns ``x``: ``a @ x ≤ upper``, one named row each."""

    a: FloatArray
    upper: FloatArray
    names: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.names)

    def plus(self, other: LinearRows) -> LinearRows:
        """These rows, then ``other``'s (over the same columns)."""
        if not other.n_rows:
            return self
        return LinearRows(
            a=np.vstack([self.a, other.a]),
            upper=np.concatenate([self.upper, other.upper]),
            names=self.names + other.names,
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DsoLinearModel:
    """One DSO area linearised at an operating point (module docstring: signs, method, limits).

    Attributes:
        area_id: The DSO area.
        coupling_point_ids: Its coupling points (``"trafo:3"`` / ``"ext_grid:0"``).
        bus_ids: The area's pandapower buses (column order of every ``*_per_mw`` matrix).
        branch_names: The area's branches, its coupling transformers included.
        p_from_mw: Active branch flow at the operating point.
        q_from_mvar: Reactive branch flow at the operating point.
        s_max_mva: Apparent-power limit per branch before the margin.
        dp_from_dp: ``(n_branch, n_bus)`` MW of branch flow per MW injected.
        dp_from_dq: MW of branch flow per Mvar injected.
        dq_from_dp: Mvar of branch flow per MW injected.
        dq_from_dq: Mvar of branch flow per Mvar injected.
        vm_pu: Bus voltages at the operating point.
        vm_min_pu: Lower voltage limit per bus (before the margin).
        vm_max_pu: Upper voltage limit per bus (before the margin).
        dvm_dp_pu_per_mw: ``(n_bus, n_bus)`` voltage change per MW injected.
        dvm_dq_pu_per_mvar: Voltage change per Mvar injected.
        interface_p_mw: ``P_if`` at the operating point (TSO → DSO positive).
        interface_q_mvar: ``Q_if`` at the operating point.
        interface_dp_dp: ``(n_bus,)`` change of ``P_if`` per MW injected (about -1).
        interface_dp_dq: Change of ``P_if`` per Mvar injected.
        interface_dq_dp: Change of ``Q_if`` per MW injected.
        interface_dq_dq: Change of ``Q_if`` per Mvar injected (about -1).
        safety_margin: Fraction of ``s_max_mva`` kept free (0 ≤ margin < 1).
        voltage_margin_pu: Kept free inside the voltage band.
        n_cuts: Tangent lines per branch circle.
        pgm: The converted grid, for AC verification (``None`` for a hand-built model).
        operating_point: Injections that define the operating point on top of the grid's base
            case (``None``: the base case).
    """

    area_id: str
    coupling_point_ids: tuple[str, ...]
    bus_ids: IntArray
    branch_names: tuple[str, ...]
    p_from_mw: FloatArray
    q_from_mvar: FloatArray
    s_max_mva: FloatArray
    dp_from_dp: FloatArray
    dp_from_dq: FloatArray
    dq_from_dp: FloatArray
    dq_from_dq: FloatArray
    vm_pu: FloatArray
    vm_min_pu: FloatArray
    vm_max_pu: FloatArray
    dvm_dp_pu_per_mw: FloatArray
    dvm_dq_pu_per_mvar: FloatArray
    interface_p_mw: float
    interface_q_mvar: float
    interface_dp_dp: FloatArray
    interface_dp_dq: FloatArray
    interface_dq_dp: FloatArray
    interface_dq_dq: FloatArray
    safety_margin: float = 0.0
    voltage_margin_pu: float = 0.0
    n_cuts: int = 16
    pgm: PgmGrid | None = field(default=None, repr=False)
    operating_point: Injections | None = field(default=None, repr=False)
    _bus_index: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bus_index", {int(b): i for i, b in enumerate(self.bus_ids)})
        issues = []
        if not (0.0 <= self.safety_margin < 1.0):
            issues.append(("safety_margin", self.safety_margin, "must be in [0, 1)"))
        if not (math.isfinite(self.voltage_margin_pu) and self.voltage_margin_pu >= 0):
            issues.append(("voltage_margin_pu", self.voltage_margin_pu, "must be >= 0"))
        if self.n_cuts < 4:
            issues.append(("n_cuts", self.n_cuts, "must be >= 4"))
        if issues:
            raise InvalidInputError(
                Issue(kind="DsoLinearModel", object_id=self.area_id, field=f, value=v, message=m)
                for f, v, m in issues
            )

    @property
    def n_bus(self) -> int:
        """Number of area buses."""
        return len(self.bus_ids)

    def with_margin(
        self, *, safety_margin: float | None = None, voltage_margin_pu: float | None = None
    ) -> DsoLinearModel:
        """The same model with other margins (a new object; this one is unchanged)."""
        return dataclasses.replace(
            self,
            safety_margin=self.safety_margin if safety_margin is None else safety_margin,
            voltage_margin_pu=(
                self.voltage_margin_pu if voltage_margin_pu is None else voltage_margin_pu
            ),
        )

    def with_branch_flows(self, p_from_mw: FloatArray) -> DsoLinearModel:
        """The same model at other active branch flows (a new object; this one is unchanged):
        the area's state in another MTU. Nothing the constructor checks changes, so the copy
        keeps this model's bus index instead of rebuilding it (one copy per area and MTU)."""
        if np.shape(p_from_mw) != self.p_from_mw.shape:
            raise InvalidInputError(
                [
                    Issue(
                        kind="DsoLinearModel",
                        object_id=self.area_id,
                        field="p_from_mw",
                        value=np.shape(p_from_mw),
                        message=f"must have one flow per branch, shape {self.p_from_mw.shape}",
                    )
                ]
            )
        out = object.__new__(DsoLinearModel)
        for name in DsoLinearModel.__slots__:
            object.__setattr__(out, name, getattr(self, name))
        object.__setattr__(out, "p_from_mw", np.asarray(p_from_mw, dtype=np.float64))
        return out

    def thermal_only(self) -> DsoLinearModel:
        """The same model with its voltage band opened to [0.01, 10] pu (a new object): only
        thermal limits bind, in the linear check and in :func:`ac_check` (SimBench HV/MV starts
        above its MV band, ``docs/decisions/005-coordination-schemes.md``)."""
        return dataclasses.replace(
            self,
            vm_min_pu=np.full_like(self.vm_min_pu, 0.01),
            vm_max_pu=np.full_like(self.vm_max_pu, 10.0),
        )

    def without_branches(self, names: Sequence[str]) -> DsoLinearModel:
        """The same model without the named branches' limits (a new object): in a cascade a
        coupling transformer's limit belongs to the area below it (its model holds it), not to
        the area whose bus feeds it. Names not in the model are ignored."""
        drop = set(names)
        keep = np.array([b not in drop for b in self.branch_names], dtype=bool)
        return dataclasses.replace(
            self,
            branch_names=tuple(b for b in self.branch_names if b not in drop),
            p_from_mw=self.p_from_mw[keep],
            q_from_mvar=self.q_from_mvar[keep],
            s_max_mva=self.s_max_mva[keep],
            dp_from_dp=self.dp_from_dp[keep],
            dp_from_dq=self.dp_from_dq[keep],
            dq_from_dp=self.dq_from_dp[keep],
            dq_from_dq=self.dq_from_dq[keep],
        )

    @property
    def bus_index(self) -> Mapping[int, int]:
        """Position of each area bus among :attr:`bus_ids` (read only)."""
        return MappingProxyType(self._bus_index)

    def bus_positions(self, buses: Sequence[int] | IntArray) -> IntArray:
        """Positions of pandapower buses among :attr:`bus_ids`; others raise NotFoundError."""
        index = self._bus_index
        missing = [int(b) for b in buses if int(b) not in index]
        if missing:
            raise NotFoundError(f"buses {missing[:10]} are not in DSO area {self.area_id!r}")
        return np.fromiter((index[int(b)] for b in buses), dtype=np.int64, count=len(buses))

    def incidence(self, bus_ids: Sequence[int] | IntArray) -> FloatArray:
        """``(n_bus, n)`` matrix with a 1 at (position of ``bus_ids[j]``, ``j``)."""
        out = np.zeros((self.n_bus, len(bus_ids)))
        out[self.bus_positions(bus_ids), np.arange(len(bus_ids))] = 1.0
        return out

    def interface_rows(self, ep: FloatArray, eq: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(g_p, g_q)``: change of ``P_if`` and ``Q_if`` per unit of each decision column.

        Args:
            ep: ``(n_bus, n_col)`` MW injected at each area bus per unit of each column.
            eq: ``(n_bus, n_col)`` Mvar injected per unit of each column.
        """
        g_p = self.interface_dp_dp @ ep + self.interface_dp_dq @ eq
        g_q = self.interface_dq_dp @ ep + self.interface_dq_dq @ eq
        return np.asarray(g_p, dtype=np.float64), np.asarray(g_q, dtype=np.float64)

    def limit_rows(
        self,
        ep: FloatArray,
        eq: FloatArray,
        *,
        col_lower: FloatArray | None = None,
        col_upper: FloatArray | None = None,
    ) -> LinearRows:
        """The area's thermal and voltage limits as ``a @ x ≤ upper`` over decision columns.

        With column bounds given, rows that cannot bind anywhere in the box are dropped (the
        "systematic reduction of critical network elements" Industry4Redispatch asks for,
        L2161): the result is the same, the LP smaller.

        Args:
            ep: ``(n_bus, n_col)`` MW injected at each area bus per unit of each column.
            eq: ``(n_bus, n_col)`` Mvar injected per unit of each column.
            col_lower: Lowest value of each column (for screening).
            col_upper: Highest value of each column (for screening).
        """
        # only the buses the columns inject at matter (the products with the other, zero,
        # entries add nothing), and with a box, only the branches that can come near a limit
        at = np.flatnonzero(np.any(ep != 0.0, axis=1) | np.any(eq != 0.0, axis=1))
        ep, eq = ep[at], eq[at]
        gp = self.dp_from_dp[:, at] @ ep + self.dp_from_dq[:, at] @ eq
        gq = self.dq_from_dp[:, at] @ ep + self.dq_from_dq[:, at] @ eq
        gv = self.dvm_dp_pu_per_mw[:, at] @ ep + self.dvm_dq_pu_per_mvar[:, at] @ eq
        n_br = len(self.branch_names)
        radius = (1.0 - self.safety_margin) * self.s_max_mva
        branches = np.arange(n_br)
        if col_lower is not None and col_upper is not None:
            largest = np.maximum(-col_lower, col_upper)
            if np.all(np.isfinite(largest)):
                branches = self._near_limit(gp, gq, radius, largest)
        phi = 2.0 * np.pi * np.arange(self.n_cuts) / self.n_cuts
        c, s = np.cos(phi), np.sin(phi)
        gp, gq = gp[branches], gq[branches]
        a_th = (c[:, None, None] * gp[None] + s[:, None, None] * gq[None]).reshape(
            self.n_cuts * len(branches), ep.shape[1]
        )
        p_mw, q_mvar = self.p_from_mw[branches], self.q_from_mvar[branches]
        up_th = radius[branches][None, :] - c[:, None] * p_mw[None, :] - s[:, None] * q_mvar
        up_v = self.vm_max_pu - self.voltage_margin_pu - self.vm_pu
        lo_v = self.vm_pu - (self.vm_min_pu + self.voltage_margin_pu)
        a = np.vstack([a_th, gv, -gv])
        upper = np.concatenate([up_th.reshape(-1), up_v, lo_v])
        # the row of each of a's rows in the full stack (cuts × branches, then the voltages)
        full = np.concatenate(
            [
                (np.arange(self.n_cuts)[:, None] * n_br + branches[None, :]).reshape(-1),
                self.n_cuts * n_br + np.arange(2 * self.n_bus),
            ]
        )
        if col_lower is not None and col_upper is not None:
            # the largest a @ x over the box: each column at its upper bound where its
            # coefficient is positive, at its lower bound where negative (lower <= upper)
            reach = np.maximum(a, 0.0) @ col_upper + np.minimum(a, 0.0) @ col_lower
            keep = np.flatnonzero(reach > upper - 1e-9)
            a, upper, full = a[keep], upper[keep], full[keep]
        # only the kept rows are named (the screening keeps few of them)
        return LinearRows(
            a=np.ascontiguousarray(a), upper=upper, names=self._row_names(full.tolist())
        )

    def _near_limit(
        self, gp: FloatArray, gq: FloatArray, radius: FloatArray, largest: FloatArray
    ) -> IntArray:
        """Branches whose cuts the screening of :meth:`limit_rows` may keep. Every cut ``k`` of
        branch ``b`` has coefficients ``|cos·gp + sin·gq| ≤ hypot(gp, gq)`` and a limit of at
        least ``radius - hypot(P, Q)``; a branch whose bound on the reach stays clearly below
        that (by more than round-off) has no cut kept, so it is left out before the cuts are
        built. ``largest``: the largest ``|x|`` of each column over its box."""
        bound = np.hypot(gp, gq) @ largest
        floor = radius - np.hypot(self.p_from_mw, self.q_from_mvar)
        slack = 1e-9 + 1e-9 * (np.abs(bound) + np.abs(radius) + np.abs(floor))
        return np.flatnonzero(bound > floor - 1e-9 - slack)

    def _row_names(self, rows: list[int]) -> tuple[str, ...]:
        """Names of rows of :meth:`limit_rows`' full stack (cuts × branches, then the upper and
        the lower voltage row of each bus)."""
        n_th = self.n_cuts * len(self.branch_names)
        n_bus = len(self.bus_ids)
        out = []
        for r in rows:
            if r < n_th:
                k, b = divmod(r, len(self.branch_names))
                out.append(f"branch-flow[{self.branch_names[b]},cut{k}]")
            elif r < n_th + n_bus:
                out.append(f"voltage-upper[bus:{self.bus_ids[r - n_th]}]")
            else:
                out.append(f"voltage-lower[bus:{self.bus_ids[r - n_th - n_bus]}]")
        return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitBoxes:
    """Flexible units of an area as boxes around their current setpoints (injection signs).

    ``dp_*`` / ``dq_*`` bound the *change* from the current setpoint and always contain 0: a
    setpoint outside the registered range (a forecast above rating, a load's reactive power when
    the register gives it no reactive range) is kept as it is, not forced back.

    Attributes:
        unit_ids: Unit ids.
        bus_ids: pandapower bus per unit.
        p_mw: Current active setpoint.
        q_mvar: Current reactive setpoint.
        dp_min_mw: Lowest change of active power.
        dp_max_mw: Highest change of active power.
        dq_min_mvar: Lowest change of reactive power.
        dq_max_mvar: Highest change of reactive power.
    """

    unit_ids: tuple[str, ...]
    bus_ids: IntArray
    p_mw: FloatArray
    q_mvar: FloatArray
    dp_min_mw: FloatArray
    dp_max_mw: FloatArray
    dq_min_mvar: FloatArray
    dq_max_mvar: FloatArray

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.unit_ids)

    def scaled(self, factor: float) -> UnitBoxes:
        """The same units with every range multiplied by ``factor`` (for stress studies)."""
        return dataclasses.replace(
            self,
            dp_min_mw=self.dp_min_mw * factor,
            dp_max_mw=self.dp_max_mw * factor,
            dq_min_mvar=self.dq_min_mvar * factor,
            dq_max_mvar=self.dq_max_mvar * factor,
        )


_SETPOINT_TABLES = {"sgen": 1.0, "gen": 1.0, "load": -1.0, "storage": -1.0}


def flexible_units(
    grid: Any,
    register: Register,
    area_id: str,
    *,
    setpoints_mw: Mapping[str, float] | None = None,
) -> UnitBoxes:
    """The register's units in ``area_id`` as :class:`UnitBoxes`.

    Current setpoints: for units built by :func:`flexcoord.grid.portfolio.build_portfolio` from
    the grid's own elements (``"sgen:3"``, ``"load:7"``, ``"storage:0"``, ``"gen:1"``) the
    element's ``p_mw`` / ``q_mvar`` times ``scaling`` in injection sign; 0 for added units (EV
    chargers, heat pumps, batteries idle); ``setpoints_mw`` overrides active setpoints by unit id.

    Args:
        grid: A :class:`~flexcoord.grid.model.GridModel`.
        register: The register holding the units.
        area_id: The DSO area.
        setpoints_mw: Active setpoints by unit id (injection sign), overriding the grid's.
    """
    net = grid.net
    overrides = dict(setpoints_mw or {})
    ids: list[str] = []
    rows: list[tuple[int, float, float, float, float, float, float]] = []
    for unit in register.units:
        cp = register.connection_point(unit.connection_point_id)
        if cp.area_id != area_id:
            continue
        p0 = q0 = 0.0
        table, _, index = unit.id.partition(":")
        if table in _SETPOINT_TABLES and index.isdigit() and int(index) in net[table].index:
            element = net[table].loc[int(index)]
            scaling = float(element.get("scaling", 1.0))
            p0 = _SETPOINT_TABLES[table] * float(element.p_mw) * scaling
            q0 = _SETPOINT_TABLES[table] * float(element.get("q_mvar", 0.0)) * scaling
        p0 = float(overrides.get(unit.id, p0))
        ids.append(unit.id)
        rows.append(
            (cp.bus, p0, q0, unit.p_min_mw, unit.p_max_mw, unit.q_min_mvar, unit.q_max_mvar)
        )
    if not ids:
        raise NotFoundError(f"no unit of the register is in DSO area {area_id!r}")
    arr = np.array([r[1:] for r in rows], dtype=np.float64)
    p0, q0, p_lo, p_hi, q_lo, q_hi = arr.T
    return UnitBoxes(
        unit_ids=tuple(ids),
        bus_ids=np.array([r[0] for r in rows], dtype=np.int64),
        p_mw=p0,
        q_mvar=q0,
        dp_min_mw=np.minimum(p_lo - p0, 0.0),
        dp_max_mw=np.maximum(p_hi - p0, 0.0),
        dq_min_mvar=np.minimum(q_lo - q0, 0.0),
        dq_max_mvar=np.maximum(q_hi - q0, 0.0),
    )


def with_bus_injections(
    base: Injections | None, bus_p_mw: pd.DataFrame, bus_q_mvar: pd.DataFrame
) -> Injections:
    """Scenarios = ``base`` (one scenario, broadcast) plus added bus injections per row.

    The frames share one row index (the scenario labels); the added injections are summed with
    any ``bus_*`` frame of ``base`` (:meth:`Injections.plus_bus`).
    """
    labels = bus_p_mw.index
    frames: dict[str, pd.DataFrame] = {}
    for name, frame in (base.frames() if base is not None else {}).items():
        if len(frame) != 1:
            raise InvalidInputError(
                [
                    Issue(
                        kind="Injections",
                        object_id=name,
                        field="n_scenarios",
                        value=len(frame),
                        message="the operating point must be a single scenario",
                    )
                ]
            )
        if name.startswith("bus_"):  # summed, broadcast, by plus_bus
            frames[name] = frame
            continue
        frames[name] = pd.DataFrame(
            np.repeat(frame.to_numpy(dtype=float), len(labels), axis=0),
            index=labels,
            columns=frame.columns,
        )
    return Injections(**frames).plus_bus(bus_p_mw, bus_q_mvar)


def interface_flows(
    result: AcBatchResult, coupling_point_ids: Sequence[str]
) -> tuple[FloatArray, FloatArray]:
    """``(P_if, Q_if)`` per scenario of an AC batch: sum over coupling points, TSO → DSO > 0."""
    n = len(result.vm_pu)
    p, q = np.zeros(n), np.zeros(n)
    for cp in coupling_point_ids:
        table, _, index = cp.partition(":")
        if table == "ext_grid":
            p += result.ext_grid_p_mw[int(index)].to_numpy(dtype=float)
            q += result.ext_grid_q_mvar[int(index)].to_numpy(dtype=float)
        else:
            p += result.p_from_mw[cp].to_numpy(dtype=float)
            q += result.q_from_mvar[cp].to_numpy(dtype=float)
    return p, q


@dataclass(frozen=True, slots=True, kw_only=True)
class AcCheck:
    """AC power flows of dispatch scenarios of one DSO area, checked against its own limits.

    Attributes:
        p_mw: AC interface active flow per scenario (TSO → DSO positive).
        q_mvar: AC interface reactive flow per scenario.
        loading_ratio: Largest branch loading / its limit inside the area (1.0 = at the limit).
        vm_excess_pu: Largest voltage excursion beyond the band inside the area (≤ 0: none).
        feasible: ``loading_ratio ≤ 1 + tol`` and ``vm_excess_pu ≤ tol_pu`` per scenario.
    """

    p_mw: FloatArray
    q_mvar: FloatArray
    loading_ratio: FloatArray
    vm_excess_pu: FloatArray
    feasible: NDArray[np.bool_]


def ac_check(  # noqa: PLR0913 - public: model, injections, three keyword tolerances / options
    model: DsoLinearModel,
    bus_dp_mw: FloatArray,
    bus_dq_mvar: FloatArray,
    *,
    loading_tol: float = 0.0,
    vm_tol_pu: float = 0.0,
    threading: int | None = None,
    chunk: int | None = None,
) -> AcCheck:
    """PGM batches: the operating point plus each row's injections at the area buses.

    The limits are the model's own without its margins: each branch's loading limit and the
    model's voltage band (``vm_min_pu`` / ``vm_max_pu``, the grid's own unless changed, e.g. by
    :meth:`DsoLinearModel.thermal_only`). The operating point's setpoints are applied once
    (:func:`~flexcoord.grid.pgm.with_setpoints`), so each scenario carries only the area's bus
    injections; the rows run in chunks that keep the batch output near 64 MB whatever the grid.

    Args:
        model: A model built by :func:`build_dso_model` (it carries the converted grid).
        bus_dp_mw: ``(n_scenarios, n_bus)`` added active injections, columns as ``bus_ids``.
        bus_dq_mvar: Added reactive injections, same shape.
        loading_tol: Loading above the limit still counted feasible (fraction of the limit).
        vm_tol_pu: Voltage beyond the band still counted feasible.
        threading: PGM threading (0: all cores; ``None``: ``FLEXCOORD_PGM_THREADING``, else 0,
            see :func:`~flexcoord.grid.pgm.pgm_threading`).
        chunk: Scenarios per PGM batch (``None``: from the grid's size).

    Raises:
        InvalidInputError: a hand-built model without a grid.
        GridError: a power flow does not converge.
    """
    if model.pgm is None:
        raise InvalidInputError(
            [
                Issue(
                    kind="DsoLinearModel",
                    object_id=model.area_id,
                    field="pgm",
                    value=None,
                    message="is needed for an AC check; build the model with build_dso_model",
                )
            ]
        )
    dp = np.atleast_2d(np.asarray(bus_dp_mw, dtype=float))
    dq = np.atleast_2d(np.asarray(bus_dq_mvar, dtype=float))
    pgm, added = _split_point(model.pgm, model.operating_point)
    _, _, lmax = resolve_limits(model.pgm, Limits())
    bpos = model.pgm.buses.index.get_indexer(pd.Index(model.bus_ids))
    rpos = model.pgm.branches.index.get_indexer(pd.Index(list(model.branch_names)))
    size = chunk or _chunk_size(model.pgm)
    parts: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]] = []
    for start in range(0, len(dp), size):
        labels = pd.RangeIndex(start, min(start + size, len(dp)))
        scenarios = with_bus_injections(
            added,
            pd.DataFrame(dp[labels], index=labels, columns=model.bus_ids),
            pd.DataFrame(dq[labels], index=labels, columns=model.bus_ids),
        )
        res = run_ac_batch(pgm, scenarios, threading=threading)
        p_if, q_if = interface_flows(res, model.coupling_point_ids)
        loading = res.loading_percent.to_numpy(dtype=float)[:, rpos] / lmax[rpos][None, :]
        vm = res.vm_pu.to_numpy(dtype=float)[:, bpos]
        excess = np.maximum(vm - model.vm_max_pu[None, :], model.vm_min_pu[None, :] - vm)
        ratio = loading.max(axis=1) if loading.size else np.zeros(len(labels))
        parts.append((p_if, q_if, ratio, excess.max(axis=1)))
    p_if, q_if, ratio, vex = (np.concatenate(column) for column in zip(*parts, strict=True))
    return AcCheck(
        p_mw=p_if,
        q_mvar=q_if,
        loading_ratio=ratio,
        vm_excess_pu=vex,
        feasible=(ratio <= 1.0 + loading_tol) & (vex <= vm_tol_pu),
    )


def _chunk_size(pgm: PgmGrid) -> int:
    """Scenarios per batch keeping its output (about 10 floats per bus and branch) near 64 MB."""
    per_scenario = 80.0 * (len(pgm.buses) + len(pgm.branches))
    return max(64, int(64e6 / per_scenario))


def _split_point(
    pgm: PgmGrid, operating_point: Injections | None
) -> tuple[PgmGrid, Injections | None]:
    """``(pgm`` with the point's setpoints applied once, the point's bus injections``)``: the
    bus injections are added to every scenario's own (:func:`with_bus_injections`)."""
    if operating_point is None:
        return pgm, None
    frames = operating_point.frames()
    setpoints = {n: f for n, f in frames.items() if not n.startswith("bus_")}
    added = {n: f for n, f in frames.items() if n.startswith("bus_")}
    grid = with_setpoints(pgm, Injections(**setpoints)) if setpoints else pgm
    return grid, Injections(**added) if added else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaFlows:
    """An area's state per scenario of an AC batch (one row per scenario).

    Attributes:
        p_from_mw: ``(n_scenarios, n_branch)`` active branch flow (from side).
        q_from_mvar: Reactive branch flow.
        vm_pu: ``(n_scenarios, n_bus)`` bus voltages.
        interface_p_mw: ``(n_scenarios,)`` ``P_if`` (TSO → DSO positive).
        interface_q_mvar: ``Q_if``.
        s_max_mva: ``(n_scenarios, n_branch)`` apparent-power limit: the MW limit × the
            from-bus voltage of the scenario (the AC check is on current).
    """

    p_from_mw: FloatArray
    q_from_mvar: FloatArray
    vm_pu: FloatArray
    interface_p_mw: FloatArray
    interface_q_mvar: FloatArray
    s_max_mva: FloatArray


def area_flows(
    grid: Any,
    result: AcBatchResult,
    *,
    bus_ids: IntArray,
    branch_names: Sequence[str],
    coupling_point_ids: Sequence[str],
) -> AreaFlows:
    """The :class:`AreaFlows` of the area's buses, branches and coupling points in ``result``."""
    names = list(branch_names)
    p_if, q_if = interface_flows(result, coupling_point_ids)
    limits = grid.branch_limits()
    limit_of = dict(zip(limits.branch_names, limits.limit_mw, strict=True))
    ends = grid.branch_ends()
    from_bus = np.array([ends[b][0] for b in names], dtype=np.int64)
    vm_from = result.vm_pu[from_bus].to_numpy(dtype=float)
    return AreaFlows(
        p_from_mw=result.p_from_mw[names].to_numpy(dtype=float),
        q_from_mvar=result.q_from_mvar[names].to_numpy(dtype=float),
        vm_pu=result.vm_pu[bus_ids].to_numpy(dtype=float),
        interface_p_mw=p_if,
        interface_q_mvar=q_if,
        s_max_mva=np.array([limit_of[b] for b in names], dtype=np.float64)[None, :] * vm_from,
    )


def area_branches(grid: Any, bus_ids: frozenset[int], branch_index: pd.Index) -> tuple[str, ...]:
    """In-service branches (names of ``branch_index``) with at least one end in the area."""
    ends = grid.branch_ends()
    return tuple(
        str(name)
        for name in branch_index
        if ends[str(name)][0] in bus_ids or ends[str(name)][1] in bus_ids
    )


def build_dso_model(  # noqa: PLR0913 - the public signature: a grid, an area, six keyword options
    grid: Any,
    area_id: str | DsoArea | None = None,
    *,
    operating_point: Injections | None = None,
    pgm: PgmGrid | None = None,
    safety_margin: float = 0.0,
    voltage_margin_pu: float = 0.0,
    n_cuts: int = 16,
    perturbation_mw: float = 0.1,
) -> DsoLinearModel:
    """Linearise a DSO area of ``grid`` at an operating point (one PGM batch, module docstring).

    Args:
        grid: A :class:`~flexcoord.grid.model.GridModel` (not modified).
        area_id: The DSO area; ``None`` takes the area with most buses (first by id on a tie);
            a :class:`~flexcoord.grid.areas.DsoArea` is taken as it is (a level of a cascade,
            :mod:`flexcoord.coordination.aggregation.cascade`, that the grid's own split does not
            have).
        operating_point: One scenario of :class:`~flexcoord.grid.pgm.Injections` on top of the
            grid's base case (e.g. a per-MTU forecast); ``None`` is the base case.
        pgm: The grid converted by :func:`~flexcoord.grid.pgm.to_pgm` (default: the grid's own
            conversion, :meth:`~flexcoord.grid.model.GridModel.pgm`, made once per grid).
        safety_margin: Fraction of each branch limit kept free.
        voltage_margin_pu: Kept free inside each bus's voltage band.
        n_cuts: Tangent lines approximating each branch's apparent-power circle.
        perturbation_mw: Step of the forward differences (MW and Mvar).

    Raises:
        NotFoundError: unknown ``area_id``.
        GridError: a power flow does not converge.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> model = build_dso_model(load_grid("1-MV-rural--0-sw"))
        >>> model.area_id, model.coupling_point_ids, round(model.interface_p_mw, 2)
        ('MV1.101', ('trafo:0', 'trafo:1'), -8.09)
        >>> bool(-1.05 < model.interface_dp_dp.mean() < -0.99)
        True
    """
    split = grid.areas
    if isinstance(area_id, DsoArea):
        area = area_id
    elif area_id is None:
        area = min(split.dso_areas, key=lambda a: (-len(a.bus_ids), a.id))
    else:
        area = split.dso_area(area_id)
    pgm = pgm if pgm is not None else grid.pgm()
    buses = np.array(sorted(area.bus_ids), dtype=np.int64)
    step = float(perturbation_mw)
    res = _perturbed_flows(pgm, buses, operating_point, step)
    cps = tuple(cp.id for cp in area.coupling_points)
    names = area_branches(grid, area.bus_ids, pgm.branches.index)
    flows = area_flows(grid, res, bus_ids=buses, branch_names=names, coupling_point_ids=cps)
    n = len(buses)
    dpp, dpq = _sensitivities(flows.p_from_mw, n, step)
    dqp, dqq = _sensitivities(flows.q_from_mvar, n, step)
    dvp, dvq = _sensitivities(flows.vm_pu, n, step)
    ifpp, ifpq = _sensitivities(flows.interface_p_mw[:, None], n, step)
    ifqp, ifqq = _sensitivities(flows.interface_q_mvar[:, None], n, step)
    vmin, vmax, _ = resolve_limits(pgm, Limits())
    pos = pgm.buses.index.get_indexer(pd.Index(buses))
    return DsoLinearModel(
        area_id=area.id,
        coupling_point_ids=cps,
        bus_ids=buses,
        branch_names=names,
        p_from_mw=flows.p_from_mw[0].copy(),
        q_from_mvar=flows.q_from_mvar[0].copy(),
        s_max_mva=flows.s_max_mva[0].copy(),
        dp_from_dp=dpp,
        dp_from_dq=dpq,
        dq_from_dp=dqp,
        dq_from_dq=dqq,
        vm_pu=flows.vm_pu[0].copy(),
        vm_min_pu=vmin[pos],
        vm_max_pu=vmax[pos],
        dvm_dp_pu_per_mw=dvp,
        dvm_dq_pu_per_mvar=dvq,
        interface_p_mw=float(flows.interface_p_mw[0]),
        interface_q_mvar=float(flows.interface_q_mvar[0]),
        interface_dp_dp=ifpp[0],
        interface_dp_dq=ifpq[0],
        interface_dq_dp=ifqp[0],
        interface_dq_dq=ifqq[0],
        safety_margin=safety_margin,
        voltage_margin_pu=voltage_margin_pu,
        n_cuts=n_cuts,
        pgm=pgm,
        operating_point=operating_point,
    )


def _perturbed_flows(
    pgm: PgmGrid, buses: IntArray, operating_point: Injections | None, step: float
) -> AcBatchResult:
    """One PGM batch: the operating point (its setpoints applied once, :func:`_split_point`),
    then each bus's P, then each bus's Q, up by ``step`` (scenario 0, 1…n, n+1…2n)."""
    n = len(buses)
    labels = pd.RangeIndex(2 * n + 1)
    dp = np.zeros((2 * n + 1, n))
    dq = np.zeros((2 * n + 1, n))
    dp[1 : n + 1] = step * np.eye(n)
    dq[n + 1 :] = step * np.eye(n)
    at_point, added = _split_point(pgm, operating_point)
    scenarios = with_bus_injections(
        added,
        pd.DataFrame(dp, index=labels, columns=buses),
        pd.DataFrame(dq, index=labels, columns=buses),
    )
    return run_ac_batch(at_point, scenarios)


def _sensitivities(values: FloatArray, n: int, step: float) -> tuple[FloatArray, FloatArray]:
    """(d/dP, d/dQ) by forward differences of :func:`_perturbed_flows`' scenarios, with the bus
    along the last axis."""
    d = (values[1:] - values[0]) / step
    return np.ascontiguousarray(d[:n].T), np.ascontiguousarray(d[n:].T)
