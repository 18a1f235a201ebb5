"""Activation orders and responses ↔ Activation_MarketDocument (IEC 62325-451-7, version 6.4).

One ``TimeSeries`` per order (orders: message type ``A40``, status ``A10`` ordered) or per
response (message type ``A41`` activation response, status ``A07`` activated for an
acknowledged order, ``A11`` unavailable for a failed one):

===========================  ===============================================================
flexcoord                    ``TimeSeries``
===========================  ===============================================================
``bid_id``                   ``mRID`` (with the unit and MTU it names the order:
                             :class:`~flexcoord.operations.OrderId`)
``unit_id``                  ``registeredResource.mRID``
``fsp_id``                   ``resourceProvider_MarketParticipant.mRID`` (at most 16 chars)
``buyer_id``                 ``related_MarketParticipant.mRID`` (at most 16 chars)
``direction``                ``flowDirection.direction``
``interval``, ``quantity``   ``Period`` (one point: the MTU) with ``quantity`` in MW
``energy_mwh``               recomputed: MW times the MTU's hours
``issued_at`` / event ``at`` the document's ``createdDateTime`` (one for all its series)
event ``detail``             ``Reason/text`` (code ``999``), at most 512 characters
===========================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final

from lxml import etree

from flexcoord.coordination.identities import Mtu
from flexcoord.domain import Direction, Interval
from flexcoord.errors import Issue
from flexcoord.operations.activation import ActivationOrder, OrderId
from flexcoord.operations.events import OrderEvent, OrderStatus
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
from flexcoord.standards.iec62325._periods import read_periods, write_period
from flexcoord.standards.iec62325._xml import child, decimal_text

__all__ = [
    "ACTIVATION_NAMESPACE",
    "activation_order_document",
    "activation_response_document",
    "read_activation_orders",
    "read_activation_responses",
]

ACTIVATION_NAMESPACE: Final = "urn:iec62325.351:tc57wg16:451-7:activationdocument:6:4"
ROOT: Final = "Activation_MarketDocument"
ORDER_TYPE: Final = "A40"
RESPONSE_TYPE: Final = "A41"
DIRECTIONS: Final = {"A01": Direction.UP, "A02": Direction.DOWN}
_DIRECTION_CODE: Final = {d: c for c, d in DIRECTIONS.items()}
RESPONSE_STATUS: Final = {"A07": OrderStatus.ACKNOWLEDGED, "A11": OrderStatus.FAILED}
_STATUS_CODE: Final = {s: c for c, s in RESPONSE_STATUS.items()}


def _order_issues(order: ActivationOrder) -> list[Issue]:
    issues = []
    for name, value, limit in (
        ("bid_id", order.bid_id, ID_CHARS),
        ("unit_id", order.unit_id, ID_CHARS),
        ("fsp_id", order.fsp_id, PARTY_ID_CHARS),
        ("buyer_id", order.buyer_id, PARTY_ID_CHARS),
    ):
        if value is not None and len(value) > limit:
            issues.append(
                export_issue(
                    "ActivationOrder",
                    str(order.id),
                    name,
                    value,
                    f"is longer than the {limit} characters of the document",
                )
            )
    for bound in (order.interval.start, order.interval.end):
        if bound.second or bound.microsecond:
            issues.append(
                export_issue(
                    "ActivationOrder",
                    str(order.id),
                    "interval",
                    str(order.interval),
                    "must be on whole minutes",
                )
            )
            break
    return issues


def _write_series(  # noqa: PLR0913 - one series: where, what, and its three codes
    root: etree._Element,
    ns: str,
    order: ActivationOrder,
    header: Header,
    scheme: str,
    business_type: str,
    status: str,
) -> etree._Element:
    ts = child(root, ns, "TimeSeries")
    child(ts, ns, "mRID", order.bid_id)
    child(ts, ns, "resourceProvider_MarketParticipant.mRID", order.fsp_id).set(
        "codingScheme", scheme
    )
    child(ts, ns, "businessType", business_type)
    for name in ("acquiring_Domain.mRID", "connecting_Domain.mRID"):
        child(ts, ns, name, header.domain_id).set("codingScheme", "A01")
    child(ts, ns, "measurement_Unit.name", "MAW")
    if order.buyer_id is not None:
        child(ts, ns, "related_MarketParticipant.mRID", order.buyer_id).set("codingScheme", scheme)
    child(ts, ns, "flowDirection.direction", _DIRECTION_CODE[order.direction])
    child(ts, ns, "marketObjectStatus.status", status)
    child(ts, ns, "registeredResource.mRID", order.unit_id).set("codingScheme", scheme)
    (point,) = write_period(ts, ns, [order.interval])
    child(point, ns, "quantity", decimal_text(order.quantity_mw))
    return ts


def _document(
    orders: Sequence[ActivationOrder],
    header: Header,
    message_type: str,
) -> etree._Element:
    issues = [i for order in orders for i in _order_issues(order)]
    if not orders:
        issues.append(
            export_issue(ROOT, header.document_id, "orders", 0, "must hold at least one order")
        )
    raise_export_issues(issues)
    ns = ACTIVATION_NAMESPACE
    root = etree.Element(f"{{{ns}}}{ROOT}", nsmap={None: ns})
    span = Interval(
        start=min(o.interval.start for o in orders), end=max(o.interval.end for o in orders)
    )
    write_header(
        root,
        ns,
        header,
        message_type,
        period_name="activation_Time_Period.timeInterval",
        period=span,
    )
    child(root, ns, "domain.mRID", header.domain_id).set("codingScheme", "A01")
    return root


def _exported(root: etree._Element, lost: list[str]) -> Exported:
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Exported(xml=bytes(xml), root=ROOT, not_carried=tuple(lost))


def activation_order_document(
    orders: Sequence[ActivationOrder],
    header: Header,
    *,
    coding_scheme: str = "A01",
    business_type: str = "A97",
) -> Exported:
    """Activation orders as an Activation_MarketDocument (type ``A40``, status ``A10``).

    The header's ``created_at`` stands for every order's ``issued_at`` (an order issued at
    another time is listed in ``not_carried``).

    Raises:
        InvalidInputError: An id too long for the document, an MTU not on whole minutes, or no
            orders, every one at once.
    """
    root = _document(orders, header, ORDER_TYPE)
    for order in orders:
        _write_series(
            root, ACTIVATION_NAMESPACE, order, header, coding_scheme, business_type, "A10"
        )
    lost = [
        f"ActivationOrder {str(o.id)!r}: issued_at={o.issued_at.isoformat()} is not carried "
        "(the document's createdDateTime stands for it)"
        for o in orders
        if o.issued_at != header.created_at
    ]
    return _exported(root, lost)


def activation_response_document(
    events: Sequence[OrderEvent],
    orders: Mapping[OrderId, ActivationOrder],
    header: Header,
    *,
    coding_scheme: str = "A01",
    business_type: str = "A97",
) -> Exported:
    """An FSP's answers to orders as an Activation_MarketDocument (type ``A41``).

    Each event must be ``acknowledged`` (status ``A07``) or ``failed`` (``A11``) and name an
    order of ``orders`` (which gives its unit, FSP, direction and quantity). The header's
    ``created_at`` stands for each event's ``at``; a ``detail`` goes in the series' reason text.

    Raises:
        InvalidInputError: An event of another status or of an order not given, and the issues
            of :func:`activation_order_document`.
    """
    issues = []
    for event in events:
        if event.status not in _STATUS_CODE:
            issues.append(
                export_issue(
                    "OrderEvent",
                    str(event.order_id),
                    "status",
                    event.status,
                    "must be acknowledged or failed for a response",
                )
            )
        if event.order_id not in orders:
            issues.append(
                export_issue(
                    "OrderEvent",
                    str(event.order_id),
                    "order_id",
                    str(event.order_id),
                    "names no order given",
                )
            )
    raise_export_issues(issues)
    root = _document([orders[e.order_id] for e in events], header, RESPONSE_TYPE)
    for event in events:
        ts = _write_series(
            root,
            ACTIVATION_NAMESPACE,
            orders[event.order_id],
            header,
            coding_scheme,
            business_type,
            _STATUS_CODE[event.status],
        )
        if event.detail:
            reason = child(ts, ACTIVATION_NAMESPACE, "Reason")
            child(reason, ACTIVATION_NAMESPACE, "code", "999")
            child(reason, ACTIVATION_NAMESPACE, "text", event.detail[:512])
    lost = [
        f"OrderEvent {str(e.order_id)!r}: at={e.at.isoformat()} is not carried (the "
        "document's createdDateTime stands for it)"
        for e in events
        if e.at != header.created_at
    ]
    lost += [
        f"OrderEvent {str(e.order_id)!r}: detail is cut to 512 characters"
        for e in events
        if len(e.detail) > 512
    ]
    return _exported(root, lost)


def _read_series(
    r: Reader,
    path: str,
    ts: etree._Element,
    statuses: Mapping[str, object],
) -> tuple[ActivationOrder, object, str] | None:
    """One series as an order (issued at the epoch: the caller sets the time), its status, and
    its reason text."""
    n_before = len(r.problems)
    bid_id = r.text(ts, path, "mRID")
    fsp = r.party(ts, path, "resourceProvider_MarketParticipant.mRID")
    r.code(ts, path, "measurement_Unit.name", {"MAW": "MAW"})
    buyer = r.party(ts, path, "related_MarketParticipant.mRID", required=False)
    direction = r.code(ts, path, "flowDirection.direction", DIRECTIONS)
    status = r.code(ts, path, "marketObjectStatus.status", statuses)
    unit = r.party(ts, path, "registeredResource.mRID", max_chars=ID_CHARS)
    points = read_periods(r, ts, path)
    if len(points) > 1:
        r.problem(
            f"{path}/Period",
            "holds more than one MTU: flexcoord orders one unit for one MTU per series",
            "A59",
        )
    quantity = r.decimal(points[0][2], points[0][0], "quantity") if points else None
    if quantity is not None and quantity <= 0:
        r.problem(f"{points[0][0]}/quantity", f"is {quantity}, must be > 0", "A42")
    text = " ".join(
        (el.findtext(r.tag("text")) or "").strip() for _, el in r.children(ts, path, "Reason")
    ).strip()
    if len(r.problems) > n_before or not points:
        return None
    interval = points[0][1]
    hours = interval.duration.total_seconds() / 3600.0
    order = ActivationOrder(
        id=OrderId(bid_id, unit, Mtu(interval.start)),  # type: ignore[arg-type]
        bid_id=bid_id,  # type: ignore[arg-type]
        unit_id=unit,  # type: ignore[arg-type]
        fsp_id=fsp,  # type: ignore[arg-type]
        buyer_id=buyer,
        interval=interval,
        direction=direction,  # type: ignore[arg-type]
        quantity_mw=quantity,  # type: ignore[arg-type]
        energy_mwh=quantity * hours,  # type: ignore[operator]
        issued_at=datetime.min,
    )
    return order, status, text


def _read(
    root: etree._Element,
    message_type: str,
    statuses: Mapping[str, object],
) -> tuple[Header | None, str | None, list[tuple[ActivationOrder, object, str]], Reader]:
    r = Reader(ACTIVATION_NAMESPACE)
    if root.tag != r.tag(ROOT):
        r.problem(etree.QName(root).localname, f"is not an {ROOT} of {ACTIVATION_NAMESPACE}")
        return None, None, [], r
    header, kind, _ = read_header(
        r, root, {message_type: message_type}, period_name="activation_Time_Period.timeInterval"
    )
    series = []
    for path, ts in r.children(root, "", "TimeSeries"):
        read = _read_series(r, path, ts, statuses)
        if read is not None:
            series.append(read)
    seen: set[OrderId] = set()
    for i, (order, _, _) in enumerate(series, start=1):
        if order.id in seen:
            r.problem(f"TimeSeries[{i}]", f"orders {order.id} a second time", "A55")
        seen.add(order.id)
    return header, kind, series, r


def read_activation_orders(root: etree._Element) -> ReadOutcome[ActivationOrder]:
    """The orders of a parsed Activation_MarketDocument of type ``A40``."""
    header, kind, series, r = _read(root, ORDER_TYPE, {"A10": "A10"})
    if header is None:
        return ReadOutcome(None, kind, (), r.problems)
    orders = tuple(_issued(order, header.created_at) for order, _, _ in series)
    return ReadOutcome(header, kind, orders, r.problems)


def _issued(order: ActivationOrder, at: datetime) -> ActivationOrder:
    return replace(order, issued_at=at)


def read_activation_responses(root: etree._Element) -> ReadOutcome[OrderEvent]:
    """The FSP's answers (acknowledged or failed events) of an Activation_MarketDocument of
    type ``A41``."""
    header, kind, series, r = _read(root, RESPONSE_TYPE, RESPONSE_STATUS)
    if header is None:
        return ReadOutcome(None, kind, (), r.problems)
    events = tuple(
        OrderEvent(
            order_id=order.id,
            status=status,  # type: ignore[arg-type]
            at=header.created_at,
            detail=text,
        )
        for order, status, text in series
    )
    return ReadOutcome(header, kind, events, r.problems)
