"""Time: timezone-aware UTC instants, half-open intervals and market time units (MTUs).

Every instant in the domain is a timezone-aware ``datetime`` in UTC. Aware datetimes in another
zone are converted to UTC at construction; naive datetimes are rejected, because they cannot be
placed on the time line. A market day is a *local* day of the market time zone: in
Europe/Brussels it has 92 quarter-hours on the spring DST day, 100 on the autumn one, 96 otherwise.

MTU grid alignment is measured from the Unix epoch in UTC. For resolutions up to one hour this
is the same grid as the local one in every zone whose offset is a whole number of hours (all of
continental Europe); it is not for e.g. India (+05:30) with hourly products.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.errors import InvalidInputError, Issue, format_duration

__all__ = [
    "QUARTER_HOUR",
    "Interval",
    "is_on_grid",
    "market_day",
    "market_time_units",
    "mtu_index",
]

QUARTER_HOUR = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _interval_id(start: object, end: object) -> str:
    def fmt(value: object) -> str:
        return value.isoformat() if isinstance(value, datetime) else repr(value)

    return f"[{fmt(start)}, {fmt(end)})"


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Interval:
    """A half-open time interval ``[start, end)`` in UTC.

    Attributes:
        start: First instant inside the interval (timezone-aware; stored in UTC).
        end: First instant after the interval (timezone-aware; stored in UTC); ``end > start``.

    Example:
        >>> from datetime import datetime, UTC
        >>> mtu = Interval(start=datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
        ...                end=datetime(2026, 6, 1, 10, 15, tzinfo=UTC))
        >>> mtu.duration
        datetime.timedelta(seconds=900)
        >>> mtu.contains(mtu.start), mtu.contains(mtu.end)
        (True, False)
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        c = IssueCollector("Interval", _interval_id(self.start, self.end))
        start = c.utc("start", self.start)
        end = c.utc("end", self.end)
        if start is not None and end is not None:
            c.check(start < end, "end", self.end, "must be after start")
        c.raise_if_any()
        set_field(self, "start", start)
        set_field(self, "end", end)

    def __str__(self) -> str:
        return _interval_id(self.start, self.end)

    @property
    def duration(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start

    def contains(self, t: datetime) -> bool:
        """Whether the aware instant ``t`` lies in ``[start, end)``.

        Raises:
            InvalidInputError: If ``t`` is naive.
        """
        return self.start <= _require_aware(t, "t") < self.end

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share at least one instant (touching ends do not)."""
        return self.start < other.end and other.start < self.end

    def covers(self, other: Interval) -> bool:
        """Whether ``other`` lies entirely inside this interval."""
        return self.start <= other.start and other.end <= self.end

    def split(self, resolution: timedelta) -> tuple[Interval, ...]:
        """Cut into consecutive intervals of ``resolution``; the duration must be a multiple.

        Raises:
            InvalidInputError: If ``resolution`` is not positive or does not divide the duration.
        """
        c = IssueCollector("Interval", str(self))
        if c.duration("resolution", resolution, positive=True):
            c.check(
                self.duration % resolution == timedelta(0),
                "resolution",
                resolution,
                f"must divide the interval duration {format_duration(self.duration)}",
            )
        c.raise_if_any()
        n = self.duration // resolution
        return tuple(
            Interval(start=self.start + i * resolution, end=self.start + (i + 1) * resolution)
            for i in range(n)
        )


def _require_aware(t: object, field: str) -> datetime:
    c = IssueCollector("datetime", repr(t))
    value = c.utc(field, t)
    c.raise_if_any()
    assert value is not None
    return value


def market_day(day: date, *, market_tz: str = "Europe/Brussels") -> Interval:
    """The UTC interval of the local market day ``day`` (local midnight to local midnight).

    Example:
        >>> from datetime import date
        >>> market_day(date(2026, 3, 29)).duration
        datetime.timedelta(seconds=82800)
    """
    zone = ZoneInfo(market_tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return Interval(start=start, end=end)


def market_time_units(
    day: date,
    *,
    resolution: timedelta = QUARTER_HOUR,
    market_tz: str = "Europe/Brussels",
) -> tuple[Interval, ...]:
    """The market time units of one local market day, in UTC and in time order.

    Args:
        day: The local calendar day of the market.
        resolution: MTU length; must divide the day (15 min, 30 min, 1 h all do).
        market_tz: IANA time zone of the market.

    Returns:
        92, 96 or 100 quarter-hours for Europe/Brussels at 15-min resolution.

    Example:
        >>> from datetime import date
        >>> [len(market_time_units(date(2026, m, d))) for m, d in [(3, 29), (6, 1), (10, 25)]]
        [92, 96, 100]
    """
    return market_day(day, market_tz=market_tz).split(resolution)


def is_on_grid(interval: Interval, resolution: timedelta) -> bool:
    """Whether ``interval`` is exactly one MTU of ``resolution`` on the epoch-aligned UTC grid.

    Example:
        >>> from datetime import datetime, UTC, timedelta
        >>> t = datetime(2026, 6, 1, 10, 15, tzinfo=UTC)
        >>> is_on_grid(Interval(start=t, end=t + timedelta(minutes=15)), timedelta(minutes=15))
        True
        >>> is_on_grid(Interval(start=t, end=t + timedelta(hours=1)), timedelta(hours=1))
        False
    """
    if resolution <= timedelta(0):
        return False
    return interval.duration == resolution and (interval.start - _EPOCH) % resolution == timedelta(
        0
    )


def mtu_index(
    t: datetime,
    day: date,
    *,
    resolution: timedelta = QUARTER_HOUR,
    market_tz: str = "Europe/Brussels",
) -> int:
    """Index of the MTU of market day ``day`` that contains ``t`` (0-based).

    Raises:
        InvalidInputError: If ``t`` is naive or not inside the market day.

    Example:
        >>> from datetime import date, datetime, UTC
        >>> mtu_index(datetime(2026, 6, 1, 0, 30, tzinfo=UTC), date(2026, 6, 1))
        10
    """
    instant = _require_aware(t, "t")
    whole = market_day(day, market_tz=market_tz)
    if not whole.contains(instant):
        raise InvalidInputError(
            [
                Issue(
                    kind="datetime",
                    object_id=instant.isoformat(),
                    field="t",
                    value=t,
                    message=f"is not inside market day {day.isoformat()} {whole}",
                )
            ]
        )
    return (instant - whole.start) // resolution
