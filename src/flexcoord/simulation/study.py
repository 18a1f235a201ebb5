"""A study's market days: forecasts with error, device bids, and what each scheme's dispatch did
on the realised grid (``docs/simulation.md``).

:func:`plan_study` prepares what every day shares (checked before anything loads: the grid
code, the presets, the period inside the profile year); :func:`day_market` builds one day's
markets; :func:`run_day` runs one scheme over them and follows its dispatch through operations
(activation orders, delivery, meter data, baseline, verification, settlement) to the realised
AC power flow. The markets, the operations and the grid checks are the library's own
(``coordination``, ``operations``, ``grid``), as the CLI and the service call them.

Choices (the issue leaves them open):

- **Time.** Market day ``start + k`` takes SimBench's profiles of the same local day of 2016
  (the profile year), so a study stays inside one year of profiles and its weekdays are 2016's.
- **Congestion by design** is set once per study (:func:`~flexcoord.simulation.scenario.
  congestion_plan` on the realised flows of the whole period): the limits hold for every day,
  and a day has congestion only when its flows come near them.
- **Forecasts.** Day-ahead (issued D−1 12:00) and intraday (D 00:00 − 2 h) forecasts perturb
  every sgen's and load's profile per technology (:mod:`~flexcoord.simulation.forecast_error`),
  then run one AC power flow of the perturbed grid. Markets clear on the day-ahead forecast; the
  near-real-time activation check uses the intraday one; **delivery and the realised AC check use
  the profiles themselves**.
- **Needs**: every DSO congestion of the plan gets its day-ahead forecast overload as a need;
  with ``needs.dso_voltage``, every DSO area's day-ahead forecast voltage problems that its
  flexibility can reach become needs too (:mod:`~flexcoord.simulation.voltage_needs`: beyond
  the band and the bus's own level of the day by ``needs.dso_voltage_margin_pu``);
  the TSO's transmission congestion is priced implicitly through its tightened limits and it
  buys ``needs.tso_balancing_mw`` upward in the afternoon (13:00–17:00).
- **Delivery**: a unit fails a day's orders with probability ``fsp.failure_rate``; otherwise
  it is asked its order times ``1 + fsp.delivery_noise · ε`` and does what its device physics
  allows (:func:`~flexcoord.simulation.devices.apply_activation`, rebound included).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.dispatch import branch_overload_mw, outside_band
from flexcoord.coordination.config import SchemeConfig
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.coordination.joint import DsoModelCache, JointModel
from flexcoord.coordination.presets import PRESETS
from flexcoord.coordination.rounds import RoundKind, TimeframeChain
from flexcoord.domain import (
    Direction,
    Interval,
    Location,
    MtuQuantity,
    OperatorRole,
    PowerType,
    Product,
    ProductKind,
    Register,
    SystemOperator,
    Technology,
    Timeframe,
    market_time_units,
)
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.grid.forecast import (
    LOAD_KEY,
    ElementInjections,
    FlowQuantity,
    OperatingForecast,
    element_injections,
    forecast_from_profiles,
    forecast_from_snapshot,
    forecast_with_changes,
)
from flexcoord.grid.growth import grid_of_year, year_issues
from flexcoord.grid.loading import resolve_grid_code
from flexcoord.grid.model import GridModel, load_grid
from flexcoord.grid.portfolio import ScenarioAdditions, build_portfolio
from flexcoord.grid.violations import Limits, resolve_limits
from flexcoord.schemas.study import StudyFile
from flexcoord.simulation.devices import Device, DeviceSpec, build_devices, default_baseline_mw
from flexcoord.simulation.forecast_error import ForecastErrorSpec, forecast_profiles
from flexcoord.simulation.pooling import DevicePooling, device_bids, device_pools
from flexcoord.simulation.scenario import (
    DsoCongestion,
    chain_gate_closures,
    chain_of,
    congestion_plan,
    dso_needs,
    make_need,
    profile_step_of,
)
from flexcoord.simulation.voltage_needs import dso_voltage_needs

__all__ = [
    "HISTORY_DAYS",
    "DayMarket",
    "MeterHistory",
    "StudyPlan",
    "check_study",
    "day_market",
    "forecast_elements",
    "overload_mw",
    "plan_study",
    "realised_state",
    "study_presets",
    "voltage_outside_pu",
]

FloatArray = NDArray[np.float64]

PROFILE_YEAR = 2016  # SimBench's profiles
_STEPS_PER_YEAR = 366 * 96  # 2016 is a leap year
_BERLIN = ZoneInfo("Europe/Berlin")
#: The study key of each technology's forecast error.
_ERROR_KEYS = {
    Technology.PV: "pv",
    Technology.WIND: "wind",
    Technology.GENERIC_LOAD: "load",
    Technology.EV_CHARGING: "ev",
    Technology.HEAT_PUMP: "heat_pump",
}
_PRODUCT = "p-da-activation"
_MTU_H = 0.25  # the study's market time unit: 15 minutes


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyPlan:
    """What every day of a study shares (:func:`plan_study`)."""

    study: StudyFile
    source: str
    grid: GridModel
    register: Register
    presets: tuple[SchemeConfig, ...]
    days: tuple[date, ...]
    limit_overrides_mw: Mapping[str, float]
    congestion: tuple[DsoCongestion, ...]
    devices: tuple[Device, ...]
    error: ForecastErrorSpec
    dso_models: DsoModelCache


@dataclass(frozen=True, slots=True, kw_only=True)
class DayMarket:
    """One market day: its realised profile injections, forecasts and markets."""

    index: int
    day: date
    intervals: tuple[Interval, ...]
    profile_step: int
    realised: ElementInjections
    day_ahead: OperatingForecast
    intraday: OperatingForecast
    unit_forecast_mw: Mapping[str, FloatArray]
    base: CoordinationInput
    chains: Mapping[tuple[Timeframe, ...], TimeframeChain]
    history: MeterHistory | None
    device_declared_mw: Mapping[str, FloatArray]
    device_realised_mw: Mapping[str, FloatArray]
    no_flex_outside_pu: FloatArray
    no_flex_overload_mwh: float
    joint: JointModel


def _key_issue(source: str, field: str, value: object, message: str) -> Issue:
    return Issue(kind="", object_id="", field=field, value=value, message=message, source=source)


def study_presets(study: StudyFile, source: str) -> tuple[SchemeConfig, ...]:
    """The study's schemes: ``["all"]`` is every preset of the seed paper's families
    (:data:`~flexcoord.coordination.presets.PRESETS`), or the named presets in order.

    Raises:
        InvalidInputError: an unknown preset (naming the key ``schemes`` and the valid ids).
    """
    if tuple(study.schemes) == ("all",):
        return PRESETS
    by_id = {c.id: c for c in PRESETS}
    unknown = [s for s in study.schemes if s not in by_id]
    if unknown:
        known = ", ".join(by_id)
        raise InvalidInputError(
            [
                _key_issue(source, "schemes", s, f"is not a preset (known: all, {known})")
                for s in unknown
            ]
        )
    return tuple(by_id[s] for s in dict.fromkeys(study.schemes))


def profile_day(day: date) -> date:
    """The day of the SimBench profile year whose profiles stand for ``day`` (same month and
    day).

    Example:
        >>> profile_day(date(2026, 6, 2))
        datetime.date(2016, 6, 2)
    """
    return (
        date(PROFILE_YEAR, day.month, day.day)
        if (day.month, day.day) != (2, 29)
        else date(PROFILE_YEAR, 2, 29)
    )


def check_study(study: StudyFile, source: str) -> None:
    """Every check that needs no grid: the grid code, the year, the presets, the period.

    Raises:
        InvalidInputError: all issues at once, each naming its key.
    """
    issues: list[Issue] = []
    try:
        if not resolve_grid_code(study.grid).has_profiles:
            issues.append(
                _key_issue(
                    source,
                    "grid",
                    study.grid,
                    "has no year-long SimBench profiles, which a study needs; use a SimBench "
                    "code (`flexcoord grid list`)",
                )
            )
    except (InvalidInputError, NotFoundError) as exc:
        message = str(exc).splitlines()[-1].strip().removeprefix("- ")
        message = message.removeprefix(f"grid {study.grid!r} ")
        issues.append(_key_issue(source, "grid", study.grid, message))
    if study.year is not None:
        issues += year_issues(study.grid, study.year, field="year", source=source)
    try:
        study_presets(study, source)
    except InvalidInputError as exc:
        issues += exc.issues
    days = [study.start + timedelta(days=k) for k in range(study.days)]
    profile_days = [profile_day(d) for d in days]
    if any(b <= a for a, b in itertools.pairwise(profile_days)):
        issues.append(
            _key_issue(
                source,
                "days",
                study.days,
                f"runs past the end of the profile year: from start {study.start.isoformat()} "
                f"at most {(date(PROFILE_YEAR, 12, 31) - profile_days[0]).days + 1} days "
                "fit (SimBench's profiles are one year)",
            )
        )
    if issues:
        raise InvalidInputError(issues)


def _error_spec(study: StudyFile) -> ForecastErrorSpec:
    e = study.forecast_error
    return ForecastErrorSpec(
        sigma_by_technology={t: float(getattr(e, key)) for t, key in _ERROR_KEYS.items()},
        autocorrelation=e.autocorrelation,
    )


def plan_study(study: StudyFile, *, source: str = "study") -> StudyPlan:
    """Check the study, load its grid and set what every day shares (module docstring).

    Raises:
        InvalidInputError: the study's issues (:func:`check_study`), before the grid loads.
    """
    check_study(study, source)
    code = resolve_grid_code(study.grid).code
    grid = load_grid(code) if study.year is None else grid_of_year(code, study.year)
    days = tuple(study.start + timedelta(days=k) for k in range(study.days))
    return _planned(study, source, grid, days, None)


def plan_on_grid(
    study: StudyFile,
    grid: GridModel,
    *,
    days: tuple[date, ...],
    congestion: tuple[DsoCongestion, ...],
    source: str = "study",
) -> StudyPlan:
    """A study's plan on a grid built elsewhere (a planning year's network on its growth path),
    for chosen market days (in any order, not necessarily consecutive), with the DSO
    congestions given at their own limits instead of congestion by design (``study.grid`` only
    names the grid; ``study.congestion`` is not used).

    Raises:
        InvalidInputError: an unknown preset of ``study.schemes``, or no day.
    """
    if not days:
        raise InvalidInputError([_key_issue(source, "days", 0, "must hold at least one day")])
    overrides = {c.branch: c.limit_mw for c in congestion}
    return _planned(study, source, grid, days, (overrides, congestion))


def _planned(
    study: StudyFile,
    source: str,
    grid: GridModel,
    days: tuple[date, ...],
    congestion: tuple[Mapping[str, float], tuple[DsoCongestion, ...]] | None,
) -> StudyPlan:
    presets = study_presets(study, source)
    g = study.growth
    register = build_portfolio(
        grid,
        additions=ScenarioAdditions(
            batteries=g.batteries,
            ev_chargers=g.ev_chargers,
            heat_pumps=g.heat_pumps,
            seed=study.seed,
        ),
    )
    devices = build_devices(register, DeviceSpec())
    pools = device_pools(devices, pooling=_pooling(study))
    product = Product(
        id=_PRODUCT,
        power_type=PowerType.ACTIVE,
        kind=ProductKind.ACTIVATION,
        timeframe=Timeframe.DAY_AHEAD,
        gate_closure_before_delivery=timedelta(hours=12),
    )
    brp = SystemOperator(id="brp", name="Balance responsible party", role=OperatorRole.BRP)
    register = dataclasses.replace(
        register,
        operators=(*register.operators, brp),
        products=(product,),
        groups=(*register.groups, *pools),
    )
    if congestion is None:
        overrides, plan = _by_design(study, grid, register, days)
    else:
        overrides, plan = dict(congestion[0]), congestion[1]
    return StudyPlan(
        study=study,
        source=source,
        grid=grid,
        register=register,
        presets=presets,
        days=days,
        limit_overrides_mw=overrides,
        congestion=plan,
        devices=devices,
        error=_error_spec(study),
        dso_models=DsoModelCache(day_market_input(grid, register, overrides)),
    )


def _by_design(
    study: StudyFile, grid: GridModel, register: Register, days: tuple[date, ...]
) -> tuple[dict[str, float], tuple[DsoCongestion, ...]]:
    """Congestion by design on the realised flows of the study's (consecutive) days."""
    period = tuple(iv for d in days for iv in market_time_units(d))
    realised_period = forecast_from_profiles(
        grid,
        start_step=profile_step_of(profile_day(days[0])),
        intervals=period,
        issued_at=period[0].start,
        label="realised period",
        flows=FlowQuantity.THERMAL,
    )
    c = study.congestion
    return congestion_plan(
        grid,
        register,
        realised_period,
        n_tso=c.n_tso,
        n_dso=c.n_dso,
        tso_tightening=c.tso_tightening,
        dso_tightening=c.dso_tightening,
    )


