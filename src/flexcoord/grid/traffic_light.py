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
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from flexcoord.domain import (
    OperatorRole,
    Register,
)
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.sensitivities import Ptdf, VoltageSensitivity
from flexcoord.grid.traffic_light_assessment import (
    FspExplanation,
    LimitKind,
    LinearGridModel,
    TrafficLightAssessment,
)
from flexcoord.grid.traffic_light_kernel import ConstraintSet, SafeVolumes

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


def _fail(field: str, value: object, message: str, kind: str = "TrafficLight") -> None:
    raise InvalidInputError(
        [Issue(kind=kind, object_id="traffic-light", field=field, value=value, message=message)]
    )


def _branch_ends(net: Any, names: Sequence[str]) -> tuple[IntArray, IntArray, list[str]]:
    """From / to (HV / LV) buses and asset names of ``"line:12"`` / ``"trafo:3"`` branches;
    one pass over each table's columns (not a pandas row lookup per branch)."""
    ends: dict[str, dict[int, tuple[int, int, Any]]] = {}
    for table, a, b in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
        frame = net[table]
        labels = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
        ends[table] = {
            int(i): (int(x), int(y), label)
            for i, x, y, label in zip(
                frame.index.tolist(), frame[a].tolist(), frame[b].tolist(), labels, strict=True
            )
        }
    from_bus, to_bus, asset_names = [], [], []
    for name in names:
        table, index = name.split(":")
        x, y, label = ends[table][int(index)]
        from_bus.append(x)
        to_bus.append(y)
        asset_names.append(str(label or name))
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


def compute_traffic_light(  # noqa: PLR0913, PLR0915 - public: grid and needs, then keyword-only options; not split yet
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
    limit_overrides_mw: Mapping[str, float] | None = None,
    ptdf: Ptdf | None = None,
    voltages: bool = True,
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
        limit_overrides_mw: Branch name → thermal limit (MW) replacing the grid's own (a
            scenario's designed congestion, or a limit the DSO lowered for the day).
        ptdf: The PTDF rows to monitor (of them, those touching the operator's areas); ``None``
            takes the grid's full ``grid.ptdf()``. A screened grid's rows
            (:func:`~flexcoord.grid.screening.screen_branches`) keep a national grid without a
            dense PTDF: an unscreened branch is one no flexibility can load to its limit.
        voltages: Whether the operator's buses are monitored (the grid's voltage sensitivities,
            a dense bus × bus inverse on a national grid); ``False`` checks thermal limits only.

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
    ptdf, forecast_rows = _ptdf_rows(grid, forecast, ptdf)
    from_bus, to_bus, asset_names = _branch_ends(net, ptdf.branch_names)
    in_area = np.fromiter(monitored_bus_set, dtype=np.int64, count=len(monitored_bus_set))
    branch_rows = np.flatnonzero(np.isin(from_bus, in_area) | np.isin(to_bus, in_area))
    limits = grid.branch_limits()
    limit_mw = limits.limit_mw
    if limit_mw_overrides := dict(limit_overrides_mw or {}):
        limit_mw = np.array(
            [
                limit_mw_overrides.get(n, v)
                for n, v in zip(limits.branch_names, limit_mw, strict=True)
            ]
        )
    if ptdf.branch_names != limits.branch_names:  # screened rows: their limits by name
        index = {n: i for i, n in enumerate(limits.branch_names)}
        limit_mw = limit_mw[[index[n] for n in ptdf.branch_names]]
    flow_limit = limit_mw[branch_rows] * (1.0 - safety_margin)

    vsens = grid.voltage_sensitivity() if voltages else _no_voltages()
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
    if voltages:
        inj_position = {int(b): i for i, b in enumerate(vsens.injection_bus_ids)}
        w_v, _ = _weights(register, resource_ids, inj_position, len(vsens.injection_bus_ids))
        s_vm_p = np.asarray((w_v.T @ vsens.dvm_dp_pu_per_mw[watched].T).T)
        s_vm_q = np.asarray((w_v.T @ vsens.dvm_dq_pu_per_mvar[watched].T).T)
    else:
        s_vm_p = s_vm_q = np.zeros((0, len(resource_ids)))
    q_given = q_mvar_per_mw or {}
    q_ratio = np.array([float(q_given.get(r, 0.0)) for r in resource_ids], dtype=float)

    model = LinearGridModel(
        branches=ConstraintSet(
            value=forecast.branch_flow_mw[forecast_rows[branch_rows]],
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


def _ptdf_rows(grid: Any, forecast: OperatingForecast, ptdf: Ptdf | None) -> tuple[Ptdf, IntArray]:
    """The PTDF to monitor (default the grid's full one) and its rows in ``forecast``
    (``InvalidInputError`` when the forecast misses one)."""
    if ptdf is None:
        full: Ptdf = grid.ptdf()
        if forecast.branch_names != full.branch_names:
            _fail("forecast", forecast.label, "branch names differ from the grid's PTDF rows")
        return full, np.arange(len(full.branch_names))
    rows: IntArray = forecast.branch_rows(ptdf.branch_names)
    return ptdf, rows


def _no_voltages() -> VoltageSensitivity:
    """No monitored bus (a thermal-only traffic light)."""
    none = np.zeros(0, dtype=np.int64)
    return VoltageSensitivity(
        dvm_dp_pu_per_mw=np.zeros((0, 0)),
        dvm_dq_pu_per_mvar=np.zeros((0, 0)),
        monitored_bus_ids=none,
        injection_bus_ids=none,
        vm_pu=np.zeros(0),
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
