"""A session's results in the database, as each party may see them.

An FSP sees its own awards, orders and statement; a TSO or DSO the awards and orders it bought
and its statement; the market operator everything of its sessions. A party's view of another's
result is empty, never an error that would tell the result exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.clearing.result import Award, Rejection, RejectionReason
from flexcoord.coordination.identities import Mtu
from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, NotFoundError
from flexcoord.operations import OrderEvent, OrderId, OrderLog, OrderStatus
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
    OrderEventRow,
    PartyRow,
    RejectionRow,
    RunStatus,
    SettlementRunRow,
    StatementRow,
    UnitRow,
)

__all__ = [
    "awards_by_bid",
    "clearing_out",
    "list_activations",
    "list_awards",
    "list_rejections",
    "order_events",
    "order_statuses",
    "read_settlement",
    "read_statement",
    "record_order_responses",
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


def awards_by_bid(rows: Iterable[AwardRow]) -> dict[tuple[str, str], list[Award]]:
    """Stored awards as the clearing's awards per (FSP, bid), one per MTU in time order: the MW
    and payments of the markets and buyers that bought the same bid in the same MTU summed
    (the price is the bid's)."""
    summed: dict[tuple[str, str], dict[datetime, Award]] = defaultdict(dict)
    for a in rows:
        per_mtu = summed[(a.owner_id, a.bid_id)]
        before = per_mtu.get(a.mtu_start)
        per_mtu[a.mtu_start] = Award(
            bid_id=a.bid_id,
            mtu=a.mtu_start.isoformat(),
            quantity_mw=a.quantity_mw + (before.quantity_mw if before else 0.0),
            price_eur_per_mwh=a.price_eur_per_unit,
            payment_eur=round(a.payment_eur + (before.payment_eur if before else 0.0), 2),
        )
    return {key: [per_mtu[t] for t in sorted(per_mtu)] for key, per_mtu in summed.items()}


def list_rejections(
    session: Session, srow: MarketSessionRow, caller: PartyRow
) -> dict[tuple[str, str], Rejection]:
    """The session's rejected bids ``caller`` may see, per (FSP, bid): an FSP its own, the
    market operator of the session all; a TSO or DSO none (no one bought them)."""
    query = select(RejectionRow).where(RejectionRow.session_id == srow.id)
    if caller.role == Role.FSP.value:
        query = query.where(RejectionRow.owner_id == caller.id)
    elif caller.role != Role.MARKET_OPERATOR.value or srow.owner_id != caller.id:
        return {}
    return {
        (r.owner_id, r.bid_id): Rejection(
            bid_id=r.bid_id, reason=RejectionReason(r.reason), detail=r.detail
        )
        for r in session.scalars(query.order_by(RejectionRow.owner_id, RejectionRow.bid_id))
    }


def order_events(session: Session, order_ids: Sequence[str]) -> Sequence[OrderEventRow]:
    """The events the FSPs reported of these orders, per order in the order received."""
    if not order_ids:
        return ()
    return session.scalars(
        select(OrderEventRow)
        .where(OrderEventRow.order_id.in_(sorted(set(order_ids))))
        .order_by(OrderEventRow.order_id, OrderEventRow.seq)
    ).all()


def _order_id(row: ActivationOrderRow) -> OrderId:
    return OrderId(row.bid_id, row.unit_id, Mtu(row.mtu_start))


def order_statuses(session: Session, rows: Sequence[ActivationOrderRow]) -> dict[str, str]:
    """Where each order stands: its last reported event's status, else ``ordered``."""
    status = {r.id: OrderStatus.ORDERED.value for r in rows}
    for e in order_events(session, list(status)):
        status[e.order_id] = e.status
    return status


def record_order_responses(  # noqa: PLR0913 - the store, the session, the FSP, its answers, the document, now
    session: Session,
    srow: MarketSessionRow,
    fsp: PartyRow,
    responses: Sequence[OrderEvent],
    document_id: str | None,
    now: datetime,
) -> int:
    """Record an FSP's answers to its orders of the session, all or none, each checked against
    the order's lifecycle (:class:`~flexcoord.operations.OrderLog`: ordered at its issue, then
    the answers reported before, then these); the number recorded.

    Raises:
        InvalidInputError: An answer naming no order of the FSP in the session, or one the
            lifecycle does not allow (every one at once).
    """
    mine = {
        (r.bid_id, r.unit_id, r.mtu_start): r
        for r in session.scalars(
            select(ActivationOrderRow).where(
                ActivationOrderRow.session_id == srow.id,
                ActivationOrderRow.owner_id == fsp.id,
                ActivationOrderRow.bid_id.in_(sorted({e.order_id.bid_id for e in responses})),
            )
        )
    }
    issues: list[Issue] = []
    answered: list[tuple[ActivationOrderRow, OrderEvent]] = []
    for event in responses:
        row = mine.get((event.order_id.bid_id, event.order_id.unit_id, event.order_id.mtu.start))
        if row is None:
            issues.append(
                Issue(
                    kind="OrderEvent",
                    object_id=str(event.order_id),
                    field="order_id",
                    value=NO_VALUE,
                    message=f"names no activation order of yours in session {srow.id!r}",
                )
            )
        else:
            answered.append((row, event))
    if issues:
        raise InvalidInputError(issues)
    rows = {row.id: row for row, _ in answered}
    before = order_events(session, list(rows))
    log = OrderLog().extend(
        OrderEvent(order_id=_order_id(r), status=OrderStatus.ORDERED, at=r.issued_at)
        for r in rows.values()
    )
    log = log.extend(
        OrderEvent(
            order_id=_order_id(rows[e.order_id]),
            status=OrderStatus(e.status),
            at=e.at,
            detail=e.detail,
        )
        for e in before
    )
    log.extend(event for _, event in answered)  # raises on an answer the lifecycle refuses
    seq = {e.order_id: e.seq for e in before}
    for row, event in answered:
        seq[row.id] = seq.get(row.id, 0) + 1
        session.add(
            OrderEventRow(
                order_id=row.id,
                seq=seq[row.id],
                status=event.status.value,
                at=event.at,
                detail=event.detail[:512],
                document_id=document_id,
                recorded_at=now,
            )
        )
    return len(answered)


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
