"""A resource's traffic light over a whole horizon: the static grid prequalification view.

A grid prequalification is not per MTU: it says how much of its range a resource may move
anywhere in the assessed horizon. :func:`worst_case` folds a
:class:`~flexcoord.grid.traffic_light_assessment.TrafficLightAssessment` row over its MTUs, per
direction: the least safe volume (``headroom_mw``) and the light of that MTU, which is the
worst light of any MTU (the light falls as the safe volume does), with the limit binding there.
The FSP's sentence (:meth:`TrafficLightAssessment.explanation_text`) names the kind of limit and
an anonymised reference; the constraint and asset names are for the operator only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from flexcoord.domain import Direction, TrafficLight
from flexcoord.grid.traffic_light_assessment import LimitKind, TrafficLightAssessment

__all__ = ["DirectionSummary", "worst_case"]

_LIGHTS = (TrafficLight.GREEN, TrafficLight.AMBER, TrafficLight.RED)
_DIRECTIONS = (Direction.UP, Direction.DOWN)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectionSummary:
    """One direction of a resource over the horizon.

    Attributes:
        direction: UP or DOWN.
        light: The worst light of any MTU.
        headroom_mw: The least safe volume of any MTU (the range when green throughout).
        range_mw: The resource's range.
        limit_kind: The kind of the limit binding at that MTU (``NONE`` when green).
        constraint: Operator-internal name of the binding limit (``line:12``, ``bus:40``).
        asset_name: Its asset's name in the grid data.
        constraint_ref: Its anonymised reference (``C-…``), which the FSP may see.
        binding_mtu_start: Start of the MTU where the headroom is least (``None`` when green).
        fsp_text: The sentence the FSP reads: no bus, branch or other resource named.
    """

    direction: Direction
    light: TrafficLight
    headroom_mw: float
    range_mw: float
    limit_kind: LimitKind
    constraint: str | None
    asset_name: str | None
    constraint_ref: str | None
    binding_mtu_start: datetime | None
    fsp_text: str


def worst_case(
    assessment: TrafficLightAssessment, resource_id: str
) -> tuple[DirectionSummary, DirectionSummary]:
    """The UP and DOWN summaries of ``resource_id`` over the assessment's MTUs.

    Raises:
        NotFoundError: the resource was not assessed.
    """
    r = assessment.resource_index(resource_id)
    summaries = []
    for d, direction in enumerate(_DIRECTIONS):
        t = int(np.argmin(assessment.safe_mw[r, :, d]))
        code = int(assessment.light_code[r, t, d])
        c = int(assessment.constraint[r, t, d])
        bound = code > 0 and c >= 0
        summaries.append(
            DirectionSummary(
                direction=direction,
                light=_LIGHTS[code],
                headroom_mw=float(assessment.safe_mw[r, t, d]),
                range_mw=float(assessment.range_mw[r]),
                limit_kind=tuple(LimitKind)[int(assessment.kind_code[r, t, d])],
                constraint=assessment.constraint_names[c] if bound else None,
                asset_name=assessment.constraint_asset_names[c] if bound else None,
                constraint_ref=assessment.constraint_refs[c] if bound else None,
                binding_mtu_start=assessment.intervals[t].start if code > 0 else None,
                fsp_text=assessment.explanation_text(r, t, d),
            )
        )
    return summaries[0], summaries[1]
