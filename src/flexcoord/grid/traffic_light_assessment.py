"""The traffic light's result: per resource, MTU and direction, the light, the safe volume and
the binding limit — with the FSP's view (no topology) and the DSO's internal view.

Computed by :func:`flexcoord.grid.traffic_light.compute_traffic_light`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.domain import (
    Direction,
    GridPrequalification,
    Interval,
    PrequalificationStatus,
    TrafficLight,
)
from flexcoord.errors import NotFoundError
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.traffic_light_kernel import ConstraintSet, SafeVolumes, merge, safe_volumes

__all__ = ["FspExplanation", "LimitKind", "LinearGridModel", "TrafficLightAssessment"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

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

    def safe(  # noqa: PLR0913 - the assessment's arrays, by keyword
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
