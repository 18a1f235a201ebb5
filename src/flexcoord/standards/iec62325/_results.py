"""A clearing's documents per FSP: its ReserveAllocationResult and its activation orders.

A market answers each BSP with its own documents: the awards and rejections of its bids
(ReserveAllocationResult_MarketDocument) and, for activation products, the orders to its units
(Activation_MarketDocument ``A40``, the same orders as
:func:`flexcoord.operations.activation_orders` gives everywhere else).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flexcoord.clearing.result import Award, ClearingResult, Rejection
from flexcoord.domain import Bid
from flexcoord.domain.register import Register
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.operations.activation import ActivationOrder, activation_orders
from flexcoord.standards.iec62325._activation import activation_order_document
from flexcoord.standards.iec62325._allocation import allocation_document
from flexcoord.standards.iec62325._common import Header, Party
from flexcoord.standards.iec62325._importing import Exported

__all__ = ["FspDocuments", "result_documents"]

#: The market role of the FSP receiving its documents (balancing service provider).
FSP_ROLE = "A46"


@dataclass(frozen=True, slots=True, kw_only=True)
class FspDocuments:
    """One FSP's documents of a clearing: its allocation result, and its activation orders
    (``None`` when none of its units is ordered)."""

    fsp_id: str
    allocation: Exported
    activation: Exported | None


@dataclass(slots=True)
class _Parts:
    """One FSP's share of a clearing: its bids, awards, rejections and orders."""

    bids: list[Bid] = field(default_factory=list)
    awards: list[Award] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    orders: list[ActivationOrder] = field(default_factory=list)


def _header(kind: str, fsp_id: str, sender: Party, domain_id: str, at: datetime) -> Header:
    # the same clearing gives the same document ids (a resend is recognisable as one)
    same = f"flexcoord:{kind}:{fsp_id}:{at.isoformat()}"
    return Header(
        document_id=str(uuid.uuid5(uuid.NAMESPACE_URL, same)),
        created_at=at,
        sender=sender,
        receiver=Party(id=fsp_id, role=FSP_ROLE, coding_scheme=sender.coding_scheme),
        domain_id=domain_id,
    )


def result_documents(  # noqa: PLR0913 - the result, its inputs, then the documents' keywords
    result: ClearingResult,
    bids: Sequence[Bid],
    register: Register,
    *,
    sender: Party,
    domain_id: str,
    created_at: datetime,
) -> tuple[FspDocuments, ...]:
    """Every FSP's documents of ``result`` (in FSP id order), sent by ``sender``.

    Args:
        result: The clearing of ``bids``.
        bids: The cleared bids.
        register: Resolves a bid's resource to the units its orders go to.
        sender: Who sends them (the market or system operator).
        domain_id: The area (EIC) they concern.
        created_at: Their creation time, which stands for the orders' ``issued_at``.

    Raises:
        InvalidInputError: An FSP or id the documents cannot hold (every one at once).
    """
    created = created_at.replace(microsecond=0)
    fsp_of = {b.id: b.fsp_id for b in bids}
    by_fsp: dict[str, _Parts] = defaultdict(_Parts)  # one pass each, not one per FSP
    for b in bids:
        by_fsp[b.fsp_id].bids.append(b)
    awards = result.awards()
    for a in awards:
        if a.bid_id in fsp_of:
            by_fsp[fsp_of[a.bid_id]].awards.append(a)
    for r in result.rejections():
        if r.bid_id in fsp_of:
            by_fsp[fsp_of[r.bid_id]].rejections.append(r)
    for o in activation_orders(awards, bids, register, issued_at=created):
        by_fsp[o.fsp_id].orders.append(o)
    out: list[FspDocuments] = []
    issues: list[Issue] = []
    for fsp_id, parts in sorted(by_fsp.items()):
        try:
            allocation = allocation_document(
                parts.awards,
                parts.rejections,
                parts.bids,
                _header("allocation", fsp_id, sender, domain_id, created),
            )
            activation = (
                activation_order_document(
                    parts.orders, _header("activation", fsp_id, sender, domain_id, created)
                )
                if parts.orders
                else None
            )
        except InvalidInputError as err:
            issues += err.issues
            continue
        out.append(FspDocuments(fsp_id=fsp_id, allocation=allocation, activation=activation))
    if issues:
        raise InvalidInputError(issues)
    return tuple(out)
