"""One yardstick for every scheme: the joint problem's cost of a given dispatch.

Schemes differ in who clears what and in which order, so their own market objectives are not
comparable. :func:`evaluate_dispatch` takes the **joint** clearing problem of a scenario (every
need, every bid, every monitored limit of both grids, built by the one clearing engine's
:func:`~flexcoord.clearing.market.build_problem`) and prices a dispatch with exactly the terms of
the engine's objective (``clearing/formulation.py``): bid cost, priced shortfall of every need
(every accepted MW counts for every need it is eligible for, as in the joint clearing), and
penalties
for branch, voltage and balance violations. A joint (common) clearing minimises this very function,
so no sequential scheme can score lower (up to the MIP gap): that is the property the tests check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import ClearingOptions, ClearingProblem
from flexcoord.clearing.formulation import eligible_pairs

__all__ = ["DispatchCost", "evaluate_dispatch", "slot_vector"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchCost:
    """The joint-objective cost of a dispatch, by term (€), with the physical residuals.

    Attributes:
        bid_cost_eur: Σ bid price × accepted energy (the merit-order cost).
        shortfall_cost_eur: priced shortfall of every need.
        branch_penalty_eur / voltage_penalty_eur / balance_penalty_eur: soft-limit penalties.
        shortfall_mwh: per need id, the energy not covered.
        branch_violation_mwh: per branch name, energy above its (margined) limit.
        voltage_violation_pu_h: per monitored bus, pu·h outside its band.
        flow_mw: ``(n_branch, T)`` linear flows after the dispatch.
    """

    bid_cost_eur: float
    shortfall_cost_eur: float
    branch_penalty_eur: float
    voltage_penalty_eur: float
    balance_penalty_eur: float
    shortfall_mwh: dict[str, float]
    branch_violation_mwh: dict[str, float]
    voltage_violation_pu_h: dict[str, float]
    flow_mw: FloatArray

    @property
    def total_eur(self) -> float:
        """The joint objective's value (without the engine's tie-break)."""
        return (
            self.bid_cost_eur
            + self.shortfall_cost_eur
            + self.branch_penalty_eur
            + self.voltage_penalty_eur
            + self.balance_penalty_eur
        )


def slot_vector(
    problem: ClearingProblem, accepted_mw: Mapping[tuple[str, str], float]
) -> FloatArray:
    """Accepted MW per slot of ``problem`` from ``{(bid id, MTU label): MW}``.

    Unknown keys raise ``KeyError`` (a dispatch of a bid the joint problem does not know is a bug
    of the caller, not a market outcome).
    """
    index = {
        (problem.bid_ids[b], problem.mtu_labels[t]): s
        for s, (b, t) in enumerate(
            zip(problem.slot_bid.tolist(), problem.slot_mtu.tolist(), strict=True)
        )
    }
    x = np.zeros(problem.n_slot)
    for key, mw in accepted_mw.items():
        x[index[key]] += mw
    return x


def evaluate_dispatch(
    problem: ClearingProblem, slot_accepted_mw: FloatArray, options: ClearingOptions | None = None
) -> DispatchCost:
    """Price ``slot_accepted_mw`` (MW per slot of ``problem``) with the joint objective's terms."""
    options = options or ClearingOptions()
    p = problem
    x = np.asarray(slot_accepted_mw, dtype=np.float64)
    dur = p.mtu_duration_h
    n_t = p.n_mtu
    bid_cost = float(np.sum(x * p.slot_price_eur_per_mwh * dur[p.slot_mtu]))

    e_need, e_slot, _ = eligible_pairs(p)
    covered = np.zeros((p.n_need, n_t))
    np.add.at(covered, (e_need, p.slot_mtu[e_slot]), x[e_slot])
    shortfall = np.maximum(p.need_required_mw - covered, 0.0)
    cap = p.need_price_cap_eur_per_mwh
    short_price = np.where(
        np.isfinite(cap),
        cap + 2.0 * options.tie_break_eur_per_mwh,
        options.shortfall_penalty_eur_per_mwh,
    )
    shortfall_mwh = shortfall * dur[None, :]
    shortfall_cost = float(np.sum(shortfall_mwh * short_price[:, None]))

    sign = np.where(p.slot_up, 1.0, -1.0)
    located = p.slot_bus >= 0
    act = located & ~p.slot_reactive
    rea = located & p.slot_reactive
    inj_p = np.zeros((p.n_bus, n_t))
    inj_q = np.zeros((p.n_bus, n_t))
    np.add.at(inj_p, (p.slot_bus[act], p.slot_mtu[act]), sign[act] * x[act])
    np.add.at(inj_q, (p.slot_bus[rea], p.slot_mtu[rea]), sign[rea] * x[rea])
    np.add.at(
        inj_q, (p.slot_bus[act], p.slot_mtu[act]), sign[act] * x[act] * p.slot_q_mvar_per_mw[act]
    )

    flow = p.base_flow_mw + p.ptdf @ inj_p if p.n_branch else np.zeros((0, n_t))
    lim = (1.0 - p.safety_margin) * p.limit_mw
    over = np.maximum(np.abs(flow) - lim[:, None], 0.0) * dur[None, :] if p.n_branch else flow
    branch_pen = float(options.branch_penalty_eur_per_mwh * over.sum())

    if p.n_vbus:
        vm = p.base_vm_pu + p.dvm_dp @ inj_p + p.dvm_dq @ inj_q
        v_out = (
            np.maximum(vm - p.vm_max_pu[:, None], 0.0) + np.maximum(p.vm_min_pu[:, None] - vm, 0.0)
        ) * dur[None, :]
    else:
        v_out = np.zeros((0, n_t))
    voltage_pen = float(options.voltage_penalty_eur_per_pu_h * v_out.sum())

    balance_pen = 0.0
    if p.energy_balance:
        signed = np.zeros(n_t)
        active = ~p.slot_reactive
        np.add.at(signed, p.slot_mtu[active], sign[active] * x[active])
        balance_pen = float(options.balance_penalty_eur_per_mwh * np.sum(np.abs(signed) * dur))

    return DispatchCost(
        bid_cost_eur=bid_cost,
        shortfall_cost_eur=shortfall_cost,
        branch_penalty_eur=branch_pen,
        voltage_penalty_eur=voltage_pen,
        balance_penalty_eur=balance_pen,
        shortfall_mwh={
            nid: float(v) for nid, v in zip(p.need_ids, shortfall_mwh.sum(axis=1), strict=True)
        },
        branch_violation_mwh={
            name: float(v)
            for name, v in zip(p.branch_names, over.sum(axis=1), strict=True)
            if v > 0
        },
        voltage_violation_pu_h={
            name: float(v) for name, v in zip(p.vbus_names, v_out.sum(axis=1), strict=True) if v > 0
        },
        flow_mw=np.asarray(flow, dtype=np.float64),
    )
