"""The stages every market model is built from: one sub-market's clearing, the DSO's view of its
bids, forwarding, aggregation at the interface.

A scheme run is a sequence of sub-markets over one clearing engine. What a run reads and never
changes is its :class:`SchemeContext` (the scheme, the scenario, the joint model, the bids it
trades); what it has done so far is a :class:`MarketsState` (the ledger, the markets cleared, the
bids forwarded). Each stage takes both and returns a new state (or the bids it selected): later
markets see the flows earlier markets caused, because each clears on the base case moved by the
dispatch so far (:func:`~flexcoord.clearing.shift_constraints`,
:func:`~flexcoord.clearing.shift_forecast`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import (
    ClearingOptions,
    ClearingResult,
    shift_constraints,
    shift_forecast,
)
from flexcoord.clearing.grid_constraints import GridConstraints
from flexcoord.coordination.config import DsoGridInTsoMarket, SchemeConfig
from flexcoord.coordination.identities import (
    BidInMtu,
    BidLineage,
    Dispatch,
    DispatchKey,
    MarketId,
    Mtu,
    by_bid,
    summed,
)
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.coordination.interface import (
    AggregatedOffers,
    InterfaceBasis,
    InterfaceOffers,
    build_interface_offers,
)
from flexcoord.coordination.interface_regions import InterfaceRegions, interface_regions
from flexcoord.coordination.joint import JointModel
from flexcoord.coordination.ledger import ClearingLedger
from flexcoord.coordination.liquidity import Liquidity, eligible_roots
from flexcoord.coordination.market_tasks import MarketClient, MarketProblem, solve_markets
from flexcoord.domain import Bid, Need, OperatorRole, ProductKind, Timeframe
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.traffic_light import TrafficLightAssessment, compute_traffic_light
from flexcoord.grid.traffic_light_bids import filter_bids
from flexcoord.progress import ProgressCounter

FloatArray = NDArray[np.float64]

__all__ = [
    "BidSelection",
    "MarketRun",
    "MarketSpec",
    "MarketsState",
    "SchemeContext",
    "accepted_by_bid_mtu",
    "aggregated_offers",
    "clear_market",
    "clear_markets",
    "dso_assessment",
    "dso_view",
    "forward_to_tso",
    "moved_forecast",
    "pq_regions",
    "shifted_forecast",
    "traffic_light",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketRun:
    """One sub-market of a scheme run.

    ``offered`` holds the bids cleared (under the market's ids, aggregated interface offers
    included), so a report can name each award's resource and FSP; ``lineage`` the lineage of
    each forwarded one; ``result`` is the market's own clearing result (its awards before
    conflict handling); ``accepted_mw`` its awards per root bid and MTU (interface offers
    expanded to the bids behind them); ``eligible_roots`` the root bids that could serve each of
    its needs, summed up in ``liquidity``.
    """

    id: MarketId
    buyer_ids: tuple[str, ...]
    areas: tuple[str, ...]
    needs: int
    bids_offered: int
    bids_forwarded: int
    result: ClearingResult
    accepted_mw: Mapping[DispatchKey, float]
    offered: tuple[Bid, ...] = ()
    lineage: Mapping[str, BidLineage] = field(default_factory=dict)
    eligible_roots: Mapping[str, frozenset[str]] = field(default_factory=dict)
    liquidity: Liquidity | None = None

    @property
    def solver_s(self) -> float:
        """HiGHS time of this market."""
        return float(self.result.stats.solve_s)

    def root_of(self, bid_id: str) -> str:
        """The root bid of a bid this market was offered (itself unless forwarded)."""
        lineage = self.lineage.get(bid_id)
        return bid_id if lineage is None else lineage.root


class _MovedForecastMemo:
    """The last forecast moved by a dispatch (:func:`moved_forecast`): the DSOs' traffic lights
    after a stage all read the base case moved by the same dispatch (33 times on the national
    grid, each a PTDF product over every bus and MTU)."""

    __slots__ = ("_dispatch", "_forecast", "_moved")

    def __init__(self) -> None:
        self._forecast: OperatingForecast | None = None
        self._dispatch: dict[DispatchKey, float] = {}
        self._moved: OperatingForecast | None = None

    def get(
        self,
        forecast: OperatingForecast,
        dispatch: Dispatch,
        move: Callable[[], OperatingForecast],
    ) -> OperatingForecast:
        if self._moved is None or forecast is not self._forecast or dispatch != self._dispatch:
            self._forecast, self._dispatch, self._moved = forecast, dict(dispatch), move()
        return self._moved


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeContext:
    """What every market of one scheme run reads; it never changes during the run.

    Attributes:
        config: the scheme.
        scenario: the scenario (in a timeframe chain: the round's, bids under their root ids).
        joint: the scenario's joint model.
        options: the clearing options of every sub-market.
        bids: the bids offered to the run that the scheme trades (in a chain: the round's, under
            their forwarded ids).
        round: the chain round the run is, or ``None``.
        progress: where each sub-market's start is reported.
        tso_ids, dso_ids: the scenario's TSOs and DSOs, sorted.
        tso_areas: the TSOs' grid areas.
        area_operator: grid area → its operator.
        bids_by_root: the scenario's bids by (root) id.
        client: a Dask client the independent markets of a stage are solved on
            (:mod:`flexcoord.coordination.market_tasks`); ``None``: in this process.
        moved: the last base case moved by a dispatch (:func:`moved_forecast`, a memo).
    """

    config: SchemeConfig
    scenario: CoordinationInput
    joint: JointModel
    options: ClearingOptions
    bids: tuple[Bid, ...]
    round: Timeframe | None
    progress: ProgressCounter = field(compare=False)
    tso_ids: tuple[str, ...]
    dso_ids: tuple[str, ...]
    tso_areas: tuple[str, ...]
    area_operator: Mapping[str, str]
    bids_by_root: Mapping[str, Bid]
    client: MarketClient | None = field(default=None, compare=False)
    moved: _MovedForecastMemo = field(default_factory=_MovedForecastMemo, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        config: SchemeConfig,
        scenario: CoordinationInput,
        joint: JointModel,
        options: ClearingOptions,
        *,
        client: MarketClient | None = None,
    ) -> SchemeContext:
        """The context of ``config`` on ``scenario``: every bid of the scenario, no round, no
        progress reports (see :meth:`in_round` and :meth:`reporting_to`), stages solved on
        ``client`` when given."""
        tso_ids = scenario.operators_of_role(OperatorRole.TSO)
        context = cls(
            config=config,
            scenario=scenario,
            joint=joint,
            options=options,
            bids=(),
            round=None,
            progress=ProgressCounter(None, total=0),
            tso_ids=tso_ids,
            dso_ids=scenario.operators_of_role(OperatorRole.DSO),
            tso_areas=tuple(a for t in tso_ids for a in scenario.areas_of(t)),
            area_operator={a.id: a.operator_id for a in scenario.register.areas},
            bids_by_root={b.id: b for b in scenario.bids},
            client=client,
        )
        return context.in_round(None, scenario.bids)

    def in_round(self, round: Timeframe | None, bids: Sequence[Bid]) -> SchemeContext:
        """The context of a run offered ``bids`` (those the scheme trades are kept) in ``round``."""
        traded = tuple(b for b in bids if self.traded(b.product_id))
        return dataclasses.replace(self, round=round, bids=traded)

    def reporting_to(self, progress: ProgressCounter) -> SchemeContext:
        """The context reporting each sub-market's start to ``progress``."""
        return dataclasses.replace(self, progress=progress)

    # --- selections -------------------------------------------------------------------------
    def traded(self, product_id: str) -> bool:
        """Whether the scheme trades this product: its power type is one of the scheme's, and its
        kind too (an availability-and-activation product needs availability in the scheme)."""
        product = self.scenario.register.product(product_id)
        kinds = self.config.product_kinds
        kind_ok = product.kind in kinds or (
            product.kind == ProductKind.AVAILABILITY_AND_ACTIVATION
            and ProductKind.AVAILABILITY in kinds
        )
        return product.power_type in self.config.power_types and kind_ok

    def needs_of(self, buyer_ids: Sequence[str]) -> tuple[Need, ...]:
        """The needs of these buyers that the scheme trades."""
        wanted = set(buyer_ids)
        return tuple(
            n for n in self.scenario.needs if n.buyer_id in wanted and self.traded(n.product_id)
        )

    def area_of(self, bid: Bid, ledger: ClearingLedger) -> str:
        """The grid area of a (possibly forwarded) bid's resource."""
        return self.joint.bid_area[ledger.root_of(bid.id)]

    def bids_in(self, areas: Sequence[str], ledger: ClearingLedger) -> tuple[Bid, ...]:
        """The run's bids on resources in ``areas``, in offer order."""
        wanted = set(areas)
        return tuple(b for b in self.bids if self.area_of(b, ledger) in wanted)

    def buyers(self) -> tuple[str, ...]:
        """Who buys in a common market: the TSOs and DSOs if they buy, BRPs if admitted."""
        c = self.config
        out = list(self.tso_ids) if c.tso_buys else []
        out += list(self.dso_ids) if c.dso_buys else []
        if c.commercial_buyers:
            register = self.scenario.register
            out += [o.id for o in register.operators if o.role == OperatorRole.BRP]
        return tuple(out)

    def tso_market_areas(self) -> tuple[str, ...]:
        """The areas whose limits the TSO's (or common) market monitors: every area when the DSO
        grids are in it (``full``), the TSO's own otherwise."""
        if self.config.dso_grid_in_tso_market == DsoGridInTsoMarket.FULL:
            return self.joint.all_areas
        return self.tso_areas


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketsState:
    """What a scheme run has done so far: the ledger, the markets cleared, the bids forwarded."""

    ledger: ClearingLedger
    markets: tuple[MarketRun, ...] = ()
    forwarded: int = 0

    def dispatch(self) -> dict[DispatchKey, float]:
        """The markets' awards so far, summed per root bid and MTU."""
        return summed(m.accepted_mw for m in self.markets)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSpec:
    """One sub-market to clear: who buys, which bids (and aggregated offers), which limits.

    Attributes:
        id: the market.
        buyer_ids: whose needs it serves.
        bids: the bids offered (individually).
        areas: the grid areas whose limits it monitors.
        energy_balance: accepted up and down active MW balance per MTU (interface schedule).
        offers: aggregated interface offers offered besides ``bids``.
        forwarded: how many DSO bids were forwarded to it (individually or behind ``offers``).
        regions: the DSO areas' PQ regions its awards must keep each area's interface in
            (``pq_region``), on top of the limits of ``areas``.
    """

    id: MarketId
    buyer_ids: tuple[str, ...]
    bids: tuple[Bid, ...]
    areas: tuple[str, ...]
    energy_balance: bool = False
    offers: AggregatedOffers | None = None
    forwarded: int = 0
    regions: InterfaceRegions | None = None


def clear_market(ctx: SchemeContext, state: MarketsState, spec: MarketSpec) -> MarketsState:
    """Clear one sub-market on the base case moved by the dispatch so far; with aggregated
    ``offers``, the accepted interface volume is expanded back to the forwarded bids behind it
    before the ledger records it. A market with neither needs nor bids (of the products the
    scheme trades) does not run: the state comes back unchanged."""
    return clear_markets(ctx, state, (spec,))


def clear_markets(
    ctx: SchemeContext, state: MarketsState, specs: Sequence[MarketSpec]
) -> MarketsState:
    """Clear the independent sub-markets of one stage, each as :func:`clear_market` does but
    all on the base case moved by the dispatch *before* the stage (none sees another's awards),
    solved on ``ctx.client`` when given (:func:`~flexcoord.coordination.market_tasks.
    solve_markets`) and recorded in ``specs`` order: the outcome is the same either way."""
    inputs: list[tuple[MarketSpec, tuple[Need, ...], tuple[Bid, ...]]] = []
    for spec in specs:
        ctx.progress.step("market", f"clearing market {spec.id}")
        needs = ctx.needs_of(spec.buyer_ids)
        bids = tuple(b for b in spec.bids if ctx.traded(b.product_id))
        if needs or bids or (spec.offers is not None and spec.offers.bids):
            inputs.append((spec, needs, bids))
    if not inputs:
        return state
    injections = ctx.joint.injections(state.dispatch())
    problems = [
        MarketProblem(
            register=ctx.scenario.register if spec.offers is None else spec.offers.register,
            needs=needs,
            bids=bids if spec.offers is None else (*bids, *spec.offers.bids),
            constraints=_constraints(ctx, spec, injections),
            energy_balance=spec.energy_balance,
        )
        for spec, needs, bids in inputs
    ]
    results = solve_markets(problems, ctx.options, ctx.scenario.gate_closure_at, ctx.client)
    for (spec, needs, bids), problem, result in zip(inputs, problems, results, strict=True):
        state = _record(ctx, state, spec, needs, bids, problem.bids, result)
    return state


def _record(  # noqa: PLR0913 - one market's spec, inputs and result
    ctx: SchemeContext,
    state: MarketsState,
    spec: MarketSpec,
    needs: tuple[Need, ...],
    bids: tuple[Bid, ...],
    offered: tuple[Bid, ...],
    result: ClearingResult,
) -> MarketsState:
    """The state after one cleared market: the ledger's offer and award, its :class:`MarketRun`."""
    offers = spec.offers
    sets = {b.id: b.exclusive_set for b in bids if b.exclusive_set is not None}
    ledger = state.ledger.offer(spec.id, [b.id for b in bids], exclusive_sets=sets)
    accepted = accepted_by_bid_mtu(result)
    if offers is not None:
        direct = {k: v for k, v in accepted.items() if not offers.is_offer(k.bid_id)}
        accepted = direct | offers.expand(accepted)
    ledger = ledger.record(spec.id, by_bid(accepted))
    eligible = eligible_roots(result.problem, _roots_behind(ledger, offers))
    lineages = {b.id: ledger.lineage(b.id) for b in offered}
    run = MarketRun(
        id=spec.id,
        buyer_ids=spec.buyer_ids,
        areas=spec.areas,
        needs=len(needs),
        bids_offered=len(offered),
        bids_forwarded=spec.forwarded,
        result=result,
        accepted_mw={DispatchKey(ledger.root_of(k.bid_id), k.mtu): v for k, v in accepted.items()},
        offered=offered,
        lineage={i: lin for i, lin in lineages.items() if lin.forwarded},
        eligible_roots=eligible,
        liquidity=Liquidity.of(eligible, ctx.bids_by_root, ctx.scenario.register),
    )
    return dataclasses.replace(state, ledger=ledger, markets=(*state.markets, run))


def _constraints(
    ctx: SchemeContext, spec: MarketSpec, injections: tuple[FloatArray, FloatArray]
) -> GridConstraints | None:
    """The limits of ``spec.areas`` (and its PQ regions) on the base case moved by
    ``injections`` (active, reactive at the real buses); ``None`` when nothing is monitored."""
    joint = ctx.joint
    gc = shift_constraints(
        joint.views.constraints(spec.areas), joint.grid_map.real_bus_ids, *injections
    )
    if spec.regions is not None:
        gc = spec.regions.constrain(gc)
    monitored = len(gc.branch_names) or len(gc.vbus_ids) or gc.n_interface
    return gc if monitored else None


def _roots_behind(
    ledger: ClearingLedger, offers: AggregatedOffers | None
) -> Callable[[str], tuple[str, ...]]:
    """``bid id → root bid(s)`` of a market: an interface step's are those of the forwarded
    bids behind its curve, any other bid's its own root."""

    def roots(bid_id: str) -> tuple[str, ...]:
        behind = () if offers is None else offers.behind(bid_id)
        return tuple(ledger.root_of(b) for b in behind) or (ledger.root_of(bid_id),)

    return roots


def accepted_by_bid_mtu(result: ClearingResult) -> dict[BidInMtu, float]:
    """A clearing result's accepted MW per (bid, MTU)."""
    p = result.problem
    mtus = [Mtu.of_label(label) for label in p.mtu_labels]
    out: dict[BidInMtu, float] = {}
    x = result.slot_accepted_mw
    for s in (x > 1e-9).nonzero()[0].tolist():
        key = BidInMtu(p.bid_ids[int(p.slot_bid[s])], mtus[int(p.slot_mtu[s])])
        out[key] = out.get(key, 0.0) + float(x[s])
    return out


# --- what the TSO's market gets of the distribution bids -----------------------------------------
def shifted_forecast(ctx: SchemeContext, state: MarketsState) -> OperatingForecast:
    """The scenario's forecast moved by the dispatch of the markets cleared so far."""
    return moved_forecast(ctx, ctx.scenario.forecast, state.dispatch())


def moved_forecast(
    ctx: SchemeContext, forecast: OperatingForecast, dispatch: Dispatch
) -> OperatingForecast:
    """``forecast`` moved by ``dispatch``: on the scenario's PTDF rows (:meth:`~flexcoord.
    coordination.inputs.CoordinationInput.ptdf`), voltages too unless the scenario is screened;
    the last one is kept (``ctx.moved``)."""
    s = ctx.scenario

    def move() -> OperatingForecast:
        moved: OperatingForecast = shift_forecast(
            s.grid,
            forecast,
            *ctx.joint.ptdf_injections(dispatch),
            ptdf=s.ptdf() if s.screened is not None else None,
            voltages=s.screened is None,
        )
        return moved

    return ctx.moved.get(forecast, dispatch, move)


def traffic_light(
    ctx: SchemeContext, state: MarketsState, dso: str, bids: Sequence[Bid]
) -> tuple[Bid, ...]:
    """The DSO's traffic light on ``bids``, on the base case moved by the dispatch so far."""
    if not bids:
        return ()
    resources = sorted({b.resource_id for b in bids})
    assessment = dso_assessment(ctx, shifted_forecast(ctx, state), dso, resources)
    return filter_bids(bids, assessment, ctx.scenario.register).forwarded


def dso_assessment(
    ctx: SchemeContext,
    forecast: OperatingForecast,
    dso: str,
    resources: Sequence[str],
    *,
    mode: Literal["day_ahead", "intraday"] = "day_ahead",
) -> TrafficLightAssessment:
    """DSO ``dso``'s traffic light of ``resources`` at ``forecast``, with the scenario's margin
    and limit overrides (a thermal-only scenario opens the voltage band, so that only thermal
    limits bind)."""
    s = ctx.scenario
    vm_min, vm_max = (None, None) if s.voltages else (0.01, 10.0)
    return compute_traffic_light(
        s.register,
        s.grid,
        forecast,
        operator_id=dso,
        resources=resources,
        safety_margin=max(s.safety_margin, 1e-9),
        vm_min_pu=vm_min,
        vm_max_pu=vm_max,
        mode=mode,
        limit_overrides_mw=s.limit_overrides_mw,
        ptdf=s.ptdf() if s.screened is not None else None,
        voltages=s.screened is None,
    )


def dso_view(
    ctx: SchemeContext, state: MarketsState, dso: str, bids: Sequence[Bid]
) -> tuple[Bid, ...]:
    """DSO ``dso``'s distribution bids as the TSO's (or common) market may see them: through the
    DSO's traffic light (``traffic_light``), else as they are (``ignored``: the DSO grid is not
    modelled; ``full``: the market monitors the DSO's limits itself)."""
    if ctx.config.dso_grid_in_tso_market == DsoGridInTsoMarket.TRAFFIC_LIGHT:
        return traffic_light(ctx, state, dso, bids)
    return tuple(bids)


def not_yet_activated(
    ctx: SchemeContext, state: MarketsState, bids: Sequence[Bid]
) -> tuple[Bid, ...]:
    """Drop bids on units an earlier market of this run already activated in one of the
    bid's MTUs: forwarding them would only create double activations the conflict rule then
    has to undo (one unit, one activation per MTU)."""
    register = ctx.scenario.register
    busy = {
        (u.id, key.mtu)
        for key, mw in state.dispatch().items()
        if mw > 0
        for u in register.units_of(ctx.bids_by_root[key.root].resource_id)
    }
    if not busy:
        return tuple(bids)
    return tuple(
        bid
        for bid in bids
        if not any(
            (u.id, Mtu(q.interval.start)) in busy
            for u in register.units_of(bid.resource_id)
            for q in bid.quantities
        )
    )


BidSelection = Callable[[SchemeContext, MarketsState, Sequence[Bid]], Sequence[Bid]]
"""Which of a DSO's unused bids a stage forwards (before the DSO's view)."""


def forward_to_tso(
    ctx: SchemeContext, state: MarketsState, dso: str, *, select: BidSelection | None = None
) -> tuple[MarketsState, tuple[Bid, ...]]:
    """DSO ``dso``'s unused bids picked by ``select`` (default :func:`not_yet_activated`: not on
    units already activated), as the DSO's view lets them through, forwarded by the ledger to
    the TSO's market."""
    unused = state.ledger.unused(ctx.bids_in(ctx.scenario.areas_of(dso), state.ledger))
    bids = dso_view(ctx, state, dso, (select or not_yet_activated)(ctx, state, unused))
    ledger, forwarded = state.ledger.forward(bids, MarketId.tso(ctx.round))
    moved = dataclasses.replace(state, ledger=ledger, forwarded=state.forwarded + len(forwarded))
    return moved, forwarded


def aggregated_offers(
    ctx: SchemeContext,
    state: MarketsState,
    dso: str,
    forwarded: Sequence[Bid],
    previous: InterfaceOffers | None,
) -> InterfaceOffers:
    """DSO ``dso``'s forwarded bids as aggregated offers at its coupling points, on the base
    case moved by the dispatch so far, after the ``previous`` DSOs' offers (their virtual units
    stay in the register)."""
    s = ctx.scenario
    areas = [a for a in s.areas_of(dso) if a not in ctx.tso_areas]
    basis = InterfaceBasis(
        grid=s.grid,
        models=ctx.joint.dso_models.models(areas),
        intervals=s.intervals,
        forecast=shifted_forecast(ctx, state),
    )
    register = s.register if previous is None else previous.register
    offers = build_interface_offers(register, basis, forwarded, dso_id=dso)
    return offers if previous is None else previous.merged(offers)


def pq_regions(
    ctx: SchemeContext, state: MarketsState, forwarded: Sequence[Bid]
) -> InterfaceRegions:
    """The feasible PQ regions of the DSO areas of the ``forwarded`` bids, MTU by MTU, on the
    base case moved by the dispatch so far (:mod:`flexcoord.coordination.interface_regions`)."""
    s = ctx.scenario
    by_area: dict[str, list[Bid]] = {}
    for bid in forwarded:
        area = ctx.area_of(bid, state.ledger)
        if area not in ctx.tso_areas:
            by_area.setdefault(area, []).append(bid)
    return interface_regions(
        s.register,
        ctx.joint.dso_models.models(sorted(by_area)),
        shifted_forecast(ctx, state),
        s.intervals,
        by_area,
    )
