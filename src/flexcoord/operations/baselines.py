"""Baselines: what a unit would have done without the activation, per MTU, from meter data.

Signs: meter and baseline power are the domain's device power, ``mw > 0`` injection and
``mw < 0`` consumption (as :class:`~flexcoord.domain.Unit`'s ``p_min_mw``/``p_max_mw``).

Every :class:`Baseline` returns one :class:`BaselineValue` per requested MTU. Missing input is
never a number: when a rule lacks a reading it needs, the value is ``insufficient_data`` with
``mw=None``. The rules (choose one by name in :data:`BASELINES`):

* ``declared_schedule`` (:class:`DeclaredSchedule`): the FSP's declared schedule in that MTU.
* ``x_of_y`` (:class:`XofYBaseline`): the same local MTU of the ``y`` most recent like days
  before the MTU's day (like: same class, workday vs weekend-or-holiday, unless
  ``like_days="all"``; days in ``exclude``, e.g. earlier event days, are skipped); of those
  with a reading, at least ``x`` are needed; the baseline is the mean of the ``x`` highest
  (``pick="high"``) or lowest.
* ``meter_before_after`` (:class:`MeterBeforeAfter`): for each run of consecutive requested
  MTUs, the mean of the ``before`` MTUs just before the run and the ``after`` MTUs just after it.
* ``rolling_average`` (:class:`RollingAverage`): for each requested MTU, the mean of the
  ``window`` most recent MTUs before it that are not themselves requested (an activation does
  not feed its own baseline).

Averages need every reading they name; a single gap gives ``insufficient_data``.

DST rule (``x_of_y``): a reference day is matched by local wall-clock start time, not by
position. The MTU starting at local 14:00 is compared with 14:00 of each reference day, so the
afternoon of a 92- or 100-quarter-hour day lines up with normal days (matching by position would
shift every MTU after the clock change by an hour). On the autumn day (100 quarter-hours) both
02:xx MTUs match the reference day's 02:xx; on a reference day where the MTU appears twice, the
first (summer time) is used; on the spring reference day (92 quarter-hours) local 02:00–02:45 do
not exist and count as missing data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from flexcoord.domain import Interval
from flexcoord.domain.validation import IssueCollector, set_field
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "BASELINES",
    "Baseline",
    "BaselineStatus",
    "BaselineValue",
    "DeclaredSchedule",
    "MeterBeforeAfter",
    "MeterReading",
    "MeterSeries",
    "RollingAverage",
    "XofYBaseline",
    "make_baseline",
]

#: Calendar days an X-of-Y baseline looks back at most for its like days.
MAX_LOOKBACK_DAYS = 366
_WEEKEND = frozenset({5, 6})


class BaselineStatus(StrEnum):
    """Whether a baseline value could be computed."""

    OK = "ok"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineValue:
    """A unit's baseline power in one MTU; ``mw`` is ``None`` exactly when data is insufficient."""

    interval: Interval
    mw: float | None
    status: BaselineStatus

    def __post_init__(self) -> None:
        c = IssueCollector("BaselineValue", str(self.interval))
        status = c.enum("status", self.status, BaselineStatus)
        if status is BaselineStatus.OK:
            c.check(self.mw is not None and math.isfinite(self.mw), "mw", self.mw, "must be finite")
        elif status is not None:
            c.check(self.mw is None, "mw", self.mw, "must be None when data is insufficient")
        c.raise_if_any()
        set_field(self, "status", status)

    @classmethod
    def of(cls, interval: Interval, mw: float | None) -> BaselineValue:
        """``ok`` with ``mw``, or ``insufficient_data`` when ``mw`` is ``None``."""
        status = BaselineStatus.INSUFFICIENT_DATA if mw is None else BaselineStatus.OK
        return cls(interval=interval, mw=mw, status=status)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class MeterReading:
    """Mean active power over one interval (``None``: no reading)."""

    interval: Interval
    mw: float | None


