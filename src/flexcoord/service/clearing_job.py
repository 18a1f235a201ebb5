"""Clearing a sealed session, exactly once: claim it, run its scheme on the platform grid,
write its results in one transaction.

The service's worker (:mod:`flexcoord.service.worker`) calls :func:`claim_next` and then
:func:`clear_claimed`. The decision is the same code the CLI and the study call:
:func:`~flexcoord.coordination.scheme.run_scheme` with the session's preset on a
:class:`~flexcoord.coordination.inputs.CoordinationInput` built from the
:class:`~flexcoord.service.session_snapshot.SessionSnapshot`, the awards and settlement records
of :mod:`flexcoord.simulation.awards`, the activation orders of
:func:`~flexcoord.operations.activation_orders`.

**Exactly once.** A claim is the session's :class:`~flexcoord.service.tables.ClearingRunRow`:
``running`` with an attempt number and a lease. The results are written only in the
transaction that moves the row to ``done``, and only if the row still holds the writer's attempt
(a fencing token: a worker that stalled past its lease and was taken over writes nothing). A
crash before that commit leaves nothing but the claim; once the lease expires another worker
(or the restarted one) takes over with ``attempt + 1`` and, the inputs being sealed and the
clearing deterministic, writes the same result (same ``result_sha256``).

**Base case.** The session's delivery day on the platform grid's SimBench profiles (the
study's day → profile-step rule, :func:`~flexcoord.simulation.scenario.profile_step_of`),
issued at gate closure; thermal limits only, as the study's markets. A production deployment
would take the operators' own forecasts; that upload is not part of this slice.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flexcoord.clearing.result import Rejection, RejectionReason
from flexcoord.coordination import CoordinationInput, preset, run_scheme
from flexcoord.coordination.scheme import SchemeOutcome, default_options
from flexcoord.domain import ProductKind
from flexcoord.errors import InvalidInputError
from flexcoord.grid.forecast import forecast_from_profiles
from flexcoord.grid.model import GridModel, load_grid
from flexcoord.operations import ActivationOrder, activation_orders
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.publication import publish_results
from flexcoord.service.session_snapshot import SessionSnapshot, session_snapshot
from flexcoord.service.tables import (
    ActivationOrderRow,
    AwardRow,
    ClearingRunRow,
    MarketSessionRow,
    RejectionRow,
    RunStatus,
)
from flexcoord.simulation.awards import (
    accepted_awards,
    activation_awards,
    settlement_records,
)
from flexcoord.simulation.scenario import profile_step_of
from flexcoord.simulation.study import profile_day

__all__ = [
    "CLEARING_LEASE",
    "ClaimedRun",
    "ClearingResult",
    "claim_next",
    "clear_claimed",
    "compute_result",
    "platform_grid",
]

#: How long a claim holds before another worker may take the session over.
CLEARING_LEASE: Final = timedelta(minutes=10)
_MW_EPS: Final = 1e-9
_NO_NEED: Final = "the session has no need to clear against"
_NOT_OFFERED: Final = (
    "no market of the session's scheme rejected it by name: it was offered to none, or only "
    "inside an aggregated interface offer"
)


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """A claim: the session and the attempt that holds it."""

    session_id: str
    attempt: int


@functools.cache
def platform_grid(code: str) -> GridModel:
    """The platform's grid, loaded once per process."""
    return load_grid(code)


def _claimable(now: datetime) -> Any:
    return (
        select(MarketSessionRow.id, ClearingRunRow.attempt)
        .outerjoin(ClearingRunRow, ClearingRunRow.session_id == MarketSessionRow.id)
        .where(
            MarketSessionRow.gate_closes_at <= now,
            or_(
                ClearingRunRow.session_id.is_(None),
                (ClearingRunRow.status == RunStatus.RUNNING.value)
                & (ClearingRunRow.lease_until < now),
            ),
        )
        .order_by(MarketSessionRow.gate_closes_at, MarketSessionRow.id)
        .limit(1)
    )


