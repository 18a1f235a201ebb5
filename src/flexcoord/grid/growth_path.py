"""A growth path: the grid of every year from today to a planning horizon (``docs/planning.md``).

:func:`network_on_path` builds the pandapower network of one year of a :class:`GrowthPath`, in
three layers:

1. **SimBench's scenarios.** The year's network of :func:`~flexcoord.grid.growth.network_of_year`
   (scenario 0 in 2016, 1 in 2024, 2 in 2034, linear interpolation between them), for a year
   after 2034 the 2034 network.
2. **Trend beyond the scenarios, or the study's own path.** Each technology's elements (the
   ``technology`` column of :mod:`flexcoord.grid.technologies`: pv, wind, generic_load, bess, …)
   have their capacity columns (``p_mw``, ``q_mvar``, ``sn_mva``, storage energy and limits)
   multiplied by the technology's factor of the year. By default the factor is 1 up to 2034 and
   after it continues SimBench's 2024 → 2034 trend linearly: ``1 + (year − 2034) · (T₂₀₃₄ −
   T₂₀₂₄) / (10 · T₂₀₃₄)``, with ``T`` the technology's total ``|p_mw|`` in the two scenarios (a
   technology that shrank keeps shrinking, never below 0). A study may give a technology's
   factors at some years itself (``GrowthPath.factors``): they are interpolated linearly
   between the years given, held constant before the first and after the last, and replace the
   default for that technology.
3. **Explicit heat pumps and EV chargers** (``GrowthPath.heat_pump_mw`` / ``ev_mw``: installed
   MW at some years, interpolated the same way; 0 when not given), on top of SimBench's
   aggregated loads, so that planning can shift them as devices. They go to the buses of the
   grid's aggregated low-voltage loads (SimBench profiles ``lv_*``: the MV/LV substations of an
   MV grid) in proportion to those loads' ``p_mw``, one load per bus and technology, named
   ``growth heat_pump <bus>`` / ``growth ev_charging <bus>``. Their profile is the mean of
   SimBench's own device profiles (from the ``1-complete_data-mixed-all-0-sw`` data the simbench
   package ships): the eight heat-pump profiles (``Air_*``, ``Soil_*``: air- and ground-source,
   parallel, alternative and semi-parallel operation) and the six home-charging profiles
   (``HLS_*``). A mean of device profiles, each normalised to its own peak, keeps their
   diversity where there is some: the EV mix peaks at 0.51 of the installed MW, the heat-pump
   mix at 1.0 (every heat pump runs flat out in the coldest hours; measured on simbench 1.6).

The network's name is ``<code>@<year>``; every element carries its ``technology``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd

from flexcoord.domain import Technology
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.growth import CAPACITY_COLUMNS, SCENARIO_YEARS, network_of_year, year_issues
from flexcoord.grid.loading import resolve_grid_code
from flexcoord.grid.technologies import TECHNOLOGY_COLUMN, tag_technologies

__all__ = [
    "ADDED_PROFILES",
    "GrowthPath",
    "device_profiles",
    "interpolate_years",
    "network_on_path",
    "technology_factors",
]

_LAST_SCENARIO_YEAR: Final = max(SCENARIO_YEARS.values())
_TREND_FROM: Final = sorted(SCENARIO_YEARS.values())[-2]
#: The profile column (``<name>_pload`` / ``_qload``) of each added technology, and the prefixes
#: of the SimBench device profiles it is the mean of.
ADDED_PROFILES: Final[Mapping[Technology, tuple[str, tuple[str, ...]]]] = MappingProxyType(
    {
        Technology.HEAT_PUMP: ("growth_heat_pump", ("Air_", "Soil_")),
        Technology.EV_CHARGING: ("growth_ev", ("HLS_",)),
    }
)
_TABLES: Final = ("sgen", "load", "storage")


def interpolate_years(points: Mapping[int, float], year: int, default: float) -> float:
    """The value at ``year`` of values given at some years: linear between two given years,
    the nearest given value outside them, ``default`` when none is given.

    Example:
        >>> interpolate_years({2030: 1.0, 2040: 2.0}, 2035, 0.0)
        1.5
        >>> interpolate_years({2030: 1.0, 2040: 2.0}, 2050, 0.0), interpolate_years({}, 2050, 7.0)
        (2.0, 7.0)
    """
    if not points:
        return default
    years = sorted(points)
    values = [float(points[y]) for y in years]
    return float(np.interp(year, years, values))


@dataclass(frozen=True, slots=True, kw_only=True)
class GrowthPath:
    """A grid's DER and load growth over years (module docstring).

    Attributes:
        code: a SimBench code of scenario 0 (``1-MV-rural--0-sw``).
        factors: per technology, multipliers at some years (replacing the default trend).
        heat_pump_mw / ev_mw: installed MW of the explicit heat pumps / EV chargers at some
            years.
    """

    code: str
    factors: Mapping[Technology, Mapping[int, float]] = field(default_factory=dict)
    heat_pump_mw: Mapping[int, float] = field(default_factory=dict)
    ev_mw: Mapping[int, float] = field(default_factory=dict)

    def issues(self, years: Sequence[int], *, source: str = "") -> list[Issue]:
        """What stops the path from building ``years`` (empty when it can)."""
        out = [  # the code's issues, named as the grid's (any year in range shows them)
            dataclasses.replace(i, field="grid", value=self.code)
            for i in year_issues(self.code, _TREND_FROM, source=source)
        ]
        if out:
            return out
        for year in years:
            out += year_issues(self.code, min(year, _LAST_SCENARIO_YEAR), source=source)
            if out:
                return out
        for name, points in (
            *((f"growth.{t.value}", p) for t, p in self.factors.items()),
            ("additions.heat_pump_mw", self.heat_pump_mw),
            ("additions.ev_mw", self.ev_mw),
        ):
            out += [
                Issue(
                    kind="",
                    object_id="",
                    field=f"{name}.{y}",
                    value=v,
                    message="must be a finite number >= 0",
                    source=source,
                )
                for y, v in points.items()
                if not (math.isfinite(v) and v >= 0)
            ]
        return out


@lru_cache(maxsize=4)
def _scenario_totals(code: str) -> Mapping[str, tuple[float, float]]:
    """Each technology's total ``|p_mw|`` in the last two scenario years."""
    totals: dict[str, list[float]] = {}
    for k, year in enumerate((_TREND_FROM, _LAST_SCENARIO_YEAR)):
        net = network_of_year(code, year)
        tag_technologies(net)
        for table in _TABLES:
            frame = net[table]
            sums = frame["p_mw"].abs().groupby(frame[TECHNOLOGY_COLUMN]).sum()
            for tech, total in sums.items():
                totals.setdefault(str(tech), [0.0, 0.0])[k] += float(total)
    return MappingProxyType({t: (a, b) for t, (a, b) in totals.items()})


