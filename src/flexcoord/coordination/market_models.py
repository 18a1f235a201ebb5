"""Market models as named strategies: who meets whom, in which order.

Each market model is a function of a :class:`~flexcoord.coordination.markets.SchemeContext` and a
:class:`~flexcoord.coordination.markets.MarketsState` that returns the state after its
sub-markets (their :class:`~flexcoord.coordination.markets.MarketRun` values, the ledger, the
bids forwarded), built from the stages of :mod:`flexcoord.coordination.markets`.
:data:`MARKET_MODELS` registers them by name (as ASSUME registers its clearing algorithms) and
:func:`market_model_name` picks the one a :class:`~flexcoord.coordination.config.SchemeConfig`
describes:

- ``common`` (``market_model=common``): one market; buyers per the config; every bid; the TSO
  grid's limits plus the DSO grids' when ``dso_grid_in_tso_market`` is ``full``
  (``traffic_light``: distribution bids pass each DSO's traffic light first; ``ignored``: the DSO
  grid is not modelled);
- ``multi_level`` (``multi_level``: DSO priority): each DSO's market first (its needs, its areas'
  bids, its grid; the DSO markets are simultaneous — each on the base case before them, none seeing
  another's awards — and solved in parallel when the run has a Dask client), then the TSO's market
  with the transmission bids plus, with ``tso_access_to_ders``, the DSO bids nobody used, forwarded
  through the double-clearing guard as the DSO's view lets them through (its traffic light,
  recomputed on the base case moved by the DSO markets' dispatch; with ``pq_region`` (evolvDSO) they
  pass unfiltered and the TSO's market keeps each DSO area's interface inside the area's feasible PQ
  region instead);
- ``local`` (``multi_level`` with ``aggregate_at_interface``: SmartNet's local market, the Polish
  demonstrator): as ``multi_level``, the forwarded bids reaching the TSO as one aggregated offer
  per DSO area, MTU and direction at the coupling point;
- ``cascade`` (``local`` with ``interface_aggregation=cascade``: Redispatch 3.0): as ``local``, the
  forwarded bids aggregated up the operator cascade and the TSO's awards disaggregated down it
  (:mod:`flexcoord.coordination.cascade_offers`);
- ``pareto_set`` (``interface_aggregation=pareto_set``: Industry4Redispatch): as ``local``, each
  DSO area offering per MTU of a TSO need its Pareto set of feasible indivisible bid
  combinations, of which the TSO's market takes at most one
  (:mod:`flexcoord.coordination.pareto_offers`);
- ``fragmented`` (``fragmented``: DSO exclusivity): the DSO markets, then a TSO market with
  transmission bids only;
- ``shared_balancing`` (``fragmented`` with ``interface_schedule``): as ``fragmented``, each DSO
  market keeping its accepted up and down flexibility balanced so its interface schedule holds;
- ``mw_dispatch`` (``multi_level`` with ``primacy``: NGED / ESO): the DSO markets, then the ESO's
  market with the transmission bids plus the DSOs' unused **turn-down** bids on generating DERs
  (:mod:`flexcoord.coordination.mw_dispatch`), its conflicts with the DSOs decided afterwards by
  the primacy rules (:mod:`flexcoord.coordination.primacy`).

A DSO-only design (``tso_buys=False``) runs no TSO market; a design whose DSOs do not buy
(``dso_buys=False``) no DSO market.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from flexcoord.coordination.cascade_offers import cascade_offers
from flexcoord.coordination.config import (
    DsoGridInTsoMarket,
    InterfaceAggregation,
    MarketModel,
    SchemeConfig,
)
from flexcoord.coordination.identities import MarketId
from flexcoord.coordination.interface import AggregatedOffers, InterfaceOffers
from flexcoord.coordination.interface_regions import InterfaceRegions
from flexcoord.coordination.ledger import ClearingLedger
from flexcoord.coordination.markets import (
    MarketSpec,
    MarketsState,
    SchemeContext,
    aggregated_offers,
    clear_market,
    clear_markets,
    forward_to_tso,
    pq_regions,
    traffic_light,
)
from flexcoord.coordination.mw_dispatch import turn_down_bids
from flexcoord.coordination.pareto_offers import pareto_offers
from flexcoord.domain import Bid

__all__ = [
    "MARKET_MODELS",
    "MarketModelFn",
    "cascade",
    "common",
    "forward_all_to_tso",
    "fragmented",
    "local",
    "market_model_name",
    "multi_level",
    "mw_dispatch",
    "pareto_set",
    "planned_markets",
    "run_markets",
    "shared_balancing",
]

MarketModelFn = Callable[[SchemeContext, MarketsState], MarketsState]
"""A market model: the state after its sub-markets, from the context and the state before."""


# --- stages shared by the sequential models --------------------------------------------------
def dso_markets(
    ctx: SchemeContext, state: MarketsState, *, energy_balance: bool = False
) -> MarketsState:
    """Each DSO's market (when DSOs buy): its needs, its areas' bids, its areas' limits. The DSO
    markets are one stage of independent markets (:func:`~flexcoord.coordination.markets.
    clear_markets`): each clears on the base case before the stage, none sees another DSO's
    awards, so they are solved in parallel on ``ctx.client`` when one is given; they are
    recorded in DSO order."""
    if not ctx.config.dso_buys:
        return state
    specs = [
        MarketSpec(
            id=MarketId.dso(dso, ctx.round),
            buyer_ids=(dso,),
            bids=ctx.bids_in(areas, state.ledger),
            areas=areas,
            energy_balance=energy_balance,
        )
        for dso in ctx.dso_ids
        for areas in (ctx.scenario.areas_of(dso),)
    ]
    return clear_markets(ctx, state, specs)


def tso_market(
    ctx: SchemeContext,
    state: MarketsState,
    bids: tuple[Bid, ...],
    offers: AggregatedOffers | None = None,
    regions: InterfaceRegions | None = None,
) -> MarketsState:
    """The TSOs' market: their needs, ``bids`` (and aggregated ``offers``), within the DSO
    areas' PQ ``regions`` when given."""
    spec = MarketSpec(
        id=MarketId.tso(ctx.round),
        buyer_ids=ctx.tso_ids,
        bids=bids,
        areas=ctx.tso_market_areas(),
        offers=offers,
        forwarded=state.forwarded,
        regions=regions,
    )
    return clear_market(ctx, state, spec)


