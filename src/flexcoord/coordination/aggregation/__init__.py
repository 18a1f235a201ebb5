"""Aggregation of distribution flexibility at the TSO–DSO interface, and disaggregation back.

A :class:`DsoLinearModel` (one DSO area linearised at an operating point) feeds four methods:
:func:`feasible_pq_region` (evolvDSO ICPF-style PQ region), :func:`aggregated_offer_curve`
(OneNet Poland equivalent offer), :func:`pareto_front` (Industry4Redispatch; over a day with
:func:`pareto_day` on :func:`day_models`, one model per MTU) and :func:`disaggregate`
(Redispatch 3.0; down an operator cascade with :func:`aggregate_cascade` and
:func:`disaggregate_cascade`). Sign conventions: :mod:`.dso_model`; see ``docs/aggregation.md``.
"""

from flexcoord.coordination.aggregation.bid_columns import BidColumns, bid_columns
from flexcoord.coordination.aggregation.cascade import (
    Cascade,
    CascadeDispatch,
    CascadePotential,
    aggregate_cascade,
    cascade_models,
    cascade_of,
    disaggregate_cascade,
)
from flexcoord.coordination.aggregation.day_models import Linearisation, day_models, rebase
from flexcoord.coordination.aggregation.disaggregation import Disaggregation, disaggregate
from flexcoord.coordination.aggregation.dso_model import (
    AcCheck,
    AreaFlows,
    DsoLinearModel,
    LinearRows,
    UnitBoxes,
    ac_check,
    area_flows,
    build_dso_model,
    flexible_units,
    interface_flows,
    with_bus_injections,
)
from flexcoord.coordination.aggregation.offer_curve import (
    OfferCurve,
    OfferStep,
    aggregate_unit,
    aggregated_offer_curve,
)
from flexcoord.coordination.aggregation.pareto import ParetoResult, pareto_front
from flexcoord.coordination.aggregation.pareto_day import (
    FrontPoint,
    MtuFront,
    ParetoDay,
    pareto_day,
)
from flexcoord.coordination.aggregation.pq_constraints import with_pq_region
from flexcoord.coordination.aggregation.pq_region import PqRegion, feasible_pq_region

__all__ = [
    "AcCheck",
    "AreaFlows",
    "BidColumns",
    "Cascade",
    "CascadeDispatch",
    "CascadePotential",
    "Disaggregation",
    "DsoLinearModel",
    "FrontPoint",
    "LinearRows",
    "Linearisation",
    "MtuFront",
    "OfferCurve",
    "OfferStep",
    "ParetoDay",
    "ParetoResult",
    "PqRegion",
    "UnitBoxes",
    "ac_check",
    "aggregate_cascade",
    "aggregate_unit",
    "aggregated_offer_curve",
    "area_flows",
    "bid_columns",
    "build_dso_model",
    "cascade_models",
    "cascade_of",
    "day_models",
    "disaggregate",
    "disaggregate_cascade",
    "feasible_pq_region",
    "flexible_units",
    "interface_flows",
    "pareto_day",
    "pareto_front",
    "rebase",
    "with_bus_injections",
    "with_pq_region",
]
