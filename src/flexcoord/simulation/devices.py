"""Flexibility from devices: what PV, EV chargers, heat pumps and batteries can offer, and do.

A :class:`Device` is one unit of a :class:`~flexcoord.domain.Register` with the physics of its
technology (:func:`build_devices`; the defaults live in :class:`DeviceSpec`):

- **Curtailment** (PV and wind; generic generators when asked for): down only, up to the
  unit's output in each MTU; no rebound. Cost: the lost feed-in,
  ``feed_in_tariff_eur_per_mwh`` (60 €/MWh).
- **EV charging**: plugged in from ``ev_plug_in`` to ``ev_departure`` local time (18:00–07:00);
  the MTUs of the day inside that window form *sessions* (00:00–07:00 and 18:00–24:00 on a
  normal day). Up (charge less now) or down (charge more now, up to the charger's power); the
  session's energy is unchanged: what is not charged now is charged in later MTUs of the same
  session (before departure), what is charged early is not charged later. The evening session
  delivers its energy by the end of the market day (the study does not carry EV energy over
  midnight). Cost: ``ev_comfort_cost_eur_per_mwh`` + the rebound's cost.
- **Heat pump**: a shift of at most ``heat_pump_shift_h`` (2 h) either way, energy-neutral: a
  reduction now is consumed again within 2 h (nearest MTU first, the later one on a tie), an
  increase now is saved within 2 h. Cost: ``heat_pump_comfort_cost_eur_per_mwh`` + the
  rebound's cost.
- **BESS**: either direction within its converter power and its state of charge (SoC), tracked
  over the day with a one-way efficiency of ``√bess_round_trip_efficiency``. A later MTU whose
  planned schedule the changed SoC no longer allows deviates from it (that deviation is the
  battery's rebound). Cost: ``bess_degradation_cost_eur_per_mwh`` + the rebound's cost.

The rebound's cost is ``rebound_spread_eur_per_mwh`` per MWh activated (20 €/MWh): the shifted
energy is bought (or sold) again later at a worse price. Offers are cost-based: price =
marginal cost × (1 + markup).

**Signs.** Schedules (``baseline_mw``, forecasts, ``delivered_mw``, ``rebound_mw``) are the
unit's active power as :class:`~flexcoord.domain.Unit` writes it: positive is injection,
negative is consumption (an EV charging 11 kW is ``-0.011``). An activation is signed the same
way: ``+x`` is ``Direction.UP`` (more injection), ``-x`` is ``Direction.DOWN``. Bids carry
non-negative quantities and a direction, as the domain does.

Bids from devices are made in :mod:`flexcoord.simulation.pooling`.

**Activations** (:func:`apply_activation`) never put rebound into an activated MTU: an
activated MTU delivers (part of) its order, the others absorb the rebound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from flexcoord.domain import (
    Direction,
    Interval,
    Register,
    Technology,
    Unit,
)
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "Device",
    "DeviceKind",
    "DeviceResponse",
    "DeviceSpec",
    "apply_activation",
    "build_devices",
    "capability_mw",
    "default_baseline_mw",
]

FloatArray = NDArray[np.float64]
_QUANTUM_MW = 1e-4  # bid quantities are rounded down to 0.1 kW


class DeviceKind(StrEnum):
    """The flexibility model of a device."""

    CURTAILMENT = "curtailment"
    EV_CHARGING = "ev_charging"
    HEAT_PUMP = "heat_pump"
    BATTERY = "battery"


_KIND_OF = {
    Technology.PV: DeviceKind.CURTAILMENT,
    Technology.WIND: DeviceKind.CURTAILMENT,
    Technology.GENERIC_GENERATOR: DeviceKind.CURTAILMENT,
    Technology.EV_CHARGING: DeviceKind.EV_CHARGING,
    Technology.HEAT_PUMP: DeviceKind.HEAT_PUMP,
    Technology.BESS: DeviceKind.BATTERY,
}


def _issue(kind: str, object_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(kind=kind, object_id=object_id, field=field, value=value, message=message)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """The device defaults (see the module docstring); every cost in €/MWh activated.

    Attributes:
        technologies: the technologies made into devices (others get none). PV, wind, EV
            charging, heat pumps and BESS by default; add ``generic_generator`` to curtail
            SimBench's ``lv_RES`` (the aggregated low-voltage renewables of an MV grid) too.
        feed_in_tariff_eur_per_mwh: the feed-in a curtailed MWh loses.
        ev_plug_in: local time EVs plug in.
        ev_departure: local time EVs leave.
        ev_charge_h: hours at full power an EV session charges in the default baseline.
        ev_comfort_cost_eur_per_mwh: the EV driver's compensation for a changed charge.
        heat_pump_shift_h: how far a heat pump may move energy, either way.
        heat_pump_duty: share of rated power a heat pump draws in the default baseline.
        heat_pump_comfort_cost_eur_per_mwh: the comfort cost of a shifted MWh.
        bess_round_trip_efficiency: in ``(0, 1]``.
        bess_degradation_cost_eur_per_mwh: wear per MWh moved.
        rebound_spread_eur_per_mwh: the cost of buying (selling) the rebound energy again.
        timezone: the local time zone of the plug-in window.
    """

    technologies: frozenset[Technology] = frozenset(
        {
            Technology.PV,
            Technology.WIND,
            Technology.EV_CHARGING,
            Technology.HEAT_PUMP,
            Technology.BESS,
        }
    )
    feed_in_tariff_eur_per_mwh: float = 60.0
    ev_plug_in: time = time(18)
    ev_departure: time = time(7)
    ev_charge_h: float = 2.0
    ev_comfort_cost_eur_per_mwh: float = 10.0
    heat_pump_shift_h: float = 2.0
    heat_pump_duty: float = 0.5
    heat_pump_comfort_cost_eur_per_mwh: float = 15.0
    bess_round_trip_efficiency: float = 0.9
    bess_degradation_cost_eur_per_mwh: float = 30.0
    rebound_spread_eur_per_mwh: float = 20.0
    timezone: str = "Europe/Berlin"

    def __post_init__(self) -> None:
        issues = [
            _issue(
                "DeviceSpec", "devices", name, getattr(self, name), "must be a finite number >= 0"
            )
            for name in (
                "feed_in_tariff_eur_per_mwh",
                "ev_charge_h",
                "ev_comfort_cost_eur_per_mwh",
                "heat_pump_shift_h",
                "heat_pump_comfort_cost_eur_per_mwh",
                "bess_degradation_cost_eur_per_mwh",
                "rebound_spread_eur_per_mwh",
            )
            if not _non_negative(getattr(self, name))
        ]
        for name in ("heat_pump_duty", "bess_round_trip_efficiency"):
            value = getattr(self, name)
            if not (_non_negative(value) and 0 < value <= 1):
                issues.append(_issue("DeviceSpec", "devices", name, value, "must be in (0, 1]"))
        unknown = sorted(str(t) for t in self.technologies if t not in _KIND_OF)
        if unknown:
            issues.append(
                _issue(
                    "DeviceSpec",
                    "devices",
                    "technologies",
                    unknown,
                    f"must be among {sorted(_KIND_OF)}",
                )
            )
        if issues:
            raise InvalidInputError(issues)
        object.__setattr__(self, "technologies", frozenset(map(Technology, self.technologies)))

    def cost_eur_per_mwh(self, kind: DeviceKind, direction: Direction) -> float | None:
        """The marginal cost of one MWh of ``kind`` in ``direction`` (``None``: not offered)."""
        if kind is DeviceKind.CURTAILMENT:
            return self.feed_in_tariff_eur_per_mwh if direction is Direction.DOWN else None
        own = {
            DeviceKind.EV_CHARGING: self.ev_comfort_cost_eur_per_mwh,
            DeviceKind.HEAT_PUMP: self.heat_pump_comfort_cost_eur_per_mwh,
            DeviceKind.BATTERY: self.bess_degradation_cost_eur_per_mwh,
        }[kind]
        return own + self.rebound_spread_eur_per_mwh


def _non_negative(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One unit with the physics of its technology and its state.

    Attributes:
        unit_id: the :class:`~flexcoord.domain.Unit`.
        fsp_id: its aggregator.
        place: its coupling point (or ``area:<id>`` at transmission level): pools stay behind one.
        technology: the unit's technology.
        kind: the flexibility model.
        rated_mw: the largest power magnitude (PV capacity, charger, compressor, converter).
        energy_min_mwh: lowest SoC (batteries only).
        energy_max_mwh: highest SoC (batteries only).
        soc_mwh: the state of charge at the start of the day (batteries only).
        spec: the defaults it was built with.
    """

    unit_id: str
    fsp_id: str
    place: str
    technology: Technology
    kind: DeviceKind
    rated_mw: float
    energy_min_mwh: float | None = None
    energy_max_mwh: float | None = None
    soc_mwh: float | None = None
    spec: DeviceSpec = DeviceSpec()

    def __post_init__(self) -> None:
        issues = []
        if self.technology not in set(_KIND_OF) or self.kind not in set(DeviceKind):
            issues.append(
                _issue(
                    "Device",
                    self.unit_id,
                    "technology/kind",
                    (self.technology, self.kind),
                    f"must be a modelled technology ({sorted(_KIND_OF)}) and a DeviceKind",
                )
            )
        elif _KIND_OF[Technology(self.technology)] is not DeviceKind(self.kind):
            issues.append(
                _issue(
                    "Device",
                    self.unit_id,
                    "kind",
                    self.kind,
                    f"does not model {self.technology} ({_KIND_OF[Technology(self.technology)]})",
                )
            )
        else:
            object.__setattr__(self, "technology", Technology(self.technology))
            object.__setattr__(self, "kind", DeviceKind(self.kind))
        if not (_non_negative(self.rated_mw) and self.rated_mw > 0):
            issues.append(_issue("Device", self.unit_id, "rated_mw", self.rated_mw, "must be > 0"))
        if self.kind is DeviceKind.BATTERY:
            low, high, soc = self.energy_min_mwh, self.energy_max_mwh, self.soc_mwh
            if not (
                all(_non_negative(v) for v in (low, high, soc))
                and low is not None
                and high is not None
                and soc is not None
                and low <= soc <= high
            ):
                issues.append(
                    _issue(
                        "Device",
                        self.unit_id,
                        "soc_mwh",
                        (low, soc, high),
                        "a battery needs 0 <= energy_min_mwh <= soc_mwh <= energy_max_mwh",
                    )
                )
        if issues:
            raise InvalidInputError(issues)

    @property
    def efficiency(self) -> float:
        """One-way (charge and discharge) efficiency of a battery."""
        return math.sqrt(self.spec.bess_round_trip_efficiency)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceResponse:
    """What a device did with an activation.

    ``schedule_mw − delivered_mw − rebound_mw`` is the *physical baseline*: the baseline as the
    device can run it (clipped to its range; a battery's also to its SoC, MTU by MTU), so an
    impossible baseline is never reported as a rebound.

    Attributes:
        schedule_mw: its realised power per MTU (signed).
        delivered_mw: change of its power from the physical baseline in the activated MTUs.
        rebound_mw: change of its power from the physical baseline in the other MTUs.
        state_after: the device with its state at the end of the day (a battery's SoC).
    """

    schedule_mw: FloatArray
    delivered_mw: FloatArray
    rebound_mw: FloatArray
    state_after: Device


