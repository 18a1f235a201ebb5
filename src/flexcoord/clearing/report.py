"""A clearing result as a JSON-ready document (for the CLI, files and, later, the API).

The cost fields (:func:`flexcoord.clearing.costs.cost_fields`) split the objective by term with
:func:`flexcoord.clearing.costs.evaluate_dispatch` (the one implementation of that split) on the
result's own problem and dispatch, so a total that is mostly penalties says so:
``total_cost_eur = bid_cost_eur + shortfall_penalty_eur + violation_penalty_eur`` to the cent.
``docs/results.md`` describes every field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flexcoord.clearing.costs import DispatchCost, cost_fields, evaluate_dispatch
from flexcoord.clearing.options import ClearingOptions
from flexcoord.clearing.result import ClearingResult, NeedCoverage
from flexcoord.errors import InvalidInputError, Issue

__all__ = ["coverage_row", "result_document"]

_OPTIONS_TOLERANCE_EUR = 0.01


def _num(x: float, digits: int = 6) -> float | None:
    return round(float(x), digits) if math.isfinite(x) else None


def _cost(result: ClearingResult, options: ClearingOptions | None) -> DispatchCost:
    """The result's dispatch priced by term; the options must be the clearing's (checked against
    the result's own procurement plus penalty cost)."""
    cost = evaluate_dispatch(result.problem, result.slot_accepted_mw, options)
    expected = result.procurement_cost_eur + result.penalty_cost_eur
    if abs(cost.total_eur - expected) > _OPTIONS_TOLERANCE_EUR + 1e-9 * abs(expected):
        raise InvalidInputError(
            [
                Issue(
                    kind="ClearingOptions",
                    object_id="options",
                    field="options",
                    value=f"{cost.total_eur:.2f} €",
                    message=f"price the result at {cost.total_eur:.2f} € but it cost "
                    f"{expected:.2f} €: pass the options the market was cleared with",
                )
            ]
        )
    return cost


def coverage_row(c: NeedCoverage) -> dict[str, Any]:
    """One need's coverage in one MTU, JSON-ready (the ``needs`` rows of a result document)."""
    return {
        "need_id": c.need_id,
        "mtu": c.mtu,
        "required_mw": _num(c.required_mw),
        "covered_mw": _num(c.covered_mw),
        "shortfall_mw": _num(c.shortfall_mw),
        "cleared_price_eur_per_mwh": _num(c.cleared_price_eur_per_mwh, 4),
        "shortfall_reason": c.shortfall_reason or None,
    }


def result_document(
    result: ClearingResult,
    *,
    options: ClearingOptions | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Awards, need coverage, rejections, curtailments, binding limits, AC check, costs, solver.

    Args:
        result: the clearing result.
        options: the options the market was cleared with (default ``ClearingOptions()``); their
            penalty prices split the cost by term.
        provenance: :func:`flexcoord.provenance.provenance`, put first as ``"provenance"``.

    Raises:
        InvalidInputError: ``options`` price the result differently from the clearing (other
            penalty prices).
    """
    s = result.stats
    ac = result.ac
    head: dict[str, Any] = {} if provenance is None else {"provenance": dict(provenance)}
    return head | {
        "pricing": str(result.pricing),
        "canonical_hash": result.canonical_hash(),
        **cost_fields(_cost(result, options)),
        "objective_eur": _num(result.objective_eur, 2),
        "procurement_cost_eur": _num(result.procurement_cost_eur, 2),
        "penalty_cost_eur": _num(result.penalty_cost_eur, 2),
        "needs": [coverage_row(c) for c in result.coverage()],
        "awards": [
            {
                "bid_id": a.bid_id,
                "mtu": a.mtu,
                "quantity_mw": _num(a.quantity_mw),
                "price_eur_per_mwh": _num(a.price_eur_per_mwh, 4),
                "payment_eur": _num(a.payment_eur, 4),
            }
            for a in result.awards()
        ],
        "rejections": [
            {"bid_id": r.bid_id, "reason": str(r.reason), "detail": r.detail}
            for r in result.rejections()
        ],
        "curtailments": [
            {
                "bid_id": c.bid_id,
                "mtu": c.mtu,
                "offered_mw": _num(c.offered_mw),
                "accepted_mw": _num(c.accepted_mw),
                "reason": str(c.reason),
                "detail": c.detail,
            }
            for c in result.curtailments()
        ],
        "binding": [
            {
                "kind": b.kind,
                "element": b.element,
                "side": b.side,
                "mtu": b.mtu,
                "dual_eur_per_unit": _num(b.dual_eur_per_unit, 4),
                "violation": _num(b.violation),
                "text": b.text,
            }
            for b in result.binding
        ],
        "ac_check": None
        if ac is None
        else {
            "iterations": ac.iterations,
            "converged": ac.converged,
            "max_branch_violation_mw": _num(ac.max_branch_violation_mw),
            "max_voltage_violation_pu": _num(ac.max_voltage_violation_pu),
            "linearisation_error_flow_mw": _num(ac.linearisation_error_flow_mw),
            "linearisation_error_vm_pu": _num(ac.linearisation_error_vm_pu, 7),
            "initial_linearisation_error_flow_mw": _num(ac.initial_linearisation_error_flow_mw),
            "initial_linearisation_error_vm_pu": _num(ac.initial_linearisation_error_vm_pu, 7),
            "priced_residuals": ac.priced_residuals,
            "violations": list(ac.violations),
        },
        "solver": {
            "rows": s.n_rows,
            "cols": s.n_cols,
            "nonzeros": s.n_nonzeros,
            "integers": s.n_integer,
            "status": s.status,
            "mip_gap": _num(s.mip_gap, 8),
            "build_s": _num(s.build_s),
            "solve_s": _num(s.solve_s),
            "extract_s": _num(s.extract_s),
        },
    }
