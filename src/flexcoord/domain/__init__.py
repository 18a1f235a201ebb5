"""The flexcoord domain model: frozen, validated value objects of a TSO–DSO flexibility market.

No I/O, no pandas: actors, resources (units and groups), products, needs, bids,
prequalifications, the :class:`Register` that cross-checks them, and :func:`validate_market`.
Every constructor checks its object's invariants and raises one
:class:`~flexcoord.errors.InvalidInputError` listing every issue (kind, id, field, value).
"""

from __future__ import annotations

from flexcoord.domain.actors import (
    FlexibilityServiceProvider,
    GridArea,
    MarketOperator,
    SystemOperator,
)
from flexcoord.domain.bids import Bid
from flexcoord.domain.market import market_issues, market_span, validate_market
from flexcoord.domain.needs import Location, Need
from flexcoord.domain.prequalification import GridPrequalification, ProductPrequalification
from flexcoord.domain.products import Product
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.domain.register import Register
from flexcoord.domain.resources import ConnectionPoint, Group, Resource, Unit
from flexcoord.domain.time import (
    QUARTER_HOUR,
    Interval,
    is_on_grid,
    market_day,
    market_time_units,
    mtu_index,
)
from flexcoord.domain.validation import IssueCollector, IssueLog, build_all
from flexcoord.domain.vocabulary import (
    Direction,
    LocationKind,
    OperatorRole,
    PowerType,
    PrequalificationScope,
    PrequalificationStatus,
    ProductKind,
    Technology,
    Timeframe,
    TrafficLight,
)

__all__ = [
    "QUARTER_HOUR",
    "Bid",
    "ConnectionPoint",
    "Direction",
    "FlexibilityServiceProvider",
    "GridArea",
    "GridPrequalification",
    "Group",
    "Interval",
    "IssueCollector",
    "IssueLog",
    "Location",
    "LocationKind",
    "MarketOperator",
    "MtuQuantity",
    "Need",
    "OperatorRole",
    "PowerType",
    "PrequalificationScope",
    "PrequalificationStatus",
    "Product",
    "ProductKind",
    "ProductPrequalification",
    "Register",
    "Resource",
    "SystemOperator",
    "Technology",
    "Timeframe",
    "TrafficLight",
    "Unit",
    "build_all",
    "is_on_grid",
    "market_day",
    "market_issues",
    "market_span",
    "market_time_units",
    "mtu_index",
    "validate_market",
]