def technology_factors(path: GrowthPath, year: int) -> dict[str, float]:
    """The multiplier of every technology in ``year`` (module docstring, layer 2).

    Example:
        >>> path = GrowthPath(code="1-MV-rural--0-sw", factors={Technology.PV: {2040: 2.0}})
        >>> f = technology_factors(path, 2044)
        >>> f["pv"], round(f["generic_load"], 3), technology_factors(path, 2030)["wind"]
        (2.0, 1.321, 1.0)
    """
    canonical = resolve_grid_code(path.code).code
    out: dict[str, float] = {}
    for tech, (earlier, later) in _scenario_totals(canonical).items():
        trend = 1.0
        if year > _LAST_SCENARIO_YEAR and later > 0:
            slope = (later - earlier) / ((_LAST_SCENARIO_YEAR - _TREND_FROM) * later)
            trend = max(0.0, 1.0 + (year - _LAST_SCENARIO_YEAR) * slope)
        given = path.factors.get(Technology(tech), {})
        out[tech] = interpolate_years(given, year, trend)
    return out


def _complete_profiles_path() -> Path:
    import simbench  # noqa: PLC0415 - only when a path adds devices

    root = Path(simbench.__file__).parent / "networks" / "1-complete_data-mixed-all-0-sw"
    return root / "LoadProfile.csv"