@dataclass(frozen=True, slots=True)
class MeterSeries:
    """A unit's meter readings: sorted, non-overlapping intervals, each a power or ``None``.

    Example:
        >>> t = datetime(2026, 6, 1, 10, tzinfo=UTC)
        >>> q = [Interval(start=t + i * timedelta(minutes=15),
        ...               end=t + (i + 1) * timedelta(minutes=15)) for i in range(2)]
        >>> series = MeterSeries.of([(q[0], -2.0), (q[1], None)])
        >>> series.mw(q[0]), series.mw(q[1])
        (-2.0, None)
    """

    readings: tuple[MeterReading, ...] = ()
    _by_interval: dict[Interval, float | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        readings = tuple(self.readings)
        issues: list[Issue] = []
        for i, reading in enumerate(readings):
            c = IssueCollector("MeterReading", str(reading.interval))
            if reading.mw is not None:
                c.finite(f"readings[{i}].mw", reading.mw)
            if i and readings[i - 1].interval.end > reading.interval.start:
                c.add(
                    f"readings[{i}].interval",
                    str(reading.interval),
                    f"overlaps or precedes the previous reading {readings[i - 1].interval}",
                )
            issues += c.issues
        if issues:
            raise InvalidInputError(issues)
        set_field(self, "readings", readings)
        set_field(self, "_by_interval", {r.interval: r.mw for r in readings})

    @classmethod
    def of(cls, pairs: Iterable[tuple[Interval, float | None]]) -> MeterSeries:
        """A series from ``(interval, mw)`` pairs, in time order."""
        return cls(tuple(MeterReading(interval=i, mw=mw) for i, mw in pairs))

    def mw(self, interval: Interval) -> float | None:
        """The reading over exactly ``interval``, or ``None`` if missing."""
        return self._by_interval.get(interval)


def _mean(values: Sequence[float | None]) -> float | None:
    """The mean, or ``None`` when empty or any value is missing."""
    if not values or any(v is None for v in values):
        return None
    return math.fsum(v for v in values if v is not None) / len(values)


class Baseline(Protocol):
    """A baseline rule: a name and an estimate per requested MTU."""

    @property
    def name(self) -> str:
        """The rule's name in :data:`BASELINES`."""
        ...

    def estimate(
        self,
        intervals: Sequence[Interval],
        *,
        meter: MeterSeries,
        schedule: MeterSeries | None = None,
    ) -> tuple[BaselineValue, ...]:
        """One value per interval of ``intervals``, in their order."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredSchedule:
    """The FSP's declared schedule is the baseline (no schedule, or a gap: insufficient data)."""

    name: str = field(default="declared_schedule", init=False)

    def estimate(
        self,
        intervals: Sequence[Interval],
        *,
        meter: MeterSeries,
        schedule: MeterSeries | None = None,
    ) -> tuple[BaselineValue, ...]:
        """The schedule's power in each interval."""
        return tuple(
            BaselineValue.of(i, None if schedule is None else schedule.mw(i)) for i in intervals
        )


def _positive_int(owner: str, field_name: str, value: object, *, minimum: int = 1) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
        raise InvalidInputError(
            [
                Issue(
                    kind=owner,
                    object_id=owner,
                    field=field_name,
                    value=value,
                    message=f"must be an integer >= {minimum}",
                )
            ]
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class XofYBaseline:
    """Mean of the ``x`` highest (or lowest) of the same local MTU over ``y`` like days.

    Example:
        >>> XofYBaseline(x=6, y=5)
        Traceback (most recent call last):
        ...
        flexcoord.errors.InvalidInputError: 1 invalid input issue:
          - XofYBaseline 'x_of_y': x=6 must be <= y (5)
    """

    x: int = 5
    y: int = 10
    pick: Literal["high", "low"] = "high"
    like_days: Literal["class", "all"] = "class"
    holidays: frozenset[date] = frozenset()
    exclude: frozenset[date] = frozenset()
    market_tz: str = "Europe/Brussels"
    name: str = field(default="x_of_y", init=False)

    def __post_init__(self) -> None:
        _positive_int("XofYBaseline", "x", self.x)
        _positive_int("XofYBaseline", "y", self.y)
        c = IssueCollector("XofYBaseline", self.name)
        c.check(self.x <= self.y, "x", self.x, f"must be <= y ({self.y})")
        c.check(self.pick in ("high", "low"), "pick", self.pick, "must be 'high' or 'low'")
        c.check(
            self.like_days in ("class", "all"),
            "like_days",
            self.like_days,
            "must be 'class' or 'all'",
        )
        c.raise_if_any()
        set_field(self, "holidays", frozenset(self.holidays))
        set_field(self, "exclude", frozenset(self.exclude))

    def estimate(
        self,
        intervals: Sequence[Interval],
        *,
        meter: MeterSeries,
        schedule: MeterSeries | None = None,
    ) -> tuple[BaselineValue, ...]:
        """The X-of-Y value of each interval (module docstring: like days, DST rule)."""
        zone = ZoneInfo(self.market_tz)
        return tuple(BaselineValue.of(i, self._one(i, meter, zone)) for i in intervals)

    def _one(self, interval: Interval, meter: MeterSeries, zone: ZoneInfo) -> float | None:
        local = interval.start.astimezone(zone)
        values = [
            meter.mw(ref)
            for day in self.like_days_before(local.date())
            if (ref := _reference(day, local, interval.duration, zone)) is not None
        ]
        present = sorted((v for v in values if v is not None), reverse=self.pick == "high")
        if len(present) < self.x:
            return None
        return math.fsum(present[: self.x]) / self.x

    def is_workday(self, day: date) -> bool:
        """Monday to Friday and not a holiday."""
        return day.weekday() not in _WEEKEND and day not in self.holidays

    def like_days_before(self, day: date) -> tuple[date, ...]:
        """The ``y`` most recent like days before ``day`` (fewer if none within a year)."""
        out: list[date] = []
        for back in range(1, MAX_LOOKBACK_DAYS + 1):
            other = day - timedelta(days=back)
            like = self.like_days == "all" or self.is_workday(other) == self.is_workday(day)
            if like and other not in self.exclude:
                out.append(other)
                if len(out) == self.y:
                    break
        return tuple(out)


def _reference(day: date, local: datetime, duration: timedelta, zone: ZoneInfo) -> Interval | None:
    """The MTU of ``day`` starting at ``local``'s wall-clock time (first one if it repeats),
    or ``None`` if that time does not exist on ``day`` (spring DST gap)."""
    wall = datetime.combine(day, local.time().replace(fold=0), tzinfo=zone)
    start = wall.astimezone(UTC)
    if start.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None
    return Interval(start=start, end=start + duration)


def _runs(intervals: Sequence[Interval]) -> list[list[Interval]]:
    """``intervals`` sorted and cut into runs of back-to-back intervals."""
    runs: list[list[Interval]] = []
    for interval in sorted(set(intervals)):
        if runs and runs[-1][-1].end == interval.start:
            runs[-1].append(interval)
        else:
            runs.append([interval])
    return runs


def _shifted(interval: Interval, steps: int) -> Interval:
    d = interval.duration
    return Interval(start=interval.start + steps * d, end=interval.end + steps * d)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterBeforeAfter:
    """Mean of the ``before`` MTUs just before each activation run and ``after`` just after."""

    before: int = 1
    after: int = 0
    name: str = field(default="meter_before_after", init=False)

    def __post_init__(self) -> None:
        _positive_int("MeterBeforeAfter", "before", self.before, minimum=0)
        _positive_int("MeterBeforeAfter", "after", self.after, minimum=0)
        if self.before + self.after == 0:
            _positive_int("MeterBeforeAfter", "before", self.before)

    def estimate(
        self,
        intervals: Sequence[Interval],
        *,
        meter: MeterSeries,
        schedule: MeterSeries | None = None,
    ) -> tuple[BaselineValue, ...]:
        """Every MTU of a run gets the run's before/after mean."""
        value: dict[Interval, float | None] = {}
        for run in _runs(intervals):
            window = [_shifted(run[0], -k) for k in range(1, self.before + 1)]
            window += [_shifted(run[-1], k) for k in range(1, self.after + 1)]
            mw = _mean([meter.mw(i) for i in window])
            value.update(dict.fromkeys(run, mw))
        return tuple(BaselineValue.of(i, value[i]) for i in intervals)


@dataclass(frozen=True, slots=True, kw_only=True)
class RollingAverage:
    """Mean of the ``window`` most recent MTUs before each MTU that are not requested ones."""

    window: int = 4
    name: str = field(default="rolling_average", init=False)

    def __post_init__(self) -> None:
        _positive_int("RollingAverage", "window", self.window)

    def estimate(
        self,
        intervals: Sequence[Interval],
        *,
        meter: MeterSeries,
        schedule: MeterSeries | None = None,
    ) -> tuple[BaselineValue, ...]:
        """The trailing mean of each interval, skipping requested intervals."""
        requested = set(intervals)
        out = []
        for interval in intervals:
            window: list[Interval] = []
            step = interval
            while len(window) < self.window:
                step = _shifted(step, -1)
                if step not in requested:
                    window.append(step)
            out.append(BaselineValue.of(interval, _mean([meter.mw(i) for i in window])))
        return tuple(out)


#: The baseline rules by name; each factory takes the rule's options as keywords.
BASELINES: Mapping[str, Callable[..., Baseline]] = MappingProxyType(
    {
        "declared_schedule": DeclaredSchedule,
        "x_of_y": XofYBaseline,
        "meter_before_after": MeterBeforeAfter,
        "rolling_average": RollingAverage,
    }
)


def make_baseline(name: str, **options: object) -> Baseline:
    """The baseline rule ``name`` of :data:`BASELINES` with ``options``.

    Example:
        >>> make_baseline("x_of_y", x=3, y=5).name
        'x_of_y'
        >>> try:
        ...     make_baseline("nope")
        ... except InvalidInputError as err:
        ...     print(err.issues[0].message[:40])
        is not a baseline (choose one of: declar
    """
    factory = BASELINES.get(name)
    if factory is None:
        choices = ", ".join(sorted(BASELINES))
        raise InvalidInputError(
            [
                Issue(
                    kind="Baseline",
                    object_id=name,
                    field="name",
                    value=name,
                    message=f"is not a baseline (choose one of: {choices})",
                )
            ]
        )
    try:
        return factory(**options)
    except TypeError as exc:
        raise InvalidInputError(
            [
                Issue(
                    kind="Baseline",
                    object_id=name,
                    field="options",
                    value=sorted(options),
                    message=f"are not options of {name}: {exc}",
                )
            ]
        ) from None
