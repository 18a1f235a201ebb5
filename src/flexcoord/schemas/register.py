"""The pydantic models of register objects: grid areas, connection points, units and groups.

Shapes, types and bounds only; every rule is the domain's (:class:`~flexcoord.domain.Unit`,
:class:`~flexcoord.domain.Group`, the :class:`~flexcoord.domain.Register` cross-checks), reached
through :meth:`to_domain`. The owner is never a field: it is given by whoever registers the
object (the authenticated party in the service), so a body cannot claim another owner
(``extra="forbid"`` refuses ``fsp_id`` or ``operator_id``). Durations are in minutes, as in the
market file.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from flexcoord.domain import ConnectionPoint, GridArea, Group, Unit
from flexcoord.domain.vocabulary import Technology
from flexcoord.schemas.models import BusId, Minutes

__all__ = ["ConnectionPointModel", "GridAreaModel", "GroupModel", "UnitModel"]

#: An object's id: letters, digits and ``. _ : - #`` (SimBench names its subnets ``MV3.102#2``;
#: in a URL path ``#`` is sent as ``%23``). Never ``/``: the clearing qualifies an FSP's ids as
#: ``<owner>/<id>`` (:mod:`flexcoord.service.session_snapshot`), which no id can collide with.
ObjectId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:#-]+$")]


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_extra={"examples": [example]}
    )


class GridAreaModel(BaseModel):
    """A grid area of the registering system operator: its buses and coupling points."""

    model_config = _config(
        {
            "id": "mv-north",
            "bus_ids": [1, 2, 3],
            "voltage_levels_kv": [20.0],
            "coupling_point_ids": ["trafo:0"],
        }
    )

    id: ObjectId
    bus_ids: list[BusId]
    voltage_levels_kv: list[float] = Field(default_factory=list)
    coupling_point_ids: list[ObjectId] = Field(default_factory=list)

    @classmethod
    def of(cls, area: GridArea) -> GridAreaModel:
        """The body of a domain grid area (ids sorted; its operator is the caller).

        Example:
            >>> area = GridArea(id="mv", operator_id="dso", bus_ids=frozenset({2, 1}))
            >>> GridAreaModel.of(area).bus_ids
            [1, 2]
        """
        return cls(
            id=area.id,
            bus_ids=sorted(area.bus_ids),
            voltage_levels_kv=sorted(area.voltage_levels_kv),
            coupling_point_ids=sorted(area.coupling_point_ids),
        )

    def to_domain(self, operator_id: str) -> GridArea:
        """The domain :class:`~flexcoord.domain.GridArea` run by ``operator_id``."""
        return GridArea(
            id=self.id,
            operator_id=operator_id,
            bus_ids=frozenset(self.bus_ids),
            voltage_levels_kv=frozenset(self.voltage_levels_kv),
            coupling_point_ids=frozenset(self.coupling_point_ids),
        )


class ConnectionPointModel(BaseModel):
    """A connection point (e.g. an EAN) on one of the registering operator's grid areas."""

    model_config = _config(
        {
            "id": "EAN-871000000000000001",
            "bus": 2,
            "area_id": "mv-north",
            "coupling_point_id": "trafo:0",
        }
    )

    id: ObjectId
    bus: BusId
    area_id: ObjectId
    coupling_point_id: ObjectId | None = None

    @classmethod
    def of(cls, point: ConnectionPoint) -> ConnectionPointModel:
        """The body of a domain connection point."""
        return cls(
            id=point.id,
            bus=point.bus,
            area_id=point.area_id,
            coupling_point_id=point.coupling_point_id,
        )

    def to_domain(self) -> ConnectionPoint:
        """The domain :class:`~flexcoord.domain.ConnectionPoint`."""
        return ConnectionPoint(
            id=self.id, bus=self.bus, area_id=self.area_id, coupling_point_id=self.coupling_point_id
        )


class UnitModel(BaseModel):
    """A service-providing unit of the registering FSP (fields as :class:`~flexcoord.domain.Unit`;
    ``p_*`` positive = injection)."""

    model_config = _config(
        {
            "id": "bess-1",
            "connection_point_id": "EAN-871000000000000001",
            "technology": "bess",
            "p_min_mw": -1.0,
            "p_max_mw": 1.0,
            "energy_min_mwh": 0.2,
            "energy_max_mwh": 2.0,
            "energy_initial_mwh": 1.0,
            "activation_lead_time_minutes": 5,
        }
    )

    id: ObjectId
    connection_point_id: ObjectId
    technology: Technology
    p_min_mw: float
    p_max_mw: float
    q_min_mvar: float = 0.0
    q_max_mvar: float = 0.0
    min_power_factor: float | None = None
    ramp_mw_per_min: float | None = None
    energy_min_mwh: float | None = None
    energy_max_mwh: float | None = None
    energy_initial_mwh: float | None = None
    activation_lead_time_minutes: Minutes = 0
    min_duration_minutes: Minutes = 0

    def to_domain(self, fsp_id: str) -> Unit:
        """The domain :class:`~flexcoord.domain.Unit` of ``fsp_id`` (validated by its
        constructor)."""
        data = self.model_dump(exclude={"activation_lead_time_minutes", "min_duration_minutes"})
        return Unit(
            **data,
            fsp_id=fsp_id,
            activation_lead_time=timedelta(minutes=self.activation_lead_time_minutes),
            min_duration=timedelta(minutes=self.min_duration_minutes),
        )


class GroupModel(BaseModel):
    """A service-providing group of the registering FSP's own units."""

    model_config = _config({"id": "pool-north", "unit_ids": ["bess-1", "pv-7"]})

    id: ObjectId
    unit_ids: list[ObjectId]

    def to_domain(self, fsp_id: str) -> Group:
        """The domain :class:`~flexcoord.domain.Group` of ``fsp_id``."""
        return Group(id=self.id, fsp_id=fsp_id, unit_ids=tuple(self.unit_ids))