@lru_cache(maxsize=1)
def device_profiles() -> pd.DataFrame:
    """The mean SimBench device profile of each added technology: columns
    ``<name>_pload`` / ``<name>_qload`` of :data:`ADDED_PROFILES`, 35,136 rows (module
    docstring, layer 3). Read once per process (0.4 s).

    Example:
        >>> frame = device_profiles()
        >>> frame.shape, round(float(frame["growth_ev_pload"].max()), 2)
        ((35136, 4), 0.51)
    """
    path = _complete_profiles_path()
    columns = pd.read_csv(path, sep=";", nrows=0).columns
    out: dict[str, np.ndarray] = {}
    for name, prefixes in ADDED_PROFILES.values():
        for suffix in ("_pload", "_qload"):
            use = [c for c in columns if c.startswith(prefixes) and c.endswith(suffix)]
            frame = pd.read_csv(path, sep=";", usecols=use)
            out[f"{name}{suffix}"] = frame.to_numpy(dtype=float).mean(axis=1)
    return pd.DataFrame(out)


def _scale(net: Any, factors: Mapping[str, float]) -> None:
    for table in _TABLES:
        frame: pd.DataFrame = net[table]
        if not len(frame):
            continue
        factor = frame[TECHNOLOGY_COLUMN].map(factors).fillna(1.0).to_numpy(dtype=float)
        for column in (c for c in CAPACITY_COLUMNS if c in frame.columns):
            frame[column] = frame[column].to_numpy(dtype=float) * factor


def _add_devices(net: Any, tech: Technology, installed_mw: float) -> None:
    if installed_mw <= 0:
        return
    name, _ = ADDED_PROFILES[tech]
    hosts = net.load[net.load["profile"].astype(str).str.startswith("lv_")]
    if not len(hosts):
        hosts = net.load[net.load[TECHNOLOGY_COLUMN] == Technology.GENERIC_LOAD.value]
    weight = hosts.groupby("bus")["p_mw"].sum()
    weight = weight[weight > 0]
    if not len(weight):
        return
    share = weight / weight.sum()
    profiles = device_profiles()
    table = net.profiles["load"]
    for suffix in ("_pload", "_qload"):
        if f"{name}{suffix}" not in table.columns:
            table[f"{name}{suffix}"] = profiles[f"{name}{suffix}"].to_numpy()
    subnet = net.bus["subnet"].reindex(share.index) if "subnet" in net.bus else None
    start = int(net.load.index.max()) + 1 if len(net.load) else 0
    rows = pd.DataFrame(
        {
            "name": [f"growth {tech.value} {bus}" for bus in share.index],
            "bus": share.index.to_numpy(),
            "p_mw": share.to_numpy() * installed_mw,
            "q_mvar": 0.0,
            "const_z_p_percent": 0.0,
            "const_i_p_percent": 0.0,
            "const_z_q_percent": 0.0,
            "const_i_q_percent": 0.0,
            "sn_mva": share.to_numpy() * installed_mw,
            "scaling": 1.0,
            "in_service": True,
            "type": "wye",
            "profile": name,
            TECHNOLOGY_COLUMN: tech.value,
        },
        index=pd.RangeIndex(start, start + len(share)),
    )
    if subnet is not None and "subnet" in net.load.columns:
        rows["subnet"] = subnet.to_numpy()
    rows = rows[[c for c in rows.columns if c in net.load.columns or c == TECHNOLOGY_COLUMN]]
    net.load = pd.concat([net.load, rows.astype({"bus": net.load["bus"].dtype})])


def network_on_path(path: GrowthPath, year: int) -> Any:
    """A fresh pandapower network of ``path``'s grid in ``year`` (module docstring), every
    element tagged with its technology. The caller owns it.

    Raises:
        InvalidInputError: the path's issues (:meth:`GrowthPath.issues`).

    Example:
        >>> path = GrowthPath(code="1-MV-rural--0-sw", heat_pump_mw={2030: 2.0})
        >>> net = network_on_path(path, 2040)
        >>> net.name, round(float(net.load.groupby("technology")["p_mw"].sum()["heat_pump"]), 3)
        ('1-MV-rural--0-sw@2040', 2.0)
    """
    issues = path.issues([year])
    if issues:
        raise InvalidInputError(issues)
    canonical = resolve_grid_code(path.code).code
    net = network_of_year(canonical, min(year, _LAST_SCENARIO_YEAR))
    tag_technologies(net)
    _scale(net, technology_factors(path, year))
    _add_devices(net, Technology.HEAT_PUMP, interpolate_years(path.heat_pump_mw, year, 0.0))
    _add_devices(net, Technology.EV_CHARGING, interpolate_years(path.ev_mw, year, 0.0))
    net.name = f"{canonical}@{year}"
    return net
