"""What every coordination scheme runs on: one scenario of register, needs, bids and grid.

:class:`CoordinationInput` is the identical input the schemes are compared on. :class:`GridViews`
builds (once) the linear grid constraints of any set of areas with the scenario's forecast and
limit overrides, and shifts a base case by earlier markets' dispatch, so a TSO market cleared after
the DSO markets sees the flows those markets caused.

On a grid too large for a dense PTDF (the national SimBench grid: 10.6 GB) the scenario carries
one screened :class:`~flexcoord.clearing.grid_constraints.GridConstraints` of every area
(``screened``, from :func:`~flexcoord.clearing.grid_constraints.screened_grid_constraints`): the
views cut it per set of areas, and the traffic light and the base-case shift use its rows
(:meth:`CoordinationInput.ptdf`), thermal only. Without it every view is built from the grid's
full PTDF, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.grid_constraints import (
    GridConstraints,
    constraints_of_areas,
    grid_constraints,
)
from flexcoord.domain import Bid, Interval, Need, OperatorRole, Register
from flexcoord.errors import InvalidInputError, Issue

if TYPE_CHECKING:
    from flexcoord.grid.forecast import OperatingForecast
    from flexcoord.grid.model import GridModel
    from flexcoord.grid.sensitivities import Ptdf

__all__ = ["CoordinationInput", "GridViews"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoordinationInput:
    """One scenario: the same register, needs, bids and grid for every scheme.

    Attributes:
        name: scenario name.
        grid: a :class:`~flexcoord.grid.model.GridModel`.
        register: operators, areas, FSPs, units and products.
        needs: every buyer's explicit needs (TSO, DSOs, commercial parties).
        bids: every FSP bid.
        intervals: the MTUs of the scenario.
        forecast: the base case per MTU (:class:`~flexcoord.grid.forecast.OperatingForecast`).
        limit_overrides_mw: branch name → thermal limit (MW) replacing the grid's own; the way a
            scenario designs congestion.
        safety_margin: share of every limit kept free in every market.
        voltages: whether markets monitor bus voltages (SimBench HV/MV grids start above their
            MV voltage band; thermal-only scenarios leave this off).
        gate_closure_at: gate closure of the scenario's first sub-market.
        profile_start_step: SimBench profile step of the first MTU when ``forecast`` comes from
            the profiles (the AC check then starts from the same base case).
        screened: the grid constraints of every area from one screening
            (:func:`~flexcoord.clearing.grid_constraints.screened_grid_constraints`, the
            physical limits: ``limit_overrides_mw`` still apply), for a grid whose dense PTDF
            does not fit; no voltages then (``voltages`` must be off).
    """

    name: str
    grid: GridModel
    register: Register
    needs: tuple[Need, ...]
    bids: tuple[Bid, ...]
    intervals: tuple[Interval, ...]
    forecast: OperatingForecast
    limit_overrides_mw: Mapping[str, float] = field(default_factory=dict)
    safety_margin: float = 0.0
    voltages: bool = False
    gate_closure_at: datetime | None = None
    profile_start_step: int | None = None
    screened: GridConstraints | None = None

    def __post_init__(self) -> None:
        issues = [
            Issue(
                kind="Need",
                object_id=n.id,
                field="buyer_id",
                value=n.buyer_id,
                message="is not an operator of the register (a need nobody may buy for)",
            )
            for n in self.needs
            if not self.register.has("operators", n.buyer_id)
        ]
        if not (0.0 <= self.safety_margin < 1.0):
            issues.append(
                Issue(
                    kind="CoordinationInput",
                    object_id=self.name,
                    field="safety_margin",
                    value=self.safety_margin,
                    message="must be in [0, 1)",
                )
            )
        issues += _screened_issues(self)
        if issues:
            raise InvalidInputError(issues)

    def ptdf(self) -> Ptdf:
        """The PTDF rows the traffic light and the base-case shift use: the screened rows
        (``screened``), else the grid's full PTDF."""
        gc = self.screened
        if gc is None:
            full: Ptdf = self.grid.ptdf()
            return full
        from flexcoord.grid.sensitivities import Ptdf  # noqa: PLC0415  (lazy, as the grid)

        return Ptdf(
            matrix=gc.ptdf,
            branch_names=gc.branch_names,
            bus_ids=gc.bus_ids,
            slack_bus_ids=np.zeros(0, dtype=np.int64),
        )

    def operators_of_role(self, role: OperatorRole) -> tuple[str, ...]:
        """Ids of the register's operators with this role, sorted."""
        return tuple(sorted(o.id for o in self.register.operators if o.role == role))

    def areas_of(self, operator_id: str) -> tuple[str, ...]:
        """Ids of the grid areas an operator runs, sorted."""
        return tuple(sorted(a.id for a in self.register.areas if a.operator_id == operator_id))

    def area_of_resource(self, resource_id: str) -> str:
        """The grid area of a unit or group (a group's units share one area or coupling point)."""
        units = self.register.units_of(resource_id)
        return self.register.connection_point(units[0].connection_point_id).area_id


