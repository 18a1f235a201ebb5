"""TDFlex's rule-based local flexibility, without communication, for one asset and year
(``docs/planning.md``; seed paper §7.22).

:func:`local_flexibility` uses only the DERs that relieve the asset
(:func:`~flexcoord.grid.flex_series.relieving_elements`: the buses behind a branch, the feeder
of a bus) and only on the days the asset is violated, with local rules of one strength
``s ∈ [0, 1]``:

- **PV curtailment cap**: each relieving PV feeds in at most ``(1 − s)`` × its peak of the year.
- **EV night charging and peak shaving**: a share ``s`` of each relieving charger's energy in the
  evening window (default 16:00–23:00) moves to the night window (23:00–06:00) of the same day,
  spread evenly.
- **Heat pump ±2 h**: on each violating step a share ``s`` of the heat pump's consumption is
  shifted to the steps within ±``heat_pump_shift_h`` that are not violating, spread evenly.
- **BESS** (``schedule``): each relieving battery charges at ``s`` × its power in the PV-peak
  window (13:00–14:00) and gives the energy back in the evening window (18:00–20:00), within
  its energy (``excess``: charges whenever the relieving area's PV exceeds its load, discharges
  otherwise, within its state of charge; ``none``: not used).

Export-driven problems (overvoltage; an overload while the area behind the branch feeds in)
use PV and batteries; demand-driven ones (undervoltage; an overload while the area draws)
use EVs, heat pumps and batteries. The strength is the mildest that removes the violation
(bisection to 1/64), verified by the power flows of those days; if strength 1 cannot,
``removes_violation`` is false and the asset needs reinforcement.

**Cost** at the owner's opportunity cost (:class:`PriceScenario`): curtailed PV energy at the
feed-in tariff; shifted EV and heat-pump energy at ``load_shift_eur_per_mwh`` (the compensation
that makes an owner accept a shift, TDFlex's "minimum remuneration"); battery losses
(throughput × (1 − 0.9 round-trip efficiency)) at the retail price. Energies do not depend on
prices, so :meth:`LocalFlexOutcome.cost_eur` prices one outcome under any scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.grid.flex_series import element_series, relieving_elements, with_series
from flexcoord.grid.reinforcement import remaining_violation
from flexcoord.schemas.plan import FlexibilitySection, PriceScenarioSection

__all__ = ["USES", "LocalFlexOutcome", "export_driven", "local_flexibility", "use_rates"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The uses of local flexibility, in the order tables show them.
USES: Final = ("pv_curtailed", "ev_shifted", "heat_pump_shifted", "bess_losses")
_DAY: Final = 96
_STEP_H: Final = 0.25
_ROUND_TRIP: Final = 0.9
_BISECTIONS: Final = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalFlexOutcome:
    """One asset-year of rule-based flexibility (module docstring). ``energy_mwh`` per use
    (``pv_curtailed``, ``ev_shifted``, ``heat_pump_shifted``, ``bess_losses``); ``payments``
    one row per DER used: ``table``, ``element``, ``use``, ``mwh``."""

    asset: str
    kind: str
    strength: float
    removes_violation: bool
    steps_before: int
    steps_after: int
    days: int
    energy_mwh: dict[str, float]
    payments: pd.DataFrame

    def cost_eur(self, prices: PriceScenarioSection) -> float:
        """The year's cost under ``prices``."""
        rate = use_rates(prices)
        return float(sum(rate[u] * e for u, e in self.energy_mwh.items()))


def use_rates(prices: PriceScenarioSection) -> dict[str, float]:
    """The owner's opportunity cost of each use, €/MWh (module docstring).

    Example:
        >>> use_rates(PriceScenarioSection(name="base"))["pv_curtailed"]
        80.0
    """
    return {
        "pv_curtailed": prices.feed_in_eur_per_mwh,
        "ev_shifted": prices.load_shift_eur_per_mwh,
        "heat_pump_shifted": prices.load_shift_eur_per_mwh,
        "bess_losses": prices.retail_eur_per_mwh,
    }


