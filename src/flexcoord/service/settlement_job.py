"""Settling a cleared session: its activation orders verified against the FSPs' meter
readings, its awards settled, one statement per party.

The rules are the operations library's, as the study applies them
(:func:`~flexcoord.simulation.day_run.delivery_outcomes`): each order's delivery is verified
(:func:`~flexcoord.operations.verify_delivery`) against the unit's *declared* baseline where
one covers every ordered MTU of the unit (a UFTP D-Prognosis, stored by
:mod:`~flexcoord.service.baseline_store`; :class:`~flexcoord.operations.DeclaredSchedule`),
else a *meter before/after* baseline (the mean of the unit's reading in the MTU just before each
activation run, :class:`~flexcoord.operations.MeterBeforeAfter`: the baseline that needs nothing
but the meter data the FSP uploads), within the default tolerance; the awards are settled pay-as-bid
(:func:`~flexcoord.operations.settle`) with a penalty of :data:`PENALTY_FACTOR` × the bid price
on energy not delivered, the session's market operator holding any residue. An activation
without the readings to verify it is withheld (pending), not paid and not penalised.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.clearing.options import PricingRule
from flexcoord.coordination.identities import Mtu
from flexcoord.domain import Direction, Interval, ProductKind
from flexcoord.errors import InvalidInputError
from flexcoord.operations import (
    ActivationOrder,
    BaselineValue,
    DeclaredSchedule,
    DeliveryOutcome,
    DeliveryVerification,
    MeterBeforeAfter,
    MeterSeries,
    Money,
    OrderId,
    PenaltyRule,
    Settlement,
    SettlementAward,
    settle,
    verify_delivery,
)
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.baseline_store import declared_schedule
from flexcoord.service.publication import publish_statements
from flexcoord.service.session_snapshot import OwnedId
from flexcoord.service.tables import (
    ActivationOrderRow,
    AwardRow,
    MarketSessionRow,
    MeterReadingRow,
    RunStatus,
    SettlementRunRow,
    StatementRow,
)
from flexcoord.simulation.day_run import delivery_outcomes

__all__ = ["PENALTY_FACTOR", "session_verifications", "settle_next", "settle_session"]

#: Energy not delivered costs the FSP this many times its bid price.
PENALTY_FACTOR: Final = 1.0


def _q(owner_id: str, object_id: str) -> str:
    return OwnedId(owner_id, object_id).qualified


def _awards(rows: Sequence[AwardRow]) -> list[SettlementAward]:
    return [
        SettlementAward(
            auction_id=r.market_id,
            bid_id=_q(r.owner_id, r.bid_id),
            fsp_id=r.owner_id,
            buyer_id=r.buyer_id,
            mtu=Mtu(r.mtu_start).label,
            duration_h=(r.mtu_end - r.mtu_start).total_seconds() / 3600,
            kind=ProductKind(r.kind),
            quantity_mw=r.quantity_mw,
            bid_price_eur_per_unit=r.price_eur_per_unit,
            pricing_rule=PricingRule.PAY_AS_BID,
        )
        for r in rows
    ]


def _orders(rows: Sequence[ActivationOrderRow]) -> list[ActivationOrder]:
    out = []
    for r in rows:
        interval = Interval(start=r.mtu_start, end=r.mtu_end)
        bid, unit = _q(r.owner_id, r.bid_id), _q(r.owner_id, r.unit_id)
        out.append(
            ActivationOrder(
                id=OrderId(bid, unit, Mtu(r.mtu_start)),
                bid_id=bid,
                unit_id=unit,
                fsp_id=r.owner_id,
                buyer_id=r.buyer_id,
                interval=interval,
                direction=Direction(r.direction),
                quantity_mw=r.quantity_mw,
                energy_mwh=r.quantity_mw * interval.duration.total_seconds() / 3600,
                issued_at=r.issued_at,
            )
        )
    return out


def _meter(session: Session, orders: Sequence[ActivationOrderRow]) -> dict[str, MeterSeries]:
    """Each ordered unit's readings (qualified unit id)."""
    units = {(o.owner_id, o.unit_id) for o in orders}
    out: dict[str, MeterSeries] = {}
    for owner_id, unit_id in sorted(units):
        rows = session.scalars(
            select(MeterReadingRow)
            .where(MeterReadingRow.owner_id == owner_id, MeterReadingRow.unit_id == unit_id)
            .order_by(MeterReadingRow.start)
        ).all()
        out[_q(owner_id, unit_id)] = MeterSeries.of(
            (Interval(start=r.start, end=r.end), r.mw) for r in rows
        )
    return out


def _statement_docs(money: Settlement, owned: Mapping[str, OwnedId]) -> dict[str, dict[str, Any]]:
    """One document per party: its lines (bid ids as the party knows them) and net amount."""
    docs: dict[str, dict[str, Any]] = defaultdict(lambda: {"lines": [], "roles": []})
    for statement in money.statements():
        doc = docs[statement.party_id]
        doc["roles"].append(str(statement.party_role))
        for line in statement.lines:
            row = line.row()
            if row["bid_id"]:
                row["bid_id"] = owned[row["bid_id"]].id
            doc["lines"].append(row)
        doc["net_cents"] = doc.get("net_cents", 0) + statement.total.cents
    return dict(docs)


