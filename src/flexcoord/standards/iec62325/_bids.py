"""Bids ↔ ReserveBid_MarketDocument (IEC 62325-451-7, version 7.4).

One ``Bid_TimeSeries`` per bid:

=============================  ==========================================================
flexcoord ``Bid``              ``Bid_TimeSeries``
=============================  ==========================================================
``id``                         ``mRID``
``product_id``                 ``auction.mRID`` (the market product the bid is for)
``fsp_id``                     ``provider_MarketParticipant.mRID`` (at most 16 characters)
``resource_id``                ``registeredResource.mRID``
``direction``                  ``flowDirection.direction`` (``A01`` up, ``A02`` down)
``divisible``                  ``divisible`` (``A01`` yes, ``A02`` no)
``block``                      ``blockBid``
``exclusive_set``              ``exclusiveBidsIdentification``
``parent_bid_id`` (linked)     ``Linked_BidTimeSeries/mRID``
``quantities``                 ``Period`` (one per run of contiguous MTUs of one length),
                               ``Point/quantity.quantity`` in MW (``MAW``)
``min_acceptance``             ``Point/minimum_Quantity.quantity``
``availability_price_…``       ``Point/price.amount`` (EUR per MW and hour, ``MAW``)
``activation_price_…``         ``Point/energy_Price.amount`` (EUR per MWh, ``MWH``)
``submitted_at``               the document's ``createdDateTime`` (one for all its bids)
``q_mvar_per_mw``              not carried (the document has no reactive ratio)
=============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from lxml import etree

from flexcoord.domain import Bid, Direction, Interval
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.errors import InvalidInputError, Issue
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
from flexcoord.standards.iec62325._periods import (
    MAX_POSITION,
    group_runs,
    read_periods,
    write_period,
)
from flexcoord.standards.iec62325._xml import child, decimal_text

__all__ = ["RESERVE_BID_NAMESPACE", "read_reserve_bids", "reserve_bid_document"]

RESERVE_BID_NAMESPACE: Final = "urn:iec62325.351:tc57wg16:451-7:reservebiddocument:7:4"
ROOT: Final = "ReserveBid_MarketDocument"
#: A37 reserve tender document (what TSOs' balancing platforms read); A24 bid document.
MESSAGE_TYPES: Final = {"A37": "A37", "A24": "A24"}
DIRECTIONS: Final = {"A01": Direction.UP, "A02": Direction.DOWN}
_DIRECTION_CODE: Final = {d: c for c, d in DIRECTIONS.items()}
INDICATORS: Final = {"A01": True, "A02": False}


def _yes_no(value: bool) -> str:
    return "A01" if value else "A02"


def _bid_issues(bid: Bid) -> list[Issue]:
    """What of ``bid`` the document cannot hold at all (the export stops)."""
    issues = []
    limits = {
        "id": (bid.id, ID_CHARS),
        "fsp_id": (bid.fsp_id, PARTY_ID_CHARS),
        "resource_id": (bid.resource_id, ID_CHARS),
        "product_id": (bid.product_id, ID_CHARS),
        "exclusive_set": (bid.exclusive_set, ID_CHARS),
        "parent_bid_id": (bid.parent_bid_id, ID_CHARS),
    }
    for name, (value, limit) in limits.items():
        if value is not None and len(value) > limit:
            issues.append(
                export_issue(
                    "Bid",
                    bid.id,
                    name,
                    value,
                    f"is longer than the {limit} characters of the document",
                )
            )
    for i, mq in enumerate(bid.quantities):
        for bound in (mq.interval.start, mq.interval.end):
            if bound.second or bound.microsecond:
                issues.append(
                    export_issue(
                        "Bid",
                        bid.id,
                        f"quantities[{i}].interval",
                        str(mq.interval),
                        "must start and end on whole minutes",
                    )
                )
                break
    if len(bid.quantities) > MAX_POSITION:
        issues.append(
            export_issue(
                "Bid", bid.id, "quantities", len(bid.quantities), f"more than {MAX_POSITION} MTUs"
            )
        )
    return issues


def _not_carried(bid: Bid, header: Header) -> list[str]:
    lost = []
    if bid.q_mvar_per_mw is not None:
        lost.append(
            f"Bid {bid.id!r}: q_mvar_per_mw={bid.q_mvar_per_mw} is not carried "
            "(a ReserveBid_MarketDocument has no reactive ratio)"
        )
    if bid.submitted_at != header.created_at:
        lost.append(
            f"Bid {bid.id!r}: submitted_at={bid.submitted_at.isoformat()} is not carried "
            f"(the document's createdDateTime {header.created_at.isoformat()} stands "
            "for it)"
        )
    return lost


def _write_bid(  # noqa: PLR0913 - one series: where, the bid, header and two codes
    root: etree._Element, ns: str, bid: Bid, header: Header, scheme: str, business_type: str
) -> None:
    ts = child(root, ns, "Bid_TimeSeries")
    child(ts, ns, "mRID", bid.id)
    child(ts, ns, "auction.mRID", bid.product_id)
    child(ts, ns, "businessType", business_type)
    for name in ("acquiring_Domain.mRID", "connecting_Domain.mRID"):
        child(ts, ns, name, header.domain_id).set("codingScheme", "A01")
    child(ts, ns, "provider_MarketParticipant.mRID", bid.fsp_id).set("codingScheme", scheme)
    child(ts, ns, "quantity_Measurement_Unit.name", "MAW")
    child(ts, ns, "currency_Unit.name", "EUR")
    if bid.availability_price_eur_per_mw_h is not None:
        child(ts, ns, "price_Measurement_Unit.name", "MAW")
    child(ts, ns, "divisible", _yes_no(bid.divisible))
    if bid.exclusive_set is not None:
        child(ts, ns, "exclusiveBidsIdentification", bid.exclusive_set)
    child(ts, ns, "blockBid", _yes_no(bid.block))
    child(ts, ns, "registeredResource.mRID", bid.resource_id).set("codingScheme", scheme)
    child(ts, ns, "flowDirection.direction", _DIRECTION_CODE[bid.direction])
    if bid.activation_price_eur_per_mwh is not None:
        child(ts, ns, "energyPrice_Measurement_Unit.name", "MWH")
    intervals = [mq.interval for mq in bid.quantities]
    for run in group_runs(intervals):
        points = write_period(ts, ns, [intervals[i] for i in run])
        for point, i in zip(points, run, strict=True):
            child(point, ns, "quantity.quantity", decimal_text(bid.quantities[i].quantity))
            if bid.min_acceptance is not None:
                child(point, ns, "minimum_Quantity.quantity", decimal_text(bid.min_acceptance))
            if bid.availability_price_eur_per_mw_h is not None:
                child(point, ns, "price.amount", decimal_text(bid.availability_price_eur_per_mw_h))
            if bid.activation_price_eur_per_mwh is not None:
                child(
                    point, ns, "energy_Price.amount", decimal_text(bid.activation_price_eur_per_mwh)
                )
    if bid.parent_bid_id is not None:
        linked = child(ts, ns, "Linked_BidTimeSeries")
        child(linked, ns, "mRID", bid.parent_bid_id)


def reserve_bid_document(
    bids: Sequence[Bid],
    header: Header,
    *,
    coding_scheme: str = "A01",
    business_type: str = "B74",
    message_type: str = "A37",
) -> Exported:
    """The bids as a ReserveBid_MarketDocument.

    Args:
        bids: The bids (one ``Bid_TimeSeries`` each, in the order given).
        header: Document id, parties, creation time (it stands for every bid's
            ``submitted_at``), area.
        coding_scheme: The scheme of the FSP and resource codes (``A01`` EIC, ``A10`` GS1,
            ``N`` + country for a national scheme).
        business_type: ``B74`` (offer).
        message_type: ``A37`` (reserve tender document) or ``A24`` (bid document).

    Raises:
        InvalidInputError: A value the document cannot hold (an id too long, an MTU not on
            whole minutes, no bids), every one at once.
    """
    issues = [i for bid in bids for i in _bid_issues(bid)]
    if not bids:
        issues.append(
            export_issue(
                "ReserveBid_MarketDocument",
                header.document_id,
                "bids",
                0,
                "must hold at least one bid",
            )
        )
    raise_export_issues(issues)
    ns = RESERVE_BID_NAMESPACE
    root = etree.Element(f"{{{ns}}}{ROOT}", nsmap={None: ns})
    span = Interval(
        start=min(b.delivery.start for b in bids), end=max(b.delivery.end for b in bids)
    )
    write_header(
        root, ns, header, message_type, period_name="reserveBid_Period.timeInterval", period=span
    )
    child(root, ns, "domain.mRID", header.domain_id).set("codingScheme", "A01")
    for bid in bids:
        _write_bid(root, ns, bid, header, coding_scheme, business_type)
    lost = [line for bid in bids for line in _not_carried(bid, header)]
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Exported(xml=bytes(xml), root=ROOT, not_carried=tuple(lost))


def _one_value(
    r: Reader, points: list[tuple[str, Interval, etree._Element]], name: str, what: str
) -> float | None:
    """The value of ``name`` that every point holds (a flexcoord bid has one), or ``None``."""
    values = [(path, r.decimal(p, path, name, required=False)) for path, _, p in points]
    present = [(path, v) for path, v in values if v is not None]
    if not present:
        return None
    if len(present) != len(values) or len({v for _, v in present}) > 1:
        where = present[0][0].rsplit("/Period", 1)[0]
        r.problem(
            f"{where}/Period/Point/{name}",
            f"differs between points: a flexcoord bid has one {what} for all its MTUs",
            "A59",
        )
        return None
    return present[0][1]


def _read_bid(r: Reader, path: str, ts: etree._Element, submitted_at: datetime) -> Bid | None:
    n_before = len(r.problems)
    bid_id = r.text(ts, path, "mRID")
    product = r.text(ts, path, "auction.mRID")
    fsp = r.party(ts, path, "provider_MarketParticipant.mRID")
    resource = r.party(ts, path, "registeredResource.mRID", max_chars=ID_CHARS)
    r.code(ts, path, "quantity_Measurement_Unit.name", {"MAW": "MAW"})
    r.code(ts, path, "currency_Unit.name", {"EUR": "EUR"}, required=False)
    divisible = r.code(ts, path, "divisible", INDICATORS)
    block = r.code(ts, path, "blockBid", INDICATORS, required=False)
    exclusive = r.text(ts, path, "exclusiveBidsIdentification", required=False)
    direction = r.code(ts, path, "flowDirection.direction", DIRECTIONS)
    points = read_periods(r, ts, path)
    linked = r.children(ts, path, "Linked_BidTimeSeries")
    if len(linked) > 1:
        r.problem(
            f"{path}/Linked_BidTimeSeries",
            "appears more than once: a flexcoord bid is linked to at most one parent",
            "A59",
        )
    parent = r.text(linked[0][1], linked[0][0], "mRID") if linked else None
    quantities = [(path_, r.decimal(p, path_, "quantity.quantity")) for path_, _, p in points]
    for qpath, q in quantities:
        if q is not None and q <= 0:
            r.problem(f"{qpath}/quantity.quantity", f"is {q}: a bid offers > 0 MW", "A42")
    minimum = _one_value(r, points, "minimum_Quantity.quantity", "minimum quantity")
    availability = _one_value(r, points, "price.amount", "availability price")
    activation = _one_value(r, points, "energy_Price.amount", "activation price")
    if len(r.problems) > n_before:
        return None
    try:
        return Bid(
            id=bid_id,  # type: ignore[arg-type]
            fsp_id=fsp,  # type: ignore[arg-type]
            resource_id=resource,  # type: ignore[arg-type]
            product_id=product,  # type: ignore[arg-type]
            direction=direction,  # type: ignore[arg-type]
            quantities=tuple(
                MtuQuantity(interval=iv, quantity=q)  # type: ignore[arg-type]
                for (_, iv, _), (_, q) in zip(points, quantities, strict=True)
            ),
            submitted_at=submitted_at,
            availability_price_eur_per_mw_h=availability,
            activation_price_eur_per_mwh=activation,
            divisible=divisible,  # type: ignore[arg-type]
            min_acceptance=minimum,
            exclusive_set=exclusive,
            parent_bid_id=parent,
            block=bool(block),
        )
    except InvalidInputError as err:
        for issue in err.issues:
            r.problem(path, f"{issue.field}={issue.value!r} {issue.message}", _code_of(issue))
        return None


def _code_of(issue: Issue) -> str:
    field = issue.field or ""
    if field.startswith(("quantities", "quantity")) or field == "min_acceptance":
        return "A42"
    return "A59"


def read_reserve_bids(
    root: etree._Element,
    *,
    gate_closure: datetime | None = None,
) -> ReadOutcome[Bid]:
    """The bids of a parsed ReserveBid_MarketDocument, or the problems that reject it."""
    r = Reader(RESERVE_BID_NAMESPACE)
    if root.tag != r.tag(ROOT):
        r.problem(etree.QName(root).localname, f"is not a {ROOT} of {RESERVE_BID_NAMESPACE}")
        return ReadOutcome(None, None, (), r.problems)
    header, message_type, _ = read_header(
        r, root, MESSAGE_TYPES, period_name="reserveBid_Period.timeInterval"
    )
    if header is not None and gate_closure is not None and header.created_at > gate_closure:
        r.problem(
            "createdDateTime",
            f"{header.created_at.isoformat()} is after the gate closure {gate_closure.isoformat()}",
            "A57",
        )
    bids = []
    for path, ts in r.children(root, "", "Bid_TimeSeries"):
        if header is None:
            break
        bid = _read_bid(r, path, ts, header.created_at)
        if bid is not None:
            bids.append(bid)
    seen: dict[str, int] = {}
    for i, bid in enumerate(bids, start=1):
        if bid.id in seen:
            r.problem(
                f"Bid_TimeSeries[{i}]/mRID",
                f"{bid.id!r} is also the mRID of another Bid_TimeSeries",
                "A55",
            )
        seen[bid.id] = i
    return ReadOutcome(header, message_type, tuple(bids), r.problems)