def day_market_input(
    grid: GridModel, register: Register, overrides: Mapping[str, float]
) -> CoordinationInput:
    """A market-free input on the study's grid and limits: what the DSO model cache of the
    study is keyed by (its models depend on the grid, limits and voltage setting only)."""
    mtus = market_time_units(date(2026, 6, 1))[:1]
    return CoordinationInput(
        name="study grid",
        grid=grid,
        register=register,
        needs=(),
        bids=(),
        intervals=mtus,
        forecast=forecast_from_snapshot(grid, intervals=mtus, issued_at=mtus[0].start),
        limit_overrides_mw=dict(overrides),
    )


def _pooling(study: StudyFile) -> DevicePooling:
    return DevicePooling(
        units_per_pool=study.fsp.units_per_aggregator,
        sustain_mtus=max(1, round(study.fsp.sustain_h / _MTU_H)),
    )


def _technology(key: str) -> Technology:
    if key == LOAD_KEY:
        return Technology.GENERIC_LOAD
    try:
        return Technology(key)
    except ValueError:
        return Technology.GENERIC_GENERATOR


def forecast_elements(
    plan: StudyPlan, realised: ElementInjections, *, lead: Timeframe, day_index: int
) -> FloatArray:
    """Every element's forecast at ``lead`` (signed as ``realised.p_mw``): each technology's
    columns perturbed together (:func:`~flexcoord.simulation.forecast_error.forecast_profiles`)."""
    techs = np.array([_technology(t) for t in realised.technology], dtype=object)
    magnitude = np.abs(realised.p_mw)
    sign = np.where(realised.p_mw < 0, -1.0, 1.0)
    groups = {t: np.flatnonzero(techs == t) for t in dict.fromkeys(techs.tolist())}
    drawn = forecast_profiles(
        {t: magnitude[:, cols] for t, cols in groups.items()},
        plan.error,
        lead=lead,
        seed=plan.study.seed,
        day_index=day_index,
    )
    out = realised.p_mw.copy()
    for t, cols in groups.items():
        out[:, cols] = sign[:, cols] * drawn[t]
    return out


