"""A session's results in the database, as each party may see them.

An FSP sees its own awards, orders and statement; a TSO or DSO the awards and orders it bought
and its statement; the market operator everything of its sessions. A party's view of another's
result is empty, never an error that would tell the result exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.service.market_schemas import GateState
from flexcoord.service.market_store import gate_state
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.results_schemas import ClearingOut, MeterUploadIn, MeterUploadOut
from flexcoord.service.roles import Role
from flexcoord.service.tables import (
    ActivationOrderRow,
    AwardRow,
    ClearingRunRow,
    MarketSessionRow,
    MeterReadingRow,
    PartyRow,
    RunStatus,
    SettlementRunRow,
    StatementRow,
    UnitRow,
)

__all__ = [
    "clearing_out",
    "list_activations",
    "list_awards",
    "read_settlement",
    "read_statement",
    "request_settlement",
    "upload_meter",
]

#: What every party may read of a clearing's summary; the market operator reads all of it.
_PUBLIC_SUMMARY = ("scheme", "bids", "needs", "awards", "orders", "issue_count")


def clearing_out(
    session: Session, srow: MarketSessionRow, caller: PartyRow, now: datetime
) -> ClearingOut:
    """The session's clearing as ``caller`` may see it."""
    run = session.get(ClearingRunRow, srow.id)
    if run is None:
        state = gate_state(srow, now)
        status = "pending" if state is GateState.SEALED else f"gate {state.value}"
        return ClearingOut(session_id=srow.id, status=status)
    summary: dict[str, Any] = dict(run.summary or {})
    if caller.role != Role.MARKET_OPERATOR.value:
        summary = {k: v for k, v in summary.items() if k in _PUBLIC_SUMMARY}
    return ClearingOut(
        session_id=srow.id,
        status=run.status,
        attempt=run.attempt,
        started_at=run.started_at,
        finished_at=run.finished_at,
        result_sha256=run.result_sha256,
        summary=summary,
    )


def _visible(query: Any, table: Any, caller: PartyRow) -> Any:
    if caller.role == Role.FSP.value:
        return query.where(table.owner_id == caller.id)
    if caller.role in (Role.TSO.value, Role.DSO.value):
        return query.where(table.buyer_id == caller.id)
    # the market operator: those of its own sessions (another's read as none)
    own = select(MarketSessionRow.id).where(MarketSessionRow.owner_id == caller.id)
    return query.where(table.session_id.in_(own))


def list_awards(
    session: Session, srow: MarketSessionRow, caller: PartyRow, *, limit: int, offset: int
) -> Sequence[AwardRow]:
    """The session's awards ``caller`` may see, in (FSP, bid, MTU, market, buyer) order."""
    query = _visible(select(AwardRow).where(AwardRow.session_id == srow.id), AwardRow, caller)
    order = (AwardRow.owner_id, AwardRow.bid_id, AwardRow.mtu_start, AwardRow.market_id)
    return session.scalars(
        query.order_by(*order, AwardRow.buyer_id).limit(limit).offset(offset)
    ).all()


def list_activations(
    session: Session,
    caller: PartyRow,
    *,
    session_id: str | None,
    limit: int,
    offset: int,
) -> Sequence[ActivationOrderRow]:
    """The activation orders ``caller`` may see (of one session), in MTU then id order."""
    query = _visible(select(ActivationOrderRow), ActivationOrderRow, caller)
    if session_id is not None:
        query = query.where(ActivationOrderRow.session_id == session_id)
    order = (ActivationOrderRow.mtu_start, ActivationOrderRow.id)
    return session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()


