"""Run any coordination scheme on a scenario, with the one clearing engine.

:func:`run_scheme` turns a :class:`~flexcoord.coordination.config.SchemeConfig` into a sequence of
sub-markets, each one call to :func:`flexcoord.clearing.market.clear`:

- **common** model: one market; buyers per the config; every bid; the TSO grid's limits plus the
  DSO grids' when ``dso_grid_in_tso_market`` is ``full`` (``traffic_light``: distribution bids
  pass each DSO's traffic light first; ``ignored``: the DSO grid is not modelled);
- **multi-level** model (DSO priority): each DSO's market first (its needs, its areas' bids, its
  grid), then the TSO's market with the transmission bids plus the DSO bids nobody used, forwarded
  through the double-clearing guard after each DSO's traffic light (recomputed on the base case
  moved by the DSO markets' dispatch);
- **fragmented** model (DSO exclusivity): the DSO markets, then a TSO market with transmission
  bids only; with ``interface_schedule`` (shared balancing responsibility) each DSO market keeps
  its accepted up and down flexibility balanced so its interface schedule holds.

Later markets see the flows earlier markets caused. Then the TSO's awards in DSO areas are checked
for conflicts with the DSOs' awards and limits and handled by the scheme's rule. Every outcome is
priced by :func:`~flexcoord.coordination.evaluation.evaluate_dispatch` on the scenario's joint
problem, so schemes compare on one yardstick.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing import (
    AcChecker,
    AcFlows,
    ClearingOptions,
    ClearingProblem,
    ClearingResult,
    nodal_injections,
    shift_constraints,
    shift_forecast,
)
from flexcoord.clearing.ac import PgmAcCheck
from flexcoord.clearing.costs import cost_fields
from flexcoord.clearing.market import GridMap, build_problem, clear
from flexcoord.coordination.aggregation import DsoLinearModel
from flexcoord.coordination.config import DsoGridInTsoMarket, MarketModel, SchemeConfig
from flexcoord.coordination.conflicts import AwardInfo, Conflict, ConflictRule, resolve_conflicts
from flexcoord.coordination.evaluation import DispatchCost, evaluate_dispatch, slot_vector
from flexcoord.coordination.inputs import CoordinationInput, GridViews
from flexcoord.coordination.interface import InterfaceOffers, build_interface_offers, dso_models
from flexcoord.coordination.ledger import ClearingLedger, root_of
from flexcoord.domain import Bid, Direction, Need, OperatorRole, ProductKind, Technology
from flexcoord.progress import Progress, ProgressCounter

__all__ = [
    "JointModel",
    "MarketRun",
    "SchemeOutcome",
    "SchemeRun",
    "ac_violation_mwh",
    "conflict_rule",
    "default_options",
    "run_scheme",
    "scheme_kpis",
]

FloatArray = NDArray[np.float64]
Key = tuple[str, str]

_RENEWABLE = frozenset({Technology.PV, Technology.WIND, Technology.HYDRO, Technology.BIOMASS})


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketRun:
    """One sub-market of a scheme run.

    ``offered`` holds the bids cleared (under the market's ids, aggregated interface offers
    included), so a report can name each award's resource and FSP; ``result`` is the market's
    own clearing result (its awards before conflict handling).
    """

    id: str
    buyer_ids: tuple[str, ...]
    areas: tuple[str, ...]
    needs: int
    bids_offered: int
    bids_forwarded: int
    result: ClearingResult
    accepted_mw: dict[Key, float]  # (root bid id, MTU label) → MW
    offered: tuple[Bid, ...] = ()

    @property
    def solver_s(self) -> float:
        """HiGHS time of this market."""
        return float(self.result.stats.solve_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeOutcome:
    """What a scheme did on a scenario and what it cost."""

    config: SchemeConfig
    markets: tuple[MarketRun, ...]
    accepted_mw: dict[Key, float]
    conflicts: tuple[Conflict, ...]
    cost: DispatchCost
    kpis: dict[str, Any]
    wall_s: float

    @property
    def solver_s(self) -> float:
        """Sum of the HiGHS times of all sub-markets."""
        return sum(m.solver_s for m in self.markets)


@dataclass(slots=True)
class JointModel:
    """The scenario's joint problem (every need, bid and monitored limit) and its grid map."""

    problem: ClearingProblem
    grid_map: GridMap
    views: GridViews
    all_areas: tuple[str, ...]
    bid_area: dict[str, str] = field(default_factory=dict)
    models: dict[str, DsoLinearModel] = field(default_factory=dict)
    ac: AcChecker | None = None

    @classmethod
    def of(cls, scenario: CoordinationInput, views: GridViews | None = None) -> JointModel:
        """Build it once per scenario; every scheme run reuses it."""
        views = views or GridViews(scenario)
        all_areas = tuple(sorted(a.id for a in scenario.register.areas))
        gc = views.constraints(all_areas)
        problem, grid_map = build_problem(scenario.register, scenario.needs, scenario.bids, gc)
        bid_area = {b.id: scenario.area_of_resource(b.resource_id) for b in scenario.bids}
        return cls(
            problem=problem, grid_map=grid_map, views=views, all_areas=all_areas, bid_area=bid_area
        )

    def dso_models(self, areas: Sequence[str]) -> dict[str, DsoLinearModel]:
        """The linear model of each DSO area (built once per scenario, for interface offers)."""
        missing = [a for a in areas if a not in self.models]
        if missing:
            s = self.views.scenario
            self.models |= dso_models(
                s.grid,
                missing,
                safety_margin=s.safety_margin,
                limit_overrides_mw=s.limit_overrides_mw,
                voltages=s.voltages,
            )
        return {a: self.models[a] for a in areas}

    def injections(self, accepted: Mapping[Key, float]) -> tuple[FloatArray, FloatArray]:
        """Active and reactive injections ``(n_real_bus, T)`` of a dispatch at real buses, in the
        scenario's MTUs (the joint problem keeps only the MTUs its bids and needs use)."""
        inj_p, inj_q = self.problem_injections(accepted)
        n_t = len(self.views.scenario.intervals)
        cols = self.grid_map.mtu_columns
        p = np.zeros((len(self.grid_map.real_bus_ids), n_t))
        q = np.zeros_like(p)
        p[:, cols] = self.grid_map.to_grid(inj_p)
        q[:, cols] = self.grid_map.to_grid(inj_q)
        return p, q

    def ac_flows(self, accepted: Mapping[Key, float]) -> AcFlows:
        """AC (power-grid-model) flows and voltages of the joint problem's monitored branches and
        buses after the dispatch, on the scenario's base case (one batch over the MTUs)."""
        if self.ac is None:
            gc = self.views.constraints(self.all_areas)
            self.ac = PgmAcCheck(self.views.scenario.grid, gc).checker_for(
                self.problem, self.grid_map
            )
        return self.ac.check(*self.problem_injections(accepted))

    def problem_injections(self, accepted: Mapping[Key, float]) -> tuple[FloatArray, FloatArray]:
        """Active and reactive injections ``(n_problem_bus, T)`` of a dispatch."""
        return nodal_injections(self.problem, slot_vector(self.problem, accepted))


