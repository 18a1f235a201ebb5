"""Named presets: the SmartNet/CoordiNet schemes, the OneNet market-based pilots, evolvDSO's PQ
region, two aggregation projects of the seed (Redispatch 3.0, Industry4Redispatch) and the GB
services (NGED / ESO MW Dispatch under primacy rules, §7.21).

Each preset reproduces a design as the seed describes it (Tables 2–3, L600–L705; SmartNet L1597;
``shared/reference/coordination-schemes.md``). Where the seed is silent, the choice is written in
the preset's ``notes``. Every preset runs on the same scenario through the same runner and clearing
engine; :func:`preset` looks one up by id, :data:`PRESETS` lists them in a stable order.

Choices common to all presets:

- "Weeks ahead" and "long-term" sub-markets both map to :attr:`Timeframe.LONG_TERM` (the domain
  has no medium-term timeframe; the seed groups days-to-weeks as medium term, L627).
- The SmartNet/CoordiNet schemes are ancillary-services markets cleared close to real time
  (SmartNet simulated real-time AS markets): one near-real-time activation sub-market. The generic
  OneNet models buy availability day-ahead and activate near real time.
- A DSO-only pilot (Spain, Czech Republic, Hungary, Slovenia) has ``tso_buys=False``: the TSO's
  needs of a scenario stay unserved by the pilot's markets and show as shortfall, which is what
  the pilot's design means for a TSO with needs.
"""

from __future__ import annotations

from flexcoord.coordination.config import (
    DsoGridInTsoMarket,
    InterfaceAggregation,
    MarketModel,
    SchemeConfig,
)
from flexcoord.coordination.primacy import PrimacyRules
from flexcoord.domain import PowerType, ProductKind, Timeframe
from flexcoord.errors import NotFoundError

__all__ = [
    "AGGREGATION_PROJECTS",
    "GB_SERVICES",
    "ONENET_MODELS",
    "ONENET_PILOTS",
    "PRESETS",
    "SEED_PROJECTS",
    "SMARTNET_SCHEMES",
    "preset",
]

_LT, _DA, _ID, _NRT = (
    Timeframe.LONG_TERM,
    Timeframe.DAY_AHEAD,
    Timeframe.INTRADAY,
    Timeframe.NEAR_REAL_TIME,
)
_BOTH_KINDS = (ProductKind.AVAILABILITY, ProductKind.ACTIVATION)
_P, _PQ = (PowerType.ACTIVE,), (PowerType.ACTIVE, PowerType.REACTIVE)

