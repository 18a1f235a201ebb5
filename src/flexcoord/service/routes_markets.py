"""Products and market sessions (the market operator's), and needs (the system operators').

Products and sessions are public to every trading role; a session's ``state`` is its gate by
the server clock (:func:`~flexcoord.service.market_store.gate_state`). Needs are their
operator's: an operator lists its own, the market operator all of a session, in full; an FSP
lists all of them without the grid topology (:mod:`~flexcoord.service.need_views`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from flexcoord.service import market_store as store
from flexcoord.service.calls import Call, call_of
from flexcoord.service.market_schemas import (
    FspNeedOut,
    NeedIn,
    NeedOut,
    ProductIn,
    ProductOut,
    SessionIn,
    SessionOut,
)
from flexcoord.service.need_views import fsp_needs
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation, Role
from flexcoord.service.tables import NeedRow, PartyRow, ProductRow

__all__ = ["Limit", "Offset", "caller", "router"]

router = APIRouter(prefix="/v1", responses=problem_responses(401, 403, 422))
Limit = Annotated[int, Query(ge=1, le=1000, description="Most items returned.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items skipped (in id order).")]
_CREATED = problem_responses(409)
_FOUND = problem_responses(404)


def caller(session: Session, call: Call) -> PartyRow:
    """The calling party's row."""
    party = session.get(PartyRow, call.principal.party_id)
    assert party is not None  # authenticated in this request
    return party


def _product_out(row: ProductRow) -> ProductOut:
    return ProductOut.model_validate(
        {**row.spec, "owner_id": row.owner_id, "created_at": row.created_at}
    )


def _need_out(row: NeedRow, product_id: str) -> NeedOut:
    return NeedOut.model_validate(
        {
            **row.spec,
            "session_id": row.session_id,
            "product_id": product_id,
            "owner_id": row.owner_id,
            "created_at": row.created_at,
        }
    )


@router.post(
    "/products",
    name=Operation.PRODUCT_CREATE,
    status_code=201,
    responses=_CREATED,
    tags=["markets"],
)
def create_product(
    body: ProductIn, call: Annotated[Call, Depends(call_of(Operation.PRODUCT_CREATE))]
) -> ProductOut:
    """Define a product (the domain's product rules decide)."""
    with call.transaction() as session:
        row = store.add_product(session, caller(session, call), body, now=call.now)
        out = _product_out(row)
        call.accept(session, target=f"product:{row.id}", status=201, response=out)
        return out


@router.get("/products", name=Operation.PRODUCT_LIST, tags=["markets"])
def list_products(
    call: Annotated[Call, Depends(call_of(Operation.PRODUCT_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ProductOut]:
    """Every defined product."""
    with call.transaction(read_only=True) as session:
        return [_product_out(r) for r in store.list_products(session, limit=limit, offset=offset)]


@router.get(
    "/products/{product_id}", name=Operation.PRODUCT_READ, responses=_FOUND, tags=["markets"]
)
def read_product(
    product_id: str, call: Annotated[Call, Depends(call_of(Operation.PRODUCT_READ))]
) -> ProductOut:
    """One product."""
    with call.transaction(read_only=True) as session:
        return _product_out(store.get_product(session, product_id))


@router.post(
    "/sessions",
    name=Operation.SESSION_CREATE,
    status_code=201,
    responses=_CREATED,
    tags=["markets"],
)
def create_session(
    body: SessionIn, call: Annotated[Call, Depends(call_of(Operation.SESSION_CREATE))]
) -> SessionOut:
    """Open a market session of a product for one delivery day, with its gate times."""
    with call.transaction() as session:
        row = store.add_session(session, caller(session, call), body, now=call.now)
        out = store.session_out(session, row, call.now)
        call.accept(session, target=f"session:{row.id}", status=201, response=out)
        return out


@router.get("/sessions", name=Operation.SESSION_LIST, tags=["markets"])
def list_sessions(
    call: Annotated[Call, Depends(call_of(Operation.SESSION_LIST))],
    product_id: Annotated[str | None, Query(description="Only those of this product.")] = None,
    delivery_day: Annotated[date | None, Query(description="Only those of this day.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[SessionOut]:
    """The market sessions, with their gate state now."""
    with call.transaction(read_only=True) as session:
        rows = store.list_sessions(
            session, product_id=product_id, delivery_day=delivery_day, limit=limit, offset=offset
        )
        return [store.session_out(session, r, call.now) for r in rows]


@router.get(
    "/sessions/{session_id}", name=Operation.SESSION_READ, responses=_FOUND, tags=["markets"]
)
def read_session(
    session_id: str, call: Annotated[Call, Depends(call_of(Operation.SESSION_READ))]
) -> SessionOut:
    """One market session, with its gate state now."""
    with call.transaction(read_only=True) as session:
        return store.session_out(session, store.get_session(session, session_id), call.now)


@router.post(
    "/sessions/{session_id}/needs",
    name=Operation.NEED_CREATE,
    status_code=201,
    responses={**_CREATED, **_FOUND},
    tags=["markets"],
)
def create_need(
    session_id: str,
    body: NeedIn,
    call: Annotated[Call, Depends(call_of(Operation.NEED_CREATE))],
) -> NeedOut:
    """Post a need of the calling system operator into a session (until its gate closure)."""
    with call.transaction() as session:
        srow = store.get_session(session, session_id)
        row = store.add_need(session, caller(session, call), srow, body, now=call.now)
        out = _need_out(row, srow.product_id)
        call.accept(session, target=f"need:{session_id}/{row.id}", status=201, response=out)
        return out


@router.get(
    "/sessions/{session_id}/needs", name=Operation.NEED_LIST, responses=_FOUND, tags=["markets"]
)
def list_needs(
    session_id: str,
    call: Annotated[Call, Depends(call_of(Operation.NEED_LIST))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[NeedOut] | list[FspNeedOut]:
    """A session's needs: the calling operator's own; all of them for the market operator; all
    of them for an FSP, as ``FspNeedOut`` (location as grid areas and coupling point only)."""
    with call.transaction(read_only=True) as session:
        srow = store.get_session(session, session_id)
        if call.principal.role is Role.FSP:
            return fsp_needs(session, srow, limit=limit, offset=offset)
        rows = store.list_needs(
            session, caller(session, call), session_id, limit=limit, offset=offset
        )
        return [_need_out(r, srow.product_id) for r in rows]