def default_options() -> ClearingOptions:
    """The clearing options of scheme runs: no per-bid explanations (not reported), and an
    interface-schedule (balance) penalty one order below the branch penalty, so a DSO that must
    hold its interface schedule (shared balancing responsibility) still keeps its own grid within
    limits first when it cannot do both."""
    return ClearingOptions(explain=False, balance_penalty_eur_per_mwh=1e5)


def conflict_rule(config: SchemeConfig) -> ConflictRule:
    """The scheme's rule for activation conflicts.

    ``ignored`` DSO grid: conflicts are only flagged for the DSO (the centralised scheme's
    weakness, reported as DSO violations caused by the TSO); ``traffic_light``: the TSO's awards
    are curtailed to what the DSO grid can host; ``full``: they are blocked (the joint clearing
    should not produce any).
    """
    return {
        DsoGridInTsoMarket.IGNORED: ConflictRule.FLAG,
        DsoGridInTsoMarket.TRAFFIC_LIGHT: ConflictRule.CURTAIL,
        DsoGridInTsoMarket.FULL: ConflictRule.BLOCK,
    }[config.dso_grid_in_tso_market]


def run_scheme(
    config: SchemeConfig,
    scenario: CoordinationInput,
    *,
    joint: JointModel | None = None,
    options: ClearingOptions | None = None,
    ac_check: bool = True,
    progress: Progress | None = None,
) -> SchemeOutcome:
    """Run one scheme on one scenario (see the module docstring).

    With ``ac_check`` the final dispatch (and the DSO markets' dispatch alone) are verified in AC
    with power-grid-model: the KPIs then carry the residual AC violations on the TSO and DSO grids
    and the AC DSO violations caused by TSO activations.

    ``progress`` (:mod:`flexcoord.progress`) is called as each step starts: every planned
    sub-market (``"clearing market dso:<operator>"``, stage ``"market"``), the pricing on the
    joint problem (``"evaluation"``) and, with ``ac_check``, the AC check (``"ac-check"``).
    """
    start = time.perf_counter()
    joint = joint or JointModel.of(scenario)
    options = options or default_options()
    run = SchemeRun(config, scenario, joint, options)
    counter = ProgressCounter(progress, total=run.planned_markets() + 1 + int(ac_check))
    run.counter = counter
    run.execute()
    accepted, conflicts = run.resolve()
    counter.step("evaluation", "pricing the dispatch on the joint problem")
    cost = evaluate_dispatch(joint.problem, slot_vector(joint.problem, accepted), options)
    outcome_markets = tuple(run.markets)
    without_tso = {
        k: v for m in outcome_markets if m.id.startswith("dso:") for k, v in m.accepted_mw.items()
    }
    cost_without_tso = evaluate_dispatch(
        joint.problem, slot_vector(joint.problem, without_tso), options
    )
    caused = _dso_overload_added_mwh(scenario, joint, cost, cost_without_tso)
    kpis = scheme_kpis(
        scenario, joint, outcome_markets, accepted, conflicts, cost, run.forwarded, caused
    )
    if ac_check:
        counter.step("ac-check", "checking the dispatch in AC")
        final = ac_violation_mwh(scenario, joint, accepted)
        dso_only = ac_violation_mwh(scenario, joint, without_tso)
        kpis["ac_violation_mwh"] = final
        kpis["ac_dso_violation_caused_by_tso_mwh"] = max(0.0, final["dso"] - dso_only["dso"])
    return SchemeOutcome(
        config=config,
        markets=outcome_markets,
        accepted_mw=accepted,
        conflicts=conflicts,
        cost=cost,
        kpis=kpis,
        wall_s=time.perf_counter() - start,
    )


