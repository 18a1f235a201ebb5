"""A clearing's awards and rejections ↔ ReserveAllocationResult_MarketDocument
(IEC 62325-451-7, version 6.5, message type ``A38``).

One ``TimeSeries`` per bid of the clearing, in bid order:

* an accepted bid: a point per awarded MTU (``quantity`` MW, ``price.amount`` EUR/MWh,
  ``financial_Price.amount`` the payment in EUR), reason ``A73`` (bid accepted);
* a rejected bid: its MTUs with ``quantity`` 0 and reason ``B09`` (bid not accepted) whose text
  is ``<flexcoord reason code>: <detail>`` (``grid-limit: line_3 upper limit at …``).

``registeredResource.mRID``, ``flowDirection.direction`` and
``bid_Original_MarketDocument.tendering_MarketParticipant.mRID`` come from the bids; need
coverage, binding constraints and solver statistics are not carried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from flexcoord.clearing.result import Award, Rejection, RejectionReason
from flexcoord.coordination.identities import Mtu
from flexcoord.domain import Bid, Direction, Interval
from flexcoord.errors import Issue
from flexcoord.standards.iec62325._common import (
    ID_CHARS,
    PARTY_ID_CHARS,
    Header,
    Reader,
    export_issue,
    raise_export_issues,
    read_header,
    write_header,
)
from flexcoord.standards.iec62325._importing import Exported, ReadOutcome
from flexcoord.standards.iec62325._periods import group_runs, read_periods, write_period
from flexcoord.standards.iec62325._xml import child, decimal_text

__all__ = ["ALLOCATION_NAMESPACE", "AllocationResult", "allocation_document", "read_allocation"]

ALLOCATION_NAMESPACE: Final = "urn:iec62325.351:tc57wg16:451-7:reserveallocationresultdocument:6:5"
ROOT: Final = "ReserveAllocationResult_MarketDocument"
MESSAGE_TYPE: Final = "A38"
DIRECTIONS: Final = {"A01": Direction.UP, "A02": Direction.DOWN}
_DIRECTION_CODE: Final = {d: c for c, d in DIRECTIONS.items()}
_REASONS: Final = {r.value: r for r in RejectionReason}


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationResult:
    """What an allocation result document holds: awards and rejections, in canonical order
    (awards by bid and MTU, rejections by bid), as ``ClearingResult.awards()`` and
    ``.rejections()`` give them for a clearing whose bids are in id order."""

    awards: tuple[Award, ...]
    rejections: tuple[Rejection, ...]


def _issues(
    bids: Sequence[Bid],
    awards: Sequence[Award],
    rejections: Sequence[Rejection],
) -> list[Issue]:
    by_id = {b.id: b for b in bids}
    issues = []
    for award in awards:
        bid = by_id.get(award.bid_id)
        if bid is None:
            issues.append(
                export_issue("Award", award.bid_id, "bid_id", award.bid_id, "names no bid given")
            )
        elif award.mtu not in {mq.interval.start.isoformat() for mq in bid.quantities}:
            issues.append(
                export_issue(
                    "Award", award.bid_id, "mtu", award.mtu, f"is not an MTU of bid {bid.id!r}"
                )
            )
    issues += [
        export_issue("Rejection", r.bid_id, "bid_id", r.bid_id, "names no bid given")
        for r in rejections
        if r.bid_id not in by_id
    ]
    for bid in bids:
        for name, value, limit in (
            ("id", bid.id, ID_CHARS),
            ("fsp_id", bid.fsp_id, PARTY_ID_CHARS),
            ("resource_id", bid.resource_id, ID_CHARS),
        ):
            if len(value) > limit:
                issues.append(
                    export_issue(
                        "Bid", bid.id, name, value, f"is longer than the {limit} characters allowed"
                    )
                )
    return issues


def _series(  # noqa: PLR0913 - one series: where, the bid, header and two codes
    root: etree._Element, ns: str, bid: Bid, header: Header, scheme: str, business_type: str
) -> etree._Element:
    ts = child(root, ns, "TimeSeries")
    child(ts, ns, "mRID", bid.id)
    child(ts, ns, "bid_Original_MarketDocument.bid_BidTimeSeries.mRID", bid.id)
    child(ts, ns, "bid_Original_MarketDocument.tendering_MarketParticipant.mRID", bid.fsp_id).set(
        "codingScheme", scheme
    )
    child(ts, ns, "auction.mRID", bid.product_id)
    child(ts, ns, "businessType", business_type)
    for name in ("acquiring_Domain.mRID", "connecting_Domain.mRID"):
        child(ts, ns, name, header.domain_id).set("codingScheme", "A01")
    child(ts, ns, "quantity_Measurement_Unit.name", "MAW")
    child(ts, ns, "currency_Unit.name", "EUR")
    child(ts, ns, "price_Measurement_Unit.name", "MWH")
    child(ts, ns, "registeredResource.mRID", bid.resource_id).set("codingScheme", scheme)
    child(ts, ns, "flowDirection.direction", _DIRECTION_CODE[bid.direction])
    return ts


def _reason(ts: etree._Element, ns: str, code: str, text: str) -> None:
    el = child(ts, ns, "Reason")
    child(el, ns, "code", code)
    child(el, ns, "text", text[:512])


def allocation_document(  # noqa: PLR0913 - the result's parts, then the document's keywords
    awards: Sequence[Award],
    rejections: Sequence[Rejection],
    bids: Sequence[Bid],
    header: Header,
    *,
    coding_scheme: str = "A01",
    business_type: str = "B95",
) -> Exported:
    """A clearing's awards and rejections as a ReserveAllocationResult_MarketDocument.

    Args:
        awards: ``ClearingResult.awards()``.
        rejections: ``ClearingResult.rejections()``.
        bids: The cleared bids (the awards' and rejections' bids must be among them; other
            bids are left out).
        header: Document id, parties, creation time, area.

    Raises:
        InvalidInputError: An award or rejection naming no bid given or none of its MTUs, or an
            id too long for the document, every one at once.
    """
    raise_export_issues(_issues(bids, awards, rejections))
    ns = ALLOCATION_NAMESPACE
    root = etree.Element(f"{{{ns}}}{ROOT}", nsmap={None: ns})
    named = {a.bid_id for a in awards} | {r.bid_id for r in rejections}
    cleared = sorted((b for b in bids if b.id in named), key=lambda b: b.id)
    if not cleared:
        raise_export_issues(
            [
                export_issue(
                    ROOT,
                    header.document_id,
                    "awards",
                    0,
                    "the result names no bid: nothing to write",
                )
            ]
        )
    span = Interval(
        start=min(b.delivery.start for b in cleared), end=max(b.delivery.end for b in cleared)
    )
    write_header(
        root, ns, header, MESSAGE_TYPE, period_name="reserveBid_Period.timeInterval", period=span
    )
    child(root, ns, "domain.mRID", header.domain_id).set("codingScheme", "A01")
    by_bid: dict[str, dict[str, Award]] = {}
    for award in awards:
        by_bid.setdefault(award.bid_id, {})[award.mtu] = award
    rejected = {r.bid_id: r for r in rejections}
    for bid in cleared:
        ts = _series(root, ns, bid, header, coding_scheme, business_type)
        won = by_bid.get(bid.id, {})
        mtus = [
            mq.interval for mq in bid.quantities if not won or mq.interval.start.isoformat() in won
        ]
        for run in group_runs(mtus):
            points = write_period(ts, ns, [mtus[i] for i in run])
            for point, i in zip(points, run, strict=True):
                got = won.get(mtus[i].start.isoformat())
                child(point, ns, "quantity", decimal_text(got.quantity_mw if got else 0.0))
                if got is not None:
                    child(point, ns, "price.amount", decimal_text(got.price_eur_per_mwh))
                    child(point, ns, "financial_Price.amount", decimal_text(got.payment_eur))
        if bid.id in rejected:
            r = rejected[bid.id]
            _reason(ts, ns, "B09", f"{r.reason.value}: {r.detail}")
        else:
            _reason(ts, ns, "A73", "Bid accepted")
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Exported(xml=bytes(xml), root=ROOT)


def _read_series(
    r: Reader,
    path: str,
    ts: etree._Element,
) -> tuple[list[Award], Rejection | None]:
    n_before = len(r.problems)
    bid_id = r.text(ts, path, "mRID")
    r.code(ts, path, "quantity_Measurement_Unit.name", {"MAW": "MAW"})
    r.code(ts, path, "flowDirection.direction", DIRECTIONS)
    points = read_periods(r, ts, path)
    reasons = [
        (rp, r.text(el, rp, "code", max_chars=3), (el.findtext(r.tag("text")) or ""))
        for rp, el in r.children(ts, path, "Reason")
    ]
    rejection = None
    for rp, code, text in reasons:
        if code == "B09":
            key, _, detail = text.partition(": ")
            if key not in _REASONS:
                r.problem(
                    f"{rp}/text",
                    f"starts with {key!r}, not a flexcoord rejection "
                    f"reason ({', '.join(sorted(_REASONS))})",
                    "A59",
                )
            elif bid_id is not None:
                rejection = Rejection(bid_id=bid_id, reason=_REASONS[key], detail=detail)
    awards = []
    for qpath, interval, point in points:
        quantity = r.decimal(point, qpath, "quantity")
        if quantity is None or quantity == 0 or bid_id is None:
            continue
        price = r.decimal(point, qpath, "price.amount")
        payment = r.decimal(point, qpath, "financial_Price.amount")
        if quantity < 0:
            r.problem(f"{qpath}/quantity", f"is {quantity}, must be >= 0", "A42")
        if price is not None and payment is not None:
            awards.append(
                Award(
                    bid_id=bid_id,
                    mtu=Mtu(interval.start).label,
                    quantity_mw=quantity,
                    price_eur_per_mwh=price,
                    payment_eur=payment,
                )
            )
    if rejection is not None and awards:
        r.problem(path, "has accepted quantities and a B09 (bid not accepted) reason", "A42")
    if len(r.problems) > n_before:
        return [], None
    return awards, rejection


def read_allocation(root: etree._Element) -> ReadOutcome[AllocationResult]:
    """The awards and rejections of a parsed ReserveAllocationResult_MarketDocument."""
    r = Reader(ALLOCATION_NAMESPACE)
    if root.tag != r.tag(ROOT):
        r.problem(etree.QName(root).localname, f"is not a {ROOT} of {ALLOCATION_NAMESPACE}")
        return ReadOutcome(None, None, (), r.problems)
    header, kind, _ = read_header(
        r, root, {MESSAGE_TYPE: MESSAGE_TYPE}, period_name="reserveBid_Period.timeInterval"
    )
    awards: list[Award] = []
    rejections: list[Rejection] = []
    for path, ts in r.children(root, "", "TimeSeries"):
        got, rejection = _read_series(r, path, ts)
        awards += got
        rejections += [rejection] if rejection is not None else []
    result = AllocationResult(
        awards=tuple(sorted(awards, key=lambda a: (a.bid_id, a.mtu))),
        rejections=tuple(sorted(rejections, key=lambda x: x.bid_id)),
    )
    return ReadOutcome(header, kind, (result,), r.problems)