def _screened_issues(s: CoordinationInput) -> list[Issue]:
    gc = s.screened
    if gc is None:
        return []

    def issue(field: str, value: object, message: str) -> Issue:
        return Issue(
            kind="CoordinationInput", object_id=s.name, field=field, value=value, message=message
        )

    out = []
    if s.voltages or len(gc.vbus_ids):
        out.append(issue("voltages", s.voltages, "must be off with screened constraints"))
    if tuple(gc.intervals) != tuple(s.intervals):
        out.append(issue("screened", len(gc.intervals), "covers other MTUs than the scenario"))
    if gc.safety_margin != s.safety_margin:
        out.append(
            issue("screened", gc.safety_margin, f"has another safety margin ({s.safety_margin})")
        )
    return out


class GridViews:
    """Linear grid constraints per set of areas, built once per scenario and shifted on demand."""

    def __init__(self, scenario: CoordinationInput) -> None:
        self.scenario = scenario
        self._cache: dict[frozenset[str], GridConstraints] = {}
        self._physical: dict[frozenset[str], GridConstraints] = {}
        limits = scenario.grid.branch_limits()
        unknown = sorted(set(scenario.limit_overrides_mw) - set(limits.branch_names))
        if unknown:
            raise InvalidInputError(
                [
                    Issue(
                        kind="CoordinationInput",
                        object_id=scenario.name,
                        field="limit_overrides_mw",
                        value=unknown[:10],
                        message="names branches the grid does not have",
                    )
                ]
            )

    def constraints(self, areas: Iterable[str], *, physical: bool = False) -> GridConstraints:
        """The constraints of the branches and (optionally) buses of ``areas``.

        ``physical=True`` keeps the grid's own thermal limits (no scenario override): what an AC
        check needs to express a loading as MW.
        """
        key = frozenset(areas)
        if physical:
            if key not in self._physical:
                s = self.scenario
                if s.screened is not None:
                    self._physical[key] = constraints_of_areas(s.screened, s.grid, sorted(key))
                    return self._physical[key]
                self._physical[key] = grid_constraints(
                    s.grid,
                    intervals=s.intervals,
                    forecast=s.forecast,
                    profile_start_step=s.profile_start_step,
                    areas=sorted(key),
                    safety_margin=s.safety_margin,
                    voltages=s.voltages,
                )
            return self._physical[key]
        if key not in self._cache:
            s = self.scenario
            gc = self.constraints(key, physical=True)
            overrides = s.limit_overrides_mw
            if overrides:
                limit = np.array(
                    [
                        overrides.get(n, lim)
                        for n, lim in zip(gc.branch_names, gc.limit_mw, strict=True)
                    ]
                )
                gc = dataclasses.replace(gc, limit_mw=limit)
            self._cache[key] = gc
        return self._cache[key]