def _window(hours: tuple[int, int]) -> NDArray[np.bool_]:
    q = np.arange(_DAY) // 4
    a, b = hours
    return (q >= a) & (q < b) if a <= b else (q >= a) | (q < b)


@dataclass(frozen=True, slots=True)
class _Area:
    tech: dict[str, list[tuple[str, int]]]
    base: dict[tuple[str, int], FloatArray]  # MW over the violating days' rows


def _area(net: Any, asset: str, rows: IntArray) -> _Area:
    tech: dict[str, list[tuple[str, int]]] = {}
    base: dict[tuple[str, int], FloatArray] = {}
    for table, indices in relieving_elements(net, asset).items():
        if not len(indices):
            continue
        values = element_series(net, table, indices)[rows]
        for k, index in enumerate(indices.tolist()):
            t = str(net[table].at[index, "technology"])
            tech.setdefault(t, []).append((table, index))
            base[(table, index)] = values[:, k]
    return _Area(tech=tech, base=base)


def _rules(  # noqa: PLR0913 - the rule inputs, by keyword
    area: _Area,
    *,
    s: float,
    export: bool,
    violating: NDArray[np.bool_],
    rules: FlexibilitySection,
    n_days: int,
) -> tuple[dict[tuple[str, int], FloatArray], dict[tuple[tuple[str, int], str], float]]:
    changed: dict[tuple[str, int], FloatArray] = {}
    energy: dict[tuple[tuple[str, int], str], float] = {}
    if export and rules.pv_curtailment:
        for key in area.tech.get("pv", []):
            p = area.base[key]
            cap = (1.0 - s) * float(p.max())
            new = np.minimum(p, cap)
            changed[key] = new
            energy[(key, "pv_curtailed")] = float((p - new).sum() * _STEP_H)
    if not export and rules.ev_night_charging:
        evening, night = _window(rules.ev_evening_hours), _window(rules.ev_night_hours)
        for key in area.tech.get("ev_charging", []):
            p = area.base[key].copy().reshape(n_days, _DAY)
            moved = s * p[:, evening].sum(axis=1)
            p[:, evening] *= 1.0 - s
            p[:, night] += (moved / night.sum())[:, None]
            changed[key] = p.reshape(-1)
            energy[(key, "ev_shifted")] = float(moved.sum() * _STEP_H)
    if not export and rules.heat_pump_shift:
        reach = round(rules.heat_pump_shift_h * 4)
        free = ~violating
        for key in area.tech.get("heat_pump", []):
            p = area.base[key].copy()
            cut = s * p * violating
            p -= cut
            for t in np.flatnonzero(cut > 0):
                lo, hi = max(0, int(t) - reach), min(len(p), int(t) + reach + 1)
                slots = np.flatnonzero(free[lo:hi]) + lo
                slots = slots if len(slots) else np.array([hi - 1 if hi - 1 != t else lo])
                p[slots] += cut[t] / len(slots)
            changed[key] = p
            energy[(key, "heat_pump_shifted")] = float(cut.sum() * _STEP_H)
    if rules.bess != "none":
        pv = sum((area.base[k] for k in area.tech.get("pv", [])), np.zeros(len(violating)))
        load = sum(
            (
                area.base[k]
                for t in ("generic_load", "heat_pump", "ev_charging")
                for k in area.tech.get(t, [])
            ),
            np.zeros(len(violating)),
        )
        for key in area.tech.get("bess", []):
            power = float(np.max(np.abs(area.base[key]))) or 0.0
            if power <= 0:
                continue
            extra = _battery(rules, s * power, 2.0 * power, pv > load, n_days)
            changed[key] = area.base[key] + extra
            energy[(key, "bess_losses")] = float(
                np.abs(extra).sum() * _STEP_H * (1 - _ROUND_TRIP) / 2
            )
    return changed, energy


