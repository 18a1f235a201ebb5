"""Liquidity: how many distinct bids, units and FSPs could serve each buyer's need.

A bid *could serve* a need when the sub-market that has the need offers the bid in a slot the
clearing problem declares eligible for the need (product, direction, location; the problem's
``eligible_need`` / ``eligible_slot`` pairs). Bids are counted by their **root**: a forwarded copy
is the same FSP commitment as the bid it copies, and an aggregated interface offer step stands for
the forwarded bids behind its curve. So a scheme that shows a DSO's bids to the TSO's need (common,
multi-level) scores above one that keeps them apart (fragmented), whatever the number of copies
and steps it moves between markets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from flexcoord.clearing import ClearingProblem
from flexcoord.domain import Bid, Register

__all__ = ["Liquidity", "eligible_roots"]


def eligible_roots(
    problem: ClearingProblem, roots_behind: Callable[[str], Iterable[str]]
) -> dict[str, frozenset[str]]:
    """Need id → the distinct root bids of ``problem`` that could serve it.

    ``roots_behind`` names the root bid(s) behind a bid id of the problem (its own root, or the
    roots of the bids behind an aggregated interface step). Every need of the problem is a key,
    a need no bid could serve with the empty set.
    """
    n_bid = len(problem.bid_ids)
    pairs = np.unique(
        problem.eligible_need * max(n_bid, 1) + problem.slot_bid[problem.eligible_slot]
    )
    roots: dict[int, set[str]] = {n: set() for n in range(len(problem.need_ids))}
    for pair in pairs.tolist():
        need, bid = divmod(int(pair), max(n_bid, 1))
        roots[need].update(roots_behind(problem.bid_ids[bid]))
    return {problem.need_ids[n]: frozenset(r) for n, r in roots.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Liquidity:
    """Liquidity of one sub-market, or of a whole run (its markets' needs together).

    Attributes:
        needs: needs counted.
        root_bids_per_need: mean over the needs of the distinct root bids that could serve each
            (0 without needs).
        root_bids: distinct root bids that could serve at least one need.
        units: distinct units behind those bids.
        fsps: distinct FSPs of those bids.
    """

    needs: int
    root_bids_per_need: float
    root_bids: int
    units: int
    fsps: int

    @classmethod
    def of(
        cls,
        eligible: Mapping[str, frozenset[str]],
        bids_by_root: Mapping[str, Bid],
        register: Register,
    ) -> Liquidity:
        """From :func:`eligible_roots` (of one market, or merged over a run's markets).

        Example:
            >>> from flexcoord.domain import Register
            >>> Liquidity.of({"n1": frozenset(), "n2": frozenset()}, {}, Register())
            Liquidity(needs=2, root_bids_per_need=0.0, root_bids=0, units=0, fsps=0)
        """
        roots = frozenset().union(*eligible.values()) if eligible else frozenset()
        bids = [bids_by_root[r] for r in sorted(roots)]
        units = {u.id for b in bids for u in register.units_of(b.resource_id)}
        return cls(
            needs=len(eligible),
            root_bids_per_need=(
                sum(len(r) for r in eligible.values()) / len(eligible) if eligible else 0.0
            ),
            root_bids=len(roots),
            units=len(units),
            fsps=len({b.fsp_id for b in bids}),
        )
