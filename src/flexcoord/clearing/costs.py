"""The clearing objective's terms for any dispatch: bid cost, shortfall and violation penalties.

:func:`evaluate_dispatch` prices MW per slot of a :class:`~flexcoord.clearing.ClearingProblem`
with exactly the terms of the engine's objective (``clearing/formulation/``), each on its own:
bid cost, priced shortfall of every need (every accepted MW counts for every need it is eligible
for), and the penalties of branch, voltage, interface-constraint and balance violations (the
soft limits' slack). The tie-break is left out, as in every reported figure.

It is the one implementation of that split: the clearing result document
(:func:`flexcoord.clearing.report.result_document`) prices a result's own dispatch with it, and
the coordination yardstick (:mod:`flexcoord.coordination.evaluation`) prices a scheme's dispatch
on the scenario's joint problem with it. So a total that is mostly penalties says so, with the
same figures everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.dispatch import grid_state, shortfall_price_eur_per_mwh, violations
from flexcoord.clearing.formulation import eligible_pairs
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.problem import ClearingProblem

__all__ = ["VIOLATION_KINDS", "DispatchCost", "cost_fields", "evaluate_dispatch"]

FloatArray = NDArray[np.float64]

VIOLATION_KINDS = ("branch", "voltage", "interface", "balance")
"""The soft limits whose slack is penalised, in the order of
:attr:`DispatchCost.violation_penalty_by_kind_eur`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchCost:
    """The objective's cost of a dispatch, by term (€), with the physical residuals.

    Attributes:
        bid_cost_eur: Σ merit-order price × accepted energy of the accepted bids (for an
            availability product the availability price plus the expected activation share ×
            activation price, as the clearing ranks it).
        shortfall_penalty_eur: priced shortfall of every need (the need's price cap, else the
            shortfall penalty, × MWh not covered).
        branch_penalty_eur / voltage_penalty_eur / interface_penalty_eur / balance_penalty_eur:
            the soft limits' penalties (slack × penalty price × duration).
        shortfall_mwh: per need id, the energy not covered.
        branch_violation_mwh: per branch name, energy above its (margined) limit.
        voltage_violation_pu_h: per monitored bus, pu·h outside its band.
        flow_mw: ``(n_branch, T)`` linear flows after the dispatch.
    """

    bid_cost_eur: float
    shortfall_penalty_eur: float
    branch_penalty_eur: float
    voltage_penalty_eur: float
    interface_penalty_eur: float
    balance_penalty_eur: float
    shortfall_mwh: dict[str, float]
    branch_violation_mwh: dict[str, float]
    voltage_violation_pu_h: dict[str, float]
    flow_mw: FloatArray

    @property
    def violation_penalty_by_kind_eur(self) -> dict[str, float]:
        """``{"branch", "voltage", "interface", "balance"}`` → penalty (€)."""
        return {
            "branch": self.branch_penalty_eur,
            "voltage": self.voltage_penalty_eur,
            "interface": self.interface_penalty_eur,
            "balance": self.balance_penalty_eur,
        }

    @property
    def violation_penalty_eur(self) -> float:
        """Σ of the soft limits' penalties (branch, voltage, interface, balance)."""
        return sum(self.violation_penalty_by_kind_eur.values())

    @property
    def penalty_eur(self) -> float:
        """Shortfall plus violation penalties: the part of the total that is no bid's cost."""
        return self.shortfall_penalty_eur + self.violation_penalty_eur

    @property
    def total_eur(self) -> float:
        """The objective's value (without the engine's tie-break): bid cost plus penalties."""
        return self.bid_cost_eur + self.penalty_eur


