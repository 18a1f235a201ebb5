"""TSO–DSO coordination: schemes, market models, bid forwarding, interface aggregation, KPIs.

The public API is named here and loaded on first use (importing the package stays cheap):

- a scheme is a :class:`SchemeConfig` (:data:`PRESETS`, :func:`preset`); its market model is a
  named strategy of :data:`MARKET_MODELS` (:func:`market_model_name` picks it);
- :func:`run_scheme` runs it on a :class:`CoordinationInput` (build the :class:`JointModel` once
  per scenario and pass it to every run) and returns a :class:`SchemeOutcome` with its
  :class:`MarketRun` values and :class:`SchemeKpis`; :func:`run_chain` runs it over a
  :class:`TimeframeChain` (:class:`ChainOutcome`, :class:`ChainKpis`);
- the ESO's MW Dispatch under primacy rules (preset ``nged-mw-dispatch``): :class:`PrimacyRules`
  (:class:`PrimacyRule`), each conflict a :class:`PrimacyDecision`, the settlement a
  :class:`MwDispatchSettlement` (``SchemeOutcome.primacy``, ``SchemeOutcome.mw_dispatch``);
- identities: :class:`MarketId`, :class:`BidLineage`, :class:`Mtu`, :class:`DispatchKey`; the
  double-clearing guard :class:`ClearingLedger`.

Example:
    >>> from flexcoord.coordination import MARKET_MODELS, market_model_name, preset
    >>> market_model_name(preset("smartnet-shared-balancing")), "common" in MARKET_MODELS
    ('shared_balancing', True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "MARKET_MODELS": "flexcoord.coordination.market_models",
    "PRESETS": "flexcoord.coordination.presets",
    "AcViolation": "flexcoord.coordination.kpis",
    "AllocationPrinciple": "flexcoord.coordination.config",
    "BidLineage": "flexcoord.coordination.identities",
    "ChainKpis": "flexcoord.coordination.kpis",
    "ChainOutcome": "flexcoord.coordination.timeframes",
    "ClearingLedger": "flexcoord.coordination.ledger",
    "Conflict": "flexcoord.coordination.conflicts",
    "ConflictKind": "flexcoord.coordination.conflicts",
    "ConflictRule": "flexcoord.coordination.conflicts",
    "CoordinationInput": "flexcoord.coordination.inputs",
    "CostKpis": "flexcoord.coordination.kpis",
    "DispatchKey": "flexcoord.coordination.identities",
    "DoubleClearingError": "flexcoord.coordination.ledger",
    "DsoGridInTsoMarket": "flexcoord.coordination.config",
    "DsoModelCache": "flexcoord.coordination.joint",
    "InterfaceAggregation": "flexcoord.coordination.config",
    "JointModel": "flexcoord.coordination.joint",
    "Liquidity": "flexcoord.coordination.liquidity",
    "MarketId": "flexcoord.coordination.identities",
    "MarketKind": "flexcoord.coordination.identities",
    "MarketModel": "flexcoord.coordination.config",
    "MarketClient": "flexcoord.coordination.market_tasks",
    "MarketRun": "flexcoord.coordination.markets",
    "Mtu": "flexcoord.coordination.identities",
    "MwDispatchSettlement": "flexcoord.coordination.mw_dispatch",
    "PrimacyDecision": "flexcoord.coordination.primacy",
    "PrimacyRule": "flexcoord.coordination.primacy",
    "PrimacyRules": "flexcoord.coordination.primacy",
    "RoundKind": "flexcoord.coordination.rounds",
    "RoundOutcome": "flexcoord.coordination.timeframes",
    "SchemeConfig": "flexcoord.coordination.config",
    "SchemeKpis": "flexcoord.coordination.kpis",
    "SchemeOutcome": "flexcoord.coordination.scheme",
    "SubMarketRound": "flexcoord.coordination.rounds",
    "TimeframeChain": "flexcoord.coordination.rounds",
    "conflict_rule": "flexcoord.coordination.resolution",
    "default_options": "flexcoord.coordination.scheme",
    "market_model_name": "flexcoord.coordination.market_models",
    "obligation_id": "flexcoord.coordination.rounds",
    "preset": "flexcoord.coordination.presets",
    "run_chain": "flexcoord.coordination.timeframes",
    "run_scheme": "flexcoord.coordination.scheme",
}

__all__ = [
    "MARKET_MODELS",
    "PRESETS",
    "AcViolation",
    "AllocationPrinciple",
    "BidLineage",
    "ChainKpis",
    "ChainOutcome",
    "ClearingLedger",
    "Conflict",
    "ConflictKind",
    "ConflictRule",
    "CoordinationInput",
    "CostKpis",
    "DispatchKey",
    "DoubleClearingError",
    "DsoGridInTsoMarket",
    "DsoModelCache",
    "InterfaceAggregation",
    "JointModel",
    "Liquidity",
    "MarketClient",
    "MarketId",
    "MarketKind",
    "MarketModel",
    "MarketRun",
    "Mtu",
    "MwDispatchSettlement",
    "PrimacyDecision",
    "PrimacyRule",
    "PrimacyRules",
    "RoundKind",
    "RoundOutcome",
    "SchemeConfig",
    "SchemeKpis",
    "SchemeOutcome",
    "SubMarketRound",
    "TimeframeChain",
    "conflict_rule",
    "default_options",
    "market_model_name",
    "obligation_id",
    "preset",
    "run_chain",
    "run_scheme",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.coordination.config import (
        AllocationPrinciple,
        DsoGridInTsoMarket,
        InterfaceAggregation,
        MarketModel,
        SchemeConfig,
    )
    from flexcoord.coordination.conflicts import Conflict, ConflictKind, ConflictRule
    from flexcoord.coordination.identities import BidLineage, DispatchKey, MarketId, MarketKind, Mtu
    from flexcoord.coordination.inputs import CoordinationInput
    from flexcoord.coordination.joint import DsoModelCache, JointModel
    from flexcoord.coordination.kpis import AcViolation, ChainKpis, CostKpis, SchemeKpis
    from flexcoord.coordination.ledger import ClearingLedger, DoubleClearingError
    from flexcoord.coordination.liquidity import Liquidity
    from flexcoord.coordination.market_models import MARKET_MODELS, market_model_name
    from flexcoord.coordination.market_tasks import MarketClient
    from flexcoord.coordination.markets import MarketRun
    from flexcoord.coordination.mw_dispatch import MwDispatchSettlement
    from flexcoord.coordination.presets import PRESETS, preset
    from flexcoord.coordination.primacy import PrimacyDecision, PrimacyRule, PrimacyRules
    from flexcoord.coordination.resolution import conflict_rule
    from flexcoord.coordination.rounds import (
        RoundKind,
        SubMarketRound,
        TimeframeChain,
        obligation_id,
    )
    from flexcoord.coordination.scheme import SchemeOutcome, default_options, run_scheme
    from flexcoord.coordination.timeframes import ChainOutcome, RoundOutcome, run_chain
