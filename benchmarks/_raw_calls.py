"""Time spent inside the raw libraries (HiGHS, power-grid-model), and cProfile's non-solver costs.

:class:`RawCalls` wraps ``highspy.Highs.run``, ``highspy.Highs.passModel`` and
``power_grid_model.PowerGridModel.calculate_power_flow`` for the duration of a ``with`` block and
sums the wall time inside them. Wrapping the library methods (rather than timing at each call
site) catches every caller: the clearing's ``solve``, the offer-curve solver, the PQ-region and
disaggregation LPs, the AC checks. Results are unchanged: the wrappers only read the clock.

:func:`non_solver_costs` reads a ``cProfile`` run: the cost of a flexcoord function is its own
time plus the time of the library code (numpy, scipy, pandas, the standard library) it calls,
down to the next flexcoord function; time inside the wrapped raw calls is left out. Library
time reached from several flexcoord functions is split in proportion to the calls' cumulative
times (gprof's rule). The costs of all functions add up to the run's non-solver time.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import highspy
import power_grid_model

__all__ = ["RawCalls", "non_solver_costs", "profiled"]

_FLEXCOORD = "/flexcoord/"
_WRAPPER = "_raw_calls.py"


@dataclass
class RawCalls:
    """Seconds and call counts inside the raw HiGHS and PGM calls, while active."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _saved: list[tuple[Any, str, Any]] = field(default_factory=list)

    @property
    def highs_s(self) -> float:
        return self.seconds.get("Highs.run", 0.0) + self.seconds.get("Highs.passModel", 0.0)

    @property
    def pgm_s(self) -> float:
        return self.seconds.get("calculate_power_flow", 0.0)

    @property
    def raw_cpu_s(self) -> float:
        """Process CPU seconds inside the raw calls (less sensitive to a busy machine)."""
        return sum(self.cpu_seconds.values())

    def _wrap(self, owner: Any, attr: str, key: str) -> None:
        original = getattr(owner, attr)
        seconds, cpu, calls = self.seconds, self.cpu_seconds, self.calls

        def _raw_call(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - t0
                cpu[key] = cpu.get(key, 0.0) + time.process_time() - c0
                calls[key] = calls.get(key, 0) + 1

        self._saved.append((owner, attr, original))
        setattr(owner, attr, _raw_call)

    def __enter__(self) -> RawCalls:
        self._wrap(highspy.Highs, "run", "Highs.run")
        self._wrap(highspy.Highs, "passModel", "Highs.passModel")
        self._wrap(power_grid_model.PowerGridModel, "calculate_power_flow", "calculate_power_flow")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        while self._saved:
            owner, attr, original = self._saved.pop()
            setattr(owner, attr, original)


Func = tuple[str, int, str]


def _is_flexcoord(func: Func) -> bool:
    return _FLEXCOORD in func[0]


def _is_raw(func: Func) -> bool:
    return func[0].endswith(_WRAPPER) and func[2] == "_raw_call"


def non_solver_costs(stats: pstats.Stats) -> list[tuple[str, int, float]]:
    """``(function, calls, seconds)`` of every flexcoord function, costliest first (module doc)."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    callees: dict[Func, list[tuple[Func, float]]] = {}
    for func, (_cc, _nc, _tt, _ct, callers) in raw.items():
        for caller, edge in callers.items():
            callees.setdefault(caller, []).append((func, edge[3]))
    cumulative = {func: entry[3] for func, entry in raw.items()}
    memo: dict[Func, float] = {}

    def library_time(func: Func, visiting: set[Func]) -> float:
        """Self time of library ``func`` plus its library callees', per call of its cumulative."""
        if func in memo:
            return memo[func]
        if func in visiting:
            return 0.0
        visiting.add(func)
        total = raw[func][2] + _library_below(func, visiting)
        visiting.discard(func)
        memo[func] = total
        return total

    def _library_below(func: Func, visiting: set[Func]) -> float:
        total = 0.0
        for callee, edge_ct in callees.get(func, ()):
            if _is_raw(callee) or _is_flexcoord(callee) or callee == func:
                continue
            share = edge_ct / cumulative[callee] if cumulative[callee] > 0 else 0.0
            total += share * library_time(callee, visiting)
        return total

    rows = []
    for func, entry in raw.items():
        if not _is_flexcoord(func):
            continue
        cost = entry[2] + _library_below(func, {func})
        name = func[0].split(_FLEXCOORD, 1)[1].removesuffix(".py").replace("/", ".")
        rows.append((f"{name}.{func[2]}", int(entry[1]), cost))
    rows.sort(key=lambda r: -r[2])
    return rows


def profiled(fn: Callable[[], Any]) -> pstats.Stats:
    """Run ``fn`` under cProfile and return its statistics."""
    profile = cProfile.Profile()
    profile.runcall(fn)
    return pstats.Stats(profile)