class SchemeRun:
    """The mutable state of one scheme run (ledger, markets so far, dispatch so far).

    :func:`run_scheme` runs one per scheme; the timeframe chain
    (:mod:`flexcoord.coordination.timeframes`) one per round, sharing the ledger.
    """

    def __init__(
        self,
        config: SchemeConfig,
        scenario: CoordinationInput,
        joint: JointModel,
        options: ClearingOptions,
        *,
        ledger: ClearingLedger | None = None,
        bids: Sequence[Bid] | None = None,
        prefix: str = "",
    ) -> None:
        """``ledger``, ``bids`` and ``prefix`` serve the timeframe chain
        (:mod:`flexcoord.coordination.timeframes`): one ledger shared by every round, the
        round's offered bids (forwarded ids; ``scenario.bids`` holds them under their root ids)
        and the round's prefix of the ledger's market ids (``"intraday:"``)."""
        self.config, self.s, self.joint, self.options = config, scenario, joint, options
        self.ledger = ClearingLedger() if ledger is None else ledger
        self.bids = tuple(
            b for b in (scenario.bids if bids is None else bids) if self.traded(b.product_id)
        )
        self.prefix = prefix
        self.markets: list[MarketRun] = []
        self.forwarded = 0
        self.tso_ids = scenario.operators_of_role(OperatorRole.TSO)
        self.dso_ids = scenario.operators_of_role(OperatorRole.DSO)
        self.tso_areas = tuple(a for t in self.tso_ids for a in scenario.areas_of(t))
        self.area_operator = {a.id: a.operator_id for a in scenario.register.areas}
        self.bids_by_id = {b.id: b for b in scenario.bids}
        self.counter = ProgressCounter(None, total=0)

    # --- selections -------------------------------------------------------------------------------
    def traded(self, product_id: str) -> bool:
        """Whether the scheme trades this product: its power type is one of the scheme's, and its
        kind too (an availability-and-activation product needs availability in the scheme)."""
        product = self.s.register.product(product_id)
        kinds = self.config.product_kinds
        kind_ok = product.kind in kinds or (
            product.kind == ProductKind.AVAILABILITY_AND_ACTIVATION
            and ProductKind.AVAILABILITY in kinds
        )
        return product.power_type in self.config.power_types and kind_ok

    def needs_of(self, buyer_ids: Sequence[str]) -> tuple[Need, ...]:
        wanted = set(buyer_ids)
        return tuple(n for n in self.s.needs if n.buyer_id in wanted and self.traded(n.product_id))

    def bids_in(self, areas: Sequence[str]) -> tuple[Bid, ...]:
        wanted = set(areas)
        return tuple(b for b in self.bids if self.joint.bid_area[root_of(b.id)] in wanted)

    def planned_markets(self) -> int:
        """How many sub-markets :meth:`execute` opens (each reported to :attr:`counter`)."""
        c = self.config
        if c.market_model == MarketModel.COMMON:
            return 1
        return (len(self.dso_ids) if c.dso_buys else 0) + int(c.tso_buys)

    def key(self, market_id: str) -> str:
        """The ledger's id of a market of this run (the chain's round prefix + ``market_id``)."""
        return self.prefix + market_id

    def buyers(self) -> tuple[str, ...]:
        c = self.config
        out = list(self.tso_ids) if c.tso_buys else []
        out += list(self.dso_ids) if c.dso_buys else []
        if c.commercial_buyers:
            out += [o.id for o in self.s.register.operators if o.role == OperatorRole.BRP]
        return tuple(out)

    # --- markets ----------------------------------------------------------------------------------
    def market(
        self,
        market_id: str,
        buyer_ids: Sequence[str],
        bids: Sequence[Bid],
        areas: Sequence[str],
        *,
        energy_balance: bool = False,
        forwarded: int = 0,
        offers: InterfaceOffers | None = None,
    ) -> MarketRun | None:
        """Clear one sub-market; with ``offers``, its aggregated interface bids are expanded back
        to the forwarded bids behind them before the ledger records them. A market with neither
        needs nor bids (of the products the scheme trades) does not run: ``None``."""
        self.counter.step("market", f"clearing market {self.key(market_id)}")
        needs = self.needs_of(buyer_ids)
        bids = [b for b in bids if self.traded(b.product_id)]
        if not needs and not bids and (offers is None or not offers.bids):
            return None
        gc = self.joint.views.constraints(areas)
        p_mw, q_mvar = self.joint.injections(self.dispatch())
        gc = shift_constraints(gc, self.joint.grid_map.real_bus_ids, p_mw, q_mvar)
        register = self.s.register
        sets = {b.id: b.exclusive_set for b in bids if b.exclusive_set is not None}
        self.ledger.offer(self.key(market_id), [b.id for b in bids], exclusive_sets=sets)
        if offers is not None:
            bids = [*bids, *offers.bids]
            register = offers.register
        grid = gc if len(gc.branch_names) or len(gc.vbus_ids) else None  # nothing monitored
        result = clear(
            register,
            needs,
            bids,
            grid,
            self.options,
            gate_closure_at=self.s.gate_closure_at,
            energy_balance=energy_balance,
        )
        accepted = _accepted(result)
        if offers is not None:
            direct = {k: v for k, v in accepted.items() if k[0] not in offers.curves}
            accepted = direct | offers.expand(accepted)
        self.ledger.record(self.key(market_id), _by_bid(accepted))
        run = MarketRun(
            id=market_id,
            buyer_ids=tuple(buyer_ids),
            areas=tuple(areas),
            needs=len(needs),
            bids_offered=len(bids),
            bids_forwarded=forwarded,
            result=result,
            accepted_mw={(root_of(b), t): v for (b, t), v in accepted.items()},
            offered=tuple(bids),
        )
        self.markets.append(run)
        return run

    def not_yet_activated(self, bids: Sequence[Bid]) -> tuple[Bid, ...]:
        """Drop bids on units an earlier market of this run already activated in one of the
        bid's MTUs: forwarding them would only create double activations the conflict rule then
        has to undo (one unit, one activation per MTU)."""
        busy: set[tuple[str, str]] = set()
        for (root, label), mw in self.dispatch().items():
            if mw > 0:
                bid = self.bids_by_id[root]
                busy |= {(u.id, label) for u in self.s.register.units_of(bid.resource_id)}
        if not busy:
            return tuple(bids)
        out = []
        for bid in bids:
            labels = {q.interval.start.isoformat() for q in bid.quantities}
            units = {u.id for u in self.s.register.units_of(bid.resource_id)}
            if not any((u, t) in busy for u in units for t in labels):
                out.append(bid)
        return tuple(out)

    def dispatch(self) -> dict[Key, float]:
        out: dict[Key, float] = defaultdict(float)
        for m in self.markets:
            for key, mw in m.accepted_mw.items():
                out[key] += mw
        return dict(out)

    def execute(self) -> None:
        c = self.config
        if c.market_model == MarketModel.COMMON:
            self.common()
            return
        if c.dso_buys:
            for dso in self.dso_ids:
                areas = self.s.areas_of(dso)
                self.market(
                    f"dso:{dso}",
                    [dso],
                    self.bids_in(areas),
                    areas,
                    energy_balance=c.interface_schedule,
                )
        if not c.tso_buys:
            return
        bids = list(self.ledger.unused(self.bids_in(self.tso_areas)))
        offers: InterfaceOffers | None = None
        if c.market_model == MarketModel.MULTI_LEVEL and c.tso_access_to_ders:
            for dso in self.dso_ids:
                unused = self.not_yet_activated(
                    self.ledger.unused(self.bids_in(self.s.areas_of(dso)))
                )
                filtered = self.traffic_light(dso, unused)
                forwarded = self.ledger.forward(filtered, self.key("tso"))
                self.forwarded += len(forwarded)
                if c.aggregate_at_interface:
                    offers = self.aggregate(dso, forwarded, offers)
                    bids += forwarded  # offered to the market through ``offers`` only
                else:
                    bids += forwarded
        if offers is not None:
            direct = [b for b in bids if self.joint.bid_area.get(root_of(b.id)) in self.tso_areas]
            self.ledger.offer(self.key("tso"), [b.id for b in bids])
            self.market(
                "tso",
                list(self.tso_ids),
                direct,
                self.tso_areas,
                forwarded=self.forwarded,
                offers=offers,
            )
            return
        self.market("tso", list(self.tso_ids), bids, self.tso_areas, forwarded=self.forwarded)

    def aggregate(
        self, dso: str, forwarded: Sequence[Bid], previous: InterfaceOffers | None
    ) -> InterfaceOffers:
        """The DSO's forwarded bids as aggregated offers at its coupling points."""
        areas = [a for a in self.s.areas_of(dso) if a not in self.tso_areas]
        models = self.joint.dso_models(areas)
        register = previous.register if previous is not None else self.s.register
        offers = build_interface_offers(
            register,
            self.s.grid,
            models,
            forwarded,
            self.s.intervals,
            dso_id=dso,
            forecast=self.shifted_forecast(),
        )
        if previous is not None:
            offers.bids = (*previous.bids, *offers.bids)
            offers.curves = previous.curves | offers.curves
        return offers

    def common(self) -> None:
        c = self.config
        bids = list(self.bids_in(self.tso_areas))
        area = self.joint.bid_area
        dist = [b for b in self.bids if area[root_of(b.id)] not in set(self.tso_areas)]
        if c.dso_grid_in_tso_market == DsoGridInTsoMarket.TRAFFIC_LIGHT:
            for dso in self.dso_ids:
                mine = [b for b in dist if self.area_operator[area[root_of(b.id)]] == dso]
                bids += self.traffic_light(dso, mine)
        else:
            bids += dist
        areas = (
            self.joint.all_areas
            if c.dso_grid_in_tso_market == DsoGridInTsoMarket.FULL
            else self.tso_areas
        )
        self.market("common", self.buyers(), bids, areas)

    def traffic_light(self, dso: str, bids: Sequence[Bid]) -> tuple[Bid, ...]:
        """The DSO's traffic light on ``bids``, on the base case moved by the dispatch so far."""
        if not bids:
            return ()
        from flexcoord.grid.traffic_light import compute_traffic_light
        from flexcoord.grid.traffic_light_bids import filter_bids

        forecast = self.shifted_forecast()
        resources = sorted({b.resource_id for b in bids})
        # a thermal-only scenario: the voltage band is opened so that only thermal limits bind
        vm_min, vm_max = (None, None) if self.s.voltages else (0.01, 10.0)
        assessment = compute_traffic_light(
            self.s.register,
            self.s.grid,
            forecast,
            operator_id=dso,
            resources=resources,
            safety_margin=max(self.s.safety_margin, 1e-9),
            vm_min_pu=vm_min,
            vm_max_pu=vm_max,
            limit_overrides_mw=self.s.limit_overrides_mw,
        )
        return filter_bids(bids, assessment, self.s.register).forwarded

    def shifted_forecast(self) -> Any:
        """The scenario's forecast moved by the dispatch of the markets cleared so far."""
        p_mw, q_mvar = self.joint.injections(self.dispatch())
        ptdf = self.s.grid.ptdf()
        positions = ptdf.bus_positions(self.joint.grid_map.real_bus_ids)
        inj_p = np.zeros((len(ptdf.bus_ids), p_mw.shape[1]))
        inj_q = np.zeros_like(inj_p)
        inj_p[positions] = p_mw
        inj_q[positions] = q_mvar
        return shift_forecast(self.s.grid, self.s.forecast, inj_p, inj_q)

    # --- conflicts --------------------------------------------------------------------------------
    def resolve(self) -> tuple[dict[Key, float], tuple[Conflict, ...]]:
        tso_runs = [m for m in self.markets if m.id in ("tso", "common")]
        dso_runs = [m for m in self.markets if m.id.startswith("dso:")]
        dispatch = self.dispatch()
        if not tso_runs:
            return dispatch, ()
        tso_acc = {k: v for m in tso_runs for k, v in m.accepted_mw.items()}
        dso_acc = {k: v for m in dso_runs for k, v in m.accepted_mw.items()}
        info = self._award_info
        volumes, conflicts = resolve_conflicts(
            {k: info(k, v) for k, v in tso_acc.items()},
            {k: info(k, v) for k, v in dso_acc.items()},
            conflict_rule(self.config),
            self._overload_fn(dso_acc),
            tso_areas=frozenset(self.tso_areas),
        )
        final = dict(dso_acc)
        for key, mw in volumes.items():
            final[key] = final.get(key, 0.0) + mw
        return {k: v for k, v in final.items() if v > 0.0}, conflicts

    def _award_info(self, key: Key, mw: float) -> AwardInfo:
        bid = self._bid(key[0])
        return AwardInfo(
            area_id=self.joint.bid_area[bid.id],
            unit_ids=tuple(u.id for u in self.s.register.units_of(bid.resource_id)),
            up=bid.direction == Direction.UP,
            mw=mw,
            divisible=bid.divisible and not bid.block,
            min_mw=bid.min_acceptance or 0.0,
        )

    def _bid(self, bid_id: str) -> Bid:
        return self.bids_by_id[bid_id]

    def _overload_fn(
        self, dso_acc: Mapping[Key, float]
    ) -> Callable[[Mapping[Key, float]], dict[tuple[str, str], float]]:
        """``tso volumes → overload (MW above the margined limit) per (DSO area, MTU label)`` that
        the TSO's volumes add to the DSO markets' dispatch. The DSO-only flows are computed once;
        each call adds only the TSO volumes' flows (the bisection of a curtailment calls it often).
        """
        j = self.joint
        dist_areas = [a for a in j.all_areas if a not in set(self.tso_areas)]
        if not dist_areas:
            return lambda _: {}
        gc = j.views.constraints(dist_areas)
        base = shift_constraints(gc, j.grid_map.real_bus_ids, *j.injections(dso_acc)).base_flow_mw
        lim = (1.0 - gc.safety_margin) * gc.limit_mw[:, None]
        over_before = np.maximum(np.abs(base) - lim, 0.0)
        columns = {int(b): i for i, b in enumerate(gc.bus_ids)}
        cols = np.array([columns.get(int(b), -1) for b in j.grid_map.real_bus_ids], dtype=np.int64)
        known = cols >= 0
        areas = self.s.grid.asset_areas()
        branch_area = [areas[n] for n in gc.branch_names]
        labels = [iv.start.isoformat() for iv in gc.intervals]

        def overload(tso_vol: Mapping[Key, float]) -> dict[tuple[str, str], float]:
            p_mw, _ = j.injections(tso_vol)
            inj = np.zeros((len(gc.bus_ids), p_mw.shape[1]))
            np.add.at(inj, cols[known], p_mw[known])
            after = base + gc.ptdf @ inj
            extra = np.maximum(np.maximum(np.abs(after) - lim, 0.0) - over_before, 0.0)
            out: dict[tuple[str, str], float] = defaultdict(float)
            rows, ts = np.nonzero(extra > 1e-9)
            for r, t in zip(rows.tolist(), ts.tolist(), strict=True):
                out[(branch_area[r], labels[t])] += float(extra[r, t])
            return dict(out)

        return overload


