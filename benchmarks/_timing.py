"""Timing helpers shared by the benchmarks (min of repeats; wall clock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(repeats: int, fn: Callable[[], T]) -> tuple[float, T]:
    """Run ``fn`` ``repeats`` times; return the fastest wall time in seconds and the last result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def spread(times: list[float]) -> str:
    """``min-median-max`` of wall times in seconds, for the figures the notes quote."""
    ordered = sorted(times)
    return f"{ordered[0]:.3f}-{ordered[len(ordered) // 2]:.3f}-{ordered[-1]:.3f} s"


def wall_times(repeats: int, fn: Callable[[], object]) -> list[float]:
    """The wall time of each of ``repeats`` calls of ``fn``, in seconds (for :func:`spread`)."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out
