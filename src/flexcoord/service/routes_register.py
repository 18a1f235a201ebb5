"""The register: grid areas and connection points (system operators), units and groups (FSPs).

Each object is its owner's: lists show only the caller's objects, and another party's object
answers 404 exactly as a missing one does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from flexcoord.schemas import ConnectionPointModel, GridAreaModel, GroupModel, UnitModel
from flexcoord.service import register_store as store
from flexcoord.service.calls import Call, call_of
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation
from flexcoord.service.schemas import ConnectionPointOut, GridAreaOut, GroupOut, UnitOut
from flexcoord.service.tables import (
    ConnectionPointRow,
    GridAreaRow,
    GroupRow,
    PartyRow,
    UnitRow,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=problem_responses(401, 403, 422))
Limit = Annotated[int, Query(ge=1, le=1000, description="Most items returned.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items skipped (in id order).")]
Out = TypeVar("Out", bound=BaseModel)
_CREATED = problem_responses(409)
_FOUND = problem_responses(404)


def _out(model: type[Out], row: Any) -> Out:
    return model.model_validate(
        {**row.spec, "owner_id": row.owner_id, "created_at": row.created_at}
    )


def _owner(session: Session, call: Call) -> PartyRow:
    party = session.get(PartyRow, call.principal.party_id)
    assert party is not None  # authenticated in this request
    return party


def _create(
    call: Call, add: Callable[..., Any], body: BaseModel, kind: str, model: type[Out]
) -> Out:
    with call.transaction() as session:
        row = add(session, _owner(session, call), body, now=call.now)
        out = _out(model, row)
        call.accept(session, target=f"{kind}:{row.id}", status=201, response=out)
        return out


# --- grid areas -----------------------------------------------------------------------------


@router.post(
    "/grid-areas",
    name=Operation.GRID_AREA_CREATE,
    status_code=201,
    responses=_CREATED,
    tags=["register"],
)
def create_grid_area(
    body: GridAreaModel, call: Annotated[Call, Depends(call_of(Operation.GRID_AREA_CREATE))]
) -> GridAreaOut:
    """Register a grid area of the calling system operator."""
    return _create(call, store.add_grid_area, body, "grid_area", GridAreaOut)


@router.get("/grid-areas", name=Operation.GRID_AREA_LIST, tags=["register"])
def list_grid_areas(
    call: Annotated[Call, Depends(call_of(Operation.GRID_AREA_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[GridAreaOut]:
    """The calling operator's grid areas."""
    with call.transaction(read_only=True) as session:
        rows = store.list_owned(
            session, GridAreaRow, call.principal.party_id, limit=limit, offset=offset
        )
        return [_out(GridAreaOut, r) for r in rows]


@router.get(
    "/grid-areas/{area_id}", name=Operation.GRID_AREA_READ, responses=_FOUND, tags=["register"]
)
def read_grid_area(
    area_id: str, call: Annotated[Call, Depends(call_of(Operation.GRID_AREA_READ))]
) -> GridAreaOut:
    """One of the calling operator's grid areas."""
    with call.transaction(read_only=True) as session:
        row = store.get_owned(session, GridAreaRow, call.principal.party_id, area_id)
        return _out(GridAreaOut, row)


# --- connection points ----------------------------------------------------------------------


@router.post(
    "/connection-points",
    name=Operation.CONNECTION_POINT_CREATE,
    status_code=201,
    responses=_CREATED,
    tags=["register"],
)
def create_connection_point(
    body: ConnectionPointModel,
    call: Annotated[Call, Depends(call_of(Operation.CONNECTION_POINT_CREATE))],
) -> ConnectionPointOut:
    """Register a connection point on one of the calling operator's grid areas."""
    return _create(call, store.add_connection_point, body, "connection_point", ConnectionPointOut)