def ac_violation_mwh(
    scenario: CoordinationInput, joint: JointModel, accepted: Mapping[Key, float]
) -> dict[str, float]:
    """Energy above the thermal limits (no safety margin) in AC, per TSO / DSO grid (MWh), and
    pu·h outside the voltage band when the scenario monitors voltages."""
    flows = joint.ac_flows(accepted)
    gc = joint.views.constraints(joint.all_areas)
    dur = joint.problem.mtu_duration_h
    over = np.maximum(np.abs(flows.branch_flow_mw) - gc.limit_mw[:, None], 0.0) * dur[None, :]
    areas = scenario.grid.asset_areas()
    out = {"tso": 0.0, "dso": 0.0}
    for name, mwh in zip(gc.branch_names, over.sum(axis=1).tolist(), strict=True):
        out["tso" if areas.get(name) == "tso" else "dso"] += mwh
    if scenario.voltages and len(gc.vbus_ids):
        vm = flows.vm_pu
        outside = (
            np.maximum(vm - gc.vm_max_pu[:, None], 0.0)
            + np.maximum(gc.vm_min_pu[:, None] - vm, 0.0)
        ) * dur[None, :]
        out["voltage_pu_h"] = float(outside.sum())
    return out


def _dso_overload_added_mwh(
    scenario: CoordinationInput, joint: JointModel, after: DispatchCost, before: DispatchCost
) -> float:
    """Energy the TSO's activations add above the (margined) limits of DSO branches, counted per
    branch and MTU, so relief on one branch never offsets an overload on another."""
    p = joint.problem
    if not p.n_branch:
        return 0.0
    lim = (1.0 - p.safety_margin) * p.limit_mw[:, None]
    over_after = np.maximum(np.abs(after.flow_mw) - lim, 0.0)
    over_before = np.maximum(np.abs(before.flow_mw) - lim, 0.0)
    added = np.maximum(over_after - over_before, 0.0) * p.mtu_duration_h[None, :]
    areas = scenario.grid.asset_areas()
    dso = np.array([areas.get(n) != "tso" for n in p.branch_names], dtype=bool)
    return float(added[dso].sum())


