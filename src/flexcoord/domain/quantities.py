"""Quantities per market time unit (MTU), shared by needs and bids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flexcoord.domain.time import Interval
from flexcoord.domain.validation import IssueCollector

__all__ = ["MtuQuantity"]


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class MtuQuantity:
    """A non-negative quantity over one MTU, in the unit of the product (MW or Mvar).

    Example:
        >>> from datetime import datetime, UTC
        >>> q = MtuQuantity(interval=Interval(start=datetime(2026, 6, 1, 10, tzinfo=UTC),
        ...                                   end=datetime(2026, 6, 1, 10, 15, tzinfo=UTC)),
        ...                 quantity=1.5)
        >>> q.quantity
        1.5
    """

    interval: Interval
    quantity: float

    def __post_init__(self) -> None:
        c = IssueCollector("MtuQuantity", str(self.interval))
        c.check(
            isinstance(self.interval, Interval), "interval", self.interval, "must be an Interval"
        )
        c.non_negative("quantity", self.quantity)
        c.raise_if_any()


def _build_one(item: object) -> MtuQuantity:
    if isinstance(item, MtuQuantity):
        return item
    assert isinstance(item, Mapping)
    c = IssueCollector("MtuQuantity", repr(item))
    interval = item.get("interval")
    if interval is None:
        if "start" not in item or "end" not in item:
            c.add("interval", None, "needs 'interval' or 'start' and 'end'")
        else:
            interval = c.absorb("interval", lambda: Interval(start=item["start"], end=item["end"]))
    if "quantity" not in item:
        c.add("quantity", None, "is required")
    c.raise_if_any()
    return MtuQuantity(interval=interval, quantity=item["quantity"])  # type: ignore[arg-type]


def collect_quantities(
    c: IssueCollector, field: str, value: object, *, positive: bool
) -> tuple[MtuQuantity, ...]:
    """Check (and build from mappings) the MTU quantities of a need or bid, filing issues on ``c``.

    The quantities must be non-empty, in time order and non-overlapping; each quantity must be
    >= 0, or > 0 when ``positive``.
    """
    n_issues = len(c.issues)
    items = c.collection(field, value)
    if not items:
        if len(c.issues) == n_issues:  # a collection, but an empty one
            c.add(field, value, "must hold at least one MTU")
        return ()
    built: list[MtuQuantity] = []
    for i, item in enumerate(items):
        if not isinstance(item, MtuQuantity | Mapping):
            c.add(
                f"{field}[{i}]", item, "must be an MtuQuantity or a mapping (start, end, quantity)"
            )
            continue
        mq = c.absorb(f"{field}[{i}]", lambda item=item: _build_one(item))  # type: ignore[misc]
        if mq is None:
            continue
        if positive:
            c.check(mq.quantity > 0, f"{field}[{i}].quantity", mq.quantity, "must be > 0")
        if built and built[-1].interval.end > mq.interval.start:
            c.add(
                f"{field}[{i}].interval",
                str(mq.interval),
                f"overlaps or precedes the previous MTU {built[-1].interval}",
            )
        built.append(mq)
    return tuple(built)