SMARTNET_SCHEMES: tuple[SchemeConfig, ...] = (
    SchemeConfig(
        id="smartnet-centralised",
        title="Centralised AS market (SmartNet/CoordiNet), DSO grid not modelled",
        market_model=MarketModel.COMMON,
        tso_access_to_ders=True,
        timeframes=(_NRT,),
        dso_buys=False,
        dso_grid_in_tso_market=DsoGridInTsoMarket.IGNORED,
        stakeholders=("TSO", "SP"),
        source="L1597; coordination-schemes.md",
        notes="The TSO clears transmission and distribution resources in one market; DSO "
        "constraints are not modelled, so the DSO violations its activations cause are reported.",
    ),
    SchemeConfig(
        id="smartnet-centralised-dso-limits",
        title="Centralised AS market (SmartNet/CoordiNet) with DSO constraints",
        market_model=MarketModel.COMMON,
        tso_access_to_ders=True,
        timeframes=(_NRT,),
        dso_buys=False,
        dso_grid_in_tso_market=DsoGridInTsoMarket.FULL,
        stakeholders=("TSO", "SP"),
        source="L1597; coordination-schemes.md",
        notes="Variant of the centralised scheme with the DSO grid's linear limits in the TSO's "
        "clearing; the DSO still buys nothing.",
    ),
    SchemeConfig(
        id="smartnet-local",
        title="Local AS market (SmartNet/CoordiNet)",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        timeframes=(_NRT,),
        aggregate_at_interface=True,
        stakeholders=("TSO", "DSO", "SP"),
        source="L1597, L1859; coordination-schemes.md",
        notes="DSO local markets clear first; unused bids the DSO grid can host are aggregated per "
        "coupling point and offered to the TSO market.",
    ),
    SchemeConfig(
        id="smartnet-shared-balancing",
        title="Shared balancing responsibility (SmartNet/CoordiNet)",
        market_model=MarketModel.FRAGMENTED,
        tso_access_to_ders=False,
        timeframes=(_NRT,),
        interface_schedule=True,
        stakeholders=("TSO", "DSO", "SP"),
        source="L1597, L1859; coordination-schemes.md",
        notes="Each operator buys in its own area; the TSO sees no DER. The agreed interface "
        "schedule is the boundary: a DSO activation that changes the interface flow must be "
        "balanced inside the DSO area (energy-balance constraint in the DSO market).",
    ),
    SchemeConfig(
        id="smartnet-common",
        title="Common TSO–DSO AS market (SmartNet/CoordiNet)",
        market_model=MarketModel.COMMON,
        tso_access_to_ders=True,
        timeframes=(_NRT,),
        dso_grid_in_tso_market=DsoGridInTsoMarket.FULL,
        stakeholders=("TSO", "DSO", "SP"),
        source="L1597, L1859; coordination-schemes.md",
        notes="One optimisation over both grids minimising the total cost of both operators' "
        "needs.",
    ),
    SchemeConfig(
        id="smartnet-integrated",
        title="Integrated flexibility market (SmartNet/CoordiNet)",
        market_model=MarketModel.COMMON,
        tso_access_to_ders=True,
        timeframes=(_NRT,),
        dso_grid_in_tso_market=DsoGridInTsoMarket.FULL,
        commercial_buyers=True,
        stakeholders=("TSO", "DSO", "SP", "BRP", "IMO"),
        source="L1597, L1859; coordination-schemes.md",
        notes="The common market opened to commercial buyers (BRPs); run by an independent market "
        "operator.",
    ),
)

ONENET_MODELS: tuple[SchemeConfig, ...] = (
    SchemeConfig(
        id="onenet-common",
        title="OneNet common market, no priority",
        market_model=MarketModel.COMMON,
        tso_access_to_ders=True,
        timeframes=(_DA, _NRT),
        product_kinds=_BOTH_KINDS,
        dso_grid_in_tso_market=DsoGridInTsoMarket.FULL,
        source="L646, Table 3",
    ),
    SchemeConfig(
        id="onenet-multi-level",
        title="OneNet multi-level markets, priority for DSO",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        timeframes=(_DA, _NRT),
        product_kinds=_BOTH_KINDS,
        source="L646, Table 3",
        notes="Unused DSO-market bids are forwarded to the TSO market after the DSO's traffic "
        "light.",
    ),
    SchemeConfig(
        id="onenet-fragmented",
        title="OneNet fragmented markets, exclusivity for DSO",
        market_model=MarketModel.FRAGMENTED,
        tso_access_to_ders=False,
        timeframes=(_DA, _NRT),
        product_kinds=_BOTH_KINDS,
        source="L646, Table 3",
    ),
)