def settle_session(
    session: Session, srow: MarketSessionRow, *, now: datetime
) -> list[StatementRow]:
    """Verify and settle the cleared session ``srow`` and store each party's statement (in
    the caller's transaction). The statements, by party id."""
    awards = session.scalars(select(AwardRow).where(AwardRow.session_id == srow.id)).all()
    records = _awards(awards)
    checks = session_verifications(session, srow)
    money = settle_awards(records, delivery_outcomes(checks, records), srow.owner_id)
    owned = {_q(r.owner_id, r.bid_id): OwnedId(r.owner_id, r.bid_id) for r in awards}
    out: list[StatementRow] = []
    for party_id, doc in sorted(_statement_docs(money, owned).items()):
        net = doc.pop("net_cents")
        spec = {**doc, "net_eur": str(Money(cents=net)), "pending": len(money.pending)}
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        row = StatementRow(
            session_id=srow.id, party_id=party_id, spec=spec, sha256=digest, created_at=now
        )
        session.add(row)
        out.append(row)
    session.flush()
    return out


def session_verifications(
    session: Session, srow: MarketSessionRow
) -> tuple[DeliveryVerification, ...]:
    """Every activation order of the cleared session ``srow`` verified against its unit's
    meter readings and baseline (the unit's declared baseline where it covers the ordered
    MTUs, else *meter before/after*; bid and unit ids qualified by owner, ``owner/id``): what
    :func:`settle_session` settles on."""
    order_rows = session.scalars(
        select(ActivationOrderRow).where(ActivationOrderRow.session_id == srow.id)
    ).all()
    orders = _orders(order_rows)
    meter = _meter(session, order_rows)
    by_unit: dict[str, list[Interval]] = defaultdict(list)
    for o in orders:
        by_unit[o.unit_id].append(o.interval)
    owners = {_q(o.owner_id, o.unit_id): (o.owner_id, o.unit_id) for o in order_rows}
    baselines = {
        unit: _baseline(
            session, *owners[unit], sorted(set(ivs), key=lambda i: i.start), meter[unit]
        )
        for unit, ivs in by_unit.items()
    }
    return tuple(verify_delivery(orders, baselines, meter))


def _baseline(
    session: Session, owner_id: str, unit_id: str, intervals: list[Interval], meter: MeterSeries
) -> tuple[BaselineValue, ...]:
    """The unit's declared baseline (a UFTP D-Prognosis, :mod:`~flexcoord.service.baseline_store`)
    where it covers every ordered MTU; else *meter before/after*."""
    schedule = declared_schedule(session, owner_id, unit_id)
    if schedule is not None and all(schedule.mw(i) is not None for i in intervals):
        return DeclaredSchedule().estimate(intervals, meter=meter, schedule=schedule)
    return MeterBeforeAfter(before=1).estimate(intervals, meter=meter)


def settle_awards(
    records: Sequence[SettlementAward],
    outcomes: Sequence[DeliveryOutcome],
    market_operator_id: str,
) -> Settlement:
    """:func:`~flexcoord.operations.settle` with the service's penalty rule."""
    return settle(
        records,
        outcomes,
        penalty=PenaltyRule(factor=PENALTY_FACTOR),
        market_operator_id=market_operator_id,
    )


def settle_next(
    engine: Engine,
    *,
    now: datetime,
    outbound: Callable[[Session, str, datetime], object] | None = None,
) -> str | None:
    """Settle the session whose settlement was asked for first, in one transaction with its
    statements (so once), and the id of that session; ``None`` when none is asked for.
    ``outbound`` (the worker's UFTP FlexSettlements) enqueues its messages in that
    transaction."""
    with Session(engine) as session, session.begin():
        run = session.scalars(
            select(SettlementRunRow)
            .where(SettlementRunRow.status == RunStatus.REQUESTED.value)
            .order_by(SettlementRunRow.requested_at, SettlementRunRow.session_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if run is None:
            return None
        srow = session.get_one(MarketSessionRow, run.session_id)
        try:
            with session.begin_nested():
                rows = settle_session(session, srow, now=now)
                publish_statements(session, srow, rows, now=now)
                if outbound is not None:
                    outbound(session, srow.id, now)
        except InvalidInputError as err:
            run.status = RunStatus.FAILED.value
            run.summary = {"issues": [str(i) for i in err.issues[:50]]}
        else:
            run.status = RunStatus.DONE.value
            run.summary = {
                "statements": len(rows),
                "pending": max((r.spec["pending"] for r in rows), default=0),
            }
        run.finished_at = now
        digest = hashlib.sha256(json.dumps(run.summary, sort_keys=True).encode()).hexdigest()
        append_event(
            session,
            AuditRecord(
                at=now,
                party_id=None,
                credential_id=None,
                operation="session.settle",
                target=f"session:{run.session_id}",
                request_id=f"settlement-{digest[:16]}",
                payload_sha256=digest,
                outcome=Outcome.ACCEPTED
                if run.status == RunStatus.DONE.value
                else Outcome.REJECTED,
                status=200 if run.status == RunStatus.DONE.value else 422,
            ),
        )
        return run.session_id
