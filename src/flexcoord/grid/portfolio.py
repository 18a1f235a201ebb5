"""A DER portfolio from a grid: its own generators, loads and storage, plus scenario additions.

:func:`build_portfolio` turns a :class:`~flexcoord.grid.model.GridModel` into a domain
:class:`~flexcoord.domain.Register`: the TSO and the DSO(s) with their grid areas (from
:mod:`.areas`), one connection point per bus that hosts a unit, one service-providing unit per
pandapower ``sgen``, ``load``, ``storage`` and ``gen``, and the scenario additions of
:class:`ScenarioAdditions` (EV charging, heat pumps, BESS) placed on distribution load buses with a
seeded random generator, so the same seed gives the same portfolio.

Choices (documented because the grid data does not say):

- Technology of an ``sgen`` from its SimBench ``type``: ``PV*`` → PV, ``Wind*`` → wind, ``Biomass*``
  → biomass, ``Hydro*`` → hydro; anything else (``lv_RES``, the aggregated low-voltage renewables
  of an MV grid, and SimBench's profile-named types) → generic generator. ``gen`` → generic
  generator; ``storage`` → BESS; ``load`` → generic load. A CGMES grid's ``SvInjection`` static
  generators (the power the exporting load flow put on a bus, kept so the base case is the SV
  state) are no unit.
- Active range: generators ``[0, sn_mva]`` (``p_mw`` when ``sn_mva`` is missing); loads
  ``[-p_mw, 0]`` (they can shed down to zero); storage ``[-max_p, max_p]``.
- Reactive range: generators and storage may run at cos φ ≥ 0.9 (grid codes such as
  VDE-AR-N 4105/4110 ask for 0.9–0.95), so ``|q| ≤ 0.484 · S``; loads have no reactive range.
- Owners: one aggregator FSP per DSO area (``fsp:<area>``) for the units in it and one FSP
  (``fsp:transmission``) for units on TSO buses. Operators: one TSO (``tso``) and, by default, one
  DSO (``dso``) running every distribution area (``dso_per_area=True`` gives each area its own).
- A connection point's coupling point is the first (lowest-named) interface transformer of its
  area; parallel interface transformers feed the same area.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flexcoord.domain import (
    ConnectionPoint,
    FlexibilityServiceProvider,
    GridArea,
    OperatorRole,
    Register,
    SystemOperator,
    Technology,
    Unit,
    build_all,
)
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.cgmes_check import SV_INJECTION_TYPE

__all__ = ["ScenarioAdditions", "build_portfolio", "sgen_technology"]

#: |q| / S at cos φ = 0.9
_Q_PER_S_AT_PF_09 = math.sqrt(1.0 - 0.9**2)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioAdditions:
    """New flexible devices added to a grid's distribution load buses.

    Attributes:
        ev_chargers: number of EV charging units (each ``ev_p_mw`` of controllable charging).
        heat_pumps: number of heat-pump units (each ``heat_pump_p_mw``).
        batteries: number of BESS units (each ``battery_p_mw`` / ``battery_energy_mwh``, half full).
        seed: seed of the placement; the same seed gives the same portfolio.
    """

    ev_chargers: int = 0
    ev_p_mw: float = 0.022
    heat_pumps: int = 0
    heat_pump_p_mw: float = 0.009
    batteries: int = 0
    battery_p_mw: float = 0.5
    battery_energy_mwh: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        issues = []
        for name in ("ev_chargers", "heat_pumps", "batteries"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                issues.append(
                    Issue(
                        kind="ScenarioAdditions",
                        object_id="additions",
                        field=name,
                        value=value,
                        message="must be a non-negative integer",
                    )
                )
        for name in ("ev_p_mw", "heat_pump_p_mw", "battery_p_mw", "battery_energy_mwh"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                issues.append(
                    Issue(
                        kind="ScenarioAdditions",
                        object_id="additions",
                        field=name,
                        value=value,
                        message="must be a positive finite number",
                    )
                )
        if issues:
            raise InvalidInputError(issues)


def sgen_technology(sgen_type: object) -> Technology:
    """The technology of a pandapower/SimBench ``sgen`` type label (see the module docstring)."""
    label = str(sgen_type).lower()
    for prefix, tech in (
        ("pv", Technology.PV),
        ("wind", Technology.WIND),
        ("biomass", Technology.BIOMASS),
        ("hydro", Technology.HYDRO),
    ):
        if label.startswith(prefix):
            return tech
    return Technology.GENERIC_GENERATOR


def build_portfolio(
    grid: Any,
    *,
    additions: ScenarioAdditions | None = None,
    dso_per_area: bool = False,
) -> Register:
    """The register of operators, areas, FSPs, connection points and units of ``grid``.

    Args:
        grid: a :class:`~flexcoord.grid.model.GridModel`.
        additions: devices to add on distribution load buses (none by default).
        dso_per_area: give each DSO area its own DSO instead of one DSO for all.

    Raises:
        InvalidInputError: every unit the grid data makes invalid (e.g. NaN ratings), together.

    Example:
        >>> from flexcoord.grid.model import load_grid
        >>> grid = load_grid("1-MV-rural--0-sw")
        >>> reg = build_portfolio(grid, additions=ScenarioAdditions(batteries=2))
        >>> len(reg.units), sum(u.technology == "bess" for u in reg.units)
        (200, 2)
    """
    additions = additions or ScenarioAdditions()
    net = grid.net
    split = grid.areas
    area_of_bus = split.area_of_bus()
    operators = [
        SystemOperator(id="tso", name="Transmission system operator", role=OperatorRole.TSO)
    ]
    dso_of_area = {a.id: (f"dso:{a.id}" if dso_per_area else "dso") for a in split.dso_areas}
    for dso_id in sorted(set(dso_of_area.values())):
        operators.append(
            SystemOperator(
                id=dso_id, name=f"Distribution system operator {dso_id}", role=OperatorRole.DSO
            )
        )
    # a distribution-only grid (no bus at or above the TSO threshold) has no TSO area: the TSO
    # is still an operator, reached through the coupling points at the grid's external grids
    areas = (
        [
            GridArea(
                id="tso",
                operator_id="tso",
                bus_ids=split.tso_bus_ids,
                voltage_levels_kv=frozenset(
                    float(v) for v in net.bus.vn_kv.reindex(sorted(split.tso_bus_ids))
                ),
            )
        ]
        if split.tso_bus_ids
        else []
    )
    first_cp: dict[str, str | None] = {}
    for a in split.dso_areas:
        cp_ids = frozenset(cp.id for cp in a.coupling_points)
        areas.append(
            GridArea(
                id=a.id,
                operator_id=dso_of_area[a.id],
                bus_ids=a.bus_ids,
                voltage_levels_kv=frozenset(a.voltage_levels_kv),
                coupling_point_ids=cp_ids,
            )
        )
        first_cp[a.id] = min(cp_ids) if cp_ids else None

    rows = list(_grid_units(net)) + list(_added_units(net, additions, split))
    rows = [r for r in rows if int(r["bus"]) in area_of_bus]  # skip out-of-service buses
    fsp_of = {
        bus: ("fsp:transmission" if area == "tso" else f"fsp:{area}")
        for bus, area in area_of_bus.items()
    }
    buses = sorted({int(r["bus"]) for r in rows})
    connection_points = build_all(
        ConnectionPoint,
        [
            {
                "id": f"cp:{b}",
                "bus": b,
                "area_id": area_of_bus[b],
                "coupling_point_id": first_cp.get(area_of_bus[b]),
            }
            for b in buses
        ],
    )
    units = build_all(
        Unit,
        [
            {key: value for key, value in r.items() if key != "bus"}
            | {"fsp_id": fsp_of[int(r["bus"])], "connection_point_id": f"cp:{int(r['bus'])}"}
            for r in rows
        ],
    )
    fsps = [
        FlexibilityServiceProvider(id=f, name=f"Aggregator {f.removeprefix('fsp:')}")
        for f in sorted({fsp_of[b] for b in buses})
    ]
    return Register(
        operators=tuple(operators),
        areas=tuple(areas),
        fsps=tuple(fsps),
        connection_points=connection_points,
        units=units,
    )


def _float(value: Any, default: float) -> float:
    out = float(value) if value is not None else default
    return out if math.isfinite(out) else default


def _grid_units(net: Any) -> Iterable[dict[str, Any]]:
    sgen = net.sgen[net.sgen.in_service.astype(bool)]
    if "type" in sgen.columns:  # a CGMES SvInjection is the exporter's load flow, not a unit
        sgen = sgen[sgen["type"].astype(object) != SV_INJECTION_TYPE]
    for idx, row in sgen.iterrows():
        s_mva = _float(row.get("sn_mva"), float("nan"))
        p_max = s_mva if math.isfinite(s_mva) and s_mva > 0 else float(row.p_mw)
        q = _Q_PER_S_AT_PF_09 * p_max
        yield {
            "id": f"sgen:{idx}",
            "bus": row.bus,
            "technology": sgen_technology(row.get("type")),
            "p_min_mw": 0.0,
            "p_max_mw": p_max,
            "q_min_mvar": -q,
            "q_max_mvar": q,
            "min_power_factor": 0.9,
        }
    for idx, row in net.gen[net.gen.in_service.astype(bool)].iterrows():
        p_max = max(_float(row.get("max_p_mw"), float(row.p_mw)), float(row.p_mw))
        q = _Q_PER_S_AT_PF_09 * p_max
        yield {
            "id": f"gen:{idx}",
            "bus": row.bus,
            "technology": Technology.GENERIC_GENERATOR,
            "p_min_mw": 0.0,
            "p_max_mw": p_max,
            "q_min_mvar": -q,
            "q_max_mvar": q,
            "min_power_factor": 0.9,
        }
    for idx, row in net.load[net.load.in_service.astype(bool)].iterrows():
        yield {
            "id": f"load:{idx}",
            "bus": row.bus,
            "technology": Technology.GENERIC_LOAD,
            "p_min_mw": -max(float(row.p_mw), 0.0),
            "p_max_mw": 0.0,
        }
    for idx, row in net.storage[net.storage.in_service.astype(bool)].iterrows():
        p = max(abs(_float(row.get("max_p_mw"), float(row.p_mw))), abs(float(row.p_mw)))
        e_max = _float(row.get("max_e_mwh"), 0.0)
        e_min = min(_float(row.get("min_e_mwh"), 0.0), e_max)
        q = _Q_PER_S_AT_PF_09 * p
        yield {
            "id": f"storage:{idx}",
            "bus": row.bus,
            "technology": Technology.BESS,
            "p_min_mw": -p,
            "p_max_mw": p,
            "q_min_mvar": -q,
            "q_max_mvar": q,
            "energy_min_mwh": e_min,
            "energy_max_mwh": e_max,
            "energy_initial_mwh": (e_min + e_max) / 2,
        }


def _added_units(net: Any, add: ScenarioAdditions, split: Any) -> Iterable[dict[str, Any]]:
    total = add.ev_chargers + add.heat_pumps + add.batteries
    if total == 0:
        return
    dso_buses = set().union(*(a.bus_ids for a in split.dso_areas)) if split.dso_areas else set()
    candidates = np.array(
        sorted({int(b) for b in net.load.bus if int(b) in dso_buses}), dtype=np.int64
    )
    if len(candidates) == 0:
        raise InvalidInputError(
            [
                Issue(
                    kind="ScenarioAdditions",
                    object_id="additions",
                    field="ev_chargers+heat_pumps+batteries",
                    value=total,
                    message="the grid has no distribution load bus to place them on",
                )
            ]
        )
    rng = np.random.default_rng(add.seed)
    placed = rng.choice(candidates, size=total, replace=True)
    for n, bus in enumerate(placed[: add.ev_chargers]):
        yield {
            "id": f"ev:{n}",
            "bus": bus,
            "technology": Technology.EV_CHARGING,
            "p_min_mw": -add.ev_p_mw,
            "p_max_mw": 0.0,
        }
    for n, bus in enumerate(placed[add.ev_chargers : add.ev_chargers + add.heat_pumps]):
        yield {
            "id": f"heat_pump:{n}",
            "bus": bus,
            "technology": Technology.HEAT_PUMP,
            "p_min_mw": -add.heat_pump_p_mw,
            "p_max_mw": 0.0,
        }
    q = _Q_PER_S_AT_PF_09 * add.battery_p_mw
    for n, bus in enumerate(placed[add.ev_chargers + add.heat_pumps :]):
        yield {
            "id": f"bess:{n}",
            "bus": bus,
            "technology": Technology.BESS,
            "p_min_mw": -add.battery_p_mw,
            "p_max_mw": add.battery_p_mw,
            "q_min_mvar": -q,
            "q_max_mvar": q,
            "energy_min_mwh": 0.0,
            "energy_max_mwh": add.battery_energy_mwh,
            "energy_initial_mwh": add.battery_energy_mwh / 2,
        }
