"""Planning: flexibility against reinforcement over a growth path (``docs/planning.md``).

A plan file (:mod:`flexcoord.schemas.plan`) is run by :func:`run_plan`: every planned year's
network on the growth path through its year of power flows, each congested asset's rule-based
local flexibility (:func:`local_flexibility`) and reinforcement, and the decision per asset and
price scenario (:func:`decide`: defer or reinforce, the crossover year, the NPV of deferral).
The public API is named here and loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "NONE_IN_HORIZON": "flexcoord.planning.plan",
    "CongestedAsset": "flexcoord.planning.plan",
    "LocalFlexOutcome": "flexcoord.planning.local_flex",
    "PlanResult": "flexcoord.planning.plan",
    "annual_cost_eur": "flexcoord.planning.costs",
    "annuity_factor": "flexcoord.planning.costs",
    "decide": "flexcoord.planning.plan",
    "local_flexibility": "flexcoord.planning.local_flex",
    "plan_report_html": "flexcoord.planning.report",
    "present_value_eur": "flexcoord.planning.costs",
    "run_plan": "flexcoord.planning.plan",
}

__all__ = [
    "NONE_IN_HORIZON",
    "CongestedAsset",
    "LocalFlexOutcome",
    "PlanResult",
    "annual_cost_eur",
    "annuity_factor",
    "decide",
    "local_flexibility",
    "plan_report_html",
    "present_value_eur",
    "run_plan",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.planning.costs import annual_cost_eur, annuity_factor, present_value_eur
    from flexcoord.planning.local_flex import LocalFlexOutcome, local_flexibility
    from flexcoord.planning.plan import (
        NONE_IN_HORIZON,
        CongestedAsset,
        PlanResult,
        decide,
        run_plan,
    )
    from flexcoord.planning.report import plan_report_html
