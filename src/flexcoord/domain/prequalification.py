"""Prequalification records: may this resource deliver this product, and may the grid take it?

* :class:`ProductPrequalification` — technical capability of a unit or group to deliver a
  product, granted by the procuring system operator (often common to several operators).
* :class:`GridPrequalification` — whether the grid of an impacted system operator can take the
  resource's flexibility, with a traffic light and, when conditional, limits (often dedicated).

A record is usable at ``t`` (``is_valid_at(t)``) when its status allows participation
(qualified or conditional), ``t`` lies in its validity interval and ``t`` is not inside a
suspension ``[suspended_from, suspended_until)`` (open-ended when ``suspended_until`` is ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flexcoord.domain.time import Interval
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.domain.vocabulary import (
    Direction,
    PrequalificationScope,
    PrequalificationStatus,
    TrafficLight,
)

__all__ = ["GridPrequalification", "ProductPrequalification"]


def _check_common(
    c: IssueCollector, record: ProductPrequalification | GridPrequalification
) -> tuple[datetime | None, datetime | None]:
    """Check id, resource, validity and suspension; return the suspension bounds in UTC."""
    c.identifier("id", record.id)
    c.identifier("resource_id", record.resource_id)
    c.check(isinstance(record.valid, Interval), "valid", record.valid, "must be an Interval")
    start = end = None
    if record.suspended_from is not None:
        start = c.utc("suspended_from", record.suspended_from)
    if record.suspended_until is not None:
        end = c.utc("suspended_until", record.suspended_until)
        c.check(
            record.suspended_from is not None,
            "suspended_until",
            record.suspended_until,
            "needs suspended_from",
        )
    if start is not None and end is not None:
        c.check(start < end, "suspended_until", end, "must be after suspended_from")
    return start, end


def _is_valid_at(record: ProductPrequalification | GridPrequalification, t: datetime) -> bool:
    if not record.status.allows_participation or not record.valid.contains(t):
        return False
    if record.suspended_from is None:
        return True
    suspended = record.suspended_from <= t and (
        record.suspended_until is None or t < record.suspended_until
    )
    return not suspended


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductPrequalification:
    """A resource's product prequalification, granted by the procuring system operator.

    Attributes:
        id: Record id.
        resource_id: The unit or group qualified.
        product_id: The product it may deliver.
        procuring_operator_id: The system operator that granted it (and buys the product).
        scope: ``COMMON`` (recognised by several operators) or ``DEDICATED`` (only the granter).
        status: Qualified, conditional, not qualified or suspended.
        valid: Validity interval.
        suspended_from: Start of a suspension, or ``None``.
        suspended_until: End of the suspension (exclusive), or ``None`` for open-ended.

    Example:
        >>> from datetime import datetime, UTC
        >>> pq = ProductPrequalification(
        ...     id="pq-1", resource_id="u-1", product_id="p-da", procuring_operator_id="dso-1",
        ...     scope="common", status="qualified",
        ...     valid=Interval(start=datetime(2026, 1, 1, tzinfo=UTC),
        ...                    end=datetime(2027, 1, 1, tzinfo=UTC)),
        ...     suspended_from=datetime(2026, 7, 1, tzinfo=UTC))
        >>> pq.is_valid_at(datetime(2026, 6, 1, tzinfo=UTC))
        True
        >>> pq.is_valid_at(datetime(2026, 8, 1, tzinfo=UTC))
        False
    """

    id: str
    resource_id: str
    product_id: str
    procuring_operator_id: str
    scope: PrequalificationScope
    status: PrequalificationStatus
    valid: Interval
    suspended_from: datetime | None = None
    suspended_until: datetime | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("ProductPrequalification", self.id)
        c.identifier("product_id", self.product_id)
        c.identifier("procuring_operator_id", self.procuring_operator_id)
        scope = c.enum("scope", self.scope, PrequalificationScope)
        status = c.enum("status", self.status, PrequalificationStatus)
        suspended_from, suspended_until = _check_common(c, self)
        c.raise_if_any()
        set_field(self, "scope", scope)
        set_field(self, "status", status)
        set_field(self, "suspended_from", suspended_from)
        set_field(self, "suspended_until", suspended_until)

    def is_valid_at(self, t: datetime) -> bool:
        """Whether the resource may deliver the product at the aware instant ``t``."""
        return _is_valid_at(self, t)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridPrequalification:
    """A resource's grid prequalification by one impacted system operator.

    Attributes:
        id: Record id.
        resource_id: The unit or group assessed.
        impacted_operator_id: The system operator whose grid was assessed.
        status: Qualified, conditional (limits apply), not qualified or suspended.
        light: Traffic light of the assessment, or ``None``. RED goes only with not qualified or
            suspended; AMBER only with conditional.
        max_up_mw: Most UP flexibility the grid takes (>= 0), or ``None`` for no limit.
        max_down_mw: Most DOWN flexibility the grid takes (>= 0), or ``None`` for no limit.
            A conditional record has at least one limit.
        valid: Validity interval.
        suspended_from: Start of a suspension, or ``None``.
        suspended_until: End of the suspension (exclusive), or ``None`` for open-ended.

    Example:
        >>> from datetime import datetime, UTC
        >>> from flexcoord.domain import Direction
        >>> gpq = GridPrequalification(
        ...     id="gpq-1", resource_id="u-1", impacted_operator_id="dso-1",
        ...     status="conditional", light="amber", max_up_mw=0.5,
        ...     valid=Interval(start=datetime(2026, 1, 1, tzinfo=UTC),
        ...                    end=datetime(2027, 1, 1, tzinfo=UTC)))
        >>> gpq.limit_mw(Direction.UP), gpq.limit_mw(Direction.DOWN)
        (0.5, None)
    """

    id: str
    resource_id: str
    impacted_operator_id: str
    status: PrequalificationStatus
    valid: Interval
    light: TrafficLight | None = None
    max_up_mw: float | None = None
    max_down_mw: float | None = None
    suspended_from: datetime | None = None
    suspended_until: datetime | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("GridPrequalification", self.id)
        c.identifier("impacted_operator_id", self.impacted_operator_id)
        light = None if self.light is None else c.enum("light", self.light, TrafficLight)
        for name in ("max_up_mw", "max_down_mw"):
            value = getattr(self, name)
            if value is not None:
                c.non_negative(name, value)
        status = c.enum("status", self.status, PrequalificationStatus)
        if status is PrequalificationStatus.CONDITIONAL:
            c.check(
                self.max_up_mw is not None or self.max_down_mw is not None,
                "max_up_mw",
                None,
                "or max_down_mw is required for a conditional grid prequalification",
            )
        if light is TrafficLight.RED and status is not None:
            c.check(
                not status.allows_participation,
                "light",
                light,
                f"contradicts status {status}: red means not qualified or suspended",
            )
        if light is TrafficLight.AMBER and status is not None:
            c.check(
                status is PrequalificationStatus.CONDITIONAL,
                "light",
                light,
                f"contradicts status {status}: amber means conditional (with limits)",
            )
        suspended_from, suspended_until = _check_common(c, self)
        c.raise_if_any()
        set_field(self, "status", status)
        set_field(self, "light", light)
        set_field(self, "suspended_from", suspended_from)
        set_field(self, "suspended_until", suspended_until)

    def is_valid_at(self, t: datetime) -> bool:
        """Whether the grid takes the resource's flexibility at the aware instant ``t``."""
        return _is_valid_at(self, t)

    def limit_mw(self, direction: Direction) -> float | None:
        """The limit in ``direction``, or ``None`` when the grid sets none."""
        return self.max_up_mw if direction is Direction.UP else self.max_down_mw
