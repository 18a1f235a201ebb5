"""Sub-markets per timeframe, linked: long-term → day-ahead → intraday → near-real-time.

:func:`run_chain` runs one coordination scheme over a :class:`TimeframeChain`: one
:class:`SubMarketRound` per timeframe, each a product with its (virtual) gate closure, its needs
and its new free bids. Every round the scheme takes part in runs the scheme's market structure
(its market model of :data:`~flexcoord.coordination.market_models.MARKET_MODELS`, as
:func:`~flexcoord.coordination.scheme.run_scheme` does for one timeframe) and **one**
:class:`~flexcoord.coordination.ledger.ClearingLedger` spans all rounds, so no root bid clears
twice across the chain (seed L665, L669).

Rules (the seed describes the linkage, L655, L663, L665, L667, L673; the details are ours):

- **Rounds of a scheme**: the chain's rounds whose timeframe is in ``config.timeframes``, in the
  chain's order. A round the scheme lacks is skipped: its new bids join the pool of unused bids
  and its needs carry over to the next round the scheme has **of the same kind** (a capacity need
  is not an energy need: capacity carries to the next availability round, activation to the next
  activation round). Needs with no such later round stay unprocured: availability needs are
  reported (``capacity_not_procured_mw``), activation needs show as shortfall in the evaluation.
  Only skipped rounds' needs carry over; the part of a need a round leaves uncovered does not.
- **Forwarding**: at each round's (virtual) gate closure, the bids no earlier round cleared are
  forwarded by the ledger to their entry market of the round (a
  :class:`~flexcoord.coordination.identities.MarketId` of the round: common, TSO, or the DSO of
  the bid's area; ids ``"b17>intraday:dso:dso"``) and re-targeted to the round's
  product. A bid keeps its FSP's ``submitted_at``; it is forwarded only if that is before the
  round's gate closure and the product's own gate closure. Re-targeting fills a missing price: an
  activation-only bid offered for availability asks 0 €/MW/h (it never asked for a reservation
  fee); an availability-only bid has no activation price and is not forwarded to activation.
- **New free bids** of a round are the chain's bids for the round's product; one submitted after
  the round's gate closure is an input error naming the bid (checked for every round up front).
- **Availability → activation**: an availability round's awards (product kind availability or
  availability-and-activation) are capacity reservations, paid availability price × MW × h.
  With ``availability_obliges_activation_bid`` each award becomes an **obligatory** activation
  bid in the scheme's next activation round: a new root ``f"{root}:activation"`` (a new
  commitment, not a second clearing of the availability bid, whose root stays cleared), the
  awarded MW per MTU as quantity, the bid's activation price (its availability price when it has
  none). An obligatory bid not activated there is forwarded to the later activation rounds like
  any unused bid: the obligation holds until delivery. Without the obligation, awarded SPs are
  free not to bid; the model takes it that they do not (their bid is forwarded with probability
  0). Every activation round is open to new free bids either way (L665).
- **Physical dispatch** = the activation rounds' awards only. The chain's cost is
  :func:`~flexcoord.coordination.evaluation.evaluate_dispatch` of that dispatch on the joint
  problem of every activation need the scheme ran (plus the activation needs it had no round
  for), plus the availability payments.
- In an availability round, reservations are cleared against the grid as if fully activated
  (the worst case the reserving operator must host), and a scheme that aggregates at the
  interface forwards its DSO bids individually (the aggregated offer is an activation curve).
- Each round clears on the scenario's base case moved by the earlier rounds' activations (flows
  by PTDF, voltages by the voltage sensitivities).

The chain is a fold over its rounds: each round takes the chain's state (ledger, pool of bids,
needs carried over, obligations, dispatch so far) and returns a new one (:class:`ChainState`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import ClearingOptions, shift_forecast
from flexcoord.coordination.activation_check import (
    ActivationCheckRecord,
    ActivationChecks,
    Replacement,
    check_activations,
)
from flexcoord.coordination.config import (
    DsoGridInTsoMarket,
    InterfaceAggregation,
    MarketModel,
    SchemeConfig,
)
from flexcoord.coordination.conflicts import Conflict
from flexcoord.coordination.evaluation import DispatchCost
from flexcoord.coordination.identities import DispatchKey, MarketId, Mtu
from flexcoord.coordination.joint import DsoModelCache, JointModel
from flexcoord.coordination.kpis import (
    AcViolation,
    ChainKpis,
    CostKpis,
    SchemeKpis,
    ac_violation,
    scheme_kpis,
)
from flexcoord.coordination.ledger import ClearingLedger
from flexcoord.coordination.market_models import run_markets
from flexcoord.coordination.market_tasks import MarketClient
from flexcoord.coordination.markets import MarketRun, MarketsState, SchemeContext
from flexcoord.coordination.resolution import FinalDispatch, final_dispatch
from flexcoord.coordination.rounds import (
    RoundKind,
    SubMarketRound,
    TimeframeChain,
    obligation_bid,
    obligation_id,
    retarget_bid,
    retarget_need,
)
from flexcoord.coordination.scheme import default_options
from flexcoord.domain import Bid, Need, OperatorRole, Product, Timeframe
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.progress import Progress, ProgressCounter

__all__ = [
    "ChainOutcome",
    "ChainState",
    "RoundKind",
    "RoundOutcome",
    "SubMarketRound",
    "TimeframeChain",
    "obligation_id",
    "run_chain",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundOutcome:
    """What one round did (its markets, awards and conflicts, priced on the round's problem).

    Attributes:
        sub_market: the round.
        markets: its sub-markets.
        accepted_mw: its awards after conflicts, MW per root bid and MTU.
        conflicts: its conflicts.
        cost: its awards on the round's joint problem.
        kpis: :class:`~flexcoord.coordination.kpis.SchemeKpis` on the round's problem.
        forwarded_in: unused bids of earlier rounds forwarded into this round.
        obligation_bids: obligatory activation bids of availability awards.
        new_bids: bids submitted for the round's product.
        carried_needs: ids of needs carried over from skipped rounds.
        activation_checks: the DSOs' intraday checks of the TSO's activations (near-real-time
            round of a traffic-light scheme), one per (root bid, MTU).
        replacements: the bids the DSOs activated instead of the volume their checks cut.
    """

    sub_market: SubMarketRound
    markets: tuple[MarketRun, ...]
    accepted_mw: Mapping[DispatchKey, float]
    conflicts: tuple[Conflict, ...]
    cost: DispatchCost
    kpis: SchemeKpis
    forwarded_in: int
    obligation_bids: tuple[Bid, ...]
    new_bids: int
    carried_needs: tuple[str, ...]
    activation_checks: tuple[ActivationCheckRecord, ...] = ()
    replacements: tuple[Replacement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainOutcome:
    """What a scheme did over a timeframe chain and what it cost.

    ``availability_mw`` holds the availability rounds' reservations, ``activation_mw`` the
    activation rounds' awards (the physical dispatch), both MW per root bid and MTU; ``cost`` is
    the activation dispatch on the activation needs' joint problem.
    """

    config: SchemeConfig
    rounds: tuple[RoundOutcome, ...]
    skipped: tuple[Timeframe, ...]
    ledger: ClearingLedger
    availability_mw: Mapping[DispatchKey, float]
    availability_payment_eur: float
    activation_mw: Mapping[DispatchKey, float]
    cost: DispatchCost
    kpis: ChainKpis
    wall_s: float

    @property
    def total_cost_eur(self) -> float:
        """Activation dispatch cost (joint yardstick) plus availability payments."""
        return self.cost.total_eur + self.availability_payment_eur


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainState:
    """The chain after some rounds: what the fold of :func:`run_chain` carries from round to
    round.

    Attributes:
        ledger: the one ledger of every round.
        pool: every bid offered so far, in its latest version (forwarded id).
        pending: needs of skipped rounds waiting for the next round of their kind.
        obligations: availability awards not yet turned into obligatory activation bids (the
            awarded bid, its MW per MTU).
        rounds: the rounds run; skipped: the timeframes skipped.
        availability_mw, availability_payment_eur: reservations and their payments so far.
        activation_mw: the activation rounds' awards so far; activation_bids: their bids by root.
        activation_needs: the needs of the activation rounds run.
        obligated: obligatory activation bids issued.
        activated_p_mw, activated_q_mvar: injections of the activations so far at the grid's
            PTDF buses per MTU (the next round's base case is moved by them).
    """

    ledger: ClearingLedger = field(default_factory=ClearingLedger)
    pool: tuple[Bid, ...] = ()
    pending: Mapping[RoundKind, tuple[Need, ...]] = field(default_factory=dict)
    obligations: tuple[tuple[Bid, Mapping[Mtu, float]], ...] = ()
    rounds: tuple[RoundOutcome, ...] = ()
    skipped: tuple[Timeframe, ...] = ()
    availability_mw: Mapping[DispatchKey, float] = field(default_factory=dict)
    availability_payment_eur: float = 0.0
    activation_mw: Mapping[DispatchKey, float] = field(default_factory=dict)
    activation_bids: Mapping[str, Bid] = field(default_factory=dict)
    activation_needs: tuple[Need, ...] = ()
    obligated: int = 0
    activated_p_mw: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    activated_q_mvar: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))

    @classmethod
    def start(cls, chain: TimeframeChain) -> ChainState:
        """Nothing cleared yet: the chain's base case."""
        shape = (len(chain.base.ptdf().bus_ids), len(chain.base.intervals))
        return cls(activated_p_mw=np.zeros(shape), activated_q_mvar=np.zeros(shape))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Chain:
    """What every round of one :func:`run_chain` reads."""

    config: SchemeConfig
    chain: TimeframeChain
    options: ClearingOptions
    dso_models: DsoModelCache
    progress: ProgressCounter = field(compare=False)
    client: MarketClient | None = field(default=None, compare=False)


def run_chain(  # noqa: PLR0913 - public: the scheme and chain, then keyword-only options
    config: SchemeConfig,
    chain: TimeframeChain,
    *,
    options: ClearingOptions | None = None,
    ac_check: bool = True,
    progress: Progress | None = None,
    dso_models: DsoModelCache | None = None,
    client: MarketClient | None = None,
) -> ChainOutcome:
    """Run ``config`` over every round of ``chain`` it has (see the module docstring).

    ``dso_models`` is a cache of the DSO areas' linear models to share between runs on the same
    grid, limits and voltage setting (a study's days and schemes); one that does not
    :meth:`~flexcoord.coordination.joint.DsoModelCache.fits` the chain is not used.

    ``client`` (a ``dask.distributed.Client``): each round's DSO markets are solved on its
    cluster, as :func:`~flexcoord.coordination.scheme.run_scheme` does; same outcome.

    ``progress`` (:mod:`flexcoord.progress`) is called as each round the scheme runs starts
    (stage ``"round"``, ``"round intraday (product p-id)"``), then before the activation
    dispatch is priced and AC-checked (``"evaluation"``).

    Raises:
        InvalidInputError: a round's new bid submitted after the round's gate closure (every such
            bid is named), or any market input issue of a round.
        DoubleClearingError: a root bid would clear twice (a bug, never an outcome).

    Example::

        chain = build_timeframe_chain(grid, n_bids=60)
        outcome = run_chain(preset("onenet-northern"), chain, ac_check=False)
        outcome.kpis.rounds, outcome.kpis.obligated_bids
    """
    start = time.perf_counter()
    _check_late_bids(chain)
    runs = sum(1 for r in chain.rounds if r.timeframe in config.timeframes)
    run = _Chain(
        config=config,
        chain=chain,
        options=options or default_options(),
        # the DSO areas' linear models depend on the grid, its limits and the voltage setting
        # only: one cache for every round (each model is one power-grid-model batch per area)
        dso_models=(
            dso_models
            if dso_models is not None and dso_models.fits(chain.base)
            else DsoModelCache(chain.base)
        ),
        progress=ProgressCounter(progress, total=runs + 1),
        client=client,
    )
    state = functools.reduce(
        functools.partial(_next_state, run), chain.rounds, ChainState.start(chain)
    )
    run.progress.step("evaluation", "pricing the activation dispatch on the joint problem")
    cost, ac = _evaluate(run, state, ac_check=ac_check)
    return ChainOutcome(
        config=config,
        rounds=state.rounds,
        skipped=state.skipped,
        ledger=state.ledger,
        availability_mw=state.availability_mw,
        availability_payment_eur=state.availability_payment_eur,
        activation_mw=state.activation_mw,
        cost=cost,
        kpis=_chain_kpis(state, cost, ac),
        wall_s=time.perf_counter() - start,
    )


# --- one round ---------------------------------------------------------------------------------
def _next_state(run: _Chain, state: ChainState, sub: SubMarketRound) -> ChainState:
    """The chain's state after round ``sub`` (run, or skipped when the scheme lacks it)."""
    new = run.chain.new_bids(sub)
    if sub.timeframe not in run.config.timeframes:
        pending = {**state.pending, sub.kind: (*state.pending.get(sub.kind, ()), *sub.needs)}
        return dataclasses.replace(
            state,
            skipped=(*state.skipped, sub.timeframe),
            pool=(*state.pool, *new),
            pending=pending,
        )
    run.progress.step("round", f"round {sub.timeframe} (product {sub.product_id})")
    product = run.chain.base.register.product(sub.product_id)
    carried = tuple(retarget_need(n, product) for n in state.pending.get(sub.kind, ()))
    obliged = (
        tuple(obligation_bid(b, mw, product) for b, mw in state.obligations)
        if sub.kind is RoundKind.ACTIVATION
        else ()
    )
    ledger, forwarded = _forward(run, sub, product, state.ledger, state.pool)
    offered = (*forwarded, *new, *obliged)
    scenario = dataclasses.replace(
        run.chain.base,
        name=f"{run.chain.base.name} [{sub.timeframe}]",
        needs=(*carried, *sub.needs),
        bids=tuple(_as_root(ledger, b) for b in offered),
        gate_closure_at=sub.gate_closure_at,
        forecast=shift_forecast(
            run.chain.base.grid,
            run.chain.base.forecast,
            state.activated_p_mw,
            state.activated_q_mvar,
        ),
    )
    joint = JointModel.of(scenario, dso_models=run.dso_models)
    ctx = SchemeContext.of(
        _round_config(run.config, sub), scenario, joint, run.options, client=run.client
    )
    ctx = ctx.in_round(sub.timeframe, offered)
    markets = run_markets(ctx, ledger)
    final = final_dispatch(ctx, markets)
    checks = _intraday_checks(run, state, sub, ctx, markets, final)
    if checks is not None:
        final = dataclasses.replace(final, accepted_mw=checks.accepted_mw)
        markets = dataclasses.replace(markets, ledger=checks.ledger)
    cost = joint.evaluate(final.accepted_mw, run.options)
    outcome = RoundOutcome(
        sub_market=sub,
        markets=markets.markets,
        accepted_mw=final.accepted_mw,
        conflicts=final.conflicts,
        cost=cost,
        kpis=scheme_kpis(ctx, markets, final, cost, 0.0),
        forwarded_in=len(forwarded),
        obligation_bids=obliged,
        new_bids=len(new),
        carried_needs=tuple(n.id for n in carried),
        activation_checks=() if checks is None else checks.records,
        replacements=() if checks is None else checks.replacements,
    )
    after = dataclasses.replace(
        state,
        ledger=markets.ledger,
        pool=offered,
        pending={k: v for k, v in state.pending.items() if k is not sub.kind},
        rounds=(*state.rounds, outcome),
        obligated=state.obligated + len(obliged),
    )
    if sub.kind is RoundKind.AVAILABILITY:
        return _reserved(run, after, outcome, ctx)
    return _activated(after, outcome, ctx)


def _reserved(
    run: _Chain, state: ChainState, outcome: RoundOutcome, ctx: SchemeContext
) -> ChainState:
    """The state after an availability round: its awards reserved and paid, and (with the
    obligation) waiting to become obligatory activation bids."""
    duration_h = ctx.joint.mtu_duration_h
    availability = dict(state.availability_mw)
    payment_eur = state.availability_payment_eur
    awards: dict[str, dict[Mtu, float]] = defaultdict(dict)
    for key, mw in outcome.accepted_mw.items():
        availability[key] = availability.get(key, 0.0) + mw
        price = ctx.bids_by_root[key.root].availability_price_eur_per_mw_h or 0.0
        payment_eur += price * mw * duration_h[key.mtu]
        awards[key.root][key.mtu] = mw
    obligations = state.obligations
    if run.config.availability_obliges_activation_bid:
        obligations += tuple((ctx.bids_by_root[root], mw) for root, mw in sorted(awards.items()))
    return dataclasses.replace(
        state,
        availability_mw=availability,
        availability_payment_eur=payment_eur,
        obligations=obligations,
    )


def _activated(state: ChainState, outcome: RoundOutcome, ctx: SchemeContext) -> ChainState:
    """The state after an activation round: its awards join the physical dispatch and move the
    base case of the rounds after it; the obligations are met."""
    activation = dict(state.activation_mw)
    bids = dict(state.activation_bids)
    for key, mw in outcome.accepted_mw.items():
        activation[key] = activation.get(key, 0.0) + mw
        bids[key.root] = ctx.bids_by_root[key.root]
    inj_p, inj_q = ctx.joint.ptdf_injections(outcome.accepted_mw)
    return dataclasses.replace(
        state,
        obligations=(),
        activation_mw=activation,
        activation_bids=bids,
        activation_needs=(*state.activation_needs, *ctx.scenario.needs),
        activated_p_mw=state.activated_p_mw + inj_p,
        activated_q_mvar=state.activated_q_mvar + inj_q,
    )


def _intraday_checks(  # noqa: PLR0913 - the round's run, state, sub-market, context, markets, rule
    run: _Chain,
    state: ChainState,
    sub: SubMarketRound,
    ctx: SchemeContext,
    markets: MarketsState,
    final: FinalDispatch,
) -> ActivationChecks | None:
    """The DSOs' intraday checks of the TSO's activations (InteGrid's TLS, intraday mode) in the
    near-real-time activation round of a traffic-light scheme, at the chain's intraday forecast
    moved by the earlier rounds' activations; ``None`` in any other round or scheme."""
    if not (
        sub.timeframe is Timeframe.NEAR_REAL_TIME
        and sub.kind is RoundKind.ACTIVATION
        and run.config.dso_grid_in_tso_market == DsoGridInTsoMarket.TRAFFIC_LIGHT
        and run.config.tso_buys
    ):
        return None
    base = run.chain.intraday_forecast or run.chain.base.forecast
    forecast = shift_forecast(
        run.chain.base.grid, base, state.activated_p_mw, state.activated_q_mvar
    )
    return check_activations(ctx, markets, final.accepted_mw, forecast)


# --- helpers ---------------------------------------------------------------------------------
def _round_config(config: SchemeConfig, sub: SubMarketRound) -> SchemeConfig:
    """The scheme as it runs in ``sub``: the aggregated interface offer
    (:mod:`flexcoord.coordination.interface`) is an activation price curve, so in an availability
    round a DSO forwards its filtered bids individually instead."""
    if sub.kind is RoundKind.AVAILABILITY and config.aggregate_at_interface:
        return dataclasses.replace(
            config,
            aggregate_at_interface=False,
            interface_aggregation=InterfaceAggregation.OFFER_CURVE,
        )
    return config


def _check_late_bids(chain: TimeframeChain) -> None:
    """Every new bid submitted after its round's gate closure, as one input error."""
    issues = [
        Issue(
            kind="Bid",
            object_id=b.id,
            field="submitted_at",
            value=b.submitted_at.isoformat(),
            message=f"is after the gate closure {sub.gate_closure_at.isoformat()} of the "
            f"{sub.timeframe} round (product {sub.product_id!r})",
        )
        for sub in chain.rounds
        for b in chain.new_bids(sub)
        if b.submitted_at > sub.gate_closure_at
    ]
    if issues:
        raise InvalidInputError(issues)


def _forward(
    run: _Chain,
    sub: SubMarketRound,
    product: Product,
    ledger: ClearingLedger,
    pool: Sequence[Bid],
) -> tuple[ClearingLedger, tuple[Bid, ...]]:
    """The pool's unused bids that may enter ``sub``, re-targeted and forwarded to their entry
    market of the round (common, TSO, or the DSO of the bid's area), in market order."""
    base = run.chain.base
    tso_areas = {a for t in base.operators_of_role(OperatorRole.TSO) for a in base.areas_of(t)}
    operator = {a.id: a.operator_id for a in base.register.areas}
    groups: dict[MarketId, list[Bid]] = defaultdict(list)
    for bid in ledger.unused(pool):
        moved = retarget_bid(bid, product, sub.gate_closure_at)
        if moved is None:
            continue
        area = base.area_of_resource(bid.resource_id)
        if run.config.market_model == MarketModel.COMMON:
            entry = MarketId.common(sub.timeframe)
        elif area in tso_areas:
            entry = MarketId.tso(sub.timeframe)
        else:
            entry = MarketId.dso(operator[area], sub.timeframe)
        groups[entry].append(moved)
    out: list[Bid] = []
    for entry in sorted(groups, key=lambda market: market.label):
        ledger, forwarded = ledger.forward(groups[entry], entry)
        out += forwarded
    return ledger, tuple(out)


def _as_root(ledger: ClearingLedger, bid: Bid) -> Bid:
    """``bid`` under its root id (how the round's joint problem names it)."""
    return dataclasses.replace(
        bid,
        id=ledger.root_of(bid.id),
        exclusive_set=None if bid.exclusive_set is None else ledger.root_of(bid.exclusive_set),
        parent_bid_id=None if bid.parent_bid_id is None else ledger.root_of(bid.parent_bid_id),
    )


def _activation_needs(chain: TimeframeChain, state: ChainState) -> tuple[Need, ...]:
    """The needs the activation dispatch is priced on: those of the activation rounds run, plus
    the activation needs no later activation round took (as needs of the last one's product)."""
    last = next((r for r in reversed(chain.rounds) if r.kind is RoundKind.ACTIVATION), None)
    if last is None:
        return state.activation_needs
    product = chain.base.register.product(last.product_id)
    left = state.pending.get(RoundKind.ACTIVATION, ())
    return (*state.activation_needs, *(retarget_need(n, product) for n in left))


def _evaluate(
    run: _Chain, state: ChainState, *, ac_check: bool
) -> tuple[DispatchCost, AcViolation | None]:
    """The activation dispatch priced on the joint problem of the activation needs."""
    scenario = dataclasses.replace(
        run.chain.base,
        name=f"{run.chain.base.name} [activation]",
        needs=_activation_needs(run.chain, state),
        bids=tuple(b for _, b in sorted(state.activation_bids.items())),
        gate_closure_at=None,
    )
    joint = JointModel.of(scenario)
    dispatch = state.activation_mw
    cost = joint.evaluate(dispatch, run.options)
    return cost, (ac_violation(joint, dispatch) if ac_check and dispatch else None)


def _chain_kpis(state: ChainState, cost: DispatchCost, ac: AcViolation | None) -> ChainKpis:
    """The chain's KPIs (see :class:`~flexcoord.coordination.kpis.ChainKpis`)."""
    costs = CostKpis.of(cost, state.availability_payment_eur)
    unprocured_mw = sum(
        mq.quantity for n in state.pending.get(RoundKind.AVAILABILITY, ()) for mq in n.quantities
    )
    return ChainKpis(
        cost=costs,
        activation_cost_eur=round(
            costs.total_cost_eur - (costs.availability_payment_eur or 0.0), 2
        ),
        availability_mw=sum(state.availability_mw.values()),
        activated_mw=sum(state.activation_mw.values()),
        activation_shortfall_mwh=sum(cost.shortfall_mwh.values()),
        capacity_not_procured_mw=unprocured_mw,
        obligated_bids=state.obligated,
        forwarded_bids=sum(r.forwarded_in for r in state.rounds),
        rounds=len(state.rounds),
        markets=sum(len(r.markets) for r in state.rounds),
        ac_violation=ac,
    )