def _forecast(
    plan: StudyPlan,
    market: tuple[int, tuple[Interval, ...], int, ElementInjections],
    lead: Timeframe,
    issued_at: datetime,
) -> tuple[OperatingForecast, FloatArray]:
    index, intervals, step, realised = market
    elements = forecast_elements(plan, realised, lead=lead, day_index=index)
    change = realised.per_bus(elements - realised.p_mw)
    forecast = forecast_with_changes(
        plan.grid,
        start_step=step,
        intervals=intervals,
        p_mw=change,
        issued_at=issued_at,
        label=f"{lead} forecast, day {index}",
    )
    return forecast, elements


def _tso_need(plan: StudyPlan, intervals: tuple[Interval, ...], created: datetime) -> Any:
    local = [iv.start.astimezone(_BERLIN).hour for iv in intervals]
    afternoon = tuple(iv for iv, h in zip(intervals, local, strict=True) if 13 <= h < 17)
    return make_need(
        "n-tso-balancing",
        "tso",
        Location.at_buses(frozenset(int(b) for b in plan.grid.bus_ids())),
        Direction.UP,
        afternoon or intervals,
        plan.study.needs.tso_balancing_mw,
        plan.study.needs.tso_price_cap_eur_per_mwh,
        created,
    )


#: Days of meter history an X-of-Y baseline is given (10 like weekend days need about 5 weeks).
HISTORY_DAYS = 36


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterHistory:
    """The :data:`HISTORY_DAYS` days of meter data before a market day, per unit on request.

    The days' profiles (SimBench elements) or default schedules (added devices) stand for their
    meter readings: the study assumes no activation on those days. Days before the profile year
    are absent (an X-of-Y baseline then has insufficient data)."""

    days: tuple[tuple[Interval, ...], ...]
    elements: ElementInjections | None
    devices: Mapping[str, Device]

    def readings(self, unit_id: str) -> list[tuple[Interval, float]]:
        """The unit's readings, in time order (none for an unknown unit)."""
        mtus = [iv for day in self.days for iv in day]
        if self.elements is not None and unit_id in self.elements.element_ids:
            column = self.elements.p_mw[:, self.elements.element_ids.index(unit_id)]
            return list(zip(mtus, column.tolist(), strict=True))
        device = self.devices.get(unit_id)
        if device is None:
            return []
        values = np.concatenate([default_baseline_mw(device, day) for day in self.days])
        return list(zip(mtus, values.tolist(), strict=True))


