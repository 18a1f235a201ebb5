"""An activation order's lifecycle as immutable events, and the BRPs' notifications.

Lifecycle (each order's events in time order)::

    ordered → acknowledged → delivered | partially_delivered | failed
    ordered → failed                      (never acknowledged: the order failed)

The three outcomes are terminal: nothing follows them. An order's first event is ``ordered``;
an event earlier than the order's previous one is rejected. :class:`OrderLog` is a value: each
:meth:`OrderLog.append` returns a new log and leaves the old one as it was; an illegal event is
an :class:`~flexcoord.errors.InvalidInputError` naming the order, and the log is unchanged.

BRP notification: the register holds no link from a unit to its balance responsible party, so
:func:`brp_notifications` takes one (``brp_of_unit``); every ordered unit must have one. The
energy is signed as the domain's power: positive = more injection (an UP order), negative = less
(a DOWN order), so a BRP adds it to its perimeter's position as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flexcoord.domain import Direction, Interval
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.operations.activation import ActivationOrder, OrderId

__all__ = [
    "BrpNotification",
    "OrderEvent",
    "OrderLog",
    "OrderStatus",
    "brp_notifications",
    "ordered_events",
]


class OrderStatus(StrEnum):
    """Where an activation order stands."""

    ORDERED = "ordered"
    ACKNOWLEDGED = "acknowledged"
    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partially_delivered"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """Whether nothing may follow (delivered, partially delivered, failed)."""
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.PARTIALLY_DELIVERED, OrderStatus.FAILED})
#: The statuses each status may be followed by (``None``: an order with no event yet).
_NEXT: Mapping[OrderStatus | None, frozenset[OrderStatus]] = {
    None: frozenset({OrderStatus.ORDERED}),
    OrderStatus.ORDERED: frozenset({OrderStatus.ACKNOWLEDGED, OrderStatus.FAILED}),
    OrderStatus.ACKNOWLEDGED: _TERMINAL,
    **{s: frozenset() for s in _TERMINAL},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent:
    """One step of an order's lifecycle.

    Attributes:
        order_id: The order.
        status: The status the order enters.
        at: When (aware; stored in UTC).
        detail: Free text (e.g. the FSP's acknowledgement reference, why it failed).
    """

    order_id: OrderId
    status: OrderStatus
    at: datetime
    detail: str = ""

    def __post_init__(self) -> None:
        c = IssueCollector("OrderEvent", str(self.order_id))
        status = c.enum("status", self.status, OrderStatus)
        at = c.utc("at", self.at)
        c.raise_if_any()
        set_field(self, "status", status)
        set_field(self, "at", at)


@dataclass(frozen=True, slots=True)
class OrderLog:
    """Every order's events, checked against the lifecycle; a value (appending makes a new log).

    Example:
        >>> from datetime import datetime, UTC
        >>> from flexcoord.coordination.identities import Mtu
        >>> t = datetime(2026, 6, 1, 10, tzinfo=UTC)
        >>> oid = OrderId("b1", "u1", Mtu(t))
        >>> log = OrderLog().append(OrderEvent(order_id=oid, status="ordered", at=t))
        >>> from flexcoord.errors import InvalidInputError
        >>> try:
        ...     log.append(OrderEvent(order_id=oid, status="delivered", at=t))
        ... except InvalidInputError as err:
        ...     print(err.issues[0].message)
        cannot follow ordered (allowed: acknowledged, failed)
        >>> log.status(oid)
        <OrderStatus.ORDERED: 'ordered'>
    """

    events: tuple[OrderEvent, ...] = ()
    _last: dict[OrderId, OrderEvent] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        events = tuple(self.events)
        last: dict[OrderId, OrderEvent] = {}
        issues: list[Issue] = []
        for event in events:
            issue = _transition_issue(last.get(event.order_id), event)
            if issue is None:
                last[event.order_id] = event
            else:
                issues.append(issue)
        if issues:
            raise InvalidInputError(issues)
        set_field(self, "events", events)
        set_field(self, "_last", last)

    def append(self, event: OrderEvent) -> OrderLog:
        """A new log with ``event`` added.

        Raises:
            InvalidInputError: If the lifecycle does not allow ``event`` after the order's
                previous one.
        """
        return self.extend((event,))

    def extend(self, events: Iterable[OrderEvent]) -> OrderLog:
        """A new log with ``events`` added in order (all or none).

        Raises:
            InvalidInputError: Every event the lifecycle does not allow.
        """
        new = tuple(events)
        last = dict(self._last)
        issues: list[Issue] = []
        for event in new:
            issue = _transition_issue(last.get(event.order_id), event)
            if issue is None:
                last[event.order_id] = event
            else:
                issues.append(issue)
        if issues:
            raise InvalidInputError(issues)
        log = object.__new__(OrderLog)
        set_field(log, "events", self.events + new)
        set_field(log, "_last", last)
        return log

    def status(self, order_id: OrderId) -> OrderStatus:
        """The order's current status.

        Raises:
            NotFoundError: If the log holds no event of the order.
        """
        event = self._last.get(order_id)
        if event is None:
            raise NotFoundError(f"order {order_id} has no event in the log")
        return event.status

    def history(self, order_id: OrderId) -> tuple[OrderEvent, ...]:
        """The order's events, in the order they were logged."""
        return tuple(e for e in self.events if e.order_id == order_id)

    @property
    def order_ids(self) -> tuple[OrderId, ...]:
        """Every order with an event, sorted."""
        return tuple(sorted(self._last))


def _transition_issue(previous: OrderEvent | None, event: OrderEvent) -> Issue | None:
    before = None if previous is None else previous.status
    allowed = _NEXT[before]

    def issue(field: str, value: object, message: str) -> Issue:
        return Issue(
            kind="OrderEvent",
            object_id=str(event.order_id),
            field=field,
            value=value,
            message=message,
        )

    if event.status not in allowed:
        if not allowed:
            return issue("status", event.status, f"cannot follow the terminal status {before}")
        names = ", ".join(sorted(allowed))
        after = "an order's first event" if before is None else f"follow {before}"
        verb = "must be" if before is None else "cannot"
        return issue("status", event.status, f"{verb} {after} (allowed: {names})")
    if previous is not None and event.at < previous.at:
        return issue("at", event.at, f"is before the order's previous event at {previous.at}")
    return None


def ordered_events(orders: Iterable[ActivationOrder]) -> tuple[OrderEvent, ...]:
    """The ``ordered`` event of each order, at its ``issued_at``."""
    return tuple(
        OrderEvent(order_id=o.id, status=OrderStatus.ORDERED, at=o.issued_at) for o in orders
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BrpNotification:
    """What a BRP is told of an activation in its perimeter.

    Attributes:
        brp_id: The BRP responsible for the unit's connection point.
        order_id: The activation order.
        unit_id: The unit activated.
        interval: The MTU.
        energy_mwh: Signed energy of the order: > 0 more injection (UP), < 0 less (DOWN).
    """

    brp_id: str
    order_id: OrderId
    unit_id: str
    interval: Interval
    energy_mwh: float


def brp_notifications(
    orders: Iterable[ActivationOrder], brp_of_unit: Mapping[str, str]
) -> tuple[BrpNotification, ...]:
    """One notification per order, to the BRP of the ordered unit.

    Raises:
        InvalidInputError: For every ordered unit ``brp_of_unit`` has no BRP for.
    """
    out = []
    missing: dict[str, Issue] = {}
    for order in orders:
        brp_id = brp_of_unit.get(order.unit_id)
        if brp_id is None:
            missing[order.unit_id] = Issue(
                kind="Unit",
                object_id=order.unit_id,
                field="brp_of_unit",
                value=order.unit_id,
                message="has no BRP to notify",
            )
            continue
        sign = 1.0 if order.direction is Direction.UP else -1.0
        out.append(
            BrpNotification(
                brp_id=brp_id,
                order_id=order.id,
                unit_id=order.unit_id,
                interval=order.interval,
                energy_mwh=sign * order.energy_mwh,
            )
        )
    if missing:
        raise InvalidInputError(missing.values())
    return tuple(out)