ONENET_PILOTS: tuple[SchemeConfig, ...] = (
    SchemeConfig(
        id="onenet-spain",
        title="OneNet Spain: DSO local markets, exclusivity for DSO",
        market_model=MarketModel.FRAGMENTED,
        tso_access_to_ders=False,
        tso_buys=False,
        timeframes=(_LT, _DA, _ID, _NRT),
        product_kinds=_BOTH_KINDS,
        stakeholders=("DSO", "SP", "IMO"),
        source="Table 3 (scheme cell blank, fragmented per L653), L655, L784",
        notes="Mechanism assumed discrete auction (cell blank in the extract); the intraday "
        "real-time activation market of L655 is the near-real-time sub-market. Availability "
        "winners without contracted activation compete in the activation market (L655): no "
        "obligation, forwarding allowed.",
    ),
    SchemeConfig(
        id="onenet-poland",
        title="OneNet Poland: sequential local → national, priority for DSO",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        aggregate_at_interface=True,
        timeframes=(_LT, _DA, _ID, _NRT),
        product_kinds=_BOTH_KINDS,
        stakeholders=("TSO", "DSO", "SP"),
        source="Table 3, L657–L659, L1955",
        notes="Forwarded bids aggregated by topology into an equivalent offer at each TSO–DSO "
        "coupling point that respects DSO limits (L659).",
    ),
    SchemeConfig(
        id="onenet-czech-republic",
        title="OneNet Czech Republic: DSO non-frequency services, active and reactive",
        market_model=MarketModel.FRAGMENTED,
        tso_access_to_ders=False,
        tso_buys=False,
        timeframes=(_LT, _DA, _ID, _NRT),
        power_types=_PQ,
        product_kinds=_BOTH_KINDS,
        stakeholders=("DSO", "SP", "IMO"),
        source="Table 3, L661, L1967",
    ),
    SchemeConfig(
        id="onenet-hungary",
        title="OneNet Hungary: weekly and daily local markets, active and reactive",
        market_model=MarketModel.FRAGMENTED,
        tso_access_to_ders=False,
        tso_buys=False,
        timeframes=(_LT, _DA),
        power_types=_PQ,
        product_kinds=_BOTH_KINDS,
        availability_obliges_activation_bid=False,
        stakeholders=("DSO", "SP"),
        source="Table 3, L663, L1959",
        notes="Long-term (weekly) winners are not obliged to bid short-term; short-term open to "
        "new SPs (L663). Locational prices from the clearing's duals.",
    ),
    SchemeConfig(
        id="onenet-northern",
        title="OneNet Northern cluster: common market, no priority",
        market_model=MarketModel.COMMON,
        tso_access_to_ders=True,
        dso_grid_in_tso_market=DsoGridInTsoMarket.FULL,
        timeframes=(_LT, _DA, _ID, _NRT),
        product_kinds=_BOTH_KINDS,
        availability_obliges_activation_bid=True,
        stakeholders=("TSO", "DSO", "SP", "IMO"),
        source="Table 3, L665–L671",
        notes="Availability sub-markets forward cleared bids into activation sub-markets with an "
        "obligation to bid; intraday bids forwarded to NRT at a virtual gate closure; bid "
        "uniqueness enforced by the ledger.",
    ),
    SchemeConfig(
        id="onenet-cyprus",
        title="OneNet Cyprus: DSO intraday-local then TSO intraday, priority for DSO",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        timeframes=(_ID, _NRT),
        product_kinds=_BOTH_KINDS,
        availability_obliges_activation_bid=True,
        stakeholders=("TSO", "DSO", "SP", "IMO"),
        source="Table 3, L673",
        notes="The DSO pre-evaluates local bids against its grid (traffic light) and forwards them "
        "individually to the TSO sub-market by location.",
    ),
    SchemeConfig(
        id="onenet-slovenia",
        title="OneNet Slovenia: DSO marketplace, long-term availability",
        market_model=MarketModel.FRAGMENTED,
        tso_access_to_ders=False,
        tso_buys=False,
        timeframes=(_LT,),
        product_kinds=_BOTH_KINDS,
        stakeholders=("DSO", "SP"),
        source="Table 3, L675, L1963",
    ),
)

SEED_PROJECTS: tuple[SchemeConfig, ...] = (
    SchemeConfig(
        id="evolvdso-pq-region",
        title="evolvDSO: TSO market within each DSO area's feasible PQ region (ICPF)",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        dso_grid_in_tso_market=DsoGridInTsoMarket.PQ_REGION,
        timeframes=(_DA, _NRT),
        power_types=_PQ,
        product_kinds=_BOTH_KINDS,
        stakeholders=("TSO", "DSO", "SP"),
        source="L1491, L1520; seed-catalogue.md §5.8",
        notes="The seed names the tool (ICPF: the feasible P and Q range at the TSO-DSO "
        "boundary) and its use in operational planning, not a market design. Our choice: DSO "
        "markets first, then the TSO market with the DSO's unused bids unfiltered, its awards "
        "keeping each DSO area's interface (P, Q) inside the area's region per MTU (computed "
        "from the forwarded bids at the base case after the DSO markets; 16 support "
        "directions). The TSO market sees the DSO grid only through the regions; awards the "
        "DSO grid then cannot host are curtailed.",
    ),
)

