"""Sub-markets per timeframe, linked: long-term → day-ahead → intraday → near-real-time.

:func:`run_chain` runs one coordination scheme over a :class:`TimeframeChain`: one
:class:`SubMarketRound` per timeframe, each a product with its (virtual) gate closure, its needs
and its new free bids. Every round the scheme takes part in runs the scheme's market structure
(common / multi-level / fragmented, as :func:`~flexcoord.coordination.runner.run_scheme` does for
one timeframe) and **one** :class:`~flexcoord.coordination.ledger.ClearingLedger` spans all rounds,
so no root bid clears twice across the chain (seed L665, L669).

Rules (the seed describes the linkage, L655, L663, L665, L667, L673; the details are ours):

- **Rounds of a scheme**: the chain's rounds whose timeframe is in ``config.timeframes``, in the
  chain's order. A round the scheme lacks is skipped: its new bids join the pool of unused bids
  and its needs carry over to the next round the scheme has **of the same kind** (a capacity need
  is not an energy need: capacity carries to the next availability round, activation to the next
  activation round). Needs with no such later round stay unprocured: availability needs are
  reported (``capacity_not_procured_mw``), activation needs show as shortfall in the evaluation.
  Only skipped rounds' needs carry over; the part of a need a round leaves uncovered does not.
- **Forwarding**: at each round's (virtual) gate closure, the bids no earlier round cleared are
  forwarded (``ledger.forward(..., f"{timeframe}:{market}")``, ``market`` being the bid's entry
  market in the round: ``common``, ``tso`` or ``dso:<operator>``) and re-targeted to the round's
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
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from flexcoord.clearing import ClearingOptions, shift_forecast
from flexcoord.clearing.costs import cost_fields
from flexcoord.coordination.config import MarketModel, SchemeConfig
from flexcoord.coordination.conflicts import Conflict
from flexcoord.coordination.evaluation import DispatchCost, evaluate_dispatch, slot_vector
from flexcoord.coordination.inputs import CoordinationInput
from flexcoord.coordination.ledger import ClearingLedger, root_of
from flexcoord.coordination.runner import (
    JointModel,
    MarketRun,
    SchemeRun,
    ac_violation_mwh,
    default_options,
    scheme_kpis,
)
from flexcoord.domain import Bid, MtuQuantity, Need, OperatorRole, Product, Timeframe
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.progress import Progress, ProgressCounter

__all__ = [
    "ChainOutcome",
    "RoundKind",
    "RoundOutcome",
    "SubMarketRound",
    "TimeframeChain",
    "obligation_id",
    "run_chain",
]

Key = tuple[str, str]
_TOL_MW = 1e-9


class RoundKind(StrEnum):
    """What a round buys: capacity (availability) or energy (activation)."""

    AVAILABILITY = "availability"
    ACTIVATION = "activation"

    @classmethod
    def of(cls, product: Product) -> RoundKind:
        """Availability for availability and availability-and-activation products."""
        return cls.AVAILABILITY if product.kind.has_availability else cls.ACTIVATION


def obligation_id(root: str) -> str:
    """The root of the obligatory activation bid of an availability award (``"b17:activation"``)."""
    return f"{root}:activation"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubMarketRound:
    """One sub-market of the chain: a timeframe's product, gate closure and needs.

    Attributes:
        timeframe: the round's timeframe (also its id in ledger market ids, ``"intraday:tso"``).
        product_id: the product traded (its kind must match ``kind``).
        kind: :class:`RoundKind`.
        gate_closure_at: (virtual) gate closure: bids submitted later cannot enter the round.
        needs: the buyers' needs of this round, all for ``product_id``.
    """

    timeframe: Timeframe
    product_id: str
    kind: RoundKind
    gate_closure_at: datetime
    needs: tuple[Need, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeframeChain:
    """A scenario's grid, register and bids plus its ordered rounds.

    ``base`` carries the grid, register (with every round's product), intervals, forecast, limit
    overrides and **all** bids (each round's new bids are those for its product); its ``needs``
    and ``gate_closure_at`` are not used (each round has its own).
    """

    base: CoordinationInput
    rounds: tuple[SubMarketRound, ...]

    def __post_init__(self) -> None:
        issues: list[Issue] = []

        def bad(object_id: str, field_name: str, value: object, message: str) -> None:
            issues.append(
                Issue(
                    kind="TimeframeChain",
                    object_id=object_id,
                    field=field_name,
                    value=value,
                    message=message,
                )
            )

        name = self.base.name
        if not self.rounds:
            bad(name, "rounds", (), "must hold at least one round")
        timeframes = [r.timeframe for r in self.rounds]
        if len(set(timeframes)) != len(timeframes):
            bad(name, "rounds", [str(t) for t in timeframes], "name a timeframe twice")
        products = [r.product_id for r in self.rounds]
        if len(set(products)) != len(products):
            bad(name, "rounds", products, "name a product twice")
        for before, after in zip(self.rounds, self.rounds[1:], strict=False):
            if after.gate_closure_at <= before.gate_closure_at:
                bad(
                    str(after.timeframe),
                    "gate_closure_at",
                    after.gate_closure_at.isoformat(),
                    f"must be after the gate closure of {before.timeframe} "
                    f"({before.gate_closure_at.isoformat()})",
                )
        need_ids: set[str] = set()
        for r in self.rounds:
            if not self.base.register.has("products", r.product_id):
                bad(str(r.timeframe), "product_id", r.product_id, "is not in the register")
                continue
            kind = RoundKind.of(self.base.register.product(r.product_id))
            if kind is not r.kind:
                bad(str(r.timeframe), "kind", str(r.kind), f"product {r.product_id!r} is {kind}")
            for n in r.needs:
                if n.product_id != r.product_id:
                    bad(n.id, "product_id", n.product_id, f"is not the product of {r.timeframe}")
                if n.id in need_ids:
                    bad(n.id, "id", n.id, "is used twice in the chain")
                need_ids.add(n.id)
        known = set(products)
        for b in self.base.bids:
            if b.product_id not in known:
                bad(b.id, "product_id", b.product_id, "is the product of no round")
        if issues:
            raise InvalidInputError(issues)

    def new_bids(self, sub_market: SubMarketRound) -> tuple[Bid, ...]:
        """The bids submitted for the round's product."""
        return tuple(b for b in self.base.bids if b.product_id == sub_market.product_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundOutcome:
    """What one round did (its markets, awards and conflicts, priced on the round's problem)."""

    sub_market: SubMarketRound
    markets: tuple[MarketRun, ...]
    accepted_mw: dict[Key, float]  # (root bid id, MTU label) → MW after conflicts
    conflicts: tuple[Conflict, ...]
    cost: DispatchCost
    kpis: dict[str, Any]
    forwarded_in: int  # unused bids of earlier rounds forwarded into this round
    obligation_bids: tuple[Bid, ...]  # obligatory activation bids of availability awards
    new_bids: int
    carried_needs: tuple[str, ...]  # ids of needs carried over from skipped rounds


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainOutcome:
    """What a scheme did over a timeframe chain and what it cost."""

    config: SchemeConfig
    rounds: tuple[RoundOutcome, ...]
    skipped: tuple[Timeframe, ...]
    ledger: ClearingLedger
    availability_mw: dict[Key, float]
    availability_payment_eur: float
    activation_mw: dict[Key, float]  # the physical dispatch
    cost: DispatchCost  # of the activation dispatch on the activation needs' joint problem
    kpis: dict[str, Any]
    wall_s: float

    @property
    def total_cost_eur(self) -> float:
        """Activation dispatch cost (joint yardstick) plus availability payments."""
        return self.cost.total_eur + self.availability_payment_eur


def run_chain(
    config: SchemeConfig,
    chain: TimeframeChain,
    *,
    options: ClearingOptions | None = None,
    ac_check: bool = True,
    progress: Progress | None = None,
) -> ChainOutcome:
    """Run ``config`` over every round of ``chain`` it has (see the module docstring).

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
        outcome.kpis["rounds"], outcome.kpis["obligated_bids"]
    """
    start = time.perf_counter()
    options = options or default_options()
    _check_late_bids(chain)
    runs = sum(1 for r in chain.rounds if r.timeframe in config.timeframes)
    counter = ProgressCounter(progress, total=runs + 1)
    register = chain.base.register
    ledger = ClearingLedger()
    pool: list[Bid] = []  # every bid offered so far, in its latest version
    pending: dict[RoundKind, list[Need]] = defaultdict(list)
    obligations: list[tuple[Bid, dict[str, float]]] = []  # (awarded bid, MTU label → MW)
    rounds: list[RoundOutcome] = []
    skipped: list[Timeframe] = []
    availability: dict[Key, float] = {}
    availability_eur = 0.0
    activation: dict[Key, float] = {}
    activation_bids: dict[str, Bid] = {}
    activation_needs: list[Need] = []
    obligated = 0
    grid = chain.base.grid
    # the DSO areas' linear models depend on the grid, its limits and the voltage setting only:
    # build them once for every round (each is one power-grid-model batch per area)
    dso_models: dict[str, Any] = {}
    bus_ids = grid.ptdf().bus_ids
    activated_p = np.zeros((len(bus_ids), len(chain.base.intervals)))  # earlier rounds' dispatch
    activated_q = np.zeros_like(activated_p)
    for sub in chain.rounds:
        new = chain.new_bids(sub)
        if sub.timeframe not in config.timeframes:
            skipped.append(sub.timeframe)
            pool += new
            pending[sub.kind] += sub.needs
            continue
        counter.step("round", f"round {sub.timeframe} (product {sub.product_id})")
        product = register.product(sub.product_id)
        carried = tuple(_retarget_need(n, product) for n in pending.pop(sub.kind, []))
        needs = (*carried, *sub.needs)
        obliged: list[Bid] = []
        if sub.kind is RoundKind.ACTIVATION:
            obliged = [_obligation_bid(b, mw, product) for b, mw in obligations]
            obligations = []
            obligated += len(obliged)
        forwarded = _forward(config, chain, sub, product, ledger, pool)
        offered = (*forwarded, *new, *obliged)
        as_root = tuple(_as_root(b) for b in offered)
        scenario = dataclasses.replace(
            chain.base,
            name=f"{chain.base.name} [{sub.timeframe}]",
            needs=needs,
            bids=as_root,
            gate_closure_at=sub.gate_closure_at,
            forecast=shift_forecast(grid, chain.base.forecast, activated_p, activated_q),
        )
        joint = JointModel.of(scenario)
        joint.models = dso_models
        run = SchemeRun(
            _round_config(config, sub),
            scenario,
            joint,
            options,
            ledger=ledger,
            bids=offered,
            prefix=f"{sub.timeframe}:",
        )
        run.execute()
        accepted, conflicts = run.resolve()
        cost = evaluate_dispatch(joint.problem, slot_vector(joint.problem, accepted), options)
        markets = tuple(run.markets)
        kpis = scheme_kpis(scenario, joint, markets, accepted, conflicts, cost, run.forwarded, 0.0)
        rounds.append(
            RoundOutcome(
                sub_market=sub,
                markets=markets,
                accepted_mw=accepted,
                conflicts=conflicts,
                cost=cost,
                kpis=kpis,
                forwarded_in=len(forwarded),
                obligation_bids=tuple(obliged),
                new_bids=len(new),
                carried_needs=tuple(n.id for n in carried),
            )
        )
        pool = list(offered)
        by_root = {b.id: b for b in as_root}
        if sub.kind is RoundKind.AVAILABILITY:
            duration_h = dict(
                zip(joint.problem.mtu_labels, joint.problem.mtu_duration_h.tolist(), strict=True)
            )
            awards: dict[str, dict[str, float]] = defaultdict(dict)
            for (root, label), mw in accepted.items():
                availability[(root, label)] = availability.get((root, label), 0.0) + mw
                price = by_root[root].availability_price_eur_per_mw_h or 0.0
                availability_eur += price * mw * duration_h[label]
                awards[root][label] = mw
            if config.availability_obliges_activation_bid:
                obligations += [(by_root[root], mw) for root, mw in sorted(awards.items())]
        else:
            activation_needs += needs
            for key, mw in accepted.items():
                activation[key] = activation.get(key, 0.0) + mw
                activation_bids[key[0]] = by_root[key[0]]
            p_real, q_real = joint.injections(accepted)
            positions = grid.ptdf().bus_positions(joint.grid_map.real_bus_ids)
            activated_p[positions] += p_real
            activated_q[positions] += q_real
    unprocured_mw = sum(
        mq.quantity for n in pending.get(RoundKind.AVAILABILITY, []) for mq in n.quantities
    )
    last_activation = next(
        (r for r in reversed(chain.rounds) if r.kind is RoundKind.ACTIVATION), None
    )
    if last_activation is not None:
        product = register.product(last_activation.product_id)
        activation_needs += [
            _retarget_need(n, product) for n in pending.get(RoundKind.ACTIVATION, [])
        ]
    counter.step("evaluation", "pricing the activation dispatch on the joint problem")
    cost, ac = _evaluate(chain, activation_needs, activation_bids, activation, options, ac_check)
    kpis = _chain_kpis(
        rounds, availability, availability_eur, activation, cost, obligated, unprocured_mw
    )
    if ac is not None:
        kpis["ac_violation_mwh"] = ac
    return ChainOutcome(
        config=config,
        rounds=tuple(rounds),
        skipped=tuple(skipped),
        ledger=ledger,
        availability_mw=availability,
        availability_payment_eur=availability_eur,
        activation_mw=activation,
        cost=cost,
        kpis=kpis,
        wall_s=time.perf_counter() - start,
    )


# --- helpers ---------------------------------------------------------------------------------
def _round_config(config: SchemeConfig, sub: SubMarketRound) -> SchemeConfig:
    """The scheme as it runs in ``sub``: the aggregated interface offer
    (:mod:`flexcoord.coordination.interface`) is an activation price curve, so in an availability
    round a DSO forwards its filtered bids individually instead."""
    if sub.kind is RoundKind.AVAILABILITY and config.aggregate_at_interface:
        return dataclasses.replace(config, aggregate_at_interface=False)
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
    config: SchemeConfig,
    chain: TimeframeChain,
    sub: SubMarketRound,
    product: Product,
    ledger: ClearingLedger,
    pool: Sequence[Bid],
) -> tuple[Bid, ...]:
    """The pool's unused bids that may enter ``sub``, re-targeted and forwarded to their entry
    market of the round (``f"{timeframe}:{market}"``)."""
    base = chain.base
    tso_areas = {a for t in base.operators_of_role(OperatorRole.TSO) for a in base.areas_of(t)}
    operator = {a.id: a.operator_id for a in base.register.areas}
    groups: dict[str, list[Bid]] = defaultdict(list)
    for bid in ledger.unused(pool):
        moved = _retarget_bid(bid, product, sub.gate_closure_at)
        if moved is None:
            continue
        if config.market_model == MarketModel.COMMON:
            entry = "common"
        else:
            area = base.area_of_resource(bid.resource_id)
            entry = "tso" if area in tso_areas else f"dso:{operator[area]}"
        groups[entry].append(moved)
    out: list[Bid] = []
    for entry in sorted(groups):
        out += ledger.forward(groups[entry], f"{sub.timeframe}:{entry}")
    return tuple(out)


def _retarget_bid(bid: Bid, product: Product, gate_closure_at: datetime) -> Bid | None:
    """``bid`` for ``product``, or ``None`` when it cannot enter (late, or no activation price
    for an activation product)."""
    product_gate = bid.quantities[0].interval.start - product.gate_closure_before_delivery
    if bid.submitted_at > min(gate_closure_at, product_gate):
        return None
    availability = bid.availability_price_eur_per_mw_h
    if product.kind.has_activation and bid.activation_price_eur_per_mwh is None:
        return None
    if product.kind.has_availability and availability is None:
        availability = 0.0
    return dataclasses.replace(
        bid, product_id=product.id, availability_price_eur_per_mw_h=availability
    )


def _retarget_need(need: Need, product: Product) -> Need:
    """A need carried over from a skipped round, for ``product`` (caps fitted to its kind)."""
    kind = product.kind
    share = need.expected_activation_share
    return dataclasses.replace(
        need,
        product_id=product.id,
        activation_price_cap_eur_per_mwh=(
            need.activation_price_cap_eur_per_mwh if kind.has_activation else None
        ),
        availability_price_cap_eur_per_mw_h=(
            need.availability_price_cap_eur_per_mw_h if kind.has_availability else None
        ),
        expected_activation_share=(
            share if share is not None or not kind.has_availability else 0.0
        ),
    )


def _obligation_bid(bid: Bid, awarded_mw: Mapping[str, float], product: Product) -> Bid:
    """The obligatory activation bid of an availability award (awarded MW per MTU)."""
    quantities = tuple(
        MtuQuantity(interval=mq.interval, quantity=awarded_mw[label])
        for mq in bid.quantities
        if awarded_mw.get(label := mq.interval.start.isoformat(), 0.0) > _TOL_MW
    )
    price = bid.activation_price_eur_per_mwh
    return dataclasses.replace(
        bid,
        id=obligation_id(bid.id),
        product_id=product.id,
        quantities=quantities,
        activation_price_eur_per_mwh=(
            price if price is not None else bid.availability_price_eur_per_mw_h
        ),
        min_acceptance=None,
        exclusive_set=None,
        parent_bid_id=None,
    )


def _as_root(bid: Bid) -> Bid:
    """``bid`` under its root id (how the round's joint problem names it)."""
    return dataclasses.replace(
        bid,
        id=root_of(bid.id),
        exclusive_set=None if bid.exclusive_set is None else root_of(bid.exclusive_set),
        parent_bid_id=None if bid.parent_bid_id is None else root_of(bid.parent_bid_id),
    )


def _evaluate(
    chain: TimeframeChain,
    needs: Sequence[Need],
    bids: Mapping[str, Bid],
    dispatch: Mapping[Key, float],
    options: ClearingOptions,
    ac_check: bool,
) -> tuple[DispatchCost, dict[str, float] | None]:
    """The activation dispatch priced on the joint problem of the activation needs."""
    scenario = dataclasses.replace(
        chain.base,
        name=f"{chain.base.name} [activation]",
        needs=tuple(needs),
        bids=tuple(b for _, b in sorted(bids.items())),
        gate_closure_at=None,
    )
    joint = JointModel.of(scenario)
    cost = evaluate_dispatch(joint.problem, slot_vector(joint.problem, dispatch), options)
    ac = ac_violation_mwh(scenario, joint, dispatch) if ac_check and dispatch else None
    return cost, ac


def _chain_kpis(
    rounds: Sequence[RoundOutcome],
    availability: Mapping[Key, float],
    availability_eur: float,
    activation: Mapping[Key, float],
    cost: DispatchCost,
    obligated: int,
    unprocured_mw: float,
) -> dict[str, Any]:
    """The chain's KPIs (MW summed over MTUs; MWh; €): the cost terms of
    :func:`~flexcoord.clearing.costs.cost_fields` (activation dispatch plus availability
    payments), ``activation_cost_eur`` the activation dispatch's whole yardstick cost (the total
    without the availability payments)."""
    shortfall = sum(cost.shortfall_mwh.values())
    costs = cost_fields(cost, availability_eur)
    activation_eur = round(costs["total_cost_eur"] - costs["availability_payment_eur"], 2)
    return costs | {
        "activation_cost_eur": activation_eur,
        "availability_mw": sum(availability.values()),
        "activated_mw": sum(activation.values()),
        "activation_shortfall_mwh": shortfall,
        "capacity_not_procured_mw": unprocured_mw,
        "obligated_bids": obligated,
        "forwarded_bids": sum(r.forwarded_in for r in rounds),
        "rounds": len(rounds),
        "markets": sum(len(r.markets) for r in rounds),
        "round_kpis": {str(r.sub_market.timeframe): r.kpis for r in rounds},
    }
