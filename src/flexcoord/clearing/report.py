"""A clearing result as a JSON-ready document (for the CLI, files and, later, the API)."""

from __future__ import annotations

import math
from typing import Any

from flexcoord.clearing.result import ClearingResult

__all__ = ["result_document"]


def _num(x: float, digits: int = 6) -> float | None:
    return round(float(x), digits) if math.isfinite(x) else None


def result_document(result: ClearingResult) -> dict[str, Any]:
    """Awards, need coverage, rejections, curtailments, binding limits, AC check, costs, solver."""
    s = result.stats
    ac = result.ac
    return {
        "pricing": str(result.pricing),
        "canonical_hash": result.canonical_hash(),
        "objective_eur": _num(result.objective_eur, 2),
        "procurement_cost_eur": _num(result.procurement_cost_eur, 2),
        "penalty_cost_eur": _num(result.penalty_cost_eur, 2),
        "needs": [
            {
                "need_id": c.need_id,
                "mtu": c.mtu,
                "required_mw": _num(c.required_mw),
                "covered_mw": _num(c.covered_mw),
                "shortfall_mw": _num(c.shortfall_mw),
                "cleared_price_eur_per_mwh": _num(c.cleared_price_eur_per_mwh, 4),
                "shortfall_reason": c.shortfall_reason or None,
            }
            for c in result.coverage()
        ],
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