def build_devices(register: Register, spec: DeviceSpec | None = None) -> tuple[Device, ...]:
    """One device per unit of ``register`` whose technology ``spec`` models.

    PV and wind are rated at ``p_max_mw``; EV chargers and heat pumps at ``-p_min_mw``;
    batteries at ``max(-p_min_mw, p_max_mw)`` with the unit's energy limits and initial energy.

    Example:
        >>> from flexcoord.domain import (ConnectionPoint, FlexibilityServiceProvider, GridArea,
        ...                               SystemOperator)
        >>> reg = Register(
        ...     operators=[SystemOperator(id="dso", name="DSO", role="dso")],
        ...     areas=[GridArea(id="mv", operator_id="dso", bus_ids={1})],
        ...     fsps=[FlexibilityServiceProvider(id="f", name="F")],
        ...     connection_points=[ConnectionPoint(id="cp", bus=1, area_id="mv")],
        ...     units=[Unit(id="pv", fsp_id="f", connection_point_id="cp", technology="pv",
        ...                 p_min_mw=0.0, p_max_mw=0.5)])
        >>> [(d.unit_id, d.kind.value, d.rated_mw, d.place) for d in build_devices(reg)]
        [('pv', 'curtailment', 0.5, 'area:mv')]
    """
    spec = spec or DeviceSpec()
    cps = {cp.id: cp for cp in register.connection_points}
    out = []
    for unit in register.units:
        if unit.technology not in spec.technologies:
            continue
        cp = cps[unit.connection_point_id]
        place = cp.coupling_point_id or f"area:{cp.area_id}"
        out.append(_device(unit, place, spec))
    return tuple(out)


