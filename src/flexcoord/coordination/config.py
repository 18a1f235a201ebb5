"""A TSO–DSO coordination scheme as configuration: the dimensions of OneNet's framework.

One :class:`SchemeConfig` describes who buys, which markets run in which order, which resources
each market may use, what each market knows of the other operator's grid, and what is forwarded
between markets. Every scheme — the five SmartNet/CoordiNet schemes, OneNet's common, multi-level
and fragmented models with their allocation principles, the pilot presets of
:mod:`flexcoord.coordination.presets` — is a value of this one type, run by the one runner
(:func:`~flexcoord.coordination.scheme.run_scheme`, whose market model is a named strategy of
:data:`~flexcoord.coordination.market_models.MARKET_MODELS`) over the one clearing engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flexcoord.coordination.primacy import PrimacyRules
from flexcoord.domain import PowerType, ProductKind, Timeframe
from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "AllocationPrinciple",
    "DsoGridInTsoMarket",
    "InterfaceAggregation",
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
    PQ_REGION = "pq_region"  # each DSO area's feasible PQ region at its coupling points (evolvDSO)


class InterfaceAggregation(StrEnum):
    """How a multi-level model with ``aggregate_at_interface`` forwards the DSO bids to the TSO."""

    #: one price–quantity curve per DSO area, MTU and direction (OneNet Poland, SmartNet local)
    OFFER_CURVE = "offer_curve"
    #: potentials aggregated up the operator cascade and disaggregated down it (Redispatch 3.0)
    CASCADE = "cascade"
    #: per DSO area and MTU the Pareto set of feasible indivisible bid combinations, of which
    #: the TSO picks at most one (Industry4Redispatch)
    PARETO_SET = "pareto_set"


_ALLOCATION_OF_MODEL = {
    MarketModel.COMMON: AllocationPrinciple.NO_PRIORITY,
    MarketModel.MULTI_LEVEL: AllocationPrinciple.DSO_PRIORITY,
    MarketModel.FRAGMENTED: AllocationPrinciple.DSO_EXCLUSIVITY,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeConfig:
    """One coordination design.

    Attributes:
        id: short name (``"smartnet-local"``, ``"onenet-poland"``).
        title: human name.
        market_model: :class:`MarketModel`; with ``aggregate_at_interface`` and
            ``interface_schedule`` it picks the scheme's strategy in
            :data:`~flexcoord.coordination.market_models.MARKET_MODELS`. Its allocation principle
            is :attr:`allocation`.
        tso_access_to_ders: whether the TSO market of a multi-level model is offered the DSO
            markets' unused bids (a common market always offers every bid to every buyer, a
            fragmented one never offers a distribution bid to the TSO).
        dso_buys: whether DSOs procure flexibility at all (``False`` in the centralised scheme).
        tso_buys: whether the TSO procures (``False`` for DSO-only pilots such as Czech Republic).
        dso_grid_in_tso_market: see :class:`DsoGridInTsoMarket`: which DSO limits the TSO's (or
            common) market monitors, whether distribution bids pass the DSO's traffic light before
            it, and the rule for the conflicts left.
        aggregate_at_interface: a multi-level model forwards the DSO-feasible bids to the TSO as
            one aggregated offer per coupling point (Polish demonstrator, SmartNet local market)
            instead of the individual filtered bids.
        interface_aggregation: what ``aggregate_at_interface`` forwards
            (:class:`InterfaceAggregation`; only read with it).
        commercial_buyers: commercial parties (BRPs) may post needs in the common market
            (integrated market).
        interface_schedule: each DSO market of a fragmented model keeps its accepted up and down
            flexibility balanced so its interface schedule holds (shared balancing
            responsibility).
        timeframes: sub-markets that run, in order (the rounds of a timeframe chain it takes).
        power_types: traded power types (reactive for Czech Republic, Hungary).
        product_kinds: availability and/or activation.
        availability_obliges_activation_bid: SPs awarded availability must bid in the activation
            market (Northern, Cyprus); free bids are always allowed.
        primacy: the ESO's MW Dispatch (NGED / ESO): a multi-level model whose TSO market reaches
            the DSO's unused bids only to turn distribution generation **down**, its conflicts
            with the DSO's awards and limits decided by these
            :class:`~flexcoord.coordination.primacy.PrimacyRules` (strategy ``mw_dispatch``);
            ``None`` for every other scheme.
        stakeholders: coordinated stakeholders as the seed lists them (listed by
            ``flexcoord coordinate --list-presets``).
        source: where the seed describes it (line references).
        notes: what we chose where the seed is silent.
    """

    id: str
    title: str
    market_model: MarketModel
    tso_access_to_ders: bool
    dso_buys: bool = True
    tso_buys: bool = True
    dso_grid_in_tso_market: DsoGridInTsoMarket = DsoGridInTsoMarket.TRAFFIC_LIGHT
    aggregate_at_interface: bool = False
    interface_aggregation: InterfaceAggregation = InterfaceAggregation.OFFER_CURVE
    commercial_buyers: bool = False
    interface_schedule: bool = False
    timeframes: tuple[Timeframe, ...] = (Timeframe.DAY_AHEAD,)
    power_types: tuple[PowerType, ...] = (PowerType.ACTIVE,)
    product_kinds: tuple[ProductKind, ...] = (ProductKind.ACTIVATION,)
    availability_obliges_activation_bid: bool = False
    primacy: PrimacyRules | None = None
    stakeholders: tuple[str, ...] = ()
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        for name, enum in (
            ("market_model", MarketModel),
            ("dso_grid_in_tso_market", DsoGridInTsoMarket),
            ("interface_aggregation", InterfaceAggregation),
        ):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                issues.append(self._issue(name, value, f"must be one of {[m.value for m in enum]}"))
        if not issues:
            issues = [self._issue(*problem) for problem in _contradictions(self)]
        if issues:
            raise InvalidInputError(issues)

    def _issue(self, field_name: str, value: object, message: str) -> Issue:
        return Issue(
            kind="SchemeConfig", object_id=self.id, field=field_name, value=value, message=message
        )

    @property
    def allocation(self) -> AllocationPrinciple:
        """OneNet's allocation principle of the market model (Table 3 pairs them one to one):
        no priority in the common market, DSO priority in multi-level markets, DSO exclusivity
        in fragmented ones. Not a field of its own: a second field could only contradict the
        model."""
        return _ALLOCATION_OF_MODEL[self.market_model]

    @property
    def sequential(self) -> bool:
        """Whether markets clear one after the other (not one joint optimisation)."""
        return self.market_model != MarketModel.COMMON


def _contradictions(c: SchemeConfig) -> list[tuple[str, object, str]]:
    """Every (field, value, message) that contradicts the rest of the config."""
    out: list[tuple[str, object, str]] = []
    model = c.market_model
    if not c.id:
        out.append(("id", c.id, "must not be empty"))
    if model == MarketModel.FRAGMENTED and c.tso_access_to_ders:
        out.append(("tso_access_to_ders", True, "fragmented markets give the TSO no DER"))
    if model == MarketModel.COMMON and not c.tso_access_to_ders:
        out.append(("tso_access_to_ders", False, "a common market offers every bid to every buyer"))
    if c.aggregate_at_interface and not (model == MarketModel.MULTI_LEVEL and c.tso_access_to_ders):
        out.append(
            (
                "aggregate_at_interface",
                True,
                "aggregated offers forward DSO bids to the TSO: a multi-level model with TSO "
                "access to DERs",
            )
        )
    if c.interface_aggregation != InterfaceAggregation.OFFER_CURVE and not c.aggregate_at_interface:
        out.append(
            (
                "interface_aggregation",
                c.interface_aggregation.value,
                "is read only with aggregate_at_interface",
            )
        )
    if c.dso_grid_in_tso_market == DsoGridInTsoMarket.PQ_REGION and not (
        model == MarketModel.MULTI_LEVEL and c.tso_access_to_ders and not c.aggregate_at_interface
    ):
        out.append(
            (
                "dso_grid_in_tso_market",
                c.dso_grid_in_tso_market.value,
                "a PQ region bounds the TSO market's use of forwarded DSO bids: a multi-level "
                "model with TSO access to DERs and individual (not aggregated) bids",
            )
        )
    if c.interface_schedule and model != MarketModel.FRAGMENTED:
        out.append(
            (
                "interface_schedule",
                True,
                "a DSO holds its interface schedule with its own resources only where the TSO "
                "reaches no DER: a fragmented model",
            )
        )
    if c.primacy is not None:
        out += _primacy_contradictions(c)
    if c.commercial_buyers and model != MarketModel.COMMON:
        out.append(("commercial_buyers", True, "commercial parties buy in a common market"))
    if not (c.dso_buys or c.tso_buys or c.commercial_buyers):
        out.append(("dso_buys", c.dso_buys, "some party must buy"))
    if not c.timeframes:
        out.append(("timeframes", c.timeframes, "must name at least one sub-market"))
    return out


def _primacy_contradictions(c: SchemeConfig) -> list[tuple[str, object, str]]:
    """What MW Dispatch under primacy rules needs: a DSO market first and an ESO market that
    reaches the DERs bid by bid (``primacy`` is set)."""
    if not isinstance(c.primacy, PrimacyRules):
        return [("primacy", c.primacy, "must be a PrimacyRules value or None")]
    needs = (
        c.market_model == MarketModel.MULTI_LEVEL
        and c.tso_access_to_ders
        and c.dso_buys
        and c.tso_buys
        and not c.aggregate_at_interface
    )
    if needs:
        return []
    return [
        (
            "primacy",
            c.primacy,
            "primacy rules decide between a DSO's and the ESO's instructions on DERs: a "
            "multi-level model where both buy and the TSO reaches DERs bid by bid (no "
            "aggregate_at_interface)",
        )
    ]
