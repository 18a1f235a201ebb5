"""Bids in the database: intake (single or bulk, all or nothing), replacement, withdrawal.

Every rule is the domain's: each body becomes a :class:`~flexcoord.domain.Bid` (its constructor
checks the bid), then :func:`~flexcoord.domain.market_issues` checks all new bids together
against the register of the FSP's own resources they name and the session's product (owner of
the resource, capacity, product minimum and grid, lead time, prices, links, exclusive sets).
Prequalification too is the domain's rule: the FSP's decided product records and the impacted
operators' grid records (:func:`~.grid_prequalification_store.grid_records_for`) go into that
register, and ``market_issues(..., require_prequalification=True)`` refuses what they do not
allow. The service adds two rules of its own: the gate is open (:func:`~.market_store.require_open`,
409 otherwise) and every MTU is one of the session's delivery day. A document with any issue
stores nothing and answers 422 with every issue of every bad bid. An unknown resource and
another FSP's resource get the same words (``is not a registered unit or group``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from flexcoord.domain import Bid, Product, build_all, market_issues
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.service.grid_prequalification_store import grid_records_for
from flexcoord.service.market_schemas import BidIn, BidOut, BidStatus
from flexcoord.service.market_store import (
    delivery_issues,
    get_product,
    product_of,
    require_open,
    session_mtus,
)
from flexcoord.service.prequalification_store import records_for
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.register_store import resources_register
from flexcoord.service.roles import Role
from flexcoord.service.tables import BidRow, MarketSessionRow, PartyRow

__all__ = [
    "bid_out",
    "body_of",
    "domain_bids",
    "get_bid",
    "list_bids",
    "replace_bid",
    "submit_bids",
    "withdraw_bid",
]

#: Ids per ``IN (...)`` query (well below SQLite's 32,766 bound parameters).
_CHUNK: Final = 1000


def _row_of(body: dict[str, Any], owner_id: str, product_id: str, at: datetime) -> dict[str, Any]:
    return {**body, "fsp_id": owner_id, "product_id": product_id, "submitted_at": at}


def _build(rows: Sequence[dict[str, Any]], issues: list[Issue]) -> list[Bid]:
    """Each bid built by its constructor; the issues of those that fail filed on ``issues``."""
    built: list[Bid] = []
    for row in rows:
        try:
            built.extend(build_all(Bid, [row]))
        except InvalidInputError as err:
            issues += err.issues
    return built


def _parents(
    session: Session, srow: MarketSessionRow, owner_id: str, bids: Sequence[Bid]
) -> list[Bid]:
    """The FSP's stored, submitted bids of the session that new bids name as parent."""
    new_ids = {b.id for b in bids}
    wanted = sorted({b.parent_bid_id for b in bids if b.parent_bid_id} - new_ids)
    found: list[Bid] = []
    for start in range(0, len(wanted), _CHUNK):
        rows = session.scalars(
            select(BidRow).where(
                BidRow.session_id == srow.id,
                BidRow.owner_id == owner_id,
                BidRow.status == BidStatus.SUBMITTED.value,
                BidRow.id.in_(wanted[start : start + _CHUNK]),
            )
        )
        found += build_all(
            Bid,
            [
                _row_of(
                    BidIn.model_validate(r.spec).model_dump(),
                    owner_id,
                    srow.product_id,
                    r.submitted_at,
                )
                for r in rows
            ],
        )
    return found


