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
    "AvailabilityStatus": "flexcoord.operations.verification",
    "AvailabilityVerification": "flexcoord.operations.verification",
    "BASELINES": "flexcoord.operations.baselines",
    "Baseline": "flexcoord.operations.baselines",
    "BaselineStatus": "flexcoord.operations.baselines",
    "BaselineValue": "flexcoord.operations.baselines",
    "BrpNotification": "flexcoord.operations.events",
    "DeclaredSchedule": "flexcoord.operations.baselines",
    "DeliveryStatus": "flexcoord.operations.verification",
    "DeliveryVerification": "flexcoord.operations.verification",
    "MeterBeforeAfter": "flexcoord.operations.baselines",
    "MeterReading": "flexcoord.operations.baselines",
    "MeterSeries": "flexcoord.operations.baselines",
    "OrderEvent": "flexcoord.operations.events",
    "OrderId": "flexcoord.operations.activation",
    "OrderLog": "flexcoord.operations.events",
    "OrderStatus": "flexcoord.operations.events",
    "RollingAverage": "flexcoord.operations.baselines",
    "Tolerance": "flexcoord.operations.verification",
    "XofYBaseline": "flexcoord.operations.baselines",
    "activation_orders": "flexcoord.operations.activation",
    "brp_notifications": "flexcoord.operations.events",
    "lifecycle_events": "flexcoord.operations.verification",
    "make_baseline": "flexcoord.operations.baselines",
    "ordered_events": "flexcoord.operations.events",
    "split_over_members": "flexcoord.operations.activation",
    "verify_availability": "flexcoord.operations.verification",
    "verify_delivery": "flexcoord.operations.verification",
}

__all__ = [
    "BASELINES",
    "ActivationOrder",
    "AvailabilityStatus",
    "AvailabilityVerification",
    "Baseline",
    "BaselineStatus",
    "BaselineValue",
    "BrpNotification",
    "DeclaredSchedule",
    "DeliveryStatus",
    "DeliveryVerification",
    "MeterBeforeAfter",
    "MeterReading",
    "MeterSeries",
    "OrderEvent",
    "OrderId",
    "OrderLog",
    "OrderStatus",
    "RollingAverage",
    "Tolerance",
    "XofYBaseline",
    "activation_orders",
    "brp_notifications",
    "lifecycle_events",
    "make_baseline",
    "ordered_events",
    "split_over_members",
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
