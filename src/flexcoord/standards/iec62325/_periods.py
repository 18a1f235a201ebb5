"""Series periods: MTU quantities grouped into ``Period`` elements (one resolution each) and
read back, shared by the bid, activation and allocation documents."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from lxml import etree

from flexcoord.domain import Interval
from flexcoord.standards.iec62325._common import Reader
from flexcoord.standards.iec62325._xml import child, duration_text, minute_text

__all__ = ["MAX_POSITION", "group_runs", "read_periods", "write_period"]

MAX_POSITION: Final = 999_999


def group_runs(intervals: Sequence[Interval]) -> list[list[int]]:
    """Indices of ``intervals`` (sorted, non-overlapping) in runs that are contiguous and of one
    duration: each run is one ``Period``."""
    runs: list[list[int]] = []
    for i, interval in enumerate(intervals):
        if runs:
            last = intervals[runs[-1][-1]]
            if last.end == interval.start and last.duration == interval.duration:
                runs[-1].append(i)
                continue
        runs.append([i])
    return runs


def write_period(
    parent: etree._Element, ns: str, intervals: Sequence[Interval]
) -> list[etree._Element]:
    """A ``Period`` over ``intervals`` (one run); returns its ``Point`` elements, position set."""
    period = child(parent, ns, "Period")
    span = child(period, ns, "timeInterval")
    child(span, ns, "start", minute_text(intervals[0].start))
    child(span, ns, "end", minute_text(intervals[-1].end))
    child(period, ns, "resolution", duration_text(intervals[0].duration))
    points = []
    for position in range(1, len(intervals) + 1):
        point = child(period, ns, "Point")
        child(point, ns, "position", str(position))
        points.append(point)
    return points


def read_periods(
    r: Reader, el: etree._Element, path: str, *, required: bool = True
) -> list[tuple[str, Interval, etree._Element]]:
    """Every point of every ``Period`` of ``el``: its path, its MTU and its element."""
    out: list[tuple[str, Interval, etree._Element]] = []
    periods = r.children(el, path, "Period")
    if required and not periods:
        r.problem(f"{path}/Period", "is required and missing")
    for ppath, period in periods:
        span = r.interval(period, ppath, "timeInterval")
        resolution = r.duration(period, ppath, "resolution")
        if span is None or resolution is None:
            continue
        if span.duration % resolution != timedelta(0):
            r.problem(
                f"{ppath}/resolution",
                f"{duration_text(resolution)} does not divide the period {span}",
                "A41",
            )
            continue
        n = span.duration // resolution
        seen: set[int] = set()
        points = r.children(period, ppath, "Point")
        if not points:
            r.problem(f"{ppath}/Point", "is required and missing")
        for qpath, point in points:
            position = r.integer(point, qpath, "position", 1, min(n, MAX_POSITION))
            if position is None:
                continue
            if position in seen:
                r.problem(f"{qpath}/position", f"{position} appears twice in the period", "A42")
                continue
            seen.add(position)
            start = span.start + (position - 1) * resolution
            out.append((qpath, Interval(start=start, end=start + resolution), point))
    out.sort(key=lambda item: item[1])
    for (_, a, _), (qpath, b, _) in itertools.pairwise(out):
        if a.end > b.start:
            r.problem(qpath, f"overlaps the MTU {a} of another period", "A04")
    return out