def _device(unit: Unit, place: str, spec: DeviceSpec) -> Device:
    kind = _KIND_OF[unit.technology]
    rated = {
        DeviceKind.CURTAILMENT: unit.p_max_mw,
        DeviceKind.EV_CHARGING: -unit.p_min_mw,
        DeviceKind.HEAT_PUMP: -unit.p_min_mw,
        DeviceKind.BATTERY: max(-unit.p_min_mw, unit.p_max_mw),
    }[kind]
    battery = kind is DeviceKind.BATTERY
    return Device(
        unit_id=unit.id,
        fsp_id=unit.fsp_id,
        place=place,
        technology=unit.technology,
        kind=kind,
        rated_mw=rated,
        energy_min_mwh=unit.energy_min_mwh if battery else None,
        energy_max_mwh=unit.energy_max_mwh if battery else None,
        soc_mwh=unit.energy_initial_mwh if battery else None,
        spec=spec,
    )


# --- time ---------------------------------------------------------------------------------------
def _step_h(mtus: Sequence[Interval]) -> float:
    durations = {mtu.duration for mtu in mtus}
    if len(mtus) == 0 or len(durations) != 1:
        raise InvalidInputError(
            [_issue("Device", "devices", "mtus", len(mtus), "must be MTUs of one duration")]
        )
    return durations.pop() / timedelta(hours=1)