def evaluate_dispatch(
    problem: ClearingProblem, slot_accepted_mw: FloatArray, options: ClearingOptions | None = None
) -> DispatchCost:
    """Price ``slot_accepted_mw`` (MW per slot of ``problem``) with the objective's terms.

    Example (one 2 MW bid at 50 €/MWh for a 1.5 MW need in one quarter-hour, 1 MW accepted):
        >>> p = ClearingProblem(
        ...     mtu_labels=("t0",), mtu_duration_h=np.array([0.25]),
        ...     bid_ids=("b1",), bid_submitted_s=np.zeros(1), bid_indivisible=np.array([False]),
        ...     bid_block=np.array([False]), bid_min_mw=np.zeros(1),
        ...     bid_xor=np.array([-1]), bid_parent=np.array([-1]),
        ...     slot_bid=np.array([0]), slot_mtu=np.array([0]), slot_quantity_mw=np.array([2.0]),
        ...     slot_price_eur_per_mwh=np.array([50.0]), slot_up=np.array([True]),
        ...     slot_reactive=np.array([False]), slot_bus=np.array([-1]),
        ...     need_ids=("n1",), need_required_mw=np.array([[1.5]]), need_up=np.array([True]),
        ...     need_reactive=np.array([False]), need_price_cap_eur_per_mwh=np.array([np.nan]),
        ...     eligible_need=np.array([0]), eligible_slot=np.array([0]))
        >>> cost = evaluate_dispatch(p, np.array([1.0]))
        >>> cost.bid_cost_eur, cost.shortfall_penalty_eur, cost.violation_penalty_eur
        (12.5, 1250.0, 0.0)
    """
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
    short_price = shortfall_price_eur_per_mwh(p, options)
    shortfall_mwh = shortfall * dur[None, :]
    shortfall_pen = float(np.sum(shortfall_mwh * short_price[:, None]))

    state = grid_state(p, x)
    broken = violations(p, state, x)
    over = broken.branch_mw * dur[None, :]
    branch_pen = float(options.branch_penalty_eur_per_mwh * over.sum())
    v_out = broken.voltage_pu * dur[None, :]
    voltage_pen = float(options.voltage_penalty_eur_per_pu_h * v_out.sum())
    interface_pen = 0.0
    if p.n_interface:
        interface_pen = float(options.interface_penalty * np.sum(broken.interface * dur[None, :]))
    balance_pen = 0.0
    if p.energy_balance:
        balance_pen = float(
            options.balance_penalty_eur_per_mwh * np.sum(np.abs(broken.balance_mw) * dur)
        )

    return DispatchCost(
        bid_cost_eur=bid_cost,
        shortfall_penalty_eur=shortfall_pen,
        branch_penalty_eur=branch_pen,
        voltage_penalty_eur=voltage_pen,
        interface_penalty_eur=interface_pen,
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
        flow_mw=np.asarray(state.flow_mw, dtype=np.float64),
    )


def _cents(x: float) -> float:
    return round(float(x), 2)


def cost_fields(
    cost: DispatchCost, availability_payment_eur: float | None = None
) -> dict[str, Any]:
    """The cost fields of every result document and KPI dict (€, rounded to cents).

    ``total_cost_eur`` (the sum of the others, to the cent), ``bid_cost_eur``,
    ``availability_payment_eur`` (only when given: the timeframe chain's reservations, counted
    in the total), ``shortfall_penalty_eur``, ``violation_penalty_eur`` (the sum of
    ``violation_penalty_by_kind_eur``: branch, voltage, interface, balance) and ``penalty_share``
    (shortfall plus violation penalties over the total; ``None`` for a zero total).

    Example:
        >>> cost = DispatchCost(bid_cost_eur=10.004, shortfall_penalty_eur=0.004,
        ...     branch_penalty_eur=990.0, voltage_penalty_eur=0.0, interface_penalty_eur=0.0,
        ...     balance_penalty_eur=0.0, shortfall_mwh={}, branch_violation_mwh={},
        ...     voltage_violation_pu_h={}, flow_mw=np.zeros((0, 1)))
        >>> doc = cost_fields(cost)
        >>> doc["total_cost_eur"], doc["violation_penalty_eur"], doc["penalty_share"]
        (1000.0, 990.0, 0.99)
    """
    by_kind = {k: _cents(v) for k, v in cost.violation_penalty_by_kind_eur.items()}
    violation = _cents(sum(by_kind[k] for k in VIOLATION_KINDS))
    bid = _cents(cost.bid_cost_eur)
    shortfall = _cents(cost.shortfall_penalty_eur)
    availability = None if availability_payment_eur is None else _cents(availability_payment_eur)
    total = _cents(bid + (availability or 0.0) + shortfall + violation)
    out: dict[str, Any] = {"total_cost_eur": total, "bid_cost_eur": bid}
    if availability is not None:
        out["availability_payment_eur"] = availability
    return out | {
        "shortfall_penalty_eur": shortfall,
        "violation_penalty_eur": violation,
        "violation_penalty_by_kind_eur": by_kind,
        "penalty_share": round((shortfall + violation) / total, 6) if total else None,
    }