AGGREGATION_PROJECTS: tuple[SchemeConfig, ...] = (
    SchemeConfig(
        id="redispatch-3.0-cascade",
        title="Redispatch 3.0: potentials aggregated up the operator cascade, targets back down",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        aggregate_at_interface=True,
        interface_aggregation=InterfaceAggregation.CASCADE,
        timeframes=(_DA, _ID),
        stakeholders=("TSO", "DSO", "SP"),
        source="L1093–L1097, L2113; seed-catalogue §5.9",
        notes="Each operator aggregates its subordinate grids' potential at its connection point "
        "(offer curves under its own limits, batteries included); the TSO clears those potentials "
        "on its grid; each operator disaggregates its target onto its units and the next level's "
        "connection points, the target an equality (boundary condition). DSO needs are cleared "
        "first (their grids, their priority). The cascade takes the German reading of the grid "
        "(VDE 4140): the TSO keeps the levels from the lowest transformer above the scenario's "
        "split, so on SimBench HV/MV the 110 kV grid is an HV DSO's (EHV → HV → MV); a grid "
        "without a transformer above the split has two levels.",
    ),
    SchemeConfig(
        id="industry4redispatch",
        title="Industry4Redispatch: the TSO picks one Pareto-optimal feasible bid combination",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        aggregate_at_interface=True,
        interface_aggregation=InterfaceAggregation.PARETO_SET,
        timeframes=(_DA,),
        stakeholders=("TSO", "DSO", "SP", "aggregation platform"),
        source="L1047, L1061, L1067, L2144–L2161; seed-catalogue §5.2",
        notes="The DSO supplies the linearised model with its safety margin; its own needs are "
        "cleared first (the seed is silent; without that, a DSO area congested in the base case "
        "has no feasible combination at all). Per DSO area and MTU of a TSO need the platform "
        "enumerates the bids as indivisible (at most 12, the cheapest) and forwards the Pareto "
        "set of linearly feasible, XOR-free combinations; the TSO's market takes at most one "
        "per area and MTU (cost + shortfall penalty), whole.",
    ),
)

GB_SERVICES: tuple[SchemeConfig, ...] = (
    SchemeConfig(
        id="nged-mw-dispatch",
        title="NGED / ESO: DSO flexibility first, ESO MW Dispatch turn-down under primacy rules",
        market_model=MarketModel.MULTI_LEVEL,
        tso_access_to_ders=True,
        dso_grid_in_tso_market=DsoGridInTsoMarket.IGNORED,
        timeframes=(_NRT,),
        primacy=PrimacyRules(system_value_margin=0.25),
        stakeholders=("ESO", "DSO", "DER"),
        source="§7.21 L2213–L2221",
        notes="The ESO (TSO) reaches distribution DERs only to reduce generation (MW Dispatch, "
        "paid lost generation × bid price, L2215); it does not model the DSO grid: NGED's "
        "primacy rules decide afterwards (L2219–L2221). The seed names no rule: ours are DSO "
        "grid limits first, then whole-system value (the instruction worth more than 25 % "
        "above the other's wins), then DSO service primacy on DERs it already dispatched. "
        "Near-real-time activation, as MW Dispatch instructs in operation.",
    ),
)

PRESETS: tuple[SchemeConfig, ...] = (
    SMARTNET_SCHEMES
    + ONENET_MODELS
    + ONENET_PILOTS
    + SEED_PROJECTS
    + AGGREGATION_PROJECTS
    + GB_SERVICES
)


def preset(preset_id: str) -> SchemeConfig:
    """The preset with this id.

    Raises:
        NotFoundError: naming the valid ids.

    Example:
        >>> preset("onenet-poland").allocation
        <AllocationPrinciple.DSO_PRIORITY: 'dso_priority'>
    """
    for config in PRESETS:
        if config.id == preset_id:
            return config
    raise NotFoundError(f"no coordination preset {preset_id!r}; presets: {[p.id for p in PRESETS]}")
