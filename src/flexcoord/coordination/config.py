"""A TSO–DSO coordination scheme as configuration: the dimensions of OneNet's framework.

One :class:`SchemeConfig` describes who buys, which markets run in which order, which resources
each market may use, what each market knows of the other operator's grid, and what is forwarded
between markets. Every scheme — the five SmartNet/CoordiNet schemes, OneNet's common, multi-level
and fragmented models with their allocation principles, the pilot presets of
:mod:`flexcoord.coordination.presets` — is a value of this one type, run by the one runner
(:mod:`flexcoord.coordination.runner`) over the one clearing engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flexcoord.domain import PowerType, ProductKind, Timeframe
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "AllocationPrinciple",
    "DsoGridInTsoMarket",
    "MarketModel",
    "SchemeConfig",
]


class MarketModel(StrEnum):
    """OneNet's market models (seed Table 3, L646–L653)."""

    COMMON = "common"  # one joint TSO–DSO market
    MULTI_LEVEL = "multi_level"  # separate markets, DSO first, the TSO may reach DERs
    FRAGMENTED = "fragmented"  # dedicated, unlinked markets; the TSO has no access to DERs


class AllocationPrinciple(StrEnum):
    """How a distribution resource is shared when both operators want it (Table 3, L643)."""

    DSO_EXCLUSIVITY = "dso_exclusivity"  # distribution resources serve only the DSO
    DSO_PRIORITY = "dso_priority"  # DSO needs first; what is left may go to the TSO
    NO_PRIORITY = "no_priority"  # one joint optimisation decides


class DsoGridInTsoMarket(StrEnum):
    """What the TSO's market knows of the DSO grid when it clears distribution resources."""

    IGNORED = "ignored"  # not modelled: DSO violations are reported, not prevented
    TRAFFIC_LIGHT = "traffic_light"  # bids pass the DSO's traffic-light filter first
    FULL = "full"  # the DSO grid's linear constraints are in the same optimisation


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeConfig:
    """One coordination design.

    Attributes:
        id: short name (``"smartnet-local"``, ``"onenet-poland"``).
        title: human name.
        market_model: :class:`MarketModel`.
        allocation: :class:`AllocationPrinciple`.
        tso_access_to_ders: whether the TSO may buy from distribution-connected units.
        dso_buys: whether DSOs procure flexibility at all (``False`` in the centralised scheme).
        tso_buys: whether the TSO procures (``False`` for DSO-only pilots such as Czech Republic).
        dso_grid_in_tso_market: see :class:`DsoGridInTsoMarket`.
        aggregate_at_interface: forward DSO-feasible bids to the TSO as one aggregated offer per
            coupling point (Polish demonstrator) instead of the individual filtered bids.
        commercial_buyers: commercial parties (BRPs) may post needs too (integrated market).
        interface_schedule: each DSO must hold its agreed interface schedule with its own
            resources (shared balancing responsibility); the TSO market sees no DER.
        timeframes: sub-markets that run, in order (e.g. day-ahead then intraday).
        power_types: traded power types (reactive for Czech Republic, Hungary).
        product_kinds: availability and/or activation.
        availability_obliges_activation_bid: SPs awarded availability must bid in the activation
            market (Northern, Cyprus); free bids are always allowed.
        stakeholders: coordinated stakeholders as the seed lists them (documentation).
        source: where the seed describes it (line references).
        notes: what we chose where the seed is silent.
    """

    id: str
    title: str
    market_model: MarketModel
    allocation: AllocationPrinciple
    tso_access_to_ders: bool
    dso_buys: bool = True
    tso_buys: bool = True
    dso_grid_in_tso_market: DsoGridInTsoMarket = DsoGridInTsoMarket.TRAFFIC_LIGHT
    aggregate_at_interface: bool = False
    commercial_buyers: bool = False
    interface_schedule: bool = False
    timeframes: tuple[Timeframe, ...] = (Timeframe.DAY_AHEAD,)
    power_types: tuple[PowerType, ...] = (PowerType.ACTIVE,)
    product_kinds: tuple[ProductKind, ...] = (ProductKind.ACTIVATION,)
    availability_obliges_activation_bid: bool = False
    stakeholders: tuple[str, ...] = ()
    source: str = ""
    notes: str = ""
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        issues: list[Issue] = []

        def bad(field_name: str, value: object, message: str) -> None:
            issues.append(
                Issue(
                    kind="SchemeConfig",
                    object_id=self.id,
                    field=field_name,
                    value=value,
                    message=message,
                )
            )

        if not self.id:
            bad("id", self.id, "must not be empty")
        for name, enum in (
            ("market_model", MarketModel),
            ("allocation", AllocationPrinciple),
            ("dso_grid_in_tso_market", DsoGridInTsoMarket),
        ):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                bad(name, value, f"must be one of {[m.value for m in enum]}")
        if self.market_model == MarketModel.FRAGMENTED and self.tso_access_to_ders:
            bad("tso_access_to_ders", True, "the fragmented model gives the TSO no access to DERs")
        if self.allocation == AllocationPrinciple.DSO_EXCLUSIVITY and self.tso_access_to_ders:
            bad(
                "tso_access_to_ders",
                True,
                "contradicts exclusivity of distribution resources for the DSO",
            )
        if (
            self.market_model == MarketModel.COMMON
            and self.allocation != AllocationPrinciple.NO_PRIORITY
        ):
            bad("allocation", self.allocation, "a common market optimises jointly: use no_priority")
        if not (self.dso_buys or self.tso_buys or self.commercial_buyers):
            bad("dso_buys", self.dso_buys, "some party must buy")
        if not self.timeframes:
            bad("timeframes", self.timeframes, "must name at least one sub-market")
        if issues:
            raise InvalidInputError(issues)

    @property
    def sequential(self) -> bool:
        """Whether markets clear one after the other (not one joint optimisation)."""
        return self.market_model != MarketModel.COMMON
