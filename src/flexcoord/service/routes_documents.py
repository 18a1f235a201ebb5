"""IEC 62325-451 market documents at the API: an FSP submits its bids as a
ReserveBid_MarketDocument and is answered with an Acknowledgement_MarketDocument; a party
reads the activation orders it may see as an Activation_MarketDocument.

The document goes through the same path as a JSON bulk document (:func:`bid_store.submit_bids`:
the session's gate, prequalification, the product's MTUs, ids not yet used, all bids or none),
so both ways in obey one set of rules. The answer is always an acknowledgement (XML): ``201``
with ``A01`` when every bid is stored; ``422`` (``409`` for a sealed session or an id already
used) with ``A02`` and one reason per element at fault when nothing is stored. A missing
session, a wrong key or a foreign role still answer with a problem (``application/problem+json``)
as every other route does: they are not about the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.coordination.identities import Mtu
from flexcoord.domain import Bid, Direction, Interval
from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, format_value
from flexcoord.operations import ActivationOrder, OrderEvent, OrderId
from flexcoord.service import bid_store as bids
from flexcoord.service import market_store as markets
from flexcoord.service import results_store
from flexcoord.service.calls import Call, call_of
from flexcoord.service.problems import ServiceProblem, problem_responses
from flexcoord.service.roles import Operation, Role
from flexcoord.service.routes_markets import caller
from flexcoord.service.tables import (
    ActivationOrderRow,
    ClearingRunRow,
    MarketSessionRow,
    OrderEventRow,
    PartyRow,
    RunStatus,
)
from flexcoord.standards import iec62325 as docs

if TYPE_CHECKING:
    from flexcoord.standards.iec62325 import Imported, Party, Problem

__all__ = ["MAX_ORDERS", "XML", "router"]

XML: Final = "application/xml"
#: The most activation orders one document lists (a day of 96 MTUs for 1,000 units).
MAX_ORDERS: Final = 96_000
#: The document role of each platform role (ENTSO-E role codes): BSP, system operator, DSO
#: (grid operator), market operator.
_DOCUMENT_ROLES: Final = {
    Role.FSP: "A46",
    Role.TSO: "A04",
    Role.DSO: "A18",
    Role.MARKET_OPERATOR: "A11",
}

_ACK = {"description": "An Acknowledgement_MarketDocument", "content": {XML: {}}}


def _xml_body(description: str) -> dict[str, Any]:
    """The OpenAPI request body of a route taking one XML document."""
    content = {XML: {"schema": {"type": "string", "description": description}}}
    return {"requestBody": {"required": True, "content": content}}


router = APIRouter(prefix="/v1/sessions/{session_id}/documents", responses=problem_responses(401))


async def _document(request: Request) -> bytes:
    """The raw request body (the size limit of every request applies before)."""
    return await request.body()


def _platform(call: Call) -> Party:
    return docs.Party(id=call.services.settings.document_party, role="A04")


def _element(index: dict[str, int], issue: Issue) -> str:
    """The document element an issue of the service's rules is about."""
    i = index.get(issue.object_id)
    where = f"Bid_TimeSeries[{i}]" if i is not None and issue.kind == "Bid" else issue.kind
    return f"{where}/{issue.field}" if issue.field else where


def _problems(
    index: dict[str, int], issues: Sequence[Issue], code: str, series: str | None = None
) -> list[Problem]:
    """One problem per issue, at its element (``series``: the document's series element, for
    issues naming them by object id)."""
    return [
        docs.Problem(
            _element(index, i)
            if series is None
            else (f"{series}[{index[i.object_id]}]" if i.object_id in index else i.kind),
            i.message if i.value is NO_VALUE else f"{format_value(i.value)} {i.message}",
            code,
        )
        for i in issues
    ]