def transmission_bids(ctx: SchemeContext, state: MarketsState) -> tuple[Bid, ...]:
    """The run's unused bids in the TSOs' areas."""
    return state.ledger.unused(ctx.bids_in(ctx.tso_areas, state.ledger))


# --- the market models ------------------------------------------------------------------------
def common(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """One joint market: every buyer of the design, every bid (with ``traffic_light``, each
    DSO's distribution bids as its traffic light lets them through), the limits of
    :meth:`~flexcoord.coordination.markets.SchemeContext.tso_market_areas`."""
    tso_areas = set(ctx.tso_areas)
    bids = list(ctx.bids_in(ctx.tso_areas, state.ledger))
    distribution = [b for b in ctx.bids if ctx.area_of(b, state.ledger) not in tso_areas]
    if ctx.config.dso_grid_in_tso_market == DsoGridInTsoMarket.TRAFFIC_LIGHT:
        for dso in ctx.dso_ids:
            operator = ctx.area_operator
            mine = [b for b in distribution if operator[ctx.area_of(b, state.ledger)] == dso]
            bids += traffic_light(ctx, state, dso, mine)
    else:
        bids += distribution
    spec = MarketSpec(
        id=MarketId.common(ctx.round),
        buyer_ids=ctx.buyers(),
        bids=tuple(bids),
        areas=ctx.tso_market_areas(),
    )
    return clear_market(ctx, state, spec)


def multi_level(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """DSO markets first; the TSO market gets the transmission bids and, with TSO access to
    DERs, each DSO's unused bids forwarded individually."""
    state = dso_markets(ctx, state)
    if not ctx.config.tso_buys:
        return state
    direct = transmission_bids(ctx, state)
    bids = direct
    if ctx.config.tso_access_to_ders:
        for dso in ctx.dso_ids:
            state, forwarded = forward_to_tso(ctx, state, dso)
            bids += forwarded
    regions = None
    if ctx.config.dso_grid_in_tso_market == DsoGridInTsoMarket.PQ_REGION:
        regions = pq_regions(ctx, state, bids[len(direct) :])
    return tso_market(ctx, state, bids, regions=regions)


def local(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """DSO markets first; each DSO's unused bids reach the TSO market as aggregated offers at
    its coupling points, disaggregated onto the bids behind them after the TSO's clearing."""
    state = dso_markets(ctx, state)
    if not ctx.config.tso_buys:
        return state
    direct = transmission_bids(ctx, state)
    offers: InterfaceOffers | None = None
    for dso in ctx.dso_ids:
        state, forwarded = forward_to_tso(ctx, state, dso)
        offers = aggregated_offers(ctx, state, dso, forwarded, offers)
    return tso_market(ctx, state, direct, offers)


def forward_all_to_tso(ctx: SchemeContext, state: MarketsState) -> tuple[MarketsState, list[Bid]]:
    """Every DSO's unused bids forwarded to the TSO's market, in DSO order."""
    forwarded: list[Bid] = []
    for dso in ctx.dso_ids:
        state, bids = forward_to_tso(ctx, state, dso)
        forwarded += bids
    return state, forwarded


def cascade(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """DSO markets first; the DSOs' unused bids reach the TSO market as the potentials of the
    operator cascade, the TSO's awards disaggregated down it onto the bids (Redispatch 3.0)."""
    state = dso_markets(ctx, state)
    if not ctx.config.tso_buys:
        return state
    state, forwarded = forward_all_to_tso(ctx, state)
    state, direct, offers = cascade_offers(ctx, state, transmission_bids(ctx, state), forwarded)
    return tso_market(ctx, state, direct, offers)


def pareto_set(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """DSO markets first (when DSOs buy); each DSO area's unused bids reach the TSO market as its
    Pareto set of feasible indivisible combinations per MTU, one of which the TSO may take
    (Industry4Redispatch)."""
    state = dso_markets(ctx, state)
    if not ctx.config.tso_buys:
        return state
    direct = transmission_bids(ctx, state)
    state, forwarded = forward_all_to_tso(ctx, state)
    return tso_market(ctx, state, direct, pareto_offers(ctx, state, forwarded))


def fragmented(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """DSO markets, then a TSO market with transmission bids only (the TSO sees no DER)."""
    state = dso_markets(ctx, state)
    if not ctx.config.tso_buys:
        return state
    return tso_market(ctx, state, transmission_bids(ctx, state))


def shared_balancing(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """As :func:`fragmented`, each DSO market holding its interface schedule (accepted up and
    down active MW balance per MTU)."""
    state = dso_markets(ctx, state, energy_balance=True)
    if not ctx.config.tso_buys:
        return state
    return tso_market(ctx, state, transmission_bids(ctx, state))


def mw_dispatch(ctx: SchemeContext, state: MarketsState) -> MarketsState:
    """DSO markets first; the ESO's market gets the transmission bids and each DSO's unused
    turn-down bids on generating DERs (MW Dispatch), not held back on DERs the DSO activated:
    the primacy rules decide those conflicts after the markets."""
    state = dso_markets(ctx, state)
    bids = transmission_bids(ctx, state)
    for dso in ctx.dso_ids:
        state, forwarded = forward_to_tso(ctx, state, dso, select=turn_down_bids)
        bids += forwarded
    return tso_market(ctx, state, bids)


MARKET_MODELS: Mapping[str, MarketModelFn] = MappingProxyType(
    {
        "common": common,
        "multi_level": multi_level,
        "local": local,
        "cascade": cascade,
        "pareto_set": pareto_set,
        "fragmented": fragmented,
        "shared_balancing": shared_balancing,
        "mw_dispatch": mw_dispatch,
    }
)
"""The market models by name (:func:`market_model_name` picks one for a config)."""


_AGGREGATED_MODEL = {
    InterfaceAggregation.OFFER_CURVE: "local",
    InterfaceAggregation.CASCADE: "cascade",
    InterfaceAggregation.PARETO_SET: "pareto_set",
}


def market_model_name(config: SchemeConfig) -> str:
    """The name in :data:`MARKET_MODELS` of the market model ``config`` describes.

    Example:
        >>> from flexcoord.coordination.presets import preset
        >>> market_model_name(preset("onenet-poland")), market_model_name(preset("onenet-spain"))
        ('local', 'fragmented')
    """
    if config.market_model == MarketModel.COMMON:
        return "common"
    if config.market_model == MarketModel.MULTI_LEVEL:
        if config.primacy is not None:
            return "mw_dispatch"
        if not config.aggregate_at_interface:
            return "multi_level"
        return _AGGREGATED_MODEL[config.interface_aggregation]
    return "shared_balancing" if config.interface_schedule else "fragmented"


def planned_markets(config: SchemeConfig, n_dso: int) -> int:
    """How many sub-markets a run of ``config`` opens with ``n_dso`` DSOs (each reported to the
    run's progress, whether or not it then has anything to clear)."""
    if config.market_model == MarketModel.COMMON:
        return 1
    return (n_dso if config.dso_buys else 0) + int(config.tso_buys)


def run_markets(ctx: SchemeContext, ledger: ClearingLedger) -> MarketsState:
    """The sub-markets of ``ctx.config``'s market model, starting from ``ledger``."""
    return MARKET_MODELS[market_model_name(ctx.config)](ctx, MarketsState(ledger=ledger))
