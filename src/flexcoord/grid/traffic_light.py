"""Traffic-light grid prequalification of flexibility, per resource, MTU and direction.

The traffic-light system (TLS) of InteGrid and OneNet: a DSO tells, for each unit or group and
each MTU, whether activating its flexibility is safe for its grid under the forecast operating
point — **green** (any activation within the resource's range is safe), **amber** (safe up to
``X`` MW) or **red** (not allowed) — separately for UP (more injection) and DOWN. The result
becomes domain :class:`~flexcoord.domain.GridPrequalification` records, filters bids before they
reach another operator's market (:func:`~flexcoord.grid.traffic_light_bids.filter_bids`) and
checks requested activations intraday
(:func:`~flexcoord.grid.traffic_light_bids.assess_activation`).

Method (linear, around the forecast): the operator monitors the branches touching its areas'
buses and those buses. For resource ``r`` (a group's activation shared among its units in
proportion to their ranges), MTU ``t`` and direction ``σ``, the safe volume ``X`` is the largest
``x >= 0`` keeping every monitored branch within ``(1 - margin)·limit`` in the PTDF model
(``|f + σ·PTDF·x| <= …``) and every monitored bus within the margined voltage band in the
voltage-sensitivity model (``dV/dP + q_ratio·dV/dQ``, cos φ = 1 unless told otherwise). The
vectorised computation is :mod:`flexcoord.grid.traffic_light_kernel`. Colours: GREEN if ``X`` is
at least the resource's range ``p_max - p_min`` (the most one bid can move it, used for both
directions because the domain carries no schedule), RED if ``X < amber_floor_mw``, AMBER
otherwise. Thresholds and their reasons: ``docs/traffic-light.md``.

What leaves the DSO: the FSP sees the light, the volume and the *kind* of limit with a keyed,
anonymised constraint reference (:meth:`TrafficLightAssessment.explanations_for_fsp`); asset
names stay in :meth:`TrafficLightAssessment.internal_report`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from flexcoord.domain import (
    Direction,
    GridPrequalification,
    Interval,
    OperatorRole,
    PrequalificationStatus,
    Register,
    TrafficLight,
)
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.traffic_light_kernel import ConstraintSet, SafeVolumes, merge, safe_volumes

__all__ = [
    "DEFAULT_AMBER_FLOOR_MW",
    "DEFAULT_SAFETY_MARGIN",
    "FspExplanation",
    "LimitKind",
    "TrafficLightAssessment",
    "compute_traffic_light",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Share of every limit kept free for linearisation and forecast error (our choice, see docs).
DEFAULT_SAFETY_MARGIN = 0.1
#: Below this safe volume the light is red: 10 kW, the smallest activation worth dispatching.
DEFAULT_AMBER_FLOOR_MW = 0.01
#: Default voltage band where the bus table sets none (EN 50160 style ±5 %).
DEFAULT_VM_MIN_PU = 0.95
DEFAULT_VM_MAX_PU = 1.05
#: PTDF entries (MW/MW) and voltage sensitivities (pu/MW) at or below these count as no influence.
MIN_PTDF = 1e-4
MIN_DVM_PU_PER_MW = 1e-6
#: A resource whose full range moves a flow by at most 1 kW or a voltage by at most 0.0005 pu
#: does not count as influencing it (see :mod:`.traffic_light_kernel`).
MIN_FLOW_EFFECT_MW = 1e-3
MIN_VM_EFFECT_PU = 5e-4

_LIGHTS = (TrafficLight.GREEN, TrafficLight.AMBER, TrafficLight.RED)
_DIRECTIONS = (Direction.UP, Direction.DOWN)


class LimitKind(StrEnum):
    """Which kind of limit bounds a safe volume."""

    NONE = "none"
    THERMAL = "thermal"
    OVERVOLTAGE = "overvoltage"
    UNDERVOLTAGE = "undervoltage"

    @property
    def phrase(self) -> str:
        """How the FSP reads it."""
        return {
            LimitKind.NONE: "no grid limit",
            LimitKind.THERMAL: "thermal limit",
            LimitKind.OVERVOLTAGE: "upper voltage limit",
            LimitKind.UNDERVOLTAGE: "lower voltage limit",
        }[self]


_KINDS = tuple(LimitKind)


@dataclass(frozen=True, slots=True, kw_only=True)
class FspExplanation:
    """One non-green light as the FSP sees it: no topology, only the kind of limit and volume."""

    resource_id: str
    interval: Interval
    direction: Direction
    light: TrafficLight
    limit_mw: float
    range_mw: float
    limit_kind: LimitKind
    constraint_ref: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearGridModel:
    """The DSO's linear model the assessment was made with (kept for bid and activation checks).

    ``s_flow``: (n_branch, R) MW per MW; ``s_vm_p`` / ``s_vm_q``: (n_bus, R) pu per MW / Mvar.
    """

    branches: ConstraintSet
    buses: ConstraintSet
    s_flow: FloatArray
    s_vm_p: FloatArray
    s_vm_q: FloatArray
    q_ratio: FloatArray  # (R,) Mvar per MW assumed per resource

    def safe(
        self,
        columns: IntArray,
        range_mw: FloatArray,
        *,
        q_ratio: FloatArray | None = None,
        branch_flow_mw: FloatArray | None = None,
        vm_pu: FloatArray | None = None,
        mtus: IntArray | None = None,
    ) -> SafeVolumes:
        """Safe volumes of some resources, optionally with another reactive ratio, operating
        point (``branch_flow_mw`` / ``vm_pu`` over the chosen ``mtus``) or MTU subset."""
        q = self.q_ratio[columns] if q_ratio is None else q_ratio
        branches, buses = self.branches, self.buses
        if mtus is not None or branch_flow_mw is not None:
            pick = slice(None) if mtus is None else mtus
            branches = ConstraintSet(
                value=branches.value[:, pick] if branch_flow_mw is None else branch_flow_mw,
                lower=branches.lower,
                upper=branches.upper,
                min_sensitivity=branches.min_sensitivity,
                min_effect=branches.min_effect,
            )
            buses = ConstraintSet(
                value=buses.value[:, pick] if vm_pu is None else vm_pu,
                lower=buses.lower,
                upper=buses.upper,
                min_sensitivity=buses.min_sensitivity,
                min_effect=buses.min_effect,
            )
        s_vm = self.s_vm_p[:, columns] + self.s_vm_q[:, columns] * q[None, :]
        thermal = safe_volumes(branches, self.s_flow[:, columns], range_mw)
        voltage = safe_volumes(buses, s_vm, range_mw)
        return merge(thermal, voltage, offset=len(self.branches.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficLightAssessment:
    """Lights and safe volumes per resource × MTU × direction (axis 2: 0 UP, 1 DOWN).

    Attributes:
        operator_id: The system operator that made the assessment.
        grid_word: ``"distribution"`` or ``"transmission"``, for the explanations.
        mode: ``"day_ahead"`` or ``"intraday"``.
        forecast: The forecast it linearised around (``forecast.issued_at`` is the knowledge time).
        resource_ids: Assessed units / groups (rows).
        fsp_ids: Owner of each resource.
        area_ids: Grid area of each resource (of its first unit).
        range_mw: Range of each resource (``p_max - p_min``, summed over a group).
        safe_mw: ``(R, T, 2)`` safe volume, capped at the range.
        light_code: ``(R, T, 2)`` 0 green, 1 amber, 2 red.
        kind_code: ``(R, T, 2)`` index into :class:`LimitKind` (0 none).
        constraint: ``(R, T, 2)`` row in ``constraint_names`` of the binding limit, -1 if none.
        constraint_names: Monitored branches then ``"bus:<i>"`` — DSO-internal.
        constraint_refs: Anonymised reference per constraint (keyed hash), shown to FSPs.
        safety_margin: Share of each limit kept free.
        amber_floor_mw: Safe volumes below it are red.
        model: The linear model (for bid and activation checks).
    """

    operator_id: str
    grid_word: str
    mode: Literal["day_ahead", "intraday"]
    forecast: OperatingForecast
    resource_ids: tuple[str, ...]
    fsp_ids: tuple[str, ...]
    area_ids: tuple[str, ...]
    range_mw: FloatArray
    safe_mw: FloatArray
    light_code: NDArray[np.int8]
    kind_code: NDArray[np.int8]
    constraint: IntArray
    constraint_names: tuple[str, ...]
    constraint_asset_names: tuple[str, ...]
    constraint_refs: tuple[str, ...]
    safety_margin: float
    amber_floor_mw: float
    model: LinearGridModel

    # --- lookups ---------------------------------------------------------------------------

    @property
    def intervals(self) -> tuple[Interval, ...]:
        """The MTUs."""
        return self.forecast.intervals

    @property
    def issued_at(self) -> datetime:
        """Knowledge time of the forecast behind the assessment."""
        return self.forecast.issued_at

    def resource_index(self, resource_id: str) -> int:
        """Row of a resource (``NotFoundError`` if it was not assessed)."""
        try:
            return self.resource_ids.index(resource_id)
        except ValueError:
            raise NotFoundError(f"resource {resource_id!r} was not assessed") from None

    def mtu_index(self, interval: Interval | datetime) -> int:
        """Column of an MTU, given as the interval or an instant inside it."""
        for i, mtu in enumerate(self.intervals):
            if (mtu == interval) if isinstance(interval, Interval) else mtu.contains(interval):
                return i
        raise NotFoundError(f"MTU {interval} is not in the assessment")

    def _at(self, resource_id: str, interval: Interval | datetime, direction: Direction) -> Any:
        return (
            self.resource_index(resource_id),
            self.mtu_index(interval),
            _DIRECTIONS.index(Direction(direction)),
        )

    def light(
        self, resource_id: str, interval: Interval | datetime, direction: Direction
    ) -> TrafficLight:
        """The light of one resource, MTU and direction."""
        return _LIGHTS[int(self.light_code[self._at(resource_id, interval, direction)])]

    def limit_mw(
        self, resource_id: str, interval: Interval | datetime, direction: Direction
    ) -> float | None:
        """The safe volume, or ``None`` when green (no limit within the resource's range)."""
        at = self._at(resource_id, interval, direction)
        return None if self.light_code[at] == 0 else float(self.safe_mw[at])

    def limit_kind(
        self, resource_id: str, interval: Interval | datetime, direction: Direction
    ) -> LimitKind:
        """The kind of the binding limit (``NONE`` when green)."""
        return _KINDS[int(self.kind_code[self._at(resource_id, interval, direction)])]

    def counts(self) -> dict[str, int]:
        """How many (resource, MTU, direction) cells have each light."""
        return {
            light.value: int(np.count_nonzero(self.light_code == i))
            for i, light in enumerate(_LIGHTS)
        }

    # --- outputs ---------------------------------------------------------------------------

    def to_grid_prequalifications(
        self, operator_id: str | None = None
    ) -> tuple[GridPrequalification, ...]:
        """One domain record per resource × MTU, valid for that MTU.

        Both directions green → qualified / green; both red → not qualified / red; otherwise
        conditional / amber with ``max_up_mw`` / ``max_down_mw`` (0 for a red direction, ``None``
        for a green one).
        """
        operator = operator_id or self.operator_id
        records = []
        for r, resource_id in enumerate(self.resource_ids):
            for t, mtu in enumerate(self.intervals):
                codes = self.light_code[r, t]
                limits = [
                    None if c == 0 else float(self.safe_mw[r, t, d]) for d, c in enumerate(codes)
                ]
                if codes.max() == 0:
                    status, light = PrequalificationStatus.QUALIFIED, TrafficLight.GREEN
                elif codes.min() == 2:
                    status, light = PrequalificationStatus.NOT_QUALIFIED, TrafficLight.RED
                    limits = [0.0, 0.0]
                else:
                    status, light = PrequalificationStatus.CONDITIONAL, TrafficLight.AMBER
                    limits = [0.0 if c == 2 else lim for c, lim in zip(codes, limits, strict=True)]
                records.append(
                    GridPrequalification(
                        id=f"gpq:{operator}:{resource_id}:{mtu.start:%Y%m%dT%H%MZ}",
                        resource_id=resource_id,
                        impacted_operator_id=operator,
                        status=status,
                        light=light,
                        max_up_mw=limits[0],
                        max_down_mw=limits[1],
                        valid=mtu,
                    )
                )
        return tuple(records)

    def explanation_text(self, r: int, t: int, d: int) -> str:
        """The FSP-facing sentence of one cell (no asset names, no indices of the grid)."""
        mtu = self.intervals[t]
        direction = _DIRECTIONS[d].value
        code = int(self.light_code[r, t, d])
        kind = _KINDS[int(self.kind_code[r, t, d])]
        when = f"{mtu.start:%Y-%m-%dT%H:%MZ}"
        rng = float(self.range_mw[r])
        if code == 0:
            return f"{self.resource_ids[r]} {direction} at {when}: green, up to {rng:.2f} MW"
        ref = self.constraint_refs[int(self.constraint[r, t, d])]
        where = f"{kind.phrase} in the {self.grid_word} grid (constraint {ref})"
        if code == 2:
            return f"{self.resource_ids[r]} {direction} at {when}: red, not allowed: {where}"
        return (
            f"{self.resource_ids[r]} {direction} at {when}: amber, at most "
            f"{float(self.safe_mw[r, t, d]):.2f} MW of {rng:.2f} MW: {where}"
        )

    def explanations_for_fsp(self, fsp_id: str) -> tuple[FspExplanation, ...]:
        """Every amber or red cell of the FSP's resources, in words it may see."""
        rows = [r for r, f in enumerate(self.fsp_ids) if f == fsp_id]
        out = []
        for r in rows:
            for t, d in zip(*np.nonzero(self.light_code[r] > 0), strict=True):
                c = int(self.constraint[r, t, d])
                out.append(
                    FspExplanation(
                        resource_id=self.resource_ids[r],
                        interval=self.intervals[t],
                        direction=_DIRECTIONS[d],
                        light=_LIGHTS[int(self.light_code[r, t, d])],
                        limit_mw=float(self.safe_mw[r, t, d]),
                        range_mw=float(self.range_mw[r]),
                        limit_kind=_KINDS[int(self.kind_code[r, t, d])],
                        constraint_ref=self.constraint_refs[c] if c >= 0 else "",
                        text=self.explanation_text(r, int(t), int(d)),
                    )
                )
        return tuple(out)

    def internal_report(self) -> pd.DataFrame:
        """Every amber or red cell with the binding asset named: for the DSO only.

        Columns: ``resource_id``, ``fsp_id``, ``area_id``, ``mtu_start``, ``direction``,
        ``light``, ``safe_mw``, ``range_mw``, ``limit_kind``, ``asset`` (``"line:12"``,
        ``"bus:40"``), ``asset_name``, ``constraint_ref``, ``forecast_value`` (MW or pu),
        ``lower`` / ``upper`` (margined bounds).
        """
        r, t, d = np.nonzero(self.light_code > 0)
        c = self.constraint[r, t, d]
        names = np.array((*self.constraint_names, ""), dtype=object)
        assets = np.array((*self.constraint_asset_names, ""), dtype=object)
        refs = np.array((*self.constraint_refs, ""), dtype=object)
        n_branch = len(self.model.branches.value)
        value = np.vstack([self.model.branches.value, self.model.buses.value])
        lower = np.r_[self.model.branches.lower, self.model.buses.lower]
        upper = np.r_[self.model.branches.upper, self.model.buses.upper]
        ok = c >= 0
        starts = np.array([m.start for m in self.intervals], dtype=object)
        return pd.DataFrame(
            {
                "resource_id": np.array(self.resource_ids, dtype=object)[r],
                "fsp_id": np.array(self.fsp_ids, dtype=object)[r],
                "area_id": np.array(self.area_ids, dtype=object)[r],
                "mtu_start": starts[t],
                "direction": np.array([x.value for x in _DIRECTIONS], dtype=object)[d],
                "light": np.array([x.value for x in _LIGHTS], dtype=object)[
                    self.light_code[r, t, d]
                ],
                "safe_mw": self.safe_mw[r, t, d],
                "range_mw": self.range_mw[r],
                "limit_kind": np.array([k.value for k in _KINDS], dtype=object)[
                    self.kind_code[r, t, d]
                ],
                "asset": names[c],
                "asset_name": assets[c],
                "constraint_ref": refs[c],
                "forecast_value": np.where(ok, value[np.where(ok, c, 0), t], np.nan),
                "lower": np.where(ok, lower[np.where(ok, c, 0)], np.nan),
                "upper": np.where(ok, upper[np.where(ok, c, 0)], np.nan),
                "is_branch": ok & (c < n_branch),
            }
        )


# --- computation -----------------------------------------------------------------------------


def _fail(field: str, value: object, message: str, kind: str = "TrafficLight") -> None:
    raise InvalidInputError(
        [Issue(kind=kind, object_id="traffic-light", field=field, value=value, message=message)]
    )


def _branch_ends(net: Any, names: Sequence[str]) -> tuple[IntArray, IntArray, list[str]]:
    from_bus, to_bus, asset_names = [], [], []
    for name in names:
        table, index = name.split(":")
        row = net[table].loc[int(index)]
        if table == "line":
            from_bus.append(int(row["from_bus"]))
            to_bus.append(int(row["to_bus"]))
        else:
            from_bus.append(int(row["hv_bus"]))
            to_bus.append(int(row["lv_bus"]))
        asset_names.append(str(row.get("name") or name))
    return np.array(from_bus, np.int64), np.array(to_bus, np.int64), asset_names


def _default_resources(register: Register, area_ids: frozenset[str]) -> list[str]:
    def in_areas(unit_id: str) -> bool:
        unit = register.unit(unit_id)
        return register.connection_point(unit.connection_point_id).area_id in area_ids

    units = [u.id for u in register.units if in_areas(u.id)]
    groups = [g.id for g in register.groups if all(in_areas(u) for u in g.unit_ids)]
    return units + groups


def _weights(
    register: Register, resource_ids: Sequence[str], bus_position: Mapping[int, int], n_bus: int
) -> tuple[sp.csc_matrix, FloatArray]:
    """Sparse (n_bus, R) share of each resource's activation per bus, and each range."""
    rows, cols, vals, ranges = [], [], [], []
    missing = []
    for j, resource_id in enumerate(resource_ids):
        units = register.units_of(resource_id)
        widths = np.array([u.p_range_mw for u in units], dtype=float)
        total = float(widths.sum())
        shares = widths / total if total > 0 else np.full(len(units), 1.0 / len(units))
        for unit, share in zip(units, shares, strict=True):
            bus = register.connection_point(unit.connection_point_id).bus
            if bus not in bus_position:
                missing.append((resource_id, bus))
                continue
            rows.append(bus_position[bus])
            cols.append(j)
            vals.append(share)
        ranges.append(total)
    if missing:
        raise InvalidInputError(
            Issue(
                kind="Resource",
                object_id=r,
                field="bus",
                value=b,
                message="is not an in-service bus of the grid model",
            )
            for r, b in missing[:20]
        )
    w = sp.csc_matrix((vals, (rows, cols)), shape=(n_bus, len(resource_ids)))
    return w, np.array(ranges, dtype=float)


def _refs(key: bytes, names: Iterable[str]) -> tuple[str, ...]:
    return tuple(
        "C-" + hmac.new(key, n.encode(), hashlib.sha256).hexdigest()[:10].upper() for n in names
    )


def compute_traffic_light(
    register: Register,
    grid: Any,
    forecast: OperatingForecast,
    *,
    operator_id: str,
    resources: Sequence[str] | None = None,
    safety_margin: float = DEFAULT_SAFETY_MARGIN,
    vm_min_pu: float | None = None,
    vm_max_pu: float | None = None,
    mode: Literal["day_ahead", "intraday"] = "day_ahead",
    amber_floor_mw: float = DEFAULT_AMBER_FLOOR_MW,
    q_mvar_per_mw: Mapping[str, float] | None = None,
    anonymisation_key: bytes | None = None,
) -> TrafficLightAssessment:
    """The traffic light of ``operator_id``'s grid for resources × MTUs × directions.

    Args:
        register: The flexibility register (operators, areas, units, groups).
        grid: The :class:`~flexcoord.grid.model.GridModel` the forecast was made on.
        forecast: Per-MTU flows and voltages (:mod:`flexcoord.grid.forecast`).
        operator_id: The assessing system operator; the branches touching its areas' buses
            and those buses are monitored.
        resources: Units / groups to assess; ``None`` = every unit in its areas and every group
            wholly inside them.
        safety_margin: Share of each thermal limit, and of the voltage band (half at each end),
            kept free for linearisation and forecast error; in ``[0, 1)``.
        vm_min_pu: Lower voltage limit for every monitored bus; ``None`` takes the bus table's
            ``min_vm_pu`` where set, else 0.95.
        vm_max_pu: Upper voltage limit; ``None`` takes ``max_vm_pu`` where set, else 1.05.
        mode: ``"day_ahead"`` (bid prequalification and filtering before gate closure) or
            ``"intraday"`` (checking activations with an updated forecast).
        amber_floor_mw: Safe volumes below this are red.
        q_mvar_per_mw: Reactive power per MW of activation per resource (default 0, cos φ = 1).
        anonymisation_key: Secret key of the constraint references shown to FSPs; ``None``
            derives one from the operator id (stable, but guessable: set a secret in production).

    Raises:
        InvalidInputError: unknown operator, operator without areas, a margin outside [0, 1),
            a forecast that does not match the grid, a resource on an unknown bus.
        NotFoundError: an unknown resource.

    Example:
        >>> from datetime import UTC, date, datetime
        >>> from flexcoord.domain import market_time_units
        >>> from flexcoord.grid.forecast import forecast_from_profiles
        >>> from flexcoord.grid.model import load_grid
        >>> from flexcoord.grid.portfolio import build_portfolio
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> mtus = market_time_units(date(2026, 6, 1))
        >>> fc = forecast_from_profiles(grid, start_step=96 * 150, intervals=mtus,
        ...                             issued_at=datetime(2026, 5, 31, 9, tzinfo=UTC))
        >>> tl = compute_traffic_light(build_portfolio(grid), grid, fc, operator_id="dso")
        >>> tl.safe_mw.shape, sorted(tl.counts())
        ((198, 96, 2), ['amber', 'green', 'red'])
    """
    operator = register.operator(operator_id)
    if not (0.0 <= safety_margin < 1.0):
        _fail("safety_margin", safety_margin, "must be in [0, 1)")
    if not (math.isfinite(amber_floor_mw) and amber_floor_mw >= 0):
        _fail("amber_floor_mw", amber_floor_mw, "must be a finite number >= 0")
    if mode not in ("day_ahead", "intraday"):
        _fail("mode", mode, "must be 'day_ahead' or 'intraday'")
    areas = [a for a in register.areas if a.operator_id == operator_id]
    if not areas:
        _fail("operator_id", operator_id, "runs no grid area in the register")
    area_ids = frozenset(a.id for a in areas)
    monitored_bus_set = frozenset().union(*(a.bus_ids for a in areas))
    resource_ids = _default_resources(register, area_ids) if resources is None else list(resources)
    for resource_id in resource_ids:
        register.resource(resource_id)  # NotFoundError for unknown ids

    net = grid.net
    ptdf = grid.ptdf()
    if forecast.branch_names != ptdf.branch_names:
        _fail("forecast", forecast.label, "branch names differ from the grid's PTDF rows")
    from_bus, to_bus, asset_names = _branch_ends(net, ptdf.branch_names)
    in_area = np.fromiter(monitored_bus_set, dtype=np.int64, count=len(monitored_bus_set))
    branch_rows = np.flatnonzero(np.isin(from_bus, in_area) | np.isin(to_bus, in_area))
    limits = grid.branch_limits()
    flow_limit = limits.limit_mw[branch_rows] * (1.0 - safety_margin)

    vsens = grid.voltage_sensitivity()
    watched = np.isin(vsens.monitored_bus_ids, in_area)
    bus_ids = vsens.monitored_bus_ids[watched]
    vm_rows = forecast.bus_rows(bus_ids)
    table = net.bus.reindex(bus_ids)
    lower = _band(table, "min_vm_pu", vm_min_pu, DEFAULT_VM_MIN_PU, "vm_min_pu")
    upper = _band(table, "max_vm_pu", vm_max_pu, DEFAULT_VM_MAX_PU, "vm_max_pu")
    if np.any(lower >= upper):
        _fail("vm_min_pu", vm_min_pu, f"must be below vm_max_pu={vm_max_pu}")
    shrink = safety_margin * (upper - lower) / 2.0

    position = {int(b): i for i, b in enumerate(ptdf.bus_ids)}
    w_ptdf, range_mw = _weights(register, resource_ids, position, len(ptdf.bus_ids))
    s_flow = np.asarray((w_ptdf.T @ ptdf.matrix[branch_rows].T).T)
    inj_position = {int(b): i for i, b in enumerate(vsens.injection_bus_ids)}
    w_v, _ = _weights(register, resource_ids, inj_position, len(vsens.injection_bus_ids))
    s_vm_p = np.asarray((w_v.T @ vsens.dvm_dp_pu_per_mw[watched].T).T)
    s_vm_q = np.asarray((w_v.T @ vsens.dvm_dq_pu_per_mvar[watched].T).T)
    q_given = q_mvar_per_mw or {}
    q_ratio = np.array([float(q_given.get(r, 0.0)) for r in resource_ids], dtype=float)

    model = LinearGridModel(
        branches=ConstraintSet(
            value=forecast.branch_flow_mw[branch_rows],
            lower=-flow_limit,
            upper=flow_limit,
            min_sensitivity=MIN_PTDF,
            min_effect=MIN_FLOW_EFFECT_MW,
        ),
        buses=ConstraintSet(
            value=forecast.vm_pu[vm_rows],
            lower=lower + shrink,
            upper=upper - shrink,
            min_sensitivity=MIN_DVM_PU_PER_MW,
            min_effect=MIN_VM_EFFECT_PU,
        ),
        s_flow=s_flow,
        s_vm_p=s_vm_p,
        s_vm_q=s_vm_q,
        q_ratio=q_ratio,
    )
    result = model.safe(np.arange(len(resource_ids)), range_mw)
    light, kind = classify(result, range_mw, amber_floor_mw, n_branch=len(branch_rows))

    names = tuple(ptdf.branch_names[i] for i in branch_rows) + tuple(f"bus:{b}" for b in bus_ids)
    bus_names = [str(n) if n else f"bus:{b}" for b, n in zip(bus_ids, table["name"], strict=True)]
    key = anonymisation_key or f"flexcoord-traffic-light:{operator_id}".encode()
    units_first = [register.units_of(r)[0] for r in resource_ids]
    return TrafficLightAssessment(
        operator_id=operator_id,
        grid_word="distribution" if operator.role is OperatorRole.DSO else "transmission",
        mode=mode,
        forecast=forecast,
        resource_ids=tuple(resource_ids),
        fsp_ids=tuple(register.resource(r).fsp_id for r in resource_ids),
        area_ids=tuple(
            register.connection_point(u.connection_point_id).area_id for u in units_first
        ),
        range_mw=range_mw,
        safe_mw=result.x_mw,
        light_code=light,
        kind_code=kind,
        constraint=result.row,
        constraint_names=names,
        constraint_asset_names=tuple(asset_names[i] for i in branch_rows) + tuple(bus_names),
        constraint_refs=_refs(key, names),
        safety_margin=safety_margin,
        amber_floor_mw=amber_floor_mw,
        model=model,
    )


def classify(
    result: SafeVolumes, range_mw: FloatArray, amber_floor_mw: float, *, n_branch: int
) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
    """Light codes (0 green, 1 amber, 2 red) and limit-kind codes of a kernel result."""
    cap = range_mw[:, None, None]
    green = result.x_mw >= cap - 1e-12
    red = ~green & (result.x_mw < amber_floor_mw)
    light = np.where(green, 0, np.where(red, 2, 1)).astype(np.int8)
    kind = np.where(
        result.row < 0,
        0,
        np.where(result.row < n_branch, 1, np.where(result.upper, 2, 3)),
    ).astype(np.int8)
    return light, kind


def _band(
    table: pd.DataFrame, column: str, override: float | None, default: float, field: str
) -> FloatArray:
    if override is not None:
        if not math.isfinite(override) or override <= 0:
            _fail(field, override, "must be a finite number > 0")
        return np.full(len(table), float(override))
    if column not in table.columns:
        return np.full(len(table), default)
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, default)
