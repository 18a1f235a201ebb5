"""The grid of a year: SimBench's scenarios 0/1/2 and linear interpolation between them.

SimBench ships every grid in three scenarios, the digit before the switch representation in
its code (``1-HVMV-mixed-all-0-sw``): scenario 0 is *today*, 1 and 2 the future scenarios of
DER, storage and load growth (Meinecke et al., "SimBench — A Benchmark Dataset of Electric Power
Systems to Compare Innovative Solutions Based on Power Flow Analysis", Energies 13(12):3290,
2020, doi:10.3390/en13123290, §2.3 "Approach for Generating Future Scenarios" and §3.6 "Future
Scenarios"). This module dates them 2016 (the year of the data and of every scenario's profiles,
``01.01.2016 00:00`` …), 2024 and 2034 (:data:`SCENARIO_YEARS`), the horizons flexcoord's
issue 9 gives scenarios 1 and 2. The simbench package's documentation and code name no years,
and these two were not checked against the paper's text: change :data:`SCENARIO_YEARS` if the
paper dates them otherwise.

A year between two scenario years is built from the two bounding scenario nets of the same grid,
with ``f = (year - earlier year) / (later year - earlier year)``. What the scenario nets of one
grid differ in, measured on 1-MV-rural, 1-MV-urban, 1-LV-rural1 and 1-HVMV-mixed (simbench 1.6):

- **Grid assets** (buses, lines, transformers, switches): the later scenario's grid is the
  earlier one plus reinforcement (new HV buses and lines to new wind parks, new MV loop lines
  with their switches); no bus, line, transformer or switch is removed or re-rated. The
  interpolated net therefore takes **the later scenario's grid assets**: the earlier grid with
  the reinforcement the later scenario made, and the only grid on which the later scenario's
  new elements have a bus. Bus indices differ between scenarios, so elements are matched to buses by
  bus *name*.
- **Loads and sgens** keep their ``name`` (unique in each scenario) and bus; their ``p_mw``,
  ``q_mvar`` and ``sn_mva`` grow. They are matched by name.
- **Storages** exist from scenario 1 on; their names are renumbered between scenarios (the same
  name lands on another bus), so they are matched by (bus name, ``type``), which is unique.
- **Profiles** of the same name differ between scenarios (the aggregated LV and MV profiles
  change shape as heat pumps, EVs and PV grow).

Interpolation: an element in both scenarios takes the later row with every capacity column
(``p_mw``, ``q_mvar``, ``sn_mva``, ``max_e_mwh``, limits, see :data:`CAPACITY_COLUMNS`) at
``a + f·(b − a)``; an element only in the later scenario takes ``f·b``, one only in the earlier
``(1 − f)·a``; every element keeps its profile name. Each profile column is the blend
``((1 − f)·W₀·r₀ + f·W₁·r₁) / ((1 − f)·W₀ + f·W₁)``, with ``W`` the total ``|p_mw|`` (``|q_mvar|``
for ``*_qload``) of the elements using it in each scenario, so the summed absolute series of
every profile (``Σ`` profile × ``p_mw``) is exactly the linear blend of the two scenarios'.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.loading import load_network, resolve_grid_code, simbench_codes
from flexcoord.grid.model import GridModel, load_grid

__all__ = [
    "CAPACITY_COLUMNS",
    "SCENARIO_YEARS",
    "grid_of_year",
    "network_of_year",
    "year_issues",
]

#: The year each SimBench scenario stands for (module docstring).
SCENARIO_YEARS: Final[Mapping[int, int]] = MappingProxyType({0: 2016, 1: 2024, 2: 2034})
#: The element columns interpolated between two scenarios (those an element table has).
CAPACITY_COLUMNS: Final = (
    "p_mw",
    "q_mvar",
    "sn_mva",
    "max_e_mwh",
    "min_e_mwh",
    "max_p_mw",
    "min_p_mw",
    "max_q_mvar",
    "min_q_mvar",
)
_MIN_YEAR: Final = 2000
_MAX_YEAR: Final = 2060
#: The profile table each element table reads, and the column suffixes with their weight column.
_PROFILE_USE: Final = (
    ("load", "load", (("_pload", "p_mw"), ("_qload", "q_mvar"))),
    ("sgen", "renewables", (("", "p_mw"),)),
    ("sgen", "powerplants", (("", "p_mw"),)),
    ("storage", "storage", (("", "p_mw"),)),
)


def _scenario_of(code: str) -> int | None:
    parts = code.split("-")
    if len(parts) == 6 and parts[4] in ("0", "1", "2"):  # SimBench's six fields
        return int(parts[4])
    return None


def _scenario_code(code: str, scenario: int) -> str:
    parts = code.split("-")
    parts[4] = str(scenario)
    return "-".join(parts)


def year_issues(code: str, year: int, *, field: str = "year", source: str = "") -> list[Issue]:
    """The issues with building grid ``code`` for ``year`` (empty when :func:`grid_of_year` can).

    ``code`` must be a SimBench code of scenario 0 (the scenario follows from the year) whose
    scenarios 1 and 2 the installed simbench ships; ``year`` a whole number in 2000..2060.

    Example:
        >>> year_issues("1-MV-rural--0-sw", 2029)
        []
        >>> [i.message for i in year_issues("1-MV-rural--0-sw", 2070)]
        ['must be in 2000..2060']
        >>> year_issues("1-MV-rural--2-sw", 2029)[0].message[:40]
        "needs the grid code's scenario 0 (…-0-sw"
    """

    def issue(message: str) -> Issue:
        return Issue(kind="", object_id="", field=field, value=year, message=message, source=source)

    if isinstance(year, bool) or not isinstance(year, int):
        return [issue("must be a whole number")]
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return [issue(f"must be in {_MIN_YEAR}..{_MAX_YEAR}")]
    canonical = code
    with contextlib.suppress(LookupError):  # an unknown code: the message names it as written
        canonical = resolve_grid_code(code).code
    scenario = _scenario_of(canonical)
    known = set(simbench_codes())
    if canonical not in known or scenario is None:
        return [issue(f"needs a SimBench grid with scenarios 0/1/2: got {code!r}")]
    if scenario != 0:
        return [
            issue(
                "needs the grid code's scenario 0 (…-0-sw), as the year sets the scenario: "
                f"got {canonical!r}"
            )
        ]
    missing = [c for c in (_scenario_code(canonical, s) for s in (1, 2)) if c not in known]
    if missing:
        return [issue(f"needs scenarios 1 and 2 of {canonical!r}; simbench lacks {missing}")]
    return []


def _bounds(year: int) -> tuple[int, int, float]:
    """The earlier and later scenario and the fraction ``f`` of the way from one to the other;
    a scenario year (or one outside 2016..2034) is its scenario alone: ``(s, s, 0.0)``."""
    years = sorted(SCENARIO_YEARS.items(), key=lambda kv: kv[1])
    for scenario, y in years:
        if year == y:
            return scenario, scenario, 0.0
    if year < years[0][1]:
        return years[0][0], years[0][0], 0.0
    for (s0, y0), (s1, y1) in itertools.pairwise(years):
        if y0 < year < y1:
            return s0, s1, (year - y0) / (y1 - y0)
    return years[-1][0], years[-1][0], 0.0


def _keys(net: Any, table: str) -> pd.Index:
    frame: pd.DataFrame = net[table]
    if table == "storage":
        bus_name = net.bus["name"].reindex(frame["bus"]).to_numpy()
        keys: pd.Index = pd.MultiIndex.from_arrays([bus_name, frame["type"].to_numpy()])
        return keys
    return pd.Index(frame["name"].to_numpy())


def _blend_elements(earlier: Any, later: Any, table: str, f: float) -> pd.DataFrame:
    """``table`` of the interpolated net, on ``later``'s bus indices (module docstring)."""
    a: pd.DataFrame = earlier[table]
    b: pd.DataFrame = later[table]
    key_a, key_b = _keys(earlier, table), _keys(later, table)
    cols = [c for c in CAPACITY_COLUMNS if c in b.columns]
    out = b.copy()
    pos = key_a.get_indexer(key_b)
    both = pos >= 0
    if cols:
        va = a.reindex(columns=cols).to_numpy(dtype=float)[pos[both]]
        vb = out.loc[both, cols].to_numpy(dtype=float)
        blend = np.where(np.isnan(vb), va, va + f * (vb - va))
        out.loc[both, cols] = np.where(np.isnan(va), vb, blend)  # a side without a value: the other
        out.loc[~both, cols] = out.loc[~both, cols].to_numpy(dtype=float) * f
    gone = a[~key_a.isin(key_b)].copy() if len(a) else a.iloc[:0].copy()
    if len(gone):
        bus_of_name = pd.Series(later.bus.index, index=later.bus["name"])
        names = earlier.bus["name"].reindex(gone["bus"]).to_numpy()
        gone["bus"] = bus_of_name.reindex(names).to_numpy()
        gone = gone[gone["bus"].notna()].astype({"bus": out["bus"].dtype})
        scaled = [c for c in cols if c in gone.columns]
        gone[scaled] = gone[scaled].to_numpy(dtype=float) * (1.0 - f)
        start = int(out.index.max()) + 1 if len(out) else 0
        gone.index = pd.RangeIndex(start, start + len(gone))
        out = pd.concat([out, gone[out.columns]]) if len(out) else gone
    return out


