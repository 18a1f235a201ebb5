"""The bodies of grid prequalification and of the TSO's interface view.

Two views of one record: the FSP reads :class:`GridPrequalificationOut` (the light, the MW
headroom and a sentence per direction that names no bus, branch or other unit); the impacted
operator reads :class:`GridPrequalificationOperatorOut`, which adds the binding limit (``line:12``,
``bus:40``), its asset name, the resource's buses and the MTU where the limit binds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flexcoord.schemas.models import UtcTime
from flexcoord.service.market_schemas import PrequalificationStatus

__all__ = [
    "AssessmentOut",
    "DirectionLightOut",
    "GridDecisionIn",
    "GridPrequalificationOperatorOut",
    "GridPrequalificationOut",
    "InterfaceCurveOut",
    "InterfaceStepOut",
    "OperatorAssessmentOut",
    "OperatorDirectionLightOut",
    "WindowModel",
]

_AT = "2026-06-01T08:00:00.000000Z"
Light = Literal["green", "amber", "red"]
DirectionName = Literal["up", "down"]
NonNegativeMw = Annotated[float, Field(ge=0)]


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_extra={"examples": [example]}
    )


_FSP_UP: dict[str, Any] = {
    "direction": "up",
    "light": "amber",
    "headroom_mw": 0.3,
    "range_mw": 0.5,
    "message": "bess-1 up at 2026-06-02T12:15Z: amber, at most 0.30 MW of 0.50 MW: "
    "thermal limit in the distribution grid (constraint C-3F9C2A1B7D)",
}
_OPERATOR_UP: dict[str, Any] = {
    **_FSP_UP,
    "limit_kind": "thermal",
    "constraint": "line:12",
    "asset_name": "MV1.101 Line 12",
    "constraint_ref": "C-3F9C2A1B7D",
    "binding_mtu_start": "2026-06-02T12:15:00Z",
}
_FSP_ASSESSMENT: dict[str, Any] = {
    "assessed_at": _AT,
    "horizon_start": "2026-06-01T22:00:00Z",
    "horizon_end": "2026-06-02T22:00:00Z",
    "directions": [_FSP_UP],
    "error": None,
}
_OPERATOR_ASSESSMENT: dict[str, Any] = {
    **_FSP_ASSESSMENT,
    "directions": [_OPERATOR_UP],
    "grid_code": "1-HVMV-mixed-all-0-sw",
    "bus_ids": [40],
}
_RECORD: dict[str, Any] = {
    "id": "5f0c6f1e2b7a4c1d9e8f7a6b5c4d3e2f",
    "owner_id": "fsp-a",
    "resource_id": "bess-1",
    "operator_id": "dso-north",
    "status": "in_progress",
    "max_up_mw": None,
    "max_down_mw": None,
    "windows": None,
    "suspended_from": None,
    "created_at": _AT,
    "updated_at": _AT,
}


class WindowModel(BaseModel):
    """A time window ``[start, end)`` (UTC) in which a conditionally approved resource may
    deliver."""

    model_config = _config({"start": "2026-06-01T22:00:00Z", "end": "2026-06-02T05:00:00Z"})
    start: UtcTime
    end: UtcTime


class DirectionLightOut(BaseModel):
    """The traffic light of one direction over the assessed horizon, as the FSP reads it: the
    worst light of any MTU, the least safe volume (``headroom_mw``; the range when green) and
    a sentence that names the kind of limit and an anonymised reference, never the grid."""

    model_config = _config(_FSP_UP)
    direction: DirectionName
    light: Light
    headroom_mw: float
    range_mw: float
    message: str


class OperatorDirectionLightOut(BaseModel):
    """One direction as the impacted operator reads it: the FSP's view and the binding limit
    (``constraint``: ``line:<i>``, ``trafo:<i>`` or ``bus:<i>`` of the platform grid)."""

    model_config = _config(_OPERATOR_UP)
    direction: DirectionName
    light: Light
    headroom_mw: float
    range_mw: float
    message: str
    limit_kind: str
    constraint: str | None
    asset_name: str | None
    constraint_ref: str | None
    binding_mtu_start: datetime | None


class AssessmentOut(BaseModel):
    """The traffic light of a record as the FSP reads it (``error``: why none could be made)."""

    model_config = _config(_FSP_ASSESSMENT)
    assessed_at: datetime
    horizon_start: datetime | None
    horizon_end: datetime | None
    directions: list[DirectionLightOut]
    error: str | None


class OperatorAssessmentOut(BaseModel):
    """The traffic light as the impacted operator reads it: the grid and the buses too."""

    model_config = _config(_OPERATOR_ASSESSMENT)
    assessed_at: datetime
    horizon_start: datetime | None
    horizon_end: datetime | None
    directions: list[OperatorDirectionLightOut]
    error: str | None
    grid_code: str
    bus_ids: list[int]


class GridPrequalificationOut(BaseModel):
    """A grid prequalification record as its FSP reads it."""

    model_config = _config({**_RECORD, "assessment": _FSP_ASSESSMENT})
    id: str
    owner_id: str
    resource_id: str
    operator_id: str
    status: PrequalificationStatus
    max_up_mw: float | None
    max_down_mw: float | None
    windows: list[WindowModel] | None
    suspended_from: datetime | None
    created_at: datetime
    updated_at: datetime
    assessment: AssessmentOut | None


class GridPrequalificationOperatorOut(BaseModel):
    """A grid prequalification record as its impacted operator reads it."""

    model_config = _config({**_RECORD, "assessment": _OPERATOR_ASSESSMENT})
    id: str
    owner_id: str
    resource_id: str
    operator_id: str
    status: PrequalificationStatus
    max_up_mw: float | None
    max_down_mw: float | None
    windows: list[WindowModel] | None
    suspended_from: datetime | None
    created_at: datetime
    updated_at: datetime
    assessment: OperatorAssessmentOut | None


class GridDecisionIn(BaseModel):
    """The impacted operator's decision: the new status; a conditional approval carries its
    conditions — the most MW the grid takes up and / or down, and / or the time windows in
    which the resource may deliver (all kept from the earlier approval when lifting a
    suspension and none are given)."""

    model_config = _config({"status": "conditionally_approved", "max_up_mw": 0.3})
    status: PrequalificationStatus
    max_up_mw: NonNegativeMw | None = None
    max_down_mw: NonNegativeMw | None = None
    windows: Annotated[list[WindowModel], Field(min_length=1, max_length=366)] | None = None


class InterfaceStepOut(BaseModel):
    """One step of a merit-order curve: a price and the quantity offered at or below it."""

    model_config = _config({"price": 80.0, "cumulative_quantity": 1.5})
    price: float
    cumulative_quantity: float


class InterfaceCurveOut(BaseModel):
    """The bids behind one TSO–DSO coupling point for one MTU and direction, aggregated into a
    merit-order curve (cheapest first, one step per distinct price): no unit, bus or FSP is
    named. ``price_basis`` says which price orders it (the activation price for a product with
    activation, the availability price otherwise); ``quantity_unit`` is the product's."""

    model_config = _config(
        {
            "coupling_point_id": "trafo:3",
            "start": "2026-06-02T08:00:00Z",
            "end": "2026-06-02T08:15:00Z",
            "direction": "up",
            "price_basis": "activation_eur_per_mwh",
            "quantity_unit": "MW",
            "steps": [
                {"price": 80.0, "cumulative_quantity": 1.5},
                {"price": 120.0, "cumulative_quantity": 2.0},
            ],
        }
    )
    coupling_point_id: str
    start: datetime
    end: datetime
    direction: DirectionName
    price_basis: Literal["activation_eur_per_mwh", "availability_eur_per_mw_h"]
    quantity_unit: str
    steps: list[InterfaceStepOut]
