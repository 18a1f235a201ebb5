"""Progress of long runs through the Python API: a callback that receives :class:`ProgressEvent`.

Long functions (:func:`flexcoord.coordination.scheme.run_scheme`,
:func:`flexcoord.coordination.timeframes.run_chain`) take ``progress: Progress | None = None``.
Before each step starts they call it with the step's 1-based number ``step`` out of ``total``
and words for it: ``step`` rises by one per call, from 1 to ``total``, and ``total`` stays the same
within a run. With ``None`` (the default) nothing is built or called. The callback runs in the
caller's thread; an exception it raises aborts the run.

Example:
    >>> events = []
    >>> counter = ProgressCounter(events.append, total=2)
    >>> counter.step("market", "clearing market common")
    >>> counter.step("evaluation", "pricing the dispatch")
    >>> [(e.step, e.total, e.message) for e in events]
    [(1, 2, 'clearing market common'), (2, 2, 'pricing the dispatch')]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "ProgressCounter", "ProgressEvent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressEvent:
    """One step of a long run, reported as it starts.

    Attributes:
        stage: what kind of step: ``"market"`` (a sub-market's clearing), ``"evaluation"``
            (pricing the dispatch on the joint problem), ``"ac-check"`` (AC power flow of the
            dispatch) or ``"round"`` (a round of a timeframe chain).
        message: the step in words (``"clearing market dso:dso"``).
        step: its number, 1-based.
        total: the number of steps of the run.
    """

    stage: str
    message: str
    step: int
    total: int


Progress = Callable[[ProgressEvent], None]
"""The callback type of every ``progress`` argument."""


class ProgressCounter:
    """Numbers the steps of one run and reports them to ``progress`` (does nothing for ``None``).

    The run plans ``total`` up front; its tests check that it never takes more steps.
    """

    __slots__ = ("_done", "_progress", "total")

    def __init__(self, progress: Progress | None, *, total: int) -> None:
        self._progress = progress
        self.total = total
        self._done = 0

    def step(self, stage: str, message: str) -> None:
        """Report the next step as starting."""
        if self._progress is None:
            return
        self._done += 1
        self._progress(
            ProgressEvent(stage=stage, message=message, step=self._done, total=self.total)
        )