def _battery(
    rules: FlexibilitySection, power: float, energy: float, excess: NDArray[np.bool_], n_days: int
) -> FloatArray:
    """Charging (+) and discharging (−) added to a battery's own schedule, MW per step."""
    out = np.zeros(n_days * _DAY)
    if rules.bess == "schedule":
        charge, discharge = _window(rules.bess_charge_hours), _window(rules.bess_discharge_hours)
        e_in = min(power * charge.sum() * _STEP_H, energy)
        per_day = np.zeros(_DAY)
        per_day[charge] = e_in / (charge.sum() * _STEP_H)
        per_day[discharge] = -e_in * _ROUND_TRIP / (discharge.sum() * _STEP_H)
        return np.tile(per_day, n_days)
    soc = 0.0
    for t in range(len(out)):
        if t % _DAY == 0:
            soc = 0.0
        if excess[t]:
            p = min(power, (energy - soc) / _STEP_H)
            soc += p * _STEP_H
        else:
            p = -min(power, soc * _ROUND_TRIP / _STEP_H)
            soc += p * _STEP_H / _ROUND_TRIP
        out[t] = p
    return out


def _export_driven(area: _Area, kind: str, violating: NDArray[np.bool_]) -> bool:
    if kind != "overload":
        return kind == "overvoltage"
    pv = sum((area.base[k] for k in area.tech.get("pv", [])), np.zeros(len(violating)))
    draw = sum(
        (
            area.base[k]
            for t, ks in area.tech.items()
            if t not in ("pv", "wind", "biomass", "hydro", "bess")
            for k in ks
        ),
        np.zeros(len(violating)),
    )
    return bool((pv - draw)[violating].mean() > 0)


def export_driven(net: Any, asset: str, kind: str, violation_steps: IntArray) -> bool:
    """Whether ``asset``'s violation at ``violation_steps`` comes from export (overvoltage; an
    overload while the relieving area's PV exceeds its demand on average) rather than demand."""
    days = np.unique(np.asarray(violation_steps, dtype=np.int64) // _DAY)
    rows = (days[:, None] * _DAY + np.arange(_DAY)).reshape(-1)
    return _export_driven(_area(net, asset, rows), kind, np.isin(rows, violation_steps))


def local_flexibility(
    net: Any, asset: str, kind: str, *, rules: FlexibilitySection, violation_steps: IntArray
) -> LocalFlexOutcome:
    """The mildest rule strength that removes ``asset``'s ``kind`` violation at
    ``violation_steps`` (profile rows) of ``net``'s year, and what it uses (module docstring)."""
    days = np.unique(np.asarray(violation_steps, dtype=np.int64) // _DAY)
    rows = (days[:, None] * _DAY + np.arange(_DAY)).reshape(-1)
    violating = np.isin(rows, violation_steps)
    area = _area(net, asset, rows)
    export = _export_driven(area, kind, violating)

    def trial(
        s: float,
    ) -> tuple[int, dict[tuple[str, int], FloatArray], dict[tuple[tuple[str, int], str], float]]:
        changed, energy = _rules(
            area, s=s, export=export, violating=violating, rules=rules, n_days=len(days)
        )
        by_table: dict[str, dict[int, FloatArray]] = {}
        for (t, i), series in changed.items():
            by_table.setdefault(t, {})[i] = series
        return remaining_violation(with_series(net, rows, by_table), asset, kind), changed, energy

    before = int(violating.sum())
    after, _, energy = trial(1.0)
    strength = 1.0
    if after == 0:
        lo, hi = 0.0, 1.0
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            left, _, mid_energy = trial(mid)
            if left == 0:
                hi, energy = mid, mid_energy
            else:
                lo = mid
        strength = hi
    used = [
        {"table": k[0], "element": k[1], "use": use, "mwh": mwh}
        for (k, use), mwh in energy.items()
        if mwh > 1e-9
    ]
    totals: dict[str, float] = {}
    for (_, use), mwh in energy.items():
        if mwh > 1e-9:
            totals[use] = totals.get(use, 0.0) + mwh
    return LocalFlexOutcome(
        asset=asset,
        kind=kind,
        strength=strength,
        removes_violation=after == 0,
        steps_before=before,
        steps_after=after,
        days=len(days),
        energy_mwh=totals,
        payments=pd.DataFrame(used, columns=["table", "element", "use", "mwh"]),
    )