def _ownership(objects: Sequence[Bid], party_id: str, product_id: str) -> list[Problem]:
    """The bids must be the caller's and for the session's product."""

    found = []
    for i, bid in enumerate(objects, start=1):
        if bid.fsp_id != party_id:
            found.append(
                docs.Problem(
                    f"Bid_TimeSeries[{i}]/provider_MarketParticipant.mRID",
                    f"{bid.fsp_id!r} is not the sending party {party_id!r}",
                    "A59",
                )
            )
        if bid.product_id != product_id:
            found.append(
                docs.Problem(
                    f"Bid_TimeSeries[{i}]/auction.mRID",
                    f"{bid.product_id!r} is not the session's product {product_id!r}",
                    "A59",
                )
            )
    return found


def _document_issue(reason: str) -> Issue:
    """A reason of the acknowledgement as an issue (the audit's and metrics' words)."""
    return Issue(
        kind="ReserveBid_MarketDocument", object_id="", field="", value=NO_VALUE, message=reason
    )


def _answer(outcome: Imported[Any], status: int) -> Response:

    return Response(
        docs.acknowledgement_xml(outcome.acknowledgement), status_code=status, media_type=XML
    )


def _refusal(outcome: Imported[Any], status: int, issues: Sequence[Issue]) -> ServiceProblem:
    """The rejection, raised so that it is audited and counted as every refusal is."""

    return ServiceProblem(
        status,
        f"the document is rejected: {len(outcome.problems)} reason(s)",
        issues,
        document=(docs.acknowledgement_xml(outcome.acknowledgement), XML),
    )


@router.post(
    "/reserve-bids",
    name=Operation.BID_SUBMIT_DOCUMENT,
    status_code=201,
    tags=["bids", "documents"],
    responses={201: _ACK, 409: _ACK, 422: _ACK, **problem_responses(403, 404)},
    response_class=Response,
    openapi_extra=_xml_body("A ReserveBid_MarketDocument"),
)
def submit_reserve_bid_document(
    session_id: str,
    document: Annotated[bytes, Depends(_document)],
    call: Annotated[Call, Depends(call_of(Operation.BID_SUBMIT_DOCUMENT))],
) -> Response:
    """Submit bids as an IEC 62325-451-7 ReserveBid_MarketDocument (7.4; linked, exclusive and
    block bids): all are stored, or none, and the answer is an acknowledgement (``A01``, or
    ``A02`` naming every element at fault)."""

    with call.transaction() as session:
        srow = markets.get_session(session, session_id)
        outcome = docs.import_reserve_bids(
            document,
            acknowledger=_platform(call),
            acknowledgement_id=str(uuid.uuid4()),
            now=call.now,
            schema_dir=docs.schema_dir_from_environment(),
        )
        if not outcome.accepted:
            raise _refusal(outcome, 422, [_document_issue(p) for p in outcome.problems])
        read: tuple[Bid, ...] = outcome.objects
        index = {b.id: i for i, b in enumerate(read, start=1)}
        owner = caller(session, call)
        wrong = _ownership(read, owner.id, srow.product_id)
        if wrong:
            raise _refusal(docs.refused(outcome, wrong), 422, [])
        try:
            ids = bids.submit_bids(
                session, owner, srow, [bids.body_of(b) for b in read], now=call.now
            )
        except InvalidInputError as err:
            raise _refusal(
                docs.refused(outcome, _problems(index, err.issues, "A59")), 422, err.issues
            ) from None
        except ServiceProblem as err:  # a sealed session (A57) or an id already used (A55)
            code = "A55" if any(i.field == "id" for i in err.issues) else "A57"
            raise _refusal(
                docs.refused(outcome, _problems(index, err.issues, code)), err.status, err.issues
            ) from None
        call.accept(session, target=f"session:{session_id}", status=201)
        call.services.metrics.accept_bids(call.operation, len(ids))
    return _answer(outcome, 201)


