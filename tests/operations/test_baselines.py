"""Baselines: each rule by hand, DST days, missing data never read as zero."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.domain import Interval, market_day, market_time_units
from flexcoord.errors import InvalidInputError
from flexcoord.operations import (
    BASELINES,
    Baseline,
    BaselineStatus,
    BaselineValue,
    DeclaredSchedule,
    MeterBeforeAfter,
    MeterSeries,
    RollingAverage,
    XofYBaseline,
    make_baseline,
)
from tests.operations.fixtures import QH, mtu

BRUSSELS = ZoneInfo("Europe/Brussels")
SPRING = date(2026, 3, 29)  # 92 quarter-hours, a Sunday
AUTUMN = date(2026, 10, 25)  # 100 quarter-hours, a Sunday


def _quarters(first: date, last: date) -> tuple[Interval, ...]:
    span = Interval(start=market_day(first).start, end=market_day(last).end)
    return span.split(QH)


def _meter(first: date, last: date, value: Callable[[datetime], float | None]) -> MeterSeries:
    """Readings over whole local days, ``value`` of each quarter's local start."""
    return MeterSeries.of((q, value(q.start.astimezone(BRUSSELS))) for q in _quarters(first, last))


def _by_clock(local: datetime) -> float:
    """A load that depends on the local wall-clock time and the day."""
    return -(1.0 + local.hour + local.minute / 60.0) - local.day / 100.0


@pytest.mark.parametrize(("day", "n"), [(SPRING, 92), (AUTUMN, 100)])
@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_is_deterministic_on_dst_days(day: date, n: int, name: str) -> None:
    meter = _meter(day - timedelta(days=40), day + timedelta(days=1), _by_clock)
    targets = market_time_units(day)
    assert len(targets) == n
    rule = make_baseline(name)
    first = rule.estimate(targets, meter=meter, schedule=meter)
    again = rule.estimate(targets, meter=meter, schedule=meter)
    assert first == again
    assert [v.interval for v in first] == list(targets)
    assert all(v.status is BaselineStatus.OK for v in first)


def test_x_of_y_matches_the_repeated_autumn_hour_by_wall_clock() -> None:
    meter = _meter(AUTUMN - timedelta(days=40), AUTUMN, _by_clock)
    targets = market_time_units(AUTUMN)
    values = XofYBaseline(x=2, y=3, like_days="all").estimate(targets, meter=meter)
    local = [t.start.astimezone(BRUSSELS) for t in targets]
    twice = [v.mw for v, t in zip(values, local, strict=True) if t.hour == 2 and t.minute == 15]
    assert len(twice) == 2 and twice[0] == twice[1]  # both 02:15 MTUs, one reference MTU
    afternoon = next(
        v for v, t in zip(values, local, strict=True) if t.hour == 14 and t.minute == 0
    )
    # 14:00 on the three days before: -(15 + day/100); the two highest are days 23 and 22
    assert afternoon.mw == pytest.approx(-(15.0 + 0.225))


def test_a_spring_reference_day_lacks_its_missing_hour() -> None:
    day = SPRING + timedelta(days=1)
    meter = _meter(SPRING - timedelta(days=5), day, _by_clock)
    rule = XofYBaseline(x=1, y=1, like_days="all")  # the only reference day is SPRING
    local = datetime(2026, 3, 30, 2, 15, tzinfo=BRUSSELS).astimezone(UTC)
    gap, later = rule.estimate(
        [Interval(start=local, end=local + QH), Interval(start=local + 4 * QH, end=local + 5 * QH)],
        meter=meter,
    )
    assert gap.status is BaselineStatus.INSUFFICIENT_DATA and gap.mw is None
    assert later.mw == pytest.approx(-(1.0 + 3.25) - 0.29)


def test_x_of_y_takes_like_days_of_the_same_class() -> None:
    monday = date(2026, 6, 8)
    rule = XofYBaseline(x=1, y=2, holidays=frozenset({date(2026, 6, 5)}))
    assert rule.like_days_before(monday) == (date(2026, 6, 4), date(2026, 6, 3))
    assert rule.like_days_before(date(2026, 6, 7)) == (date(2026, 6, 6), date(2026, 6, 5))
    skip = XofYBaseline(x=1, y=1, exclude=frozenset({date(2026, 6, 5)}))
    assert skip.like_days_before(monday) == (date(2026, 6, 4),)


