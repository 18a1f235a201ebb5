"""Aggregation of distribution flexibility at the TSO–DSO interface, and disaggregation back.

A :class:`DsoLinearModel` (one DSO area linearised at an operating point) feeds four methods:
:func:`feasible_pq_region` (evolvDSO ICPF-style PQ region), :func:`aggregated_offer_curve`
(OneNet Poland equivalent offer), :func:`pareto_front` (Industry4Redispatch) and
:func:`disaggregate` (Redispatch 3.0). Sign conventions: :mod:`.dso_model`; see
``docs/aggregation.md``.
"""

from flexcoord.coordination.aggregation.bid_columns import BidColumns, bid_columns
from flexcoord.coordination.aggregation.disaggregation import Disaggregation, disaggregate
from flexcoord.coordination.aggregation.dso_model import (
    AcCheck,
    DsoLinearModel,
    LinearRows,
    UnitBoxes,
    ac_check,
    build_dso_model,
    flexible_units,
    interface_flows,
    with_bus_injections,
)
from flexcoord.coordination.aggregation.offer_curve import (
    OfferCurve,
    OfferStep,
    aggregated_offer_curve,
)
from flexcoord.coordination.aggregation.pareto import ParetoResult, pareto_front
from flexcoord.coordination.aggregation.pq_constraints import with_pq_region
from flexcoord.coordination.aggregation.pq_region import PqRegion, feasible_pq_region

__all__ = [
    "AcCheck",
    "BidColumns",
    "Disaggregation",
    "DsoLinearModel",
    "LinearRows",
    "OfferCurve",
    "OfferStep",
    "ParetoResult",
    "PqRegion",
    "UnitBoxes",
    "ac_check",
    "aggregated_offer_curve",
    "bid_columns",
    "build_dso_model",
    "disaggregate",
    "feasible_pq_region",
    "flexible_units",
    "interface_flows",
    "pareto_front",
    "with_bus_injections",
    "with_pq_region",
]