def _order(row: ActivationOrderRow) -> ActivationOrder:
    """A stored order as the operations layer's order (the one the worker issued)."""
    interval = Interval(start=row.mtu_start, end=row.mtu_end)
    hours = (row.mtu_end - row.mtu_start).total_seconds() / 3600.0
    return ActivationOrder(
        id=OrderId(row.bid_id, row.unit_id, Mtu(row.mtu_start)),
        bid_id=row.bid_id,
        unit_id=row.unit_id,
        fsp_id=row.owner_id,
        buyer_id=row.buyer_id,
        interval=interval,
        direction=Direction(row.direction),
        quantity_mw=row.quantity_mw,
        energy_mwh=row.quantity_mw * hours,
        issued_at=row.issued_at,
    )


def _receiver(party: PartyRow) -> Party:
    return docs.Party(id=party.id, role=_DOCUMENT_ROLES[Role(party.role)])


@router.get(
    "/activation-orders",
    name=Operation.ACTIVATION_DOCUMENT,
    tags=["results", "documents"],
    response_class=Response,
    responses={
        200: {"description": "An Activation_MarketDocument (A40)", "content": {XML: {}}},
        **problem_responses(403, 404, 422),
    },
)
def read_activation_document(
    session_id: str, call: Annotated[Call, Depends(call_of(Operation.ACTIVATION_DOCUMENT))]
) -> Response:
    """The session's activation orders the caller may see (an FSP those to its units, an
    operator those it bought, the market operator all) as an IEC 62325-451-6
    Activation_MarketDocument (type A40); 404 while there are none."""
    with call.transaction(read_only=True) as session:
        srow = markets.get_session(session, session_id)
        party = caller(session, call)
        rows = results_store.list_activations(
            session, party, session_id=srow.id, limit=MAX_ORDERS, offset=0
        )
        if not rows:
            raise ServiceProblem(404, f"no activation orders of session {srow.id!r} are yours")
        orders = [_order(r) for r in rows]
        issued = max(o.issued_at for o in orders)
        same_orders = f"flexcoord:activation:{srow.id}:{party.id}:{len(orders)}:{issued}"
        header = docs.Header(
            document_id=str(uuid.uuid5(uuid.NAMESPACE_URL, same_orders)),  # same orders, same id
            created_at=issued,
            sender=_platform(call),
            receiver=_receiver(party),
            domain_id=call.services.settings.document_domain,
        )
    exported = docs.activation_order_document(orders, header)
    return Response(exported.xml, media_type=XML)


@router.get(
    "/allocation-result",
    name=Operation.ALLOCATION_DOCUMENT,
    tags=["results", "documents"],
    response_class=Response,
    responses={
        200: {
            "description": "A ReserveAllocationResult_MarketDocument",
            "content": {XML: {}},
        },
        **problem_responses(403, 404, 422),
    },
)
def read_allocation_document(
    session_id: str,
    call: Annotated[Call, Depends(call_of(Operation.ALLOCATION_DOCUMENT))],
    fsp: Annotated[
        str | None, Query(description="Only this FSP's bids (the market operator, an operator).")
    ] = None,
) -> Response:
    """The session's clearing as an IEC 62325-451-7 ReserveAllocationResult_MarketDocument: each
    bid the caller may see with what it was awarded per MTU (summed over the markets that bought
    it), or why it got nothing (an FSP its own bids, an operator those it bought, the market
    operator all); 404 before the clearing or when none is the caller's."""
    with call.transaction(read_only=True) as session:
        srow = markets.get_session(session, session_id)
        run = session.get(ClearingRunRow, srow.id)
        if run is None or run.status != RunStatus.DONE.value or run.finished_at is None:
            raise ServiceProblem(404, f"session {srow.id!r} is not cleared yet")
        party = caller(session, call)
        awards = results_store.awards_by_bid(
            results_store.list_awards(session, srow, party, limit=MAX_ORDERS, offset=0)
        )
        rejections = results_store.list_rejections(session, srow, party)
        keys = [k for k in (*awards, *rejections) if fsp is None or k[0] == fsp]
        if not keys:
            raise ServiceProblem(404, f"no bid of session {srow.id!r} is yours to see")
        _one_owner_per_bid(keys)
        bids = _bids_of(session, srow, keys)
        header = docs.Header(
            document_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"flexcoord:allocation:{srow.id}:{party.id}:{fsp}")
            ),
            created_at=run.finished_at.replace(microsecond=0),
            sender=_platform(call),
            receiver=_receiver(party),
            domain_id=call.services.settings.document_domain,
        )
    exported = docs.allocation_document(
        [a for k in keys if k in awards for a in awards[k]],
        [rejections[k] for k in keys if k in rejections],
        bids,
        header,
    )
    return Response(exported.xml, media_type=XML)


