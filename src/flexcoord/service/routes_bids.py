"""Bids: an FSP submits (singly or as a bulk document, all or nothing), replaces and withdraws
its bids while the session's gate is open; once sealed they are immutable (409).

An FSP sees only its own bids (another FSP's bid answers 404 as a missing one); the market
operator lists every bid of a session; system operators see none in this slice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flexcoord.service import bid_store as bids
from flexcoord.service import market_store as markets
from flexcoord.service.calls import Call, call_of
from flexcoord.service.market_schemas import BidDocumentIn, BidDocumentOut, BidIn, BidOut, BidStatus
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation
from flexcoord.service.routes_markets import Limit, Offset, caller

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/sessions/{session_id}", responses=problem_responses(401, 403, 404, 422)
)
_CHANGED = problem_responses(409)


@router.post("/bids", name=Operation.BID_SUBMIT, status_code=201, responses=_CHANGED, tags=["bids"])
def submit_bid(
    session_id: str, body: BidIn, call: Annotated[Call, Depends(call_of(Operation.BID_SUBMIT))]
) -> BidOut:
    """Submit one bid of the calling FSP into an open session."""
    with call.transaction() as session:
        srow = markets.get_session(session, session_id)
        bids.submit_bids(session, caller(session, call), srow, [body], now=call.now)
        out = bids.bid_out(
            bids.get_bid(session, srow, call.principal.party_id, body.id), srow.product_id
        )
        call.accept(session, target=f"bid:{session_id}/{body.id}", status=201, response=out)
        call.services.metrics.accept_bids(call.operation, 1)
        return out


@router.post(
    "/bid-documents",
    name=Operation.BID_SUBMIT_BULK,
    status_code=201,
    responses=_CHANGED,
    tags=["bids"],
)
def submit_bid_document(
    session_id: str,
    body: BidDocumentIn,
    call: Annotated[Call, Depends(call_of(Operation.BID_SUBMIT_BULK))],
) -> BidDocumentOut:
    """Submit up to 4,000 bids at once: all are stored, or none (422 naming every bad bid)."""
    with call.transaction() as session:
        srow = markets.get_session(session, session_id)
        ids = bids.submit_bids(session, caller(session, call), srow, body.bids, now=call.now)
        out = BidDocumentOut(
            session_id=srow.id, accepted=len(ids), bid_ids=ids, submitted_at=call.now
        )
        call.accept(session, target=f"session:{session_id}", status=201, response=out)
        call.services.metrics.accept_bids(call.operation, len(ids))
        return out


@router.get("/bids", name=Operation.BID_LIST, tags=["bids"])
def list_bids(  # noqa: PLR0913 - path, call, two filters, paging
    session_id: str,
    call: Annotated[Call, Depends(call_of(Operation.BID_LIST))],
    owner_id: Annotated[
        str | None, Query(description="Only this FSP's (the market operator's filter).")
    ] = None,
    status: Annotated[BidStatus | None, Query(description="Only bids in this status.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[BidOut]:
    """A session's bids: an FSP's own; every FSP's for the market operator."""
    with call.transaction(read_only=True) as session:
        srow = markets.get_session(session, session_id)
        rows = bids.list_bids(
            session,
            srow,
            caller(session, call),
            owner_id=owner_id,
            status=status,
            limit=limit,
            offset=offset,
        )
        return [bids.bid_out(r, srow.product_id) for r in rows]


@router.get("/bids/{bid_id}", name=Operation.BID_READ, tags=["bids"])
def read_bid(
    session_id: str, bid_id: str, call: Annotated[Call, Depends(call_of(Operation.BID_READ))]
) -> BidOut:
    """One of the calling FSP's bids."""
    with call.transaction(read_only=True) as session:
        srow = markets.get_session(session, session_id)
        return bids.bid_out(
            bids.get_bid(session, srow, call.principal.party_id, bid_id), srow.product_id
        )


@router.put("/bids/{bid_id}", name=Operation.BID_REPLACE, responses=_CHANGED, tags=["bids"])
def replace_bid(
    session_id: str,
    bid_id: str,
    body: BidIn,
    call: Annotated[Call, Depends(call_of(Operation.BID_REPLACE))],
) -> BidOut:
    """Replace one of the calling FSP's bids (same id) before the gate closes."""
    with call.transaction() as session:
        srow = markets.get_session(session, session_id)
        row = bids.replace_bid(session, caller(session, call), srow, bid_id, body, now=call.now)
        out = bids.bid_out(row, srow.product_id)
        call.accept(session, target=f"bid:{session_id}/{bid_id}", status=200, response=out)
        call.services.metrics.accept_bids(call.operation, 1)
        return out


@router.delete("/bids/{bid_id}", name=Operation.BID_WITHDRAW, responses=_CHANGED, tags=["bids"])
def withdraw_bid(
    session_id: str, bid_id: str, call: Annotated[Call, Depends(call_of(Operation.BID_WITHDRAW))]
) -> BidOut:
    """Withdraw one of the calling FSP's bids before the gate closes (it stays, withdrawn)."""
    with call.transaction() as session:
        srow = markets.get_session(session, session_id)
        row = bids.withdraw_bid(session, caller(session, call), srow, bid_id, now=call.now)
        out = bids.bid_out(row, srow.product_id)
        call.accept(session, target=f"bid:{session_id}/{bid_id}", status=200, response=out)
        return out
