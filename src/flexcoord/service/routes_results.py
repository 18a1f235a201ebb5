"""A session's results: its clearing, awards and activation orders; meter data; settlement.

The worker clears a session once its gate closes (:mod:`flexcoord.service.worker`); these
routes read what it wrote, each party its own part (:mod:`flexcoord.service.results_store`).
FSPs upload meter readings of their units; the market operator asks for a cleared session's
settlement, the worker settles it, and every party reads its statement.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flexcoord.service import results_store as store
from flexcoord.service.calls import Call, call_of
from flexcoord.service.market_store import get_session
from flexcoord.service.problems import problem_responses
from flexcoord.service.results_schemas import (
    ActivationOut,
    AwardOut,
    ClearingOut,
    MeterUploadIn,
    MeterUploadOut,
    SettlementOut,
    StatementOut,
)
from flexcoord.service.roles import Operation
from flexcoord.service.routes_markets import Limit, Offset, caller
from flexcoord.service.tables import (
    ActivationOrderRow,
    AwardRow,
    SettlementRunRow,
    StatementRow,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=problem_responses(401, 403, 422))
_FOUND = problem_responses(404)


def _award_out(row: AwardRow) -> AwardOut:
    return AwardOut.model_validate(row, from_attributes=True)


def _activation_out(row: ActivationOrderRow, status: str) -> ActivationOut:
    return ActivationOut.model_validate(row, from_attributes=True).model_copy(
        update={"status": status}
    )


def _settlement_out(row: SettlementRunRow) -> SettlementOut:
    return SettlementOut(
        session_id=row.session_id,
        status=row.status,
        requested_at=row.requested_at,
        finished_at=row.finished_at,
        summary=row.summary or {},
    )


def _statement_out(row: StatementRow) -> StatementOut:
    return StatementOut(
        session_id=row.session_id,
        party_id=row.party_id,
        net_eur=row.spec["net_eur"],
        roles=row.spec["roles"],
        pending=row.spec["pending"],
        lines=row.spec["lines"],
        sha256=row.sha256,
        created_at=row.created_at,
    )


@router.get(
    "/sessions/{session_id}/clearing",
    name=Operation.CLEARING_READ,
    responses=_FOUND,
    tags=["results"],
)
def read_clearing(
    session_id: str, call: Annotated[Call, Depends(call_of(Operation.CLEARING_READ))]
) -> ClearingOut:
    """The session's clearing: pending until the worker clears the sealed session, then done
    with its result hash (or failed, with the issues)."""
    with call.transaction(read_only=True) as session:
        srow = get_session(session, session_id)
        return store.clearing_out(session, srow, caller(session, call), call.now)


@router.get(
    "/sessions/{session_id}/awards", name=Operation.AWARD_LIST, responses=_FOUND, tags=["results"]
)
def list_awards(
    session_id: str,
    call: Annotated[Call, Depends(call_of(Operation.AWARD_LIST))],
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[AwardOut]:
    """The session's awards the caller may see: an FSP its own, an operator those it bought,
    the market operator all."""
    with call.transaction(read_only=True) as session:
        srow = get_session(session, session_id)
        rows = store.list_awards(session, srow, caller(session, call), limit=limit, offset=offset)
        return [_award_out(r) for r in rows]


@router.get("/activations", name=Operation.ACTIVATION_LIST, tags=["results"])
def list_activations(
    call: Annotated[Call, Depends(call_of(Operation.ACTIVATION_LIST))],
    session_id: Annotated[str | None, Query(description="Only those of this session.")] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[ActivationOut]:
    """The activation orders the caller may see: an FSP those to its units, an operator those
    it bought, the market operator all."""
    with call.transaction(read_only=True) as session:
        rows = store.list_activations(
            session, caller(session, call), session_id=session_id, limit=limit, offset=offset
        )
        status = store.order_statuses(session, rows)
        return [_activation_out(r, status[r.id]) for r in rows]


@router.put("/meter-readings", name=Operation.METER_UPLOAD, tags=["results"])
def upload_meter(
    body: MeterUploadIn, call: Annotated[Call, Depends(call_of(Operation.METER_UPLOAD))]
) -> MeterUploadOut:
    """Upload meter readings of the calling FSP's units (all stored or none; a reading of an
    interval already uploaded replaces it)."""
    with call.transaction() as session:
        out = store.upload_meter(session, caller(session, call), body, now=call.now)
        call.accept(session, target="meter-readings", status=200, response=out)
        return out


@router.post(
    "/sessions/{session_id}/settlement",
    name=Operation.SETTLEMENT_RUN,
    status_code=202,
    responses={**_FOUND, **problem_responses(409)},
    tags=["results"],
)
def request_settlement(
    session_id: str, call: Annotated[Call, Depends(call_of(Operation.SETTLEMENT_RUN))]
) -> SettlementOut:
    """Ask for the session's settlement (once, after its clearing): the worker verifies its
    activations against the meter data and writes every party's statement."""
    with call.transaction() as session:
        srow = get_session(session, session_id)
        row = store.request_settlement(session, srow, caller(session, call), now=call.now)
        out = _settlement_out(row)
        call.accept(session, target=f"settlement:{session_id}", status=202, response=out)
        return out


@router.get(
    "/sessions/{session_id}/settlement",
    name=Operation.SETTLEMENT_READ,
    responses=_FOUND,
    tags=["results"],
)
def read_settlement(
    session_id: str, call: Annotated[Call, Depends(call_of(Operation.SETTLEMENT_READ))]
) -> SettlementOut:
    """The session's settlement: requested, done or failed."""
    with call.transaction(read_only=True) as session:
        return _settlement_out(store.read_settlement(session, get_session(session, session_id)))


@router.get(
    "/sessions/{session_id}/statement",
    name=Operation.STATEMENT_READ,
    responses=_FOUND,
    tags=["results"],
)
def read_statement(
    session_id: str, call: Annotated[Call, Depends(call_of(Operation.STATEMENT_READ))]
) -> StatementOut:
    """The caller's settlement statement of the session."""
    with call.transaction(read_only=True) as session:
        srow = get_session(session, session_id)
        return _statement_out(store.read_statement(session, srow, caller(session, call)))