def _one_owner_per_bid(keys: Sequence[tuple[str, str]]) -> None:
    """A document names bids by their FSP's ids: two FSPs' same id must be asked apart."""
    owners: dict[str, str] = {}
    for owner, bid_id in keys:
        other = owners.setdefault(bid_id, owner)
        if other != owner:
            raise ServiceProblem(
                422,
                f"bid id {bid_id!r} is used by FSPs {other!r} and {owner!r}: ask for one with "
                "?fsp=",
            )


def _bids_of(
    session: Session, srow: MarketSessionRow, keys: Sequence[tuple[str, str]]
) -> list[Bid]:
    """The domain bids of these (FSP, bid) keys."""
    found = bids.domain_bids(session, srow, [owner for owner, _ in keys])
    wanted = {bid_id for _, bid_id in keys}
    return [b for b in found.values() if b.id in wanted]


@router.post(
    "/activation-responses",
    name=Operation.ACTIVATION_RESPOND_DOCUMENT,
    status_code=201,
    tags=["results", "documents"],
    responses={201: _ACK, 409: _ACK, 422: _ACK, **problem_responses(403, 404)},
    response_class=Response,
    openapi_extra=_xml_body("An Activation_MarketDocument of type A41"),
)
def submit_activation_responses(
    session_id: str,
    document: Annotated[bytes, Depends(_document)],
    call: Annotated[Call, Depends(call_of(Operation.ACTIVATION_RESPOND_DOCUMENT))],
) -> Response:
    """An FSP answers its activation orders with an IEC 62325-451-6 Activation_MarketDocument
    of type ``A41`` (each order ``A07`` acknowledged or ``A11`` failed): every answer is
    recorded, or none, checked against the order's lifecycle; the answer is an acknowledgement
    (``A01``, or ``A02`` naming every series at fault)."""
    with call.transaction() as session:
        srow = markets.get_session(session, session_id)
        outcome = docs.import_activation_responses(
            document,
            acknowledger=_platform(call),
            acknowledgement_id=str(uuid.uuid4()),
            now=call.now,
            schema_dir=docs.schema_dir_from_environment(),
        )
        if not outcome.accepted or outcome.header is None:
            raise _refusal(outcome, 422, [_document_issue(p) for p in outcome.problems])
        owner = caller(session, call)
        if outcome.header.sender.id != owner.id:
            wrong = docs.Problem(
                "sender_MarketParticipant.mRID",
                f"{outcome.header.sender.id!r} is not the sending party {owner.id!r}",
                "A59",
            )
            raise _refusal(docs.refused(outcome, [wrong]), 422, [])
        document_id = outcome.header.document_id
        if session.scalar(
            select(OrderEventRow.order_id).where(OrderEventRow.document_id == document_id)
        ):
            resent = docs.Problem("mRID", f"document {document_id!r} was received before", "A55")
            raise _refusal(docs.refused(outcome, [resent]), 409, [])
        responses: tuple[OrderEvent, ...] = outcome.objects
        try:
            results_store.record_order_responses(
                session, srow, owner, responses, document_id, call.now
            )
        except InvalidInputError as err:
            index = {str(e.order_id): i for i, e in enumerate(responses, start=1)}
            found = _problems(index, err.issues, "A59", series="TimeSeries")
            raise _refusal(docs.refused(outcome, found), 422, err.issues) from None
        call.accept(session, target=f"session:{session_id}", status=201)
    return _answer(outcome, 201)