def _history(plan: StudyPlan, day: date) -> MeterHistory:
    days = [
        day - timedelta(days=back)
        for back in range(HISTORY_DAYS, 0, -1)
        if profile_day(day - timedelta(days=back)) < profile_day(day)
    ]
    per_day = tuple(market_time_units(d) for d in days)
    elements = (
        element_injections(
            plan.grid,
            start_step=profile_step_of(profile_day(days[0])),
            steps=sum(len(m) for m in per_day),
        )
        if days
        else None
    )
    return MeterHistory(
        days=per_day, elements=elements, devices={d.unit_id: d for d in plan.devices}
    )


def realised_state(
    plan: StudyPlan,
    *,
    intervals: tuple[Interval, ...],
    profile_step: int,
    change: Mapping[str, FloatArray],
) -> OperatingForecast:
    """The realised AC operating point of a day (its profiles) with the units' schedule
    changes (MW per MTU, positive into the grid) added at their buses."""
    bus_of = {cp.id: cp.bus for cp in plan.register.connection_points}
    unit_bus = {u.id: bus_of[u.connection_point_id] for u in plan.register.units}
    column = {int(b): i for i, b in enumerate(plan.grid.ptdf().bus_ids)}
    p = np.zeros((len(intervals), len(column)))
    for uid, delta in change.items():
        p[:, column[unit_bus[uid]]] += delta
    return forecast_with_changes(
        plan.grid,
        start_step=profile_step,
        intervals=intervals,
        p_mw=p,
        issued_at=intervals[-1].end,
        label="realised",
    )