def _profile_weights(net: Any, table: str, suffix: str, column: str) -> pd.Series:
    frame: pd.DataFrame = net[table]
    if not len(frame) or "profile" not in frame.columns:
        return pd.Series(dtype=float)
    weight = (frame[column].astype(float) * frame.get("scaling", 1.0)).abs()
    sums: pd.Series = weight.groupby(frame["profile"].astype(str) + suffix).sum()
    return sums


def _blend_profiles(earlier: Any, later: Any, f: float) -> dict[str, pd.DataFrame]:
    out = {name: frame.copy() for name, frame in later.profiles.items()}
    for table, source, uses in _PROFILE_USE:
        a, b = earlier.profiles.get(source), out.get(source)
        if a is None or b is None or not len(a) or not len(b):
            continue
        w0 = pd.concat([_profile_weights(earlier, table, s, c) for s, c in uses])
        w1 = pd.concat([_profile_weights(later, table, s, c) for s, c in uses])
        for name in (c for c in b.columns if c != "time" and c in a.columns):
            p, q = (1.0 - f) * float(w0.get(name, 0.0)), f * float(w1.get(name, 0.0))
            if p + q <= 0:  # used by no element: the plain blend
                p, q = 1.0 - f, f
            r0, r1 = a[name].to_numpy(dtype=float), b[name].to_numpy(dtype=float)
            b[name] = (p * r0 + q * r1) / (p + q)
    return out


