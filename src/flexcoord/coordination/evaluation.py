"""One yardstick for every scheme: the joint problem's cost of a given dispatch.

Schemes differ in who clears what and in which order, so their own market objectives are not
comparable. The yardstick takes the **joint** clearing problem of a scenario (every need, every
bid, every monitored limit of both grids, built by the one clearing engine's
:func:`~flexcoord.clearing.market.build_problem`) and prices a dispatch with
:func:`~flexcoord.clearing.costs.evaluate_dispatch`, the clearing engine's objective split by term:
bid cost, priced shortfall of every need (every accepted MW counts for every need it is eligible
for, as in the joint clearing), and penalties for branch, voltage, interface and balance
violations (:class:`~flexcoord.clearing.costs.DispatchCost`). A joint (common) clearing minimises
this very function, so no sequential scheme can score lower (up to the MIP gap): that is the
property the tests check.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import ClearingProblem
from flexcoord.clearing.costs import DispatchCost, evaluate_dispatch
from flexcoord.coordination.identities import Dispatch, DispatchKey, Mtu

__all__ = ["DispatchCost", "evaluate_dispatch", "slot_index", "slot_vector"]

FloatArray = NDArray[np.float64]


def slot_index(problem: ClearingProblem) -> dict[DispatchKey, int]:
    """The slot of each (bid, MTU) of ``problem``."""
    mtus = [Mtu.of_label(label) for label in problem.mtu_labels]
    return {
        DispatchKey(problem.bid_ids[b], mtus[t]): s
        for s, (b, t) in enumerate(
            zip(problem.slot_bid.tolist(), problem.slot_mtu.tolist(), strict=True)
        )
    }


def slot_vector(
    problem: ClearingProblem,
    dispatch: Dispatch,
    *,
    index: Mapping[DispatchKey, int] | None = None,
) -> FloatArray:
    """Accepted MW per slot of ``problem`` from a dispatch (``index``: :func:`slot_index` of
    ``problem``, when the caller keeps it).

    Unknown keys raise ``KeyError`` (a dispatch of a bid the joint problem does not know is a bug
    of the caller, not a market outcome).
    """
    index = slot_index(problem) if index is None else index
    x = np.zeros(problem.n_slot)
    for key, mw in dispatch.items():
        x[index[key]] += mw
    return x
