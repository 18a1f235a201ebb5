"""Operations: what happens after clearing (activation, baselines, delivery verification,
settlement).

The public API is named here and loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "AuctionBalance": "flexcoord.operations.settlement",
    "DeliveryOutcome": "flexcoord.operations.settlement",
    "InsufficientData": "flexcoord.operations.settlement",
    "LineKind": "flexcoord.operations.statements",
    "Money": "flexcoord.operations.money",
    "OutcomeStatus": "flexcoord.operations.settlement",
    "PartyRole": "flexcoord.operations.statements",
    "PenaltyRule": "flexcoord.operations.settlement",
    "PendingActivation": "flexcoord.operations.settlement",
    "Settlement": "flexcoord.operations.settlement",
    "SettlementAward": "flexcoord.operations.settlement",
    "SettlementLine": "flexcoord.operations.statements",
    "Statement": "flexcoord.operations.statements",
    "settle": "flexcoord.operations.settlement",
    "to_money": "flexcoord.operations.money",
}

__all__ = [
    "AuctionBalance",
    "DeliveryOutcome",
    "InsufficientData",
    "LineKind",
    "Money",
    "OutcomeStatus",
    "PartyRole",
    "PenaltyRule",
    "PendingActivation",
    "Settlement",
    "SettlementAward",
    "SettlementLine",
    "Statement",
    "settle",
    "to_money",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.operations.money import Money, to_money
    from flexcoord.operations.settlement import (
        AuctionBalance,
        DeliveryOutcome,
        InsufficientData,
        OutcomeStatus,
        PenaltyRule,
        PendingActivation,
        Settlement,
        SettlementAward,
        settle,
    )
    from flexcoord.operations.statements import LineKind, PartyRole, SettlementLine, Statement