def upload_meter(
    session: Session, caller: PartyRow, body: MeterUploadIn, *, now: datetime
) -> MeterUploadOut:
    """Store the FSP's readings, all or none: each names one of its units (another FSP's unit
    reads as unknown), ``start < end``, at most one reading per unit and start."""
    units = set(
        session.scalars(
            select(UnitRow.id).where(
                UnitRow.owner_id == caller.id,
                UnitRow.id.in_({r.unit_id for r in body.readings}),
            )
        )
    )
    issues: list[Issue] = []
    seen: set[tuple[str, datetime]] = set()
    for i, r in enumerate(body.readings):
        where = f"readings[{i}]"
        if r.unit_id not in units:
            issues.append(
                _issue(
                    r.unit_id, f"{where}.unit_id", r.unit_id, "is not a registered unit of yours"
                )
            )
        if not r.start < r.end:
            issues.append(
                _issue(r.unit_id, f"{where}.end", r.end.isoformat(), "must be after start")
            )
        if (r.unit_id, r.start) in seen:
            issues.append(
                _issue(
                    r.unit_id,
                    f"{where}.start",
                    r.start.isoformat(),
                    "repeats an earlier reading of this upload",
                )
            )
        seen.add((r.unit_id, r.start))
    if issues:
        raise InvalidInputError(issues)
    stored = session.scalars(  # the readings this upload replaces, in one query
        select(MeterReadingRow).where(
            MeterReadingRow.owner_id == caller.id,
            MeterReadingRow.unit_id.in_(units),
            MeterReadingRow.start >= min(r.start for r in body.readings),
            MeterReadingRow.start <= max(r.start for r in body.readings),
        )
    ).all()
    existing = {(row.unit_id, row.start): row for row in stored}
    replaced = 0
    for r in body.readings:
        row = existing.get((r.unit_id, r.start))
        if row is None:
            session.add(
                MeterReadingRow(
                    owner_id=caller.id,
                    unit_id=r.unit_id,
                    start=r.start,
                    end=r.end,
                    mw=r.mw,
                    uploaded_at=now,
                )
            )
        else:
            replaced += 1
            row.end, row.mw, row.uploaded_at = r.end, r.mw, now
    session.flush()
    return MeterUploadOut(stored=len(body.readings), replaced=replaced, uploaded_at=now)


def _issue(object_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="MeterReading", object_id=object_id, field=field, value=value, message=message
    )


def request_settlement(
    session: Session, srow: MarketSessionRow, caller: PartyRow, *, now: datetime
) -> SettlementRunRow:
    """Ask the worker to settle the market operator's cleared session, once (409 before its
    clearing is done, and when asked already). Another market operator's session reads as
    unknown."""
    if srow.owner_id != caller.id:
        raise NotFoundError(f"no market session {srow.id!r}")
    run = session.get(ClearingRunRow, srow.id)
    if run is None or run.status != RunStatus.DONE.value:
        state = None if run is None else run.status
        raise ServiceProblem(
            409,
            f"Session {srow.id!r} is not cleared yet",
            [_session_issue(srow.id, "clearing", state, "must be done before settlement")],
        )
    existing = session.get(SettlementRunRow, srow.id)
    if existing is not None:
        raise ServiceProblem(
            409,
            f"Session {srow.id!r} is settled once",
            [_session_issue(srow.id, "settlement", existing.status, "was asked for already")],
        )
    row = SettlementRunRow(
        session_id=srow.id,
        status=RunStatus.REQUESTED.value,
        requested_by=caller.id,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _session_issue(session_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="MarketSession", object_id=session_id, field=field, value=value, message=message
    )


def read_settlement(session: Session, srow: MarketSessionRow) -> SettlementRunRow:
    """The session's settlement (404 before it is asked for)."""
    row = session.get(SettlementRunRow, srow.id)
    if row is None:
        raise NotFoundError(f"no settlement of session {srow.id!r}")
    return row


def read_statement(session: Session, srow: MarketSessionRow, caller: PartyRow) -> StatementRow:
    """The caller's statement of the session (404 when it has none)."""
    row = session.get(StatementRow, (srow.id, caller.id))
    if row is None:
        raise NotFoundError(f"no statement of session {srow.id!r}")
    return row