def overload_mw(plan: StudyPlan, state: OperatingForecast) -> FloatArray:
    """``(n_branch, n_mtu)``: MW above the study's limits (its tightened ones, else the
    grid's), thermal-equivalent flows."""
    limits = plan.grid.branch_limits()
    limit = dict(zip(limits.branch_names, limits.limit_mw.tolist(), strict=True))
    limit.update(plan.limit_overrides_mw)
    lim = np.array([limit.get(n, np.inf) for n in state.branch_names])
    return branch_overload_mw(state.branch_flow_mw, lim)


def voltage_outside_pu(plan: StudyPlan, state: OperatingForecast) -> FloatArray:
    """``(n_bus, n_mtu)``: how far each bus's voltage lies outside its own band (the grid's
    ``min_vm_pu``/``max_vm_pu``, else 0.9–1.1 pu), 0 inside."""
    pgm = plan.grid.pgm()
    vmin, vmax, _ = resolve_limits(pgm, Limits())
    position = {int(b): i for i, b in enumerate(pgm.buses.index)}
    rows = np.array([position[int(b)] for b in state.bus_ids], dtype=np.int64)
    return outside_band(state.vm_pu, vmin[rows][:, None], vmax[rows][:, None])


def _reference_joint(
    plan: StudyPlan, base: CoordinationInput, index: int, intraday: OperatingForecast
) -> JointModel:
    """The one problem every scheme's activation dispatch is priced on for unserved need: the
    day's needs as activation needs. Each DSO and TSO need ``C`` asks for the activation a full
    chain buys of it (its intraday share ``s·C`` plus its near-real-time forecast error ``e·C``,
    :func:`~flexcoord.simulation.scenario.build_timeframe_chain`; a chain of any rounds buys the
    same ``(s + e)·C`` when it has an activation round), on the day's product, so a scheme that
    only reserves capacity leaves it unserved."""
    full = chain_of(base, seed=plan.study.seed + index, intraday_forecast=intraday)
    wanted: dict[str, FloatArray] = defaultdict(lambda: np.zeros(len(base.intervals)))
    column = {iv: t for t, iv in enumerate(base.intervals)}
    for rnd in full.rounds:
        if rnd.kind is RoundKind.ACTIVATION:
            for need in rnd.needs:
                for mq in need.quantities:
                    wanted[need.id.rsplit("@", 1)[0]][column[mq.interval]] += mq.quantity
    needs = tuple(
        dataclasses.replace(
            n,
            quantities=tuple(
                MtuQuantity(interval=iv, quantity=round(float(wanted[n.id][column[iv]]), 4))
                for iv in (mq.interval for mq in n.quantities)
            ),
        )
        for n in base.needs
        if n.id in wanted
    )
    return JointModel.of(dataclasses.replace(base, needs=needs), dso_models=plan.dso_models)


