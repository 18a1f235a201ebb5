"""Operations: activation orders and their lifecycle, baselines, delivery verification.

What happens after a clearing: awards become orders to units (:mod:`.activation`), orders live
through immutable events and BRPs are told (:mod:`.events`), baselines estimate what a unit
would have done (:mod:`.baselines`), and meter data verifies what it did (:mod:`.verification`).
The rules are written down in ``docs/operations.md``. The public API is named here and loaded on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "ActivationOrder": "flexcoord.operations.activation",
    "AuctionBalance": "flexcoord.operations.settlement",
    "AvailabilityBreach": "flexcoord.operations.settlement",
    "AvailabilityStatus": "flexcoord.operations.verification",
    "AvailabilityVerification": "flexcoord.operations.verification",
    "BASELINES": "flexcoord.operations.baselines",
    "Baseline": "flexcoord.operations.baselines",
    "BaselineStatus": "flexcoord.operations.baselines",
    "BaselineValue": "flexcoord.operations.baselines",
    "BrpNotification": "flexcoord.operations.events",
    "DeclaredSchedule": "flexcoord.operations.baselines",
    "DeliveryOutcome": "flexcoord.operations.settlement",
    "DeliveryStatus": "flexcoord.operations.verification",
    "DeliveryVerification": "flexcoord.operations.verification",
    "InsufficientData": "flexcoord.operations.settlement",
    "LineKind": "flexcoord.operations.statements",
    "MeterBeforeAfter": "flexcoord.operations.baselines",
    "MeterReading": "flexcoord.operations.baselines",
    "MeterSeries": "flexcoord.operations.baselines",
    "Money": "flexcoord.operations.money",
    "OrderEvent": "flexcoord.operations.events",
    "OrderId": "flexcoord.operations.activation",
    "OrderLog": "flexcoord.operations.events",
    "OrderStatus": "flexcoord.operations.events",
    "OutcomeStatus": "flexcoord.operations.settlement",
    "PartyRole": "flexcoord.operations.statements",
    "PenaltyRule": "flexcoord.operations.settlement",
    "PendingActivation": "flexcoord.operations.settlement",
    "RollingAverage": "flexcoord.operations.baselines",
    "Settlement": "flexcoord.operations.settlement",
    "SettlementAward": "flexcoord.operations.settlement",
    "SettlementLine": "flexcoord.operations.statements",
    "Statement": "flexcoord.operations.statements",
    "Tolerance": "flexcoord.operations.verification",
    "XofYBaseline": "flexcoord.operations.baselines",
    "activation_orders": "flexcoord.operations.activation",
    "brp_notifications": "flexcoord.operations.events",
    "lifecycle_events": "flexcoord.operations.verification",
    "make_baseline": "flexcoord.operations.baselines",
    "ordered_events": "flexcoord.operations.events",
    "settle": "flexcoord.operations.settlement",
    "split_over_members": "flexcoord.operations.activation",
    "to_money": "flexcoord.operations.money",
    "verify_availability": "flexcoord.operations.verification",
    "verify_delivery": "flexcoord.operations.verification",
}

__all__ = [
    "BASELINES",
    "ActivationOrder",
    "AuctionBalance",
    "AvailabilityBreach",
    "AvailabilityStatus",
    "AvailabilityVerification",
    "Baseline",
    "BaselineStatus",
    "BaselineValue",
    "BrpNotification",
    "DeclaredSchedule",
    "DeliveryOutcome",
    "DeliveryStatus",
    "DeliveryVerification",
    "InsufficientData",
    "LineKind",
    "MeterBeforeAfter",
    "MeterReading",
    "MeterSeries",
    "Money",
    "OrderEvent",
    "OrderId",
    "OrderLog",
    "OrderStatus",
    "OutcomeStatus",
    "PartyRole",
    "PenaltyRule",
    "PendingActivation",
    "RollingAverage",
    "Settlement",
    "SettlementAward",
    "SettlementLine",
    "Statement",
    "Tolerance",
    "XofYBaseline",
    "activation_orders",
    "brp_notifications",
    "lifecycle_events",
    "make_baseline",
    "ordered_events",
    "settle",
    "split_over_members",
    "to_money",
    "verify_availability",
    "verify_delivery",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.operations.activation import (
        ActivationOrder,
        OrderId,
        activation_orders,
        split_over_members,
    )
    from flexcoord.operations.baselines import (
        BASELINES,
        Baseline,
        BaselineStatus,
        BaselineValue,
        DeclaredSchedule,
        MeterBeforeAfter,
        MeterReading,
        MeterSeries,
        RollingAverage,
        XofYBaseline,
        make_baseline,
    )
    from flexcoord.operations.events import (
        BrpNotification,
        OrderEvent,
        OrderLog,
        OrderStatus,
        brp_notifications,
        ordered_events,
    )
    from flexcoord.operations.money import (
        Money,
        to_money,
    )
    from flexcoord.operations.settlement import (
        AuctionBalance,
        AvailabilityBreach,
        DeliveryOutcome,
        InsufficientData,
        OutcomeStatus,
        PenaltyRule,
        PendingActivation,
        Settlement,
        SettlementAward,
        settle,
    )
    from flexcoord.operations.statements import (
        LineKind,
        PartyRole,
        SettlementLine,
        Statement,
    )
    from flexcoord.operations.verification import (
        AvailabilityStatus,
        AvailabilityVerification,
        DeliveryStatus,
        DeliveryVerification,
        Tolerance,
        lifecycle_events,
        verify_availability,
        verify_delivery,
    )
