"""Grid-aware market clearing on HiGHS: problem (arrays) → formulation → solve → ClearingResult.

The array-level entry point is :func:`clear_problem`; the domain-level entry point
:func:`flexcoord.clearing.market.clear` maps needs, bids and products to a
:class:`ClearingProblem` first.
"""

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