def _checked(  # noqa: PLR0913 - the store, the session, its product, the owner, the bodies, now
    session: Session,
    srow: MarketSessionRow,
    product: Product,
    owner: PartyRow,
    bodies: Sequence[BidIn],
    now: datetime,
) -> list[dict[str, Any]]:
    """The bodies as stored specs, if every bid passes every rule; else 422 with every issue."""
    specs = [b.model_dump(mode="json") for b in bodies]
    issues: list[Issue] = []
    bids = _build([_row_of(b.model_dump(), owner.id, product.id, now) for b in bodies], issues)
    resource_ids = {b.resource_id for b in bids}
    records = records_for(session, owner.id, resource_ids, product.id)
    grid_records = grid_records_for(session, owner.id, resource_ids)
    register = resources_register(session, owner, resource_ids, [product], records, grid_records)
    context = _parents(session, srow, owner.id, bids)
    new_ids = {b.id for b in bids}
    found = market_issues(
        register,
        [],
        [*context, *bids],
        gate_closure_at=srow.gate_closes_at,
        require_prequalification=True,
    )
    issues += [i for i in found if i.object_id in new_ids]
    mtus = session_mtus(product, srow)
    for bid in bids:
        intervals = [q.interval for q in bid.quantities]
        issues += delivery_issues("Bid", bid.id, intervals, mtus, srow.id)
    if issues:
        raise InvalidInputError(issues)
    return specs


