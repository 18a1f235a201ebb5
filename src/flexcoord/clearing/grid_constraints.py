"""The grid side of a clearing: monitored branches and voltages, their limits and operating point.

A :class:`GridConstraints` is what the domain entry point (:func:`flexcoord.clearing.market.clear`)
hands to the engine about the grid, as arrays in pandapower terms (bus indices, branch names
``"line:12"`` / ``"trafo:3"``):

* the monitored branches (a subset of the PTDF rows), their limits in MW (``limit_mw``, before the
  safety margin ``(1 - safety_margin) · limit``) and their forecast base flows per MTU;
* the monitored buses with ``dV/dP`` and ``dV/dQ`` (pu per MW / Mvar injected at the columns'
  buses), their base voltages per MTU and their voltage band;
* optionally named **interface constraints** on the flexibility's injections at real buses
  (``interface_lower <= interface_p · p + interface_q · q <= interface_upper`` per MTU), e.g. the
  halfplanes of a DSO area's feasible PQ region at its coupling point
  (:meth:`GridConstraints.with_interface`;
  :func:`flexcoord.coordination.aggregation.pq_constraints.with_pq_region` builds them
  from a region);
* where the operating point came from (``profile_start_step``: SimBench profile steps, or ``None``
  for the loaded network's own snapshot), so an AC check starts from the same base case.

:func:`grid_constraints` builds one from a :class:`~flexcoord.grid.model.GridModel`; the choice of
monitored elements (the areas involved, and optionally only branches already loaded above a share
of their limit) keeps the formulation small on a 1,942-bus HV/MV grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from flexcoord.clearing.problem import FloatArray, IntArray
from flexcoord.domain import Interval
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "GridConstraints",
    "constraints_of_areas",
    "grid_constraints",
    "monitored_branches",
    "screened_grid_constraints",
]

_VM_MIN_DEFAULT = 0.95
_VM_MAX_DEFAULT = 1.05


def _no_rows() -> FloatArray:
    return np.zeros((0, 0))


@dataclass(frozen=True, slots=True, kw_only=True)
class GridConstraints:
    """Monitored branches and voltages of one clearing, with limits and a per-MTU base case.

    Attributes:
        intervals: The MTUs the base case covers (``T``); a market's MTUs must be among them.
        bus_ids: pandapower bus per PTDF column (``n_bus``).
        branch_names: Monitored branches (``n_branch``).
        ptdf: ``(n_branch, n_bus)`` MW of flow per MW injected.
        limit_mw: ``(n_branch,)`` thermal limits in MW (the safety margin is applied on top).
        base_flow_mw: ``(n_branch, T)`` forecast flows without any flexibility.
        safety_margin: Share of each limit kept free, in ``[0, 1)``.
        vbus_ids: Monitored buses (``n_vbus``).
        injection_bus_ids: pandapower bus per column of ``dvm_dp`` / ``dvm_dq`` (``n_inj``);
            injections elsewhere are taken to leave these voltages unchanged.
        dvm_dp: ``(n_vbus, n_inj)`` pu per MW.
        dvm_dq: ``(n_vbus, n_inj)`` pu per Mvar.
        base_vm_pu: ``(n_vbus, T)`` forecast voltages.
        vm_min_pu: ``(n_vbus,)`` lower voltage limits.
        vm_max_pu: ``(n_vbus,)`` upper voltage limits.
        profile_start_step: SimBench profile step of the first interval, or ``None`` when the base
            case is the loaded network repeated over the MTUs.
        interface_names: Named interface constraints (``n_c``), default none.
        interface_p: ``(n_c, n_bus)`` coefficient on the flexibility's active injection (MW) at
            each of :attr:`bus_ids`.
        interface_q: ``(n_c, n_bus)`` coefficient on its reactive injection (Mvar).
        interface_lower: ``(n_c, T)`` lower bounds (``-inf`` = none).
        interface_upper: ``(n_c, T)`` upper bounds (``+inf`` = none).
        interface_flow_names: Named interface flows (``n_f``): linear functions of the
            flexibility's injections the interface constraints may act on
            (:meth:`with_interface_flows`), default none.
        interface_flow_p: ``(n_f, n_bus)`` each flow's coefficient on the active injections.
        interface_flow_q: ``(n_f, n_bus)`` on the reactive injections.
        interface_flow_coeff: ``(n_c, n_f)`` each interface constraint's coefficient on each
            flow (added to its ``interface_p · p + interface_q · q``).
    """

    intervals: tuple[Interval, ...]
    bus_ids: IntArray
    branch_names: tuple[str, ...]
    ptdf: FloatArray
    limit_mw: FloatArray
    base_flow_mw: FloatArray
    safety_margin: float = 0.0
    vbus_ids: IntArray
    injection_bus_ids: IntArray
    dvm_dp: FloatArray
    dvm_dq: FloatArray
    base_vm_pu: FloatArray
    vm_min_pu: FloatArray
    vm_max_pu: FloatArray
    profile_start_step: int | None = None
    interface_names: tuple[str, ...] = ()
    interface_p: FloatArray = field(default_factory=_no_rows)
    interface_q: FloatArray = field(default_factory=_no_rows)
    interface_lower: FloatArray = field(default_factory=_no_rows)
    interface_upper: FloatArray = field(default_factory=_no_rows)
    interface_flow_names: tuple[str, ...] = ()
    interface_flow_p: FloatArray = field(default_factory=_no_rows)
    interface_flow_q: FloatArray = field(default_factory=_no_rows)
    interface_flow_coeff: FloatArray = field(default_factory=_no_rows)

    def __post_init__(self) -> None:
        """Fill the interface defaults, freeze every array, then check them (every issue at
        once; the rules are :func:`_array_issues`, :func:`_margin_issues` and, once the arrays
        are sound, :func:`_interface_issues`)."""
        object.__setattr__(self, "interface_names", tuple(self.interface_names))
        object.__setattr__(self, "interface_flow_names", tuple(self.interface_flow_names))
        shapes = _expected_shapes(self)
        for name, fill in _INTERFACE_FILL.items():
            if np.asarray(getattr(self, name)).size == 0:
                object.__setattr__(self, name, np.full(shapes[name], fill))
        for name in shapes:
            _freeze(self, name, np.float64)
        for name in ("bus_ids", "vbus_ids", "injection_bus_ids"):
            _freeze(self, name, np.int64)
        issues = [*_array_issues(self), *_margin_issues(self)]
        if not issues:
            issues += _interface_issues(self)
        if issues:
            raise InvalidInputError(issues)

    @property
    def n_mtu(self) -> int:
        """Number of MTUs of the base case."""
        return len(self.intervals)

    @property
    def n_interface(self) -> int:
        """Number of interface constraints."""
        return len(self.interface_names)

    @property
    def n_interface_flow(self) -> int:
        """Number of interface flows."""
        return len(self.interface_flow_names)

    def with_interface_flows(
        self, names: Sequence[str], p_coeff: FloatArray, q_coeff: FloatArray
    ) -> GridConstraints:
        """A copy with interface flows added (after any it already holds): flow ``f`` in MTU
        ``t`` is ``p_coeff[f] · p_t + q_coeff[f] · q_t`` (e.g. a DSO area's ``P_if``), which
        interface constraints then use through ``flow_coeff`` (:meth:`with_interface`). The
        clearing gives each flow one column per MTU and one equality row, so constraints on a
        few flows stay sparse however many buses the flows sum over.

        Raises:
            InvalidInputError: shapes, non-finite coefficients or duplicate names.
        """
        names = tuple(names)
        coeff = np.zeros((self.n_interface, len(names)))
        return replace(
            self,
            interface_flow_names=self.interface_flow_names + names,
            interface_flow_p=_stack(self.interface_flow_p, p_coeff),
            interface_flow_q=_stack(self.interface_flow_q, q_coeff),
            interface_flow_coeff=np.hstack([self.interface_flow_coeff, coeff]),
        )

    def with_interface(
        self,
        names: Sequence[str],
        p_coeff: FloatArray,
        q_coeff: FloatArray,
        lower: FloatArray,
        upper: FloatArray,
        *,
        flow_coeff: FloatArray | None = None,
    ) -> GridConstraints:
        """A copy with interface constraints added (after any it already holds).

        Each constraint ``c`` holds in every MTU ``t``:
        ``lower[c, t] <= p_coeff[c] · p_t + q_coeff[c] · q_t <= upper[c, t]``, where ``p_t`` /
        ``q_t`` are the accepted flexibility's active / reactive injections (MW / Mvar, positive
        into the grid) at :attr:`bus_ids`. The clearing treats them as soft limits priced at
        ``ClearingOptions.interface_penalty_eur_per_mwh``.

        Args:
            names: Unique constraint names (``n_c``), used in row names, ``binding`` and reasons.
            p_coeff: ``(n_c, n_bus)`` over :attr:`bus_ids`.
            q_coeff: ``(n_c, n_bus)`` over :attr:`bus_ids`.
            lower: ``(n_c, T)``, or ``(n_c,)`` repeated over the MTUs; ``-inf`` = no bound.
            upper: likewise; ``+inf`` = no bound.
            flow_coeff: ``(n_c, n_f)`` coefficients on the interface flows
                (:meth:`with_interface_flows`), added to the rows; default none.

        Raises:
            InvalidInputError: shapes, NaN, crossed bounds or duplicate names.

        Example:
            >>> import numpy as np
            >>> from datetime import UTC, datetime, timedelta
            >>> from flexcoord.domain import Interval
            >>> t0 = datetime(2026, 6, 1, tzinfo=UTC)
            >>> iv = (Interval(start=t0, end=t0 + timedelta(minutes=15)),)
            >>> gc = GridConstraints(
            ...     intervals=iv, bus_ids=np.array([1, 2]), branch_names=(),
            ...     ptdf=np.zeros((0, 2)), limit_mw=np.zeros(0), base_flow_mw=np.zeros((0, 1)),
            ...     vbus_ids=np.zeros(0, int), injection_bus_ids=np.zeros(0, int),
            ...     dvm_dp=np.zeros((0, 0)), dvm_dq=np.zeros((0, 0)),
            ...     base_vm_pu=np.zeros((0, 1)), vm_min_pu=np.zeros(0), vm_max_pu=np.zeros(0))
            >>> gc2 = gc.with_interface(["export-cap"], np.array([[1.0, 1.0]]), np.zeros((1, 2)),
            ...                         np.array([-np.inf]), np.array([3.0]))
            >>> gc2.interface_names, gc2.interface_upper.tolist(), gc.n_interface
            (('export-cap',), [[3.0]], 0)
        """
        n_t = self.n_mtu
        names = tuple(names)
        nc = len(names)

        def bound(value: FloatArray) -> FloatArray:
            arr = np.array(value, dtype=np.float64)
            if arr.ndim == 1 and arr.shape == (nc,):
                arr = np.repeat(arr[:, None], n_t, axis=1)
            return arr

        return replace(
            self,
            interface_names=self.interface_names + names,
            interface_p=_stack(self.interface_p, p_coeff),
            interface_q=_stack(self.interface_q, q_coeff),
            interface_lower=_stack(self.interface_lower, bound(lower)),
            interface_upper=_stack(self.interface_upper, bound(upper)),
            interface_flow_coeff=_stack(
                self.interface_flow_coeff,
                np.zeros((nc, self.n_interface_flow)) if flow_coeff is None else flow_coeff,
            ),
        )


_INTERFACE_FILL = {
    "interface_p": 0.0,
    "interface_q": 0.0,
    "interface_lower": -np.inf,
    "interface_upper": np.inf,
    "interface_flow_p": 0.0,
    "interface_flow_q": 0.0,
    "interface_flow_coeff": 0.0,
}
_BOUNDS = ("interface_lower", "interface_upper")


def _freeze(gc: GridConstraints, name: str, dtype: type[np.generic]) -> None:
    value: np.ndarray = np.asarray(getattr(gc, name), dtype=dtype)
    value.setflags(write=False)
    object.__setattr__(gc, name, value)


def _issue(field: str, value: object, message: str, object_id: str = "grid") -> Issue:
    return Issue(
        kind="GridConstraints", object_id=object_id, field=field, value=value, message=message
    )


def _expected_shapes(gc: GridConstraints) -> dict[str, tuple[int, ...]]:
    n_t, nb, nl = len(gc.intervals), len(gc.bus_ids), len(gc.branch_names)
    nv, ni = len(gc.vbus_ids), len(gc.injection_bus_ids)
    nc, nf = len(gc.interface_names), len(gc.interface_flow_names)
    return {
        "ptdf": (nl, nb),
        "limit_mw": (nl,),
        "base_flow_mw": (nl, n_t),
        "dvm_dp": (nv, ni),
        "dvm_dq": (nv, ni),
        "base_vm_pu": (nv, n_t),
        "vm_min_pu": (nv,),
        "vm_max_pu": (nv,),
        "interface_p": (nc, nb),
        "interface_q": (nc, nb),
        "interface_lower": (nc, n_t),
        "interface_upper": (nc, n_t),
        "interface_flow_p": (nf, nb),
        "interface_flow_q": (nf, nb),
        "interface_flow_coeff": (nc, nf),
    }


def _array_issues(gc: GridConstraints) -> list[Issue]:
    """Each array has its shape; bounds hold numbers (±inf = none), the rest finite numbers."""
    issues = []
    for name, shape in _expected_shapes(gc).items():
        value = getattr(gc, name)
        if value.shape != shape:
            issues.append(_issue(name, value.shape, f"must have shape {shape}"))
        elif name in _BOUNDS and np.any(np.isnan(value)):
            issues.append(_issue(name, "NaN", "must hold numbers (±inf = no bound)"))
        elif name not in _BOUNDS and not np.all(np.isfinite(value)):
            issues.append(_issue(name, "non-finite", "must hold finite numbers"))
    return issues


def _margin_issues(gc: GridConstraints) -> list[Issue]:
    """The safety margin is a share in ``[0, 1)``."""
    if 0.0 <= gc.safety_margin < 1.0:
        return []
    return [_issue("safety_margin", gc.safety_margin, "must be in [0, 1)")]


def _interface_issues(gc: GridConstraints) -> list[Issue]:
    """No interface constraint's lower bound above its upper (the first 20 named), and unique
    names of interface flows and of interface constraints."""
    crossed = np.any(gc.interface_lower > gc.interface_upper, axis=1)
    issues = [
        _issue(
            "interface_lower",
            float(np.max(gc.interface_lower[c] - gc.interface_upper[c])),
            "lower bound above the upper bound",
            object_id=gc.interface_names[int(c)],
        )
        for c in np.flatnonzero(crossed)[:20]
    ]
    for field_name, names in (
        ("interface_flow_names", gc.interface_flow_names),
        ("interface_names", gc.interface_names),
    ):
        if len(set(names)) != len(names):
            issues.append(_issue(field_name, list(names), "must be unique"))
    return issues


def _stack(old: FloatArray, new: FloatArray) -> FloatArray:
    arr = np.array(new, dtype=np.float64)  # a copy: the caller's array is left as it is
    if old.shape[0] == 0:
        return arr
    if arr.ndim != 2 or arr.shape[1] != old.shape[1]:
        return arr  # wrong shape: the constructor reports it
    return np.vstack([old, arr])


def monitored_branches(
    grid: Any,
    *,
    areas: Iterable[str] | None = None,
    base_flow_mw: FloatArray | None = None,
    near_limit: float | None = None,
) -> tuple[str, ...]:
    """Branch names (PTDF order) to monitor: those touching the areas, optionally near a limit.

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel`.
        areas: DSO area ids of ``grid.areas`` and/or ``"tso"``; ``None`` means the whole grid.
            A branch is kept when either end lies in one of the areas (so the coupling
            transformers of a DSO area are kept with it).
        base_flow_mw: ``(n_ptdf_branch, T)`` base flows (PTDF row order), needed for
            ``near_limit``.
        near_limit: keep only branches whose largest ``|base flow|`` reaches this share of the
            limit (e.g. 0.5); ``None`` keeps every branch of the areas.
    """
    ptdf = grid.ptdf()
    names: tuple[str, ...] = ptdf.branch_names
    keep = np.ones(len(names), dtype=bool)
    if areas is not None:
        buses = _area_buses(grid, areas)
        ends = grid.branch_ends()  # cached on the grid: no pandas row lookup per branch
        keep &= np.array([ends[n][0] in buses or ends[n][1] in buses for n in names], dtype=bool)
    if near_limit is not None:
        if base_flow_mw is None:
            raise ValueError("near_limit needs base_flow_mw")
        limit = grid.branch_limits().limit_mw
        peak = np.max(np.abs(base_flow_mw), axis=1, initial=0.0)
        keep &= peak >= near_limit * limit
    return tuple(n for n, k in zip(names, keep, strict=True) if k)


def constraints_of_areas(gc: GridConstraints, grid: Any, areas: Iterable[str]) -> GridConstraints:
    """``gc`` cut to the monitored branches and buses of ``areas`` (a branch with either end in
    one of them, as :func:`monitored_branches` keeps them); every bus stays a column. ``gc``
    itself when nothing is cut (the joint problem's every area shares its rows).

    How a scenario on a screened national grid (:func:`screened_grid_constraints`, one result
    for every area) gives each market its areas' limits without a dense PTDF.
    """
    buses = _area_buses(grid, areas)
    ends = grid.branch_ends()
    rows = np.array(
        [i for i, n in enumerate(gc.branch_names) if ends[n][0] in buses or ends[n][1] in buses],
        dtype=np.int64,
    )
    vrows = np.flatnonzero(np.isin(gc.vbus_ids, np.fromiter(buses, dtype=np.int64)))
    if len(rows) == len(gc.branch_names) and len(vrows) == len(gc.vbus_ids):
        return gc
    return replace(
        gc,
        branch_names=tuple(gc.branch_names[i] for i in rows),
        ptdf=gc.ptdf[rows],
        limit_mw=gc.limit_mw[rows],
        base_flow_mw=gc.base_flow_mw[rows],
        vbus_ids=gc.vbus_ids[vrows],
        dvm_dp=gc.dvm_dp[vrows],
        dvm_dq=gc.dvm_dq[vrows],
        base_vm_pu=gc.base_vm_pu[vrows],
        vm_min_pu=gc.vm_min_pu[vrows],
        vm_max_pu=gc.vm_max_pu[vrows],
    )


def _area_buses(grid: Any, areas: Iterable[str]) -> set[int]:
    split = grid.areas
    out: set[int] = set()
    for area in areas:
        if area == "tso":
            out |= set(split.tso_bus_ids)
        else:
            out |= set(split.dso_area(area).bus_ids)
    return out


def grid_constraints(
    grid: Any,
    *,
    intervals: Sequence[Interval],
    profile_start_step: int | None = None,
    forecast: Any = None,
    areas: Iterable[str] | None = None,
    monitored: Sequence[str] | None = None,
    near_limit: float | None = None,
    safety_margin: float = 0.0,
    voltages: bool = True,
    vm_min_pu: float | None = None,
    vm_max_pu: float | None = None,
) -> GridConstraints:
    """Build the :class:`GridConstraints` of ``grid`` for the MTUs ``intervals``.

    The base case per MTU comes from ``forecast`` (an
    :class:`~flexcoord.grid.forecast.OperatingForecast` over ``intervals``) when given; else from
    the SimBench profiles starting at ``profile_start_step``
    (:func:`~flexcoord.grid.forecast.forecast_from_profiles`); else from the loaded network's
    own operating point repeated over the MTUs
    (:func:`~flexcoord.grid.forecast.forecast_from_snapshot`).

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel`.
        intervals: the MTUs (contiguous quarter-hours for profiles).
        profile_start_step: SimBench step of the first MTU (also tells the AC check its base case).
        forecast: a ready forecast over ``intervals`` (its flows must be for the same base case
            as ``profile_start_step`` if the AC check is to start from it).
        areas: area ids (``grid.areas`` DSO areas, ``"tso"``) whose branches and buses are
            monitored; ``None``: the whole grid.
        monitored: explicit branch names (overrides ``areas`` / ``near_limit`` for branches).
        near_limit: monitor only branches whose base flow reaches this share of their limit.
        safety_margin: share of every branch limit kept free.
        voltages: whether to monitor the voltages of the areas' (non-slack) buses.
        vm_min_pu: voltage lower limit for every monitored bus; default the bus's ``min_vm_pu``
            (SimBench carries it), else 0.95.
        vm_max_pu: upper limit likewise (default ``max_vm_pu``, else 1.05).
    """
    # lazy: the grid modules load pandapower (~3 s), which an array-level clearing never needs
    from flexcoord.grid.forecast import (  # noqa: PLC0415
        forecast_from_profiles,
        forecast_from_snapshot,
    )
    from flexcoord.grid.sensitivities import compute_voltage_sensitivity  # noqa: PLC0415

    intervals = tuple(intervals)
    issued = intervals[0].start
    if forecast is None:
        if profile_start_step is not None:
            forecast = forecast_from_profiles(
                grid, start_step=profile_start_step, intervals=intervals, issued_at=issued
            )
        else:
            forecast = forecast_from_snapshot(grid, intervals=intervals, issued_at=issued)
    ptdf = grid.ptdf()
    rows_all = forecast.branch_rows(ptdf.branch_names)
    flows_all = np.asarray(forecast.branch_flow_mw, dtype=float)[rows_all]
    names = (
        tuple(monitored)
        if monitored is not None
        else monitored_branches(grid, areas=areas, base_flow_mw=flows_all, near_limit=near_limit)
    )
    rows = ptdf.rows(names)
    limits = grid.branch_limits().limit_mw
    net = grid.net
    if voltages:
        buses = (
            sorted(_area_buses(grid, areas))
            if areas is not None
            else sorted(int(b) for b in ptdf.bus_ids)
        )
        slack = {int(b) for b in ptdf.slack_bus_ids}
        vbus = np.array([b for b in buses if b not in slack], dtype=np.int64)
        if areas is None:
            sens = grid.voltage_sensitivity()
            pos = {int(b): i for i, b in enumerate(sens.monitored_bus_ids)}
            vrows = np.array([pos[int(b)] for b in vbus], dtype=np.int64)
            dvm_dp = sens.dvm_dp_pu_per_mw[vrows]
            dvm_dq = sens.dvm_dq_pu_per_mvar[vrows]
            inj = np.asarray(sens.injection_bus_ids, dtype=np.int64)
        else:
            sens = compute_voltage_sensitivity(net, injection_buses=vbus, monitored_buses=vbus)
            dvm_dp, dvm_dq, inj = sens.dvm_dp_pu_per_mw, sens.dvm_dq_pu_per_mvar, vbus
        base_vm = np.asarray(forecast.vm_pu, dtype=float)[forecast.bus_rows(vbus)]
        vmin = _bus_limit(net, vbus, "min_vm_pu", vm_min_pu, _VM_MIN_DEFAULT)
        vmax = _bus_limit(net, vbus, "max_vm_pu", vm_max_pu, _VM_MAX_DEFAULT)
    else:
        vbus = inj = np.zeros(0, dtype=np.int64)
        dvm_dp = dvm_dq = np.zeros((0, 0))
        base_vm = np.zeros((0, len(intervals)))
        vmin = vmax = np.zeros(0)
    return GridConstraints(
        intervals=intervals,
        bus_ids=np.asarray(ptdf.bus_ids, dtype=np.int64),
        branch_names=names,
        ptdf=ptdf.matrix[rows],
        limit_mw=limits[rows],
        base_flow_mw=flows_all[rows],
        safety_margin=safety_margin,
        vbus_ids=vbus,
        injection_bus_ids=inj,
        dvm_dp=dvm_dp,
        dvm_dq=dvm_dq,
        base_vm_pu=base_vm,
        vm_min_pu=vmin,
        vm_max_pu=vmax,
        profile_start_step=profile_start_step,
    )


def _bus_limit(
    net: Any, buses: IntArray, column: str, value: float | None, default: float
) -> FloatArray:
    if value is not None:
        return np.full(len(buses), float(value))
    if column in net.bus.columns:
        raw = net.bus[column].reindex(buses).to_numpy(dtype=float)
        return np.where(np.isfinite(raw), raw, default)
    return np.full(len(buses), default)


def screened_grid_constraints(
    grid: Any,
    *,
    intervals: Sequence[Interval],
    profile_start_step: int | None,
    flex_bus_ids: Sequence[int] | IntArray,
    flex_mw: Sequence[float] | FloatArray,
    threshold: float = 1.0,
    safety_margin: float = 0.0,
    ac_model: Any = None,
) -> tuple[GridConstraints, Any, FloatArray]:
    """Grid constraints of a large grid: the branches a screening monitors, no dense PTDF.

    The base case of every MTU is an AC power flow of every branch (pandapower's ``runpp``,
    :class:`~flexcoord.grid.ac_pandapower.PandapowerAc`, which handles voltage-controlled
    plants); the monitored branches are those the flexibility (``flex_mw`` at ``flex_bus_ids``,
    the most MW each bus's bids can move together) can bring to ``threshold`` of their margined
    limit (:func:`flexcoord.grid.screening.screen_branches`, documented in ``docs/clearing.md``);
    only their PTDF rows are computed and kept. No voltage is monitored (the national grid's
    voltage sensitivities are a dense bus × bus inverse of the Jacobian).

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel`.
        intervals: the MTUs (contiguous quarter-hours from ``profile_start_step``).
        profile_start_step: SimBench step of the first MTU (``None``: the loaded snapshot).
        flex_bus_ids: buses with flexibility.
        flex_mw: per bus, the most MW its flexibility moves together.
        threshold: share of the margined limit a branch must be able to reach.
        safety_margin: share of every limit kept free.
        ac_model: a :class:`~flexcoord.grid.ac_pandapower.PandapowerAc` of ``grid`` to reuse
            (the AC check can share it); made here when ``None``.

    Returns:
        The constraints, the :class:`~flexcoord.grid.screening.BranchScreening` and the
        ``(n_branch, T)`` base-case flows of every branch (for :func:`screening_error`).
    """
    from flexcoord.grid.ac_pandapower import PandapowerAc  # noqa: PLC0415  (lazy: pandapower)
    from flexcoord.grid.screening import screen_branches  # noqa: PLC0415
    from flexcoord.grid.sensitivities import branch_names  # noqa: PLC0415

    intervals = tuple(intervals)
    model = ac_model if ac_model is not None else PandapowerAc(grid)
    names = branch_names(grid.net)
    n_t = len(intervals)
    base = model.batch(
        mtu_columns=np.arange(n_t),
        bus_ids=[],
        branch_names=names,
        voltage_bus_ids=[],
        profile_start_step=profile_start_step,
    ).run(np.zeros((n_t, 0)), np.zeros((n_t, 0)))[0]
    limits = grid.branch_limits().limit_mw
    screening = screen_branches(
        grid.net,
        base_flow_mw=base,
        limit_mw=(1.0 - safety_margin) * limits,
        flex_bus_ids=flex_bus_ids,
        flex_mw=flex_mw,
        threshold=threshold,
    )
    position = {n: i for i, n in enumerate(names)}
    rows = np.array([position[n] for n in screening.branch_names], dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    gc = GridConstraints(
        intervals=intervals,
        bus_ids=np.asarray(screening.ptdf.bus_ids, dtype=np.int64),
        branch_names=screening.branch_names,
        ptdf=screening.ptdf.matrix,
        limit_mw=limits[rows],
        base_flow_mw=base[rows],
        safety_margin=safety_margin,
        vbus_ids=none,
        injection_bus_ids=none,
        dvm_dp=np.zeros((0, 0)),
        dvm_dq=np.zeros((0, 0)),
        base_vm_pu=np.zeros((0, n_t)),
        vm_min_pu=np.zeros(0),
        vm_max_pu=np.zeros(0),
        profile_start_step=profile_start_step,
    )
    return gc, screening, base