#: Offset of the seed of the added devices' realised schedules (a stream apart from the grid's).
_DEVICE_SEED_OFFSET = 7919


def _device_schedules(
    plan: StudyPlan, intervals: tuple[Interval, ...], index: int, elements: ElementInjections
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """The added devices' (EV chargers, heat pumps, batteries: not SimBench elements) declared
    schedules, their default ones, and what they realised: the declared schedule with the
    day-ahead error of their technology (``forecast_error.ev``, ``.heat_pump``), within their
    rated power. Batteries are idle either way."""
    known = set(elements.element_ids)
    added = [d for d in plan.devices if d.unit_id not in known]
    declared = {d.unit_id: default_baseline_mw(d, intervals) for d in added}
    by_tech: dict[Technology, list[Device]] = defaultdict(list)
    for d in added:
        by_tech[d.technology].append(d)
    realised = dict(declared)
    for tech, members in by_tech.items():
        magnitude = np.column_stack([-declared[d.unit_id] for d in members])
        drawn = forecast_profiles(
            {tech: np.maximum(magnitude, 0.0)},
            plan.error,
            lead=Timeframe.DAY_AHEAD,
            seed=plan.study.seed + _DEVICE_SEED_OFFSET,
            day_index=index,
            capacity_mw={tech: np.array([d.rated_mw for d in members])},
        )[tech]
        for k, d in enumerate(members):
            realised[d.unit_id] = (
                -drawn[:, k] if tech is not Technology.BESS else declared[d.unit_id]
            )
    return declared, realised


def day_market(plan: StudyPlan, index: int) -> DayMarket:
    """Day ``index`` of the study: realised profiles, forecasts, needs, device bids, chains."""
    day = plan.days[index]
    intervals = market_time_units(day)
    step = profile_step_of(profile_day(day))
    realised = element_injections(plan.grid, start_step=step, steps=len(intervals))
    gates = chain_gate_closures(intervals[0].start)
    da_gate, id_gate = gates[Timeframe.DAY_AHEAD], gates[Timeframe.INTRADAY]
    parts = (index, intervals, step, realised)
    day_ahead, da_elements = _forecast(plan, parts, Timeframe.DAY_AHEAD, da_gate)
    intraday, _ = _forecast(plan, parts, Timeframe.INTRADAY, id_gate)
    unit_forecast = {uid: da_elements[:, k] for k, uid in enumerate(realised.element_ids)}
    created = da_gate - timedelta(hours=1)
    needs = dso_needs(
        plan.congestion,
        day_ahead,
        created=created,
        price_cap_eur_per_mwh=plan.study.needs.dso_price_cap_eur_per_mwh,
    )
    needs.append(_tso_need(plan, intervals, created))
    if plan.study.needs.dso_voltage:  # after the TSO's: its seeded chain shares stay as they were
        needs += dso_voltage_needs(
            plan.grid,
            plan.register,
            day_ahead,
            created=created,
            margin_pu=plan.study.needs.dso_voltage_margin_pu,
            price_cap_eur_per_mwh=plan.study.needs.dso_price_cap_eur_per_mwh,
        )
    product = plan.register.products[0]
    bids = device_bids(
        plan.devices,
        unit_forecast,
        mtus=intervals,
        product=product,
        submitted_at=created,
        markup=plan.study.fsp.markup,
        pooling=_pooling(plan.study),
    )
    base = CoordinationInput(
        name=f"{plan.study.name} {day.isoformat()}",
        grid=plan.grid,
        register=plan.register,
        needs=tuple(n for n in needs if any(q.quantity > 0 for q in n.quantities)),
        bids=bids,
        intervals=intervals,
        forecast=day_ahead,
        limit_overrides_mw=dict(plan.limit_overrides_mw),
        gate_closure_at=da_gate,
        profile_start_step=None,
    )
    chains = {  # one chain per distinct timeframe sequence, shared by its presets
        timeframes: chain_of(
            base,
            timeframes=timeframes,
            seed=plan.study.seed + index,
            intraday_forecast=intraday,
        )
        for timeframes in dict.fromkeys(c.timeframes for c in plan.presets)
    }
    declared, realised_devices = _device_schedules(plan, intervals, index, realised)
    no_flex = realised_state(plan, intervals=intervals, profile_step=step, change={})
    step_h = intervals[0].duration.total_seconds() / 3600
    return DayMarket(
        joint=_reference_joint(plan, base, index, intraday),
        no_flex_outside_pu=voltage_outside_pu(plan, no_flex),
        no_flex_overload_mwh=float(overload_mw(plan, no_flex).sum()) * step_h,
        device_declared_mw=declared,
        device_realised_mw=realised_devices,
        history=_history(plan, day) if plan.study.baseline.method == "x_of_y" else None,
        index=index,
        day=day,
        intervals=intervals,
        profile_step=step,
        realised=realised,
        day_ahead=day_ahead,
        intraday=intraday,
        unit_forecast_mw=unit_forecast,
        base=base,
        chains=chains,
    )