@router.get("/connection-points", name=Operation.CONNECTION_POINT_LIST, tags=["register"])
def list_connection_points(
    call: Annotated[Call, Depends(call_of(Operation.CONNECTION_POINT_LIST))],
    area_id: Annotated[str | None, Query(description="Only those of this grid area.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ConnectionPointOut]:
    """The calling operator's connection points."""
    with call.transaction(read_only=True) as session:
        rows = store.list_owned(
            session,
            ConnectionPointRow,
            call.principal.party_id,
            limit=limit,
            offset=offset,
            area_id=area_id,
        )
        return [_out(ConnectionPointOut, r) for r in rows]


@router.get(
    "/connection-points/{point_id}",
    name=Operation.CONNECTION_POINT_READ,
    responses=_FOUND,
    tags=["register"],
)
def read_connection_point(
    point_id: str, call: Annotated[Call, Depends(call_of(Operation.CONNECTION_POINT_READ))]
) -> ConnectionPointOut:
    """One of the calling operator's connection points."""
    with call.transaction(read_only=True) as session:
        row = store.get_owned(session, ConnectionPointRow, call.principal.party_id, point_id)
        return _out(ConnectionPointOut, row)


# --- units ----------------------------------------------------------------------------------


@router.post(
    "/units", name=Operation.UNIT_CREATE, status_code=201, responses=_CREATED, tags=["register"]
)
def create_unit(
    body: UnitModel, call: Annotated[Call, Depends(call_of(Operation.UNIT_CREATE))]
) -> UnitOut:
    """Register a unit of the calling FSP at a registered connection point."""
    return _create(call, store.add_unit, body, "unit", UnitOut)


@router.get("/units", name=Operation.UNIT_LIST, tags=["register"])
def list_units(
    call: Annotated[Call, Depends(call_of(Operation.UNIT_LIST))],
    connection_point_id: Annotated[
        str | None, Query(description="Only those at this connection point.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[UnitOut]:
    """The calling FSP's units."""
    with call.transaction(read_only=True) as session:
        rows = store.list_owned(
            session,
            UnitRow,
            call.principal.party_id,
            limit=limit,
            offset=offset,
            connection_point_id=connection_point_id,
        )
        return [_out(UnitOut, r) for r in rows]


@router.get("/units/{unit_id}", name=Operation.UNIT_READ, responses=_FOUND, tags=["register"])
def read_unit(
    unit_id: str, call: Annotated[Call, Depends(call_of(Operation.UNIT_READ))]
) -> UnitOut:
    """One of the calling FSP's units."""
    with call.transaction(read_only=True) as session:
        return _out(UnitOut, store.get_owned(session, UnitRow, call.principal.party_id, unit_id))


@router.delete(
    "/units/{unit_id}",
    name=Operation.UNIT_DELETE,
    status_code=204,
    responses={**_FOUND, **problem_responses(409)},
    tags=["register"],
)
def delete_unit(
    unit_id: str, call: Annotated[Call, Depends(call_of(Operation.UNIT_DELETE))]
) -> None:
    """Delete one of the calling FSP's units (refused while a group holds it)."""
    with call.transaction() as session:
        store.delete_unit(session, call.principal.party_id, unit_id)
        call.accept(session, target=f"unit:{unit_id}", status=204)


# --- groups ---------------------------------------------------------------------------------


@router.post(
    "/groups", name=Operation.GROUP_CREATE, status_code=201, responses=_CREATED, tags=["register"]
)
def create_group(
    body: GroupModel, call: Annotated[Call, Depends(call_of(Operation.GROUP_CREATE))]
) -> GroupOut:
    """Register a group of the calling FSP's own units, all behind one coupling point."""
    return _create(call, store.add_group, body, "group", GroupOut)


@router.get("/groups", name=Operation.GROUP_LIST, tags=["register"])
def list_groups(
    call: Annotated[Call, Depends(call_of(Operation.GROUP_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[GroupOut]:
    """The calling FSP's groups."""
    with call.transaction(read_only=True) as session:
        rows = store.list_owned(
            session, GroupRow, call.principal.party_id, limit=limit, offset=offset
        )
        return [_out(GroupOut, r) for r in rows]


@router.get("/groups/{group_id}", name=Operation.GROUP_READ, responses=_FOUND, tags=["register"])
def read_group(
    group_id: str, call: Annotated[Call, Depends(call_of(Operation.GROUP_READ))]
) -> GroupOut:
    """One of the calling FSP's groups."""
    with call.transaction(read_only=True) as session:
        return _out(GroupOut, store.get_owned(session, GroupRow, call.principal.party_id, group_id))


@router.delete(
    "/groups/{group_id}",
    name=Operation.GROUP_DELETE,
    status_code=204,
    responses=_FOUND,
    tags=["register"],
)
def delete_group(
    group_id: str, call: Annotated[Call, Depends(call_of(Operation.GROUP_DELETE))]
) -> None:
    """Delete one of the calling FSP's groups (its units stay registered)."""
    with call.transaction() as session:
        store.delete_group(session, call.principal.party_id, group_id)
        call.accept(session, target=f"group:{group_id}", status=204)
