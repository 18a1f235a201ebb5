"""Grid prequalification: the impacted operators decide, with the traffic light as decision aid;
and the TSO's view of distribution bids at its interface.

A record is read by its FSP (the light and headroom, no topology) and its impacted operator
(the full assessment); anyone else gets a 404 as for a missing one. Only the impacted operator
decides. Records are made by a product application
(:func:`~flexcoord.service.prequalification_store.apply`) and assessed by the worker
(:func:`~flexcoord.service.grid_assessment.assess_pending`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flexcoord.service import grid_prequalification_store as store
from flexcoord.service import interface_offers
from flexcoord.service import market_store as markets
from flexcoord.service.calls import Call, call_of
from flexcoord.service.grid_schemas import (
    GridDecisionIn,
    GridPrequalificationOperatorOut,
    GridPrequalificationOut,
    InterfaceCurveOut,
)
from flexcoord.service.market_schemas import PrequalificationStatus
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation
from flexcoord.service.routes_markets import Limit, Offset, caller

__all__ = ["interface_router", "router"]

router = APIRouter(prefix="/v1/grid-prequalifications", responses=problem_responses(401, 403, 422))
interface_router = APIRouter(
    prefix="/v1/sessions/{session_id}", responses=problem_responses(401, 403, 404, 409, 422)
)
_FOUND = problem_responses(404)
_TAG = "grid prequalification"
Record = GridPrequalificationOperatorOut | GridPrequalificationOut


@router.get("", name=Operation.GRID_PREQUALIFICATION_LIST, tags=[_TAG])
def list_grid_prequalifications(
    call: Annotated[Call, Depends(call_of(Operation.GRID_PREQUALIFICATION_LIST))],
    status: Annotated[
        PrequalificationStatus | None, Query(description="Only records in this status.")
    ] = None,
    resource_id: Annotated[str | None, Query(description="Only this unit's or group's.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Record]:
    """The calling FSP's records, or the calling operator's as the impacted operator."""
    with call.transaction(read_only=True) as session:
        party = caller(session, call)
        rows = store.list_visible(
            session, party, status=status, resource_id=resource_id, limit=limit, offset=offset
        )
        return [store.out(r, party) for r in rows]


@router.get(
    "/{record_id}", name=Operation.GRID_PREQUALIFICATION_READ, responses=_FOUND, tags=[_TAG]
)
def read_grid_prequalification(
    record_id: str,
    call: Annotated[Call, Depends(call_of(Operation.GRID_PREQUALIFICATION_READ))],
) -> Record:
    """One record of the calling FSP, or of the calling impacted operator."""
    with call.transaction(read_only=True) as session:
        party = caller(session, call)
        return store.out(store.get_visible(session, party, record_id), party)


@router.post(
    "/{record_id}/decisions",
    name=Operation.GRID_PREQUALIFICATION_DECIDE,
    responses=_FOUND,
    tags=[_TAG],
)
def decide_grid_prequalification(
    record_id: str,
    body: GridDecisionIn,
    call: Annotated[Call, Depends(call_of(Operation.GRID_PREQUALIFICATION_DECIDE))],
) -> GridPrequalificationOperatorOut:
    """The impacted operator's decision on its own record."""
    with call.transaction() as session:
        party = caller(session, call)
        row = store.decide(session, party, record_id, body, now=call.now)
        out = store.out(row, party)
        assert isinstance(out, GridPrequalificationOperatorOut)
        call.accept(session, target=f"grid_prequalification:{row.id}", status=200, response=out)
        return out


@interface_router.get(
    "/interface-offers",
    name=Operation.INTERFACE_OFFERS_READ,
    tags=["interface"],
)
def read_interface_offers(
    session_id: str,
    call: Annotated[Call, Depends(call_of(Operation.INTERFACE_OFFERS_READ))],
) -> list[InterfaceCurveOut]:
    """After gate closure: the session's bids in DSO areas as merit-order curves per coupling
    point, MTU and direction (a TSO: the coupling points its areas name; a DSO: its own)."""
    with call.transaction(read_only=True) as session:
        srow = markets.get_session(session, session_id)
        return interface_offers.curves_for(session, caller(session, call), srow, now=call.now)