def network_of_year(code: str, year: int) -> Any:
    """A fresh pandapower network of SimBench grid ``code`` (scenario 0) in ``year``.

    A scenario year (2016, 2024, 2034; and any year before 2016 or after 2034) gives the
    scenario's net itself (:func:`~flexcoord.grid.loading.load_network` of its code); a year
    between two gives their interpolation (module docstring). The caller owns the result.

    Raises:
        InvalidInputError: the issues of :func:`year_issues`.
        NotFoundError: ``code`` is not a grid code at all.
    """
    issues = year_issues(code, year)
    if issues:
        raise InvalidInputError(issues)
    canonical = resolve_grid_code(code).code
    s0, s1, f = _bounds(year)
    if s0 == s1:
        return load_network(_scenario_code(canonical, s0))
    earlier = load_network(_scenario_code(canonical, s0))
    net = load_network(_scenario_code(canonical, s1))
    blended = {t: _blend_elements(earlier, net, t, f) for t in ("load", "sgen", "storage")}
    profiles = _blend_profiles(earlier, net, f)
    for table, frame in blended.items():
        net[table] = frame
    net.profiles = profiles
    net.name = f"{canonical}@{year}"
    return net


@lru_cache(maxsize=8)
def grid_of_year(code: str, year: int, *, tso_min_vn_kv: float = 110.0) -> GridModel:
    """A shared, cached :class:`GridModel` of SimBench grid ``code`` (scenario 0) in ``year``.

    A scenario year gives :func:`~flexcoord.grid.model.load_grid` of the scenario's code (the
    same model, code and all); a year between two scenarios a model of
    :func:`network_of_year`, coded ``"<code>@<year>"`` (read-only, as every ``GridModel``).

    Raises:
        InvalidInputError: the issues of :func:`year_issues`.

    Example:
        >>> grid_of_year("1-MV-rural--0-sw", 2024).code
        '1-MV-rural--1-sw'
        >>> grid = grid_of_year("1-MV-rural--0-sw", 2029)
        >>> grid.code, len(grid.net.bus), [a.id for a in grid.areas.dso_areas]
        ('1-MV-rural--0-sw@2029', 99, ['MV1.101'])
    """
    issues = year_issues(code, year)
    if issues:
        raise InvalidInputError(issues)
    canonical = resolve_grid_code(code).code
    s0, s1, _ = _bounds(year)
    if s0 == s1:
        return load_grid(_scenario_code(canonical, s0), tso_min_vn_kv=tso_min_vn_kv)
    net = network_of_year(canonical, year)
    return GridModel(net, code=f"{canonical}@{year}", tso_min_vn_kv=tso_min_vn_kv)