def _plugged_in(device: Device, mtus: Sequence[Interval]) -> NDArray[np.bool_]:
    """Per MTU, whether an EV is plugged in at the MTU's local start time."""
    zone = ZoneInfo(device.spec.timezone)
    start, end = device.spec.ev_plug_in, device.spec.ev_departure

    def inside(t: datetime) -> bool:
        local = t.astimezone(zone).time()
        return (start <= local or local < end) if start > end else (start <= local < end)

    return np.array([inside(mtu.start) for mtu in mtus], dtype=bool)


def _sessions(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per MTU, the number of its plug-in session (runs of ``mask``), -1 outside."""
    starts = mask & ~np.concatenate(([False], mask[:-1]))
    return np.where(mask, np.cumsum(starts) - 1, -1).astype(np.int64)


def _recovery(device: Device, t: int, session: NDArray[np.int64], step_h: float) -> list[int]:
    """The MTUs where a shift at MTU ``t`` is recovered, in the order they are used."""
    n = len(session)
    if device.kind is DeviceKind.EV_CHARGING:
        return [s for s in range(t + 1, n) if session[s] == session[t]] if session[t] >= 0 else []
    reach = math.floor(device.spec.heat_pump_shift_h / step_h + 1e-9)
    order = []
    for k in range(1, reach + 1):
        order += [s for s in (t + k, t - k) if 0 <= s < n]
    return order


# --- baselines and capability -------------------------------------------------------------------
def default_baseline_mw(device: Device, mtus: Sequence[Interval]) -> FloatArray:
    """The default schedule of a device without a forecast (signed, see the module docstring).

    EV: full power from the start of each plug-in session for ``ev_charge_h``; heat pump:
    ``heat_pump_duty`` × rated power; battery: idle. Curtailment devices need a forecast.

    Raises:
        InvalidInputError: a curtailment device (its output comes from the forecast).
    """
    n = len(mtus)
    step_h = _step_h(mtus)
    if device.kind is DeviceKind.HEAT_PUMP:
        return np.full(n, -device.spec.heat_pump_duty * device.rated_mw)
    if device.kind is DeviceKind.BATTERY:
        return np.zeros(n)
    if device.kind is DeviceKind.EV_CHARGING:
        session = _sessions(_plugged_in(device, mtus))
        index = np.arange(n)
        first = (session >= 0) & (np.concatenate(([-1], session[:-1])) != session)
        position = index - np.maximum.accumulate(np.where(first, index, 0))
        steps = round(device.spec.ev_charge_h / step_h)
        return np.where((session >= 0) & (position < steps), -device.rated_mw, 0.0)
    raise InvalidInputError(
        [
            _issue(
                "Device", device.unit_id, "forecast", None, "a curtailment device needs a forecast"
            )
        ]
    )


def _checked(device: Device, name: str, values: object, n: int) -> FloatArray:
    array = np.asarray(values, dtype=float)
    if array.shape != (n,) or not np.all(np.isfinite(array)):
        raise InvalidInputError(
            [_issue("Device", device.unit_id, name, array.shape, f"must be {n} finite MW values")]
        )
    return array


def _physical(device: Device, baseline: FloatArray, step_h: float) -> FloatArray:
    """The baseline as the device can run it: generation within ``[0, rated]``, consumption
    within ``[-rated, 0]``, a battery within its power and, MTU by MTU, its SoC."""
    if device.kind is DeviceKind.CURTAILMENT:
        return np.clip(baseline, 0.0, device.rated_mw)
    if device.kind is DeviceKind.BATTERY:
        return _battery_run(device, baseline, step_h)[0]
    return np.clip(baseline, -device.rated_mw, 0.0)


def capability_mw(
    device: Device, baseline: FloatArray, *, mtus: Sequence[Interval], sustain_mtus: int = 1
) -> tuple[FloatArray, FloatArray]:
    """Per MTU, how much the device can move up and down from that MTU on (MW, ≥ 0), and keep
    up for ``sustain_mtus`` MTUs in a row (1: that MTU alone).

    A block of ``k`` MTUs (``sustain_mtus``, cut at the end of the day or of an EV session)
    from MTU ``t`` on at ``x`` MW asks ``x · k`` MTU-MW of the room around it: a battery's
    energy above its lowest (up) or below its highest SoC (down) at the start of ``t`` after
    its own schedule in the block, discharged at ``1/η`` and charged at ``η``; a heat pump's
    spare power in the MTUs within reach of the block; an EV's in the later MTUs of its
    session. So ``x`` is at most that room over ``k``, and at most the MTU's own capability.

    Example:
        >>> from datetime import date
        >>> from flexcoord.domain import market_time_units
        >>> hp = Device(unit_id="hp", fsp_id="f", place="cp", technology="heat_pump",
        ...             kind=DeviceKind.HEAT_PUMP, rated_mw=0.01)
        >>> mtus = market_time_units(date(2026, 6, 1))
        >>> up, down = capability_mw(hp, np.full(96, -0.005), mtus=mtus)
        >>> round(float(up[40]), 4), round(float(down[40]), 4)
        (0.005, 0.005)
        >>> bess = Device(unit_id="b", fsp_id="f", place="cp", technology="bess",
        ...               kind=DeviceKind.BATTERY, rated_mw=0.01, energy_min_mwh=0.0,
        ...               energy_max_mwh=0.02, soc_mwh=0.01)
        >>> up, _ = capability_mw(bess, np.zeros(96), mtus=mtus, sustain_mtus=16)
        >>> round(float(up[40]), 5)  # 10 kWh × √0.9 over 4 h, not the 10 kW converter
        0.00237
    """
    n = len(mtus)
    step_h = _step_h(mtus)
    p = _physical(device, _checked(device, "baseline_mw", baseline, n), step_h)
    if device.kind is DeviceKind.CURTAILMENT:
        return np.zeros(n), p.copy()
    if device.kind is DeviceKind.BATTERY:
        _, lows, highs, _ = _battery_run(device, p, step_h)
        up, down = np.maximum(highs - p, 0.0), np.maximum(p - lows, 0.0)
        if sustain_mtus > 1:
            up, down = _battery_sustained(device, p, (up, down), step_h, sustain_mtus)
        return up, down
    consumption = -p
    room, session = _shift_room(device, mtus)
    up, down = np.zeros(n), np.zeros(n)
    for t in range(n):
        if not room[t]:
            continue
        later = _recovery(device, t, session, step_h)
        up[t] = min(consumption[t], float(np.sum(device.rated_mw - consumption[later])))
        down[t] = min(device.rated_mw - consumption[t], float(np.sum(consumption[later])))
    if sustain_mtus > 1:
        lo, hi = _recovery_windows(device, session, step_h)
        end = _block_ends(session, sustain_mtus)
        up = _block_min(up, end, _shift_sustained(device.rated_mw - consumption, lo, hi, end))
        down = _block_min(down, end, _shift_sustained(consumption, lo, hi, end))
    return up, down


def _battery_sustained(
    device: Device,
    p: FloatArray,
    single: tuple[FloatArray, FloatArray],
    step_h: float,
    k: int,
) -> tuple[FloatArray, FloatArray]:
    """The battery's per-MTU capability cut to what its SoC holds for ``k`` MTUs from each MTU."""
    assert device.energy_min_mwh is not None and device.energy_max_mwh is not None
    n, eta = len(p), device.efficiency
    soc = _soc_path(device, p, step_h)  # at the start of each MTU
    used = np.where(p > 0, p / eta, p * eta) * step_h  # SoC the schedule itself takes per MTU
    prefix = np.concatenate(([0.0], np.cumsum(used)))
    index = np.arange(n)
    end = _block_ends(np.zeros(n, dtype=np.int64), k)
    up, down = np.full(n, np.inf), np.full(n, np.inf)
    for j in range(1, k + 1):  # the SoC must hold after every MTU of the block, not only the last
        inside = index + j <= end
        stop = np.minimum(index + j, n)
        taken = prefix[stop] - prefix[index]
        held_h = j * step_h
        up_j = np.maximum(soc - device.energy_min_mwh - taken, 0.0) * eta / held_h
        down_j = np.maximum(device.energy_max_mwh - soc + taken, 0.0) / eta / held_h
        up = np.where(inside, np.minimum(up, up_j), up)
        down = np.where(inside, np.minimum(down, down_j), down)
    return _block_min(single[0], end, np.minimum(single[0], up)), _block_min(
        single[1], end, np.minimum(single[1], down)
    )


def _block_ends(session: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """Per MTU ``t``, the end (exclusive) of its block: ``t + k``, cut at the day's end and at
    the end of ``t``'s session."""
    n = len(session)
    index = np.arange(n, dtype=np.int64)
    same_end = np.full(n, n, dtype=np.int64)
    for t in range(n - 2, -1, -1):
        same_end[t] = t + 1 if session[t + 1] != session[t] else same_end[t + 1]
    return np.minimum(index + k, same_end)


def _block_min(single: FloatArray, end: NDArray[np.int64], bound: FloatArray) -> FloatArray:
    """``bound`` cut, at each MTU ``t``, to the least single-MTU capability of its block
    ``t .. end[t]-1``."""
    n = len(single)
    k = int(np.max(end - np.arange(n))) if n else 1
    padded = np.concatenate((single, np.full(k - 1, np.inf)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, k)[:n]
    outside = np.arange(k)[None, :] >= (end - np.arange(n))[:, None]
    cut: FloatArray = np.minimum(bound, np.where(outside, np.inf, windows).min(axis=1))
    return cut


def _soc_path(device: Device, p: FloatArray, step_h: float) -> FloatArray:
    """A battery's SoC at the start of each MTU running the (physical) schedule ``p``."""
    assert device.soc_mwh is not None
    out, soc = np.zeros(len(p)), device.soc_mwh
    for t, power in enumerate(p):
        out[t] = soc
        soc = _soc_after(device, soc, float(power), step_h)
    return out


def _shift_sustained(
    spare: FloatArray, lo: NDArray[np.int64], hi: NDArray[np.int64], end: NDArray[np.int64]
) -> FloatArray:
    """A shifting device's most power held over each MTU's block (``t .. end[t]-1``) so that
    the block's rebound fits the spare room outside it (Hall's condition: every run ``a .. b``
    of the block fits the room its windows reach, ``[lo[a], t)`` and ``[end, hi[b]]``)."""
    n = len(spare)
    if n == 0:
        return np.zeros(0)
    prefix = np.concatenate(([0.0], np.cumsum(np.maximum(spare, 0.0))))
    t = np.arange(n)[:, None]  # (n, 1): the block's first MTU
    k = int(np.max(end - np.arange(n)))
    runs = t + np.arange(k)[None, :]  # (n, k): the block's MTUs, past its end masked below
    inside = runs < end[:, None]
    at = np.minimum(runs, n - 1)
    before = np.where(lo[at] < t, prefix[t] - prefix[np.clip(lo[at], 0, t)], 0.0)
    after = prefix[np.clip(hi[at] + 1, end[:, None], n)] - prefix[end[:, None]]
    length = np.arange(k)[None, None, :] - np.arange(k)[None, :, None] + 1  # a (rows) .. b
    valid = (length > 0) & inside[:, :, None] & inside[:, None, :]
    ratio = (before[:, :, None] + after[:, None, :]) / np.maximum(length, 1)
    held = np.min(np.where(valid, ratio, np.inf), axis=(1, 2))
    return np.where((lo <= hi) & np.isfinite(held), held, 0.0)


def _shift_room(
    device: Device, mtus: Sequence[Interval]
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Where a shifting device may change its power, and its sessions (EV) or one session."""
    if device.kind is DeviceKind.EV_CHARGING:
        mask = _plugged_in(device, mtus)
    else:
        mask = np.ones(len(mtus), dtype=bool)
    return mask, _sessions(mask)


# --- batteries ----------------------------------------------------------------------------------
def _soc_limits(device: Device, soc: float, step_h: float) -> tuple[float, float]:
    """The lowest and highest power (signed) a battery at ``soc`` can run for one MTU."""
    assert device.energy_min_mwh is not None and device.energy_max_mwh is not None
    eta = device.efficiency
    low = max(-device.rated_mw, -(device.energy_max_mwh - soc) / (eta * step_h))
    high = min(device.rated_mw, (soc - device.energy_min_mwh) * eta / step_h)
    return min(low, 0.0), max(high, 0.0)


def _soc_after(device: Device, soc: float, p_mw: float, step_h: float) -> float:
    assert device.energy_min_mwh is not None and device.energy_max_mwh is not None
    eta = device.efficiency
    change = -p_mw * eta * step_h if p_mw < 0 else -p_mw / eta * step_h
    return min(max(soc + change, device.energy_min_mwh), device.energy_max_mwh)


def _battery_run(
    device: Device, target: FloatArray, step_h: float
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Run ``target`` as far as power and SoC allow: (power, low limits, high limits, end SoC)."""
    assert device.soc_mwh is not None
    soc = device.soc_mwh
    power, lows, highs = np.zeros(len(target)), np.zeros(len(target)), np.zeros(len(target))
    for t, wanted in enumerate(target):
        lows[t], highs[t] = _soc_limits(device, soc, step_h)
        power[t] = min(max(float(wanted), lows[t]), highs[t])
        soc = _soc_after(device, soc, float(power[t]), step_h)
    return power, lows, highs, soc


# --- activation ---------------------------------------------------------------------------------
def apply_activation(
    device: Device,
    baseline_mw: FloatArray,
    activated_mw: FloatArray,
    *,
    mtus: Sequence[Interval],
) -> DeviceResponse:
    """The device's realised response to an activation, with its rebound (see the module doc).

    Args:
        device: the device.
        baseline_mw: what it would have done without activation (signed; for PV the *realised*
            output, so it never curtails more than it produces).
        activated_mw: the ordered change per MTU (signed: + up, − down; 0 where not activated).
        mtus: the day's MTUs (EV plug-in window, heat-pump reach, MTU energy).

    Returns:
        The delivered change (activated MTUs), the rebound (the others) and the state after.

    Example:
        >>> from datetime import date
        >>> from flexcoord.domain import market_time_units
        >>> mtus = market_time_units(date(2026, 6, 1))
        >>> hp = Device(unit_id="hp", fsp_id="f", place="cp", technology="heat_pump",
        ...             kind=DeviceKind.HEAT_PUMP, rated_mw=0.01)
        >>> order = np.zeros(96); order[40] = 0.004
        >>> r = apply_activation(hp, np.full(96, -0.005), order, mtus=mtus)
        >>> round(float(r.delivered_mw[40]), 4), round(float(r.rebound_mw.sum()), 4)
        (0.004, -0.004)
    """
    n = len(mtus)
    step_h = _step_h(mtus)
    base = _physical(device, _checked(device, "baseline_mw", baseline_mw, n), step_h)
    order = _checked(device, "activated_mw", activated_mw, n)
    active = order != 0
    state = device
    if device.kind is DeviceKind.CURTAILMENT:
        after = base - np.minimum(np.maximum(-order, 0.0), base)
    elif device.kind is DeviceKind.BATTERY:
        after, _, _, soc = _battery_run(device, base + order, step_h)
        state = replace(device, soc_mwh=soc)
    else:
        after = -_shift(device, -base, -order, mtus, step_h)
    change = after - base
    return DeviceResponse(
        schedule_mw=after,
        delivered_mw=np.where(active, change, 0.0),
        rebound_mw=np.where(active, 0.0, change),
        state_after=state,
    )


def _shift(
    device: Device,
    consumption: FloatArray,
    wanted: FloatArray,
    mtus: Sequence[Interval],
    step_h: float,
) -> FloatArray:
    """A shifting device's consumption after the ordered changes ``wanted`` (consumption sign),
    each recovered in non-activated MTUs within its reach, else cut to what can be.

    The rebound room is shared out earliest deadline first: the non-activated MTUs are taken in
    time order and each gives its room to the earliest activated MTU that can still use it.
    The recovery windows (a heat pump's ±``heat_pump_shift_h``; an EV's later MTUs of the same
    session) start and end in the order of their MTUs, so this delivers the most energy any
    assignment of the rebound could (the greedy is optimal for interval-shaped windows).
    """
    room, session = _shift_room(device, mtus)
    active = wanted != 0
    c = consumption.copy()
    rated = device.rated_mw
    lo, hi = _recovery_windows(device, session, step_h)
    free = [int(s) for s in np.flatnonzero(~active)]
    for sign in (-1.0, 1.0):  # consume less now (more later), then consume more now (less later)
        asked = [int(t) for t in np.flatnonzero(active & room & (np.sign(wanted) == sign))]
        left = [float(min(sign * wanted[t], c[t] if sign < 0 else rated - c[t])) for t in asked]
        first = 0
        for s in free:
            while first < len(asked) and hi[asked[first]] < s:
                first += 1  # windows that ended before s never open again
            spare = float(rated - c[s] if sign < 0 else c[s])
            k = first
            while spare > 0 and k < len(asked) and lo[asked[k]] <= s:
                take = min(left[k], spare)
                if take > 0:
                    c[asked[k]] += sign * take
                    c[s] -= sign * take
                    left[k] -= take
                    spare -= take
                k += 1
    return np.clip(c, 0.0, rated)


def _recovery_windows(
    device: Device, session: NDArray[np.int64], step_h: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per MTU ``t``, the first and last MTU that can take the rebound of a shift at ``t``
    (empty, ``lo > hi``, where it cannot shift)."""
    n = len(session)
    index = np.arange(n, dtype=np.int64)
    if device.kind is DeviceKind.EV_CHARGING:
        ends = np.full(n, -1, dtype=np.int64)
        for k in range(n - 1, -1, -1):
            ends[k] = k if k == n - 1 or session[k + 1] != session[k] else ends[k + 1]
        return index + 1, np.where(session >= 0, ends, -1)
    reach = math.floor(device.spec.heat_pump_shift_h / step_h + 1e-9)
    return index - reach, index + reach
