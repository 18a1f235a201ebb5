"""Grid-aware market clearing on HiGHS: problem (arrays) → formulation → solve → ClearingResult.

The array-level entry point is :func:`clear_problem`; the domain-level entry point
:func:`flexcoord.clearing.market.clear` maps needs, bids and products to a
:class:`ClearingProblem` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "AcChecker": "flexcoord.clearing.engine",
    "AcFlows": "flexcoord.clearing.engine",
    "AcReport": "flexcoord.clearing.result",
    "Award": "flexcoord.clearing.result",
    "BindingConstraint": "flexcoord.clearing.result",
    "ClearingOptions": "flexcoord.clearing.options",
    "ClearingProblem": "flexcoord.clearing.problem",
    "ClearingResult": "flexcoord.clearing.result",
    "Curtailment": "flexcoord.clearing.result",
    "GridState": "flexcoord.clearing.dispatch",
    "NeedCoverage": "flexcoord.clearing.result",
    "PricingRule": "flexcoord.clearing.options",
    "Rejection": "flexcoord.clearing.result",
    "RejectionReason": "flexcoord.clearing.result",
    "SolverStats": "flexcoord.clearing.result",
    "Violations": "flexcoord.clearing.dispatch",
    "branch_overload_mw": "flexcoord.clearing.dispatch",
    "canonical": "flexcoord.clearing.problem",
    "clear_problem": "flexcoord.clearing.engine",
    "grid_state": "flexcoord.clearing.dispatch",
    "nodal_injections": "flexcoord.clearing.dispatch",
    "outside_band": "flexcoord.clearing.dispatch",
    "shift_constraints": "flexcoord.clearing.dispatch",
    "shift_forecast": "flexcoord.clearing.dispatch",
    "shortfall_price_eur_per_mwh": "flexcoord.clearing.dispatch",
    "violations": "flexcoord.clearing.dispatch",
}

__all__ = [
    "AcChecker",
    "AcFlows",
    "AcReport",
    "Award",
    "BindingConstraint",
    "ClearingOptions",
    "ClearingProblem",
    "ClearingResult",
    "Curtailment",
    "GridState",
    "NeedCoverage",
    "PricingRule",
    "Rejection",
    "RejectionReason",
    "SolverStats",
    "Violations",
    "branch_overload_mw",
    "canonical",
    "clear_problem",
    "grid_state",
    "nodal_injections",
    "outside_band",
    "shift_constraints",
    "shift_forecast",
    "shortfall_price_eur_per_mwh",
    "violations",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.clearing.dispatch import (
        GridState,
        Violations,
        branch_overload_mw,
        grid_state,
        nodal_injections,
        outside_band,
        shift_constraints,
        shift_forecast,
        shortfall_price_eur_per_mwh,
        violations,
    )
    from flexcoord.clearing.engine import AcChecker, AcFlows, clear_problem
    from flexcoord.clearing.options import ClearingOptions, PricingRule
    from flexcoord.clearing.problem import ClearingProblem, canonical
    from flexcoord.clearing.result import (
        AcReport,
        Award,
        BindingConstraint,
        ClearingResult,
        Curtailment,
        NeedCoverage,
        Rejection,
        RejectionReason,
        SolverStats,
    )
