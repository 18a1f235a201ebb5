"""The clearings of one stage of a scheme run, serially or on a Dask cluster.

A stage's sub-markets (the DSO markets of a multi-level, local, fragmented … scheme) each clear
on the base case moved by the markets *before* the stage, so they are independent: each is one
:class:`MarketProblem`, a pure input of :func:`flexcoord.clearing.market.clear`.
:func:`solve_markets` solves them in this process, one after the other, or — given a
:class:`MarketClient` (a ``dask.distributed.Client``) and more than one problem — as one task
each on the client's cluster: the register is scattered to every worker once per stage, the
results are gathered in the problems' order, so the caller records them in the same order
whichever way they were solved. HiGHS is deterministic for a given problem (one thread,
``ClearingOptions.threads``), so a result solved on a worker is the result solved here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flexcoord.clearing import ClearingOptions, ClearingResult
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.clearing.market import clear
from flexcoord.domain import Bid, Need, Register

__all__ = ["MarketClient", "MarketProblem", "solve_market", "solve_markets"]


class MarketClient(Protocol):
    """What :func:`solve_markets` needs of a Dask ``distributed.Client``."""

    def scatter(self, data: Any, *, broadcast: bool = ..., hash: bool = ...) -> Any:
        """Send ``data`` to the workers (every worker with ``broadcast``); a future of it."""

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func(*args, **kwargs)`` as a task; a future of its result."""

    def gather(self, futures: Any) -> Any:
        """The results of ``futures``, in their order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketProblem:
    """One sub-market as :func:`~flexcoord.clearing.market.clear` takes it.

    Attributes:
        register: the register the market's bids and needs refer to.
        needs: its needs.
        bids: its bids (aggregated interface offers included).
        constraints: the monitored limits on the market's base case; ``None``: nothing monitored.
        energy_balance: whether accepted up and down MW must balance per MTU.
    """

    register: Register
    needs: tuple[Need, ...]
    bids: tuple[Bid, ...]
    constraints: GridConstraints | None
    energy_balance: bool = False


def solve_market(  # noqa: PLR0913 - clear()'s inputs, the register apart (it is scattered)
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid],
    constraints: GridConstraints | None,
    options: ClearingOptions,
    gate_closure_at: datetime | None,
    energy_balance: bool,
) -> ClearingResult:
    """One market's clearing (also the task a Dask worker runs)."""
    return clear(
        register,
        needs,
        bids,
        constraints,
        options,
        gate_closure_at=gate_closure_at,
        energy_balance=energy_balance,
    )


def solve_markets(
    problems: Sequence[MarketProblem],
    options: ClearingOptions,
    gate_closure_at: datetime | None,
    client: MarketClient | None = None,
) -> list[ClearingResult]:
    """The clearing of each problem, in the problems' order: on ``client``'s cluster when given
    and there are two or more, else here one after the other."""
    rest = [
        (p.needs, p.bids, p.constraints, options, gate_closure_at, p.energy_balance)
        for p in problems
    ]  # solve_market's arguments after the register
    if client is None or len(problems) < 2:
        return [solve_market(p.register, *r) for p, r in zip(problems, rest, strict=True)]
    scattered: dict[int, Any] = {}
    for p in problems:
        if id(p.register) not in scattered:
            scattered[id(p.register)] = client.scatter(p.register, broadcast=True, hash=False)
    futures = [
        client.submit(solve_market, scattered[id(p.register)], *r, pure=False)
        for p, r in zip(problems, rest, strict=True)
    ]
    results: list[ClearingResult] = list(client.gather(futures))
    return results