def _accepted(result: ClearingResult) -> dict[Key, float]:
    p = result.problem
    out: dict[Key, float] = defaultdict(float)
    x = result.slot_accepted_mw
    for s in np.flatnonzero(x > 1e-9).tolist():
        out[(p.bid_ids[int(p.slot_bid[s])], p.mtu_labels[int(p.slot_mtu[s])])] += float(x[s])
    return dict(out)


def _by_bid(accepted: Mapping[Key, float]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for (bid, _), mw in accepted.items():
        out[bid] += mw
    return dict(out)


def scheme_kpis(
    scenario: CoordinationInput,
    joint: JointModel,
    markets: Sequence[MarketRun],
    accepted: Mapping[Key, float],
    conflicts: Sequence[Conflict],
    cost: DispatchCost,
    forwarded: int,
    dso_caused_by_tso_mwh: float,
) -> dict[str, Any]:
    """The KPIs of one run (all energies in MWh, money in €); the cost terms are
    :func:`~flexcoord.clearing.costs.cost_fields` of ``cost``."""
    p = joint.problem
    dur = dict(zip(p.mtu_labels, p.mtu_duration_h.tolist(), strict=True))
    bids = {b.id: b for b in scenario.bids}
    buyer_of_need = {n.id: n.buyer_id for n in scenario.needs}
    procurement: dict[str, float] = defaultdict(float)
    for m in markets:
        paid = float(np.sum(m.result.slot_payment_eur))
        covered: dict[str, float] = defaultdict(float)
        for need_id, mwh in zip(
            m.result.problem.need_ids,
            (m.result.need_covered_mw * m.result.problem.mtu_duration_h).sum(axis=1).tolist(),
            strict=True,
        ):
            covered[buyer_of_need[need_id]] += mwh
        total = sum(covered.values())
        if total > 0:
            for buyer, mwh in covered.items():
                procurement[buyer] += paid * mwh / total
        elif paid > 0:
            for buyer in m.buyer_ids:
                procurement[buyer] += paid / len(m.buyer_ids)
    shortfall: dict[str, float] = defaultdict(float)
    for need_id, mwh in cost.shortfall_mwh.items():
        shortfall[buyer_of_need[need_id]] += mwh
    areas = scenario.grid.asset_areas()
    violations = {"tso": 0.0, "dso": 0.0}
    for branch, mwh in cost.branch_violation_mwh.items():
        violations["tso" if areas.get(branch) == "tso" else "dso"] += mwh
    activated = sum(mw * dur[t] for (_, t), mw in accepted.items())
    curtailed_res = 0.0
    for (bid_id, t), mw in accepted.items():
        bid = bids[bid_id]
        units = scenario.register.units_of(bid.resource_id)
        if bid.direction == Direction.DOWN and all(u.technology in _RENEWABLE for u in units):
            curtailed_res += mw * dur[t]
    return cost_fields(cost) | {
        "procurement_eur": dict(sorted(procurement.items())),
        "shortfall_mwh": dict(sorted(shortfall.items())),
        "activated_mwh": activated,
        "forwarded_bids": forwarded,
        "residual_violation_mwh": violations,
        "dso_violation_caused_by_tso_mwh": dso_caused_by_tso_mwh,
        "conflicts": {
            k: sum(1 for c in conflicts if c.kind == k)
            for k in ("double_activation", "counter_activation", "dso_limit")
        },
        "liquidity_bids_per_need": (
            sum(m.bids_offered for m in markets) / max(1, sum(m.needs for m in markets))
        ),
        "curtailed_renewable_mwh": curtailed_res,
        "markets": len(markets),
    }