def _existing_ids(
    session: Session, srow: MarketSessionRow, owner_id: str, ids: list[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(
            session.scalars(
                select(BidRow.id).where(
                    BidRow.session_id == srow.id,
                    BidRow.owner_id == owner_id,
                    BidRow.id.in_(ids[start : start + _CHUNK]),
                )
            )
        )
    return found


def _already_submitted(srow: MarketSessionRow, ids: set[str]) -> ServiceProblem:
    return ServiceProblem(
        409,
        f"{len(ids)} bid id{'s' if len(ids) != 1 else ''} already used in session {srow.id!r}",
        [
            Issue(
                kind="Bid",
                object_id=i,
                field="id",
                value=i,
                message=f"is already used in session {srow.id!r} (replace it with PUT)",
            )
            for i in sorted(ids)
        ],
    )


def submit_bids(
    session: Session,
    owner: PartyRow,
    srow: MarketSessionRow,
    bodies: Sequence[BidIn],
    *,
    now: datetime,
) -> list[str]:
    """Store the FSP's new bids in the open session, all of them or none; their ids."""
    require_open(srow, now, "bids")
    product = product_of(get_product(session, srow.product_id))
    taken = _existing_ids(session, srow, owner.id, [b.id for b in bodies])
    if taken:
        raise _already_submitted(srow, taken)
    specs = _checked(session, srow, product, owner, bodies, now)
    session.execute(
        insert(BidRow),
        [
            {
                "session_id": srow.id,
                "owner_id": owner.id,
                "id": spec["id"],
                "resource_id": spec["resource_id"],
                "status": BidStatus.SUBMITTED.value,
                "version": 1,
                "spec": spec,
                "submitted_at": now,
            }
            for spec in specs
        ],
    )
    return [spec["id"] for spec in specs]


def get_bid(session: Session, srow: MarketSessionRow, owner_id: str, bid_id: str) -> BidRow:
    """The FSP's bid ``bid_id`` in the session.

    Raises:
        NotFoundError: none, or another FSP's (the same words either way).
    """
    row = session.get(BidRow, (srow.id, owner_id, bid_id))
    if row is None:
        raise NotFoundError(f"Bid {bid_id!r} is not submitted in session {srow.id!r}")
    return row


def _live(session: Session, srow: MarketSessionRow, owner_id: str, bid_id: str) -> BidRow:
    row = get_bid(session, srow, owner_id, bid_id)
    if row.status == BidStatus.WITHDRAWN.value:
        issue = Issue(
            kind="Bid", object_id=bid_id, field="status", value=row.status, message="is withdrawn"
        )
        raise ServiceProblem(409, f"Bid {bid_id!r} is withdrawn", [issue])
    return row


def replace_bid(  # noqa: PLR0913 - the store, the owner, the session, the id, the body, now
    session: Session,
    owner: PartyRow,
    srow: MarketSessionRow,
    bid_id: str,
    body: BidIn,
    *,
    now: datetime,
) -> BidRow:
    """Replace the FSP's submitted bid by ``body`` (same id) while the gate is open."""
    require_open(srow, now, "bids")
    row = _live(session, srow, owner.id, bid_id)
    if body.id != bid_id:
        issue = Issue(
            kind="Bid",
            object_id=body.id,
            field="id",
            value=body.id,
            message=f"must be {bid_id!r}, the bid replaced",
        )
        raise InvalidInputError([issue])
    product = product_of(get_product(session, srow.product_id))
    (spec,) = _checked(session, srow, product, owner, [body], now)
    row.spec, row.resource_id, row.version, row.submitted_at = (
        spec,
        body.resource_id,
        row.version + 1,
        now,
    )
    session.flush()
    return row


def withdraw_bid(
    session: Session, owner: PartyRow, srow: MarketSessionRow, bid_id: str, *, now: datetime
) -> BidRow:
    """Withdraw the FSP's submitted bid while the gate is open (it stays, as ``withdrawn``)."""
    require_open(srow, now, "bids")
    row = _live(session, srow, owner.id, bid_id)
    row.status = BidStatus.WITHDRAWN.value
    session.flush()
    return row


def list_bids(  # noqa: PLR0913 - the store, the session, the caller, two filters, paging
    session: Session,
    srow: MarketSessionRow,
    caller: PartyRow,
    *,
    owner_id: str | None,
    status: BidStatus | None,
    limit: int,
    offset: int,
) -> Sequence[BidRow]:
    """The bids of a session a caller sees: an FSP its own, the market operator all."""
    query = select(BidRow).where(BidRow.session_id == srow.id)
    if caller.role != Role.MARKET_OPERATOR.value:
        owner_id = caller.id
    if owner_id is not None:
        query = query.where(BidRow.owner_id == owner_id)
    if status is not None:
        query = query.where(BidRow.status == status.value)
    order = (BidRow.owner_id, BidRow.id)
    return session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()


def bid_out(row: BidRow, product_id: str) -> BidOut:
    """The bid as the API shows it."""
    return BidOut.model_validate(
        {
            **row.spec,
            "session_id": row.session_id,
            "product_id": product_id,
            "owner_id": row.owner_id,
            "status": row.status,
            "version": row.version,
            "submitted_at": row.submitted_at,
        }
    )


def body_of(bid: Bid) -> BidIn:
    """A domain bid (read from a standard's document) as the body the JSON route takes: the
    service sets its FSP, product and submission time itself."""
    return BidIn.model_validate(
        {
            "id": bid.id,
            "resource_id": bid.resource_id,
            "direction": bid.direction.value,
            "quantities": [
                {"start": q.interval.start, "end": q.interval.end, "quantity": q.quantity}
                for q in bid.quantities
            ],
            "availability_price_eur_per_mw_h": bid.availability_price_eur_per_mw_h,
            "activation_price_eur_per_mwh": bid.activation_price_eur_per_mwh,
            "divisible": bid.divisible,
            "min_acceptance": bid.min_acceptance,
            "exclusive_set": bid.exclusive_set,
            "parent_bid_id": bid.parent_bid_id,
            "block": bid.block,
            "q_mvar_per_mw": bid.q_mvar_per_mw,
        }
    )


def domain_bids(
    session: Session, srow: MarketSessionRow, owners: Sequence[str] | None = None
) -> dict[str, Bid]:
    """The session's bids (of ``owners``, else every FSP's) as domain bids by id, under the
    ids their FSP gave them (a document to an FSP names its own ids)."""
    query = select(BidRow).where(BidRow.session_id == srow.id)
    if owners is not None:
        query = query.where(BidRow.owner_id.in_(sorted(set(owners))))
    rows = session.scalars(query.order_by(BidRow.owner_id, BidRow.id)).all()
    built = build_all(
        Bid,
        [
            {
                **BidIn.model_validate(r.spec).model_dump(),
                "fsp_id": r.owner_id,
                "product_id": srow.product_id,
                "submitted_at": r.submitted_at,
            }
            for r in rows
        ],
    )
    return {b.id: b for b in built}