def claim_next(
    engine: Engine, *, worker_id: str, now: datetime, lease: timedelta = CLEARING_LEASE
) -> ClaimedRun | None:
    """Claim the sealed session waiting longest for its clearing (never cleared, or its claim's
    lease expired), or ``None``. Two workers never hold one session: the claim is an insert
    under the session's primary key, a takeover an update guarded by the old attempt."""
    with Session(engine) as session, session.begin():
        found = session.execute(_claimable(now)).first()
        if found is None:
            return None
        session_id, attempt = found
        if attempt is None:
            session.add(
                ClearingRunRow(
                    session_id=session_id,
                    status=RunStatus.RUNNING.value,
                    attempt=1,
                    worker_id=worker_id,
                    lease_until=now + lease,
                    started_at=now,
                )
            )
            try:
                session.flush()
            except IntegrityError:  # another worker claimed it first
                return None
            return ClaimedRun(session_id, 1)
        run = session.get(ClearingRunRow, session_id, with_for_update=True)
        if run is None or run.attempt != attempt or run.status != RunStatus.RUNNING.value:
            return None
        run.attempt, run.worker_id = attempt + 1, worker_id
        run.lease_until, run.started_at = now + lease, now
        return ClaimedRun(session_id, attempt + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearingResult:
    """A session's results, ready to store: award and order rows (as column mappings), the
    summary and the result's hash (of the awards and orders; order ids and times of issue left
    out)."""

    awards: tuple[dict[str, Any], ...]
    orders: tuple[dict[str, Any], ...]
    summary: dict[str, Any]
    sha256: str
    rejections: tuple[dict[str, Any], ...] = ()


def _scenario(snapshot: SessionSnapshot, grid: GridModel) -> CoordinationInput:
    step = profile_step_of(profile_day(snapshot.delivery_day))
    forecast = forecast_from_profiles(
        grid,
        start_step=step,
        intervals=snapshot.intervals,
        issued_at=snapshot.gate_closes_at,
        label="profiles",
    )
    return CoordinationInput(
        name=f"session {snapshot.session_id}",
        grid=grid,
        register=snapshot.register,
        needs=snapshot.needs,
        bids=snapshot.bids,
        intervals=snapshot.intervals,
        forecast=forecast,
        gate_closure_at=snapshot.gate_closes_at,
        profile_start_step=step,
    )


def _award_rows(snapshot: SessionSnapshot, outcome: SchemeOutcome) -> list[dict[str, Any]]:
    bids = {b.id: b for b in snapshot.bids}
    mtus = {iv.start: iv for iv in snapshot.intervals}
    rows: list[dict[str, Any]] = []
    for a in accepted_awards(outcome.markets, snapshot.product.kind, bids):
        owned = snapshot.owned[a.bid.id]
        for record in settlement_records([a], outcome.kpis.procurement_eur):
            payment = record.quantity_mw * record.duration_h * record.bid_price_eur_per_unit
            rows.append(
                {
                    "owner_id": owned.owner_id,
                    "bid_id": owned.id,
                    "mtu_start": a.key.mtu.start,
                    "mtu_end": mtus[a.key.mtu.start].end,
                    "market_id": record.auction_id,
                    "buyer_id": record.buyer_id,
                    "kind": str(record.kind),
                    "direction": str(a.bid.direction),
                    "quantity_mw": round(record.quantity_mw, 6),
                    "price_eur_per_unit": record.bid_price_eur_per_unit,
                    "payment_eur": round(payment, 2),
                }
            )
    return rows


def _rejection_rows(
    snapshot: SessionSnapshot, outcome: SchemeOutcome | None, awarded: set[tuple[str, str]]
) -> list[dict[str, Any]]:
    """A row for each bid no market accepted in any MTU: the reason of the last market that
    was offered it (``outcome`` is ``None`` when the session had no needs or no bids)."""
    why: dict[str, Rejection] = {}
    for market in outcome.markets if outcome is not None else ():
        for rejected in market.result.rejections():
            why[market.root_of(rejected.bid_id)] = rejected

    rows = []
    for b in snapshot.bids:
        owned = snapshot.owned[b.id]
        if (owned.owner_id, owned.id) in awarded:
            continue
        r = why.get(b.id)

        reason, detail = (
            (r.reason, r.detail)
            if r is not None
            else (RejectionReason.NO_MATCHING_NEED, _NOT_OFFERED if snapshot.needs else _NO_NEED)
        )
        rows.append(
            {
                "owner_id": owned.owner_id,
                "bid_id": owned.id,
                "reason": reason.value,
                "detail": detail[:512],
            }
        )
    return sorted(rows, key=lambda row: (row["owner_id"], row["bid_id"]))


def _orders(snapshot: SessionSnapshot, outcome: SchemeOutcome) -> Sequence[ActivationOrder]:
    if snapshot.product.kind is not ProductKind.ACTIVATION:
        return ()
    bids = {b.id: b for b in snapshot.bids}
    awards, buyers = activation_awards(outcome.markets, outcome.accepted_mw, bids)
    return activation_orders(
        awards, bids.values(), snapshot.register, issued_at=snapshot.gate_closes_at, buyers=buyers
    )


def _order_rows(
    snapshot: SessionSnapshot, orders: Sequence[ActivationOrder]
) -> list[dict[str, Any]]:
    rows = []
    for o in orders:
        bid, unit = snapshot.owned[o.bid_id], snapshot.owned[o.unit_id]
        order_id = hashlib.sha256(f"{snapshot.session_id}\n{o.id}".encode()).hexdigest()[:32]
        rows.append(
            {
                "id": order_id,
                "owner_id": bid.owner_id,
                "bid_id": bid.id,
                "unit_id": unit.id,
                "buyer_id": o.buyer_id,
                "mtu_start": o.interval.start,
                "mtu_end": o.interval.end,
                "direction": str(o.direction),
                "quantity_mw": round(o.quantity_mw, 6),
            }
        )
    return rows


def _digest(awards: Sequence[Mapping[str, Any]], orders: Sequence[Mapping[str, Any]]) -> str:
    """The hash of what was decided: the awards and the orders (their ids, which name the
    session, left out, so two sessions deciding alike hash alike)."""
    doc = {
        "awards": list(awards),
        "orders": sorted(
            ({k: v for k, v in o.items() if k != "id"} for o in orders),
            key=lambda o: json.dumps(o, sort_keys=True, default=str),
        ),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def compute_result(snapshot: SessionSnapshot, grid: GridModel) -> ClearingResult:
    """Run the session's scheme on its snapshot (module docstring) and derive its results."""
    started = time.perf_counter()
    awards: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    summary: dict[str, Any] = {
        "scheme": snapshot.scheme,
        "bids": len(snapshot.bids),
        "needs": len(snapshot.needs),
    }
    outcome = None
    if snapshot.bids and snapshot.needs:
        scenario = _scenario(snapshot, grid)
        base_s = time.perf_counter() - started
        # with explanations: each bid that got nothing is told why (its allocation result)
        options = dataclasses.replace(default_options(), explain=True)
        outcome = run_scheme(preset(snapshot.scheme), scenario, options=options, ac_check=False)
        clearing_s = time.perf_counter() - started - base_s
        awards = sorted(
            _award_rows(snapshot, outcome),
            key=lambda r: (r["owner_id"], r["bid_id"], r["mtu_start"], r["market_id"]),
        )
        orders = sorted(_order_rows(snapshot, _orders(snapshot, outcome)), key=lambda r: r["id"])
        summary |= {
            "markets": [str(m.id) for m in outcome.markets],
            "activated_mwh": round(outcome.kpis.activated_mwh, 6),
            "procurement_eur": {k: round(v, 2) for k, v in outcome.kpis.procurement_eur.items()},
            "shortfall_mwh": {k: round(v, 6) for k, v in outcome.kpis.shortfall_mwh.items()},
            "conflicts": len(outcome.conflicts),
            "base_case_s": round(base_s, 3),
            "clearing_s": round(clearing_s, 3),
        }
    rejections = _rejection_rows(snapshot, outcome, {(a["owner_id"], a["bid_id"]) for a in awards})
    summary |= {"awards": len(awards), "orders": len(orders)}
    return ClearingResult(
        awards=tuple(awards),
        orders=tuple(orders),
        summary=summary,
        sha256=_digest(awards, orders),
        rejections=tuple(rejections),
    )


def _fenced(session: Session, claimed: ClaimedRun) -> ClearingRunRow | None:
    run = session.get(ClearingRunRow, claimed.session_id, with_for_update=True)
    if run is None or run.attempt != claimed.attempt or run.status != RunStatus.RUNNING.value:
        return None
    return run


def _audit(session: Session, claimed: ClaimedRun, now: datetime, digest: str, ok: bool) -> None:
    append_event(
        session,
        AuditRecord(
            at=now,
            party_id=None,
            credential_id=None,
            operation="session.clear",
            target=f"session:{claimed.session_id}",
            request_id=f"clearing-{claimed.attempt}-{digest[:16]}",
            payload_sha256=digest,
            outcome=Outcome.ACCEPTED if ok else Outcome.REJECTED,
            status=200 if ok else 422,
        ),
    )


def clear_claimed(
    engine: Engine,
    claimed: ClaimedRun,
    grid_code: str,
    *,
    clock: Any,
    outbound: Callable[[Session, str, datetime], object] | None = None,
) -> ClearingResult | None:
    """Clear the claimed session and store its results, or ``None`` when the claim was lost
    (module docstring). ``clock`` is the server clock. Each party's messages
    (:func:`~flexcoord.service.publication.publish_results`, and ``outbound``'s: the worker's
    UFTP FlexOrders, called with the session, its id and the time) are enqueued in the results'
    transaction, so they commit with the results or not at all."""
    with Session(engine) as session:
        srow = session.get(MarketSessionRow, claimed.session_id)
        assert srow is not None  # a claim's session exists (foreign key)
        try:
            snapshot = session_snapshot(session, srow)
        except InvalidInputError as err:
            return _fail(engine, claimed, clock(), err)
    try:
        result = compute_result(snapshot, platform_grid(grid_code))
    except InvalidInputError as err:
        return _fail(engine, claimed, clock(), err)
    now = clock()
    with Session(engine) as session, session.begin():
        run = _fenced(session, claimed)
        if run is None:
            return None
        session.add_all(AwardRow(session_id=claimed.session_id, **r) for r in result.awards)
        session.add_all(RejectionRow(session_id=claimed.session_id, **r) for r in result.rejections)
        session.add_all(
            ActivationOrderRow(session_id=claimed.session_id, issued_at=now, **r)
            for r in result.orders
        )
        srow = session.get(MarketSessionRow, claimed.session_id)
        assert srow is not None
        publish_results(session, srow, result, now=now)
        if outbound is not None:
            outbound(session, claimed.session_id, now)
        run.status, run.finished_at = RunStatus.DONE.value, now
        run.result_sha256, run.summary = result.sha256, result.summary
        _audit(session, claimed, now, result.sha256, ok=True)
    return result


def _fail(
    engine: Engine, claimed: ClaimedRun, now: datetime, err: InvalidInputError
) -> ClearingResult | None:
    issues = [
        {"kind": i.kind, "object_id": i.object_id, "field": i.field, "message": i.message}
        for i in err.issues[:50]
    ]
    digest = hashlib.sha256(json.dumps(issues, sort_keys=True).encode()).hexdigest()
    with Session(engine) as session, session.begin():
        run = _fenced(session, claimed)
        if run is None:
            return None
        run.status, run.finished_at = RunStatus.FAILED.value, now
        run.summary = {"issues": issues, "issue_count": len(err.issues)}
        _audit(session, claimed, now, digest, ok=False)
    return None