@pytest.mark.parametrize(("pick", "expected"), [("high", -1.0), ("low", -2.5)])
def test_x_of_y_averages_the_x_highest_or_lowest(pick: str, expected: float) -> None:
    day = date(2026, 6, 10)
    readings = {date(2026, 6, 9): -1.0, date(2026, 6, 8): -3.0, date(2026, 6, 5): -2.0}
    target = Interval(
        start=datetime(2026, 6, 10, 8, tzinfo=UTC), end=datetime(2026, 6, 10, 8, 15, tzinfo=UTC)
    )
    meter = MeterSeries.of(
        (
            Interval(
                start=target.start.replace(day=d.day, month=d.month),
                end=target.end.replace(day=d.day, month=d.month),
            ),
            mw,
        )
        for d, mw in sorted(readings.items())
    )
    x = 1 if pick == "high" else 2
    (value,) = XofYBaseline(x=x, y=3, pick=pick).estimate([target], meter=meter)  # type: ignore[arg-type]
    assert value.mw == pytest.approx(expected)
    assert day.weekday() == 2  # the like days 9, 8 and 5 June are workdays


def test_meter_before_after_averages_around_each_run() -> None:
    meter = MeterSeries.of([(mtu(i), float(i)) for i in range(10)])
    rule = MeterBeforeAfter(before=2, after=1)
    values = rule.estimate([mtu(3), mtu(4), mtu(7)], meter=meter)
    assert [v.mw for v in values] == pytest.approx(
        [(1 + 2 + 5) / 3, (1 + 2 + 5) / 3, (5 + 6 + 8) / 3]
    )


def test_meter_before_after_with_a_gap_is_insufficient() -> None:
    meter = MeterSeries.of([(mtu(0), 1.0), (mtu(1), None), (mtu(2), 3.0)])
    (value,) = MeterBeforeAfter(before=2).estimate([mtu(3)], meter=meter)
    assert value.status is BaselineStatus.INSUFFICIENT_DATA and value.mw is None


def test_rolling_average_skips_the_requested_mtus() -> None:
    meter = MeterSeries.of([(mtu(i), float(i)) for i in range(10)])
    values = RollingAverage(window=2).estimate([mtu(5), mtu(7)], meter=meter)
    assert [v.mw for v in values] == pytest.approx([3.5, 5.0])  # 7 uses 6 and 4, not 5


def test_declared_schedule_is_the_schedule_and_none_without_one() -> None:
    schedule = MeterSeries.of([(mtu(0), -2.0)])
    rule = DeclaredSchedule()
    assert [
        v.mw for v in rule.estimate([mtu(0), mtu(1)], meter=MeterSeries(), schedule=schedule)
    ] == [-2.0, None]
    assert rule.estimate([mtu(0)], meter=schedule)[0].status is BaselineStatus.INSUFFICIENT_DATA


def test_the_registry_builds_each_rule_under_its_name() -> None:
    for name in BASELINES:
        assert make_baseline(name).name == name
    with pytest.raises(InvalidInputError, match="options"):
        make_baseline("rolling_average", windw=3)
    with pytest.raises(InvalidInputError, match="window"):
        make_baseline("rolling_average", window=0)


def test_a_baseline_value_is_none_exactly_when_data_is_insufficient() -> None:
    with pytest.raises(InvalidInputError, match="mw"):
        BaselineValue(interval=mtu(0), mw=0.0, status=BaselineStatus.INSUFFICIENT_DATA)
    with pytest.raises(InvalidInputError, match="mw"):
        BaselineValue(interval=mtu(0), mw=None, status=BaselineStatus.OK)


def test_overlapping_readings_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match=r"readings\[1\]"):
        MeterSeries.of([(mtu(1), 1.0), (mtu(0), 1.0)])


_RULES = [
    XofYBaseline(x=2, y=4, like_days="all"),
    XofYBaseline(x=1, y=2),
    MeterBeforeAfter(before=2, after=1),
    RollingAverage(window=3),
    DeclaredSchedule(),
]


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.sets(st.integers(0, 96 * 6 - 1), max_size=200),
    level=st.floats(-5.0, 5.0, allow_nan=False).filter(lambda v: abs(v) > 0.1),
    rule=st.sampled_from(_RULES),
    day=st.sampled_from([SPRING, AUTUMN]),
)
def test_missing_data_is_never_read_as_zero(
    gaps: set[int], level: float, rule: Baseline, day: date
) -> None:
    quarters = _quarters(day - timedelta(days=5), day)
    meter = MeterSeries.of((q, None if i in gaps else level) for i, q in enumerate(quarters))
    targets = market_time_units(day)[30:60]
    values = rule.estimate(targets, meter=meter, schedule=meter)
    for v in values:
        assert (v.mw is None) == (v.status is BaselineStatus.INSUFFICIENT_DATA)
        if v.mw is not None:  # a gap read as 0 would pull a mean of `level`s away from it
            assert v.mw == pytest.approx(level)
    if not gaps:
        assert all(v.status is BaselineStatus.OK for v in values)
