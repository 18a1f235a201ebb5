"""Product prequalification: FSPs apply, the procuring system operator decides.

An FSP sees its own applications, an operator those addressed to it; any other record answers
404 as a missing one. The workflow is :data:`~flexcoord.service.prequalification_store.TRANSITIONS`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from flexcoord.service import prequalification_store as store
from flexcoord.service.calls import Call, call_of
from flexcoord.service.market_schemas import DecisionIn, PrequalificationIn, PrequalificationOut
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation
from flexcoord.service.routes_markets import Limit, Offset, caller

__all__ = ["router"]

router = APIRouter(prefix="/v1/prequalifications", responses=problem_responses(401, 403, 422))
_FOUND = problem_responses(404)


@router.post("", name=Operation.PREQUALIFICATION_APPLY, status_code=201, tags=["prequalification"])
def apply(
    body: PrequalificationIn,
    call: Annotated[Call, Depends(call_of(Operation.PREQUALIFICATION_APPLY))],
) -> PrequalificationOut:
    """Apply for the prequalification of one of the calling FSP's units or groups."""
    with call.transaction() as session:
        row = store.apply(session, caller(session, call), body, now=call.now)
        out = store.out(row)
        call.accept(session, target=f"prequalification:{row.id}", status=201, response=out)
        return out


@router.get("", name=Operation.PREQUALIFICATION_LIST, tags=["prequalification"])
def list_prequalifications(
    call: Annotated[Call, Depends(call_of(Operation.PREQUALIFICATION_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[PrequalificationOut]:
    """The calling FSP's applications, or those addressed to the calling operator."""
    with call.transaction(read_only=True) as session:
        rows = store.list_visible(session, caller(session, call), limit=limit, offset=offset)
        return [store.out(r) for r in rows]


@router.get(
    "/{record_id}",
    name=Operation.PREQUALIFICATION_READ,
    responses=_FOUND,
    tags=["prequalification"],
)
def read_prequalification(
    record_id: str, call: Annotated[Call, Depends(call_of(Operation.PREQUALIFICATION_READ))]
) -> PrequalificationOut:
    """One application of the calling FSP, or addressed to the calling operator."""
    with call.transaction(read_only=True) as session:
        return store.out(store.get_visible(session, caller(session, call), record_id))


@router.post(
    "/{record_id}/decisions",
    name=Operation.PREQUALIFICATION_DECIDE,
    responses=_FOUND,
    tags=["prequalification"],
)
def decide(
    record_id: str,
    body: DecisionIn,
    call: Annotated[Call, Depends(call_of(Operation.PREQUALIFICATION_DECIDE))],
) -> PrequalificationOut:
    """The procuring operator's decision on an application addressed to it."""
    with call.transaction() as session:
        row = store.decide(session, caller(session, call), record_id, body, now=call.now)
        out = store.out(row)
        call.accept(session, target=f"prequalification:{row.id}", status=200, response=out)
        return out
