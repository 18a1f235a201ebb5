"""Intervals, UTC normalisation and market days of 92 / 96 / 100 quarter-hours."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flexcoord.domain import Interval, is_on_grid, market_day, market_time_units, mtu_index
from flexcoord.errors import InvalidInputError

from .conftest import issues_of

T = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_interval_is_half_open() -> None:
    interval = Interval(start=T, end=T + timedelta(minutes=15))
    assert interval.contains(T)
    assert not interval.contains(T + timedelta(minutes=15))
    assert interval.duration == timedelta(minutes=15)


def test_interval_converts_aware_datetimes_to_utc() -> None:
    cest = timezone(timedelta(hours=2))
    interval = Interval(start=datetime(2026, 6, 1, 12, tzinfo=cest), end=T + timedelta(hours=1))
    assert interval.start == T
    assert interval.start.tzinfo is UTC


def test_interval_rejects_naive_datetimes_and_reports_both() -> None:
    naive = datetime(2026, 6, 1, 10)
    found = issues_of(lambda: Interval(start=naive, end=naive + timedelta(hours=1)))
    assert {field for _, _, field in found} == {"start", "end"}


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(minutes=-15)])
def test_interval_rejects_empty_or_reversed(delta: timedelta) -> None:
    with pytest.raises(InvalidInputError) as info:
        Interval(start=T, end=T + delta)
    (issue,) = info.value.issues
    assert (issue.kind, issue.field) == ("Interval", "end")
    assert issue.value == T + delta
    assert T.isoformat() in issue.object_id


def test_contains_rejects_naive_instant() -> None:
    with pytest.raises(InvalidInputError):
        Interval(start=T, end=T + timedelta(hours=1)).contains(datetime(2026, 6, 1, 10))


def test_overlaps_excludes_touching_intervals() -> None:
    a = Interval(start=T, end=T + timedelta(hours=1))
    b = Interval(start=T + timedelta(hours=1), end=T + timedelta(hours=2))
    c = Interval(start=T + timedelta(minutes=59), end=T + timedelta(hours=2))
    assert not a.overlaps(b)
    assert a.overlaps(c) and c.overlaps(a)


@pytest.mark.parametrize(
    ("day", "count", "hours"),
    [(date(2026, 3, 29), 92, 23), (date(2026, 6, 1), 96, 24), (date(2026, 10, 25), 100, 25)],
)
def test_market_days_have_92_96_100_quarter_hours(day: date, count: int, hours: int) -> None:
    units = market_time_units(day)
    assert len(units) == count
    assert market_day(day).duration == timedelta(hours=hours)
    assert units[0].start == datetime.combine(day, datetime.min.time(), ZoneInfo("Europe/Brussels"))
    assert all(a.end == b.start for a, b in itertools.pairwise(units))
    assert all(u.duration == timedelta(minutes=15) and u.start.tzinfo is UTC for u in units)


def test_market_time_units_hourly() -> None:
    assert len(market_time_units(date(2026, 10, 25), resolution=timedelta(hours=1))) == 25


def test_market_time_units_rejects_resolution_not_dividing_the_day() -> None:
    with pytest.raises(InvalidInputError):
        market_time_units(date(2026, 6, 1), resolution=timedelta(minutes=7))


def test_mtu_index_counts_from_local_midnight() -> None:
    # 2026-10-25 local midnight is 22:00 UTC the day before (CEST); 01:00 UTC is 03:00 local.
    assert mtu_index(datetime(2026, 10, 24, 22, 0, tzinfo=UTC), date(2026, 10, 25)) == 0
    assert mtu_index(datetime(2026, 10, 25, 1, 0, tzinfo=UTC), date(2026, 10, 25)) == 12
    assert mtu_index(datetime(2026, 10, 25, 22, 59, tzinfo=UTC), date(2026, 10, 25)) == 99
    with pytest.raises(InvalidInputError):
        mtu_index(datetime(2026, 10, 25, 23, 0, tzinfo=UTC), date(2026, 10, 25))


def test_is_on_grid() -> None:
    quarter = timedelta(minutes=15)
    assert is_on_grid(Interval(start=T, end=T + quarter), quarter)
    shifted = T + timedelta(minutes=5)
    assert not is_on_grid(Interval(start=shifted, end=shifted + quarter), quarter)
    assert not is_on_grid(Interval(start=T, end=T + 2 * quarter), quarter)
    half_past = T + timedelta(minutes=30)
    assert not is_on_grid(
        Interval(start=half_past, end=half_past + timedelta(hours=1)), 4 * quarter
    )


def test_split() -> None:
    parts = Interval(start=T, end=T + timedelta(hours=1)).split(timedelta(minutes=15))
    assert len(parts) == 4 and parts[-1].end == T + timedelta(hours=1)
