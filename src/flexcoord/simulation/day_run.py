"""One scheme on one study day: markets on the forecast, then operations and physics on the
realised grid (the module docstring of :mod:`flexcoord.simulation.study` gives the choices).

:func:`run_day` returns a :class:`DayOutcome` of tidy tables, each row tagged with the scheme and
the day (the study tags them with its name): ``awards``, ``activations``, ``deliveries``,
``settlement``, ``violations`` and one ``kpis`` row.

The realised yardstick (``realised_cost_eur``) is what the day cost once it happened:

- ``bid_cost_eur``: the delivered energy at the bids' activation prices (the FSPs' cost-based
  offers: what the flexibility that actually moved cost);
- ``availability_cost_eur``: the availability payments of settlement;
- ``violation_cost_eur``: every MWh of realised overload (AC, thermal-equivalent flows above the
  study's limits) at the DSO need price cap, the value the buyers gave relief;
- ``unserved_cost_eur``: the day's needs left uncovered by the activation dispatch (priced on
  one reference problem for every scheme, :func:`_unserved_mwh`) at the TSO need price cap.

Penalties (``penalty_eur``) are shown apart: they move money from FSPs to buyers and cost society
nothing. A scheme that looked cheap on the forecast pays for the congestion it left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flexcoord.clearing.result import Award
from flexcoord.coordination.config import SchemeConfig
from flexcoord.coordination.identities import DispatchKey
from flexcoord.coordination.rounds import RoundKind, obligation_id
from flexcoord.coordination.scheme import default_options
from flexcoord.coordination.timeframes import ChainOutcome, RoundOutcome, run_chain
from flexcoord.domain import Bid, Direction, Interval, ProductKind, Technology, Timeframe
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.operations import (
    ActivationOrder,
    AvailabilityBreach,
    AvailabilityStatus,
    AvailabilityVerification,
    DeliveryOutcome,
    DeliveryVerification,
    LineKind,
    MeterSeries,
    OrderEvent,
    OrderLog,
    OrderStatus,
    OutcomeStatus,
    PartyRole,
    PenaltyRule,
    Settlement,
    SettlementAward,
    Tolerance,
    activation_orders,
    brp_notifications,
    lifecycle_events,
    make_baseline,
    ordered_events,
    settle,
    verify_availability,
    verify_delivery,
)
from flexcoord.simulation.awards import (
    AcceptedAward,
    accepted_awards,
    activation_awards,
    award_of,
    settlement_records,
)
from flexcoord.simulation.devices import Device, apply_activation
from flexcoord.simulation.scenario import chain_gate_closures
from flexcoord.simulation.study import (
    DayMarket,
    StudyPlan,
    overload_mw,
    realised_state,
    voltage_outside_pu,
)

__all__ = ["NO_FLEXIBILITY", "DayOutcome", "run_day", "run_no_flexibility"]

#: The reference row of every day: the realised day without any flexibility market.
NO_FLEXIBILITY = "no-flexibility"

FloatArray = NDArray[np.float64]
_VM_TOLERANCE_PU = 1e-4  # a voltage change smaller than this adds no violation
_OBLIGATION_SUFFIX = obligation_id("")  # an obligatory activation bid's id is its bid's + this
_ACK_DELAY = timedelta(minutes=1)  # an FSP acknowledges its orders a minute after the gate


@dataclass(frozen=True, slots=True, kw_only=True)
class DayOutcome:
    """The tables of one scheme on one day (module docstring)."""

    scheme: str
    day: str
    kpis: dict[str, float | str]
    awards: pd.DataFrame
    activations: pd.DataFrame
    deliveries: pd.DataFrame
    settlement: pd.DataFrame
    violations: pd.DataFrame


def _awards(outcome: ChainOutcome, bids: Mapping[str, Bid]) -> tuple[list[Award], dict[str, str]]:
    """The activation dispatch as awards per root bid and MTU, priced as bid, and the buyer
    each order names (:func:`~flexcoord.simulation.awards.activation_awards`)."""
    markets = [
        m
        for rnd in outcome.rounds
        if rnd.sub_market.kind is not RoundKind.AVAILABILITY
        for m in rnd.markets
    ]
    return activation_awards(markets, outcome.activation_mw, bids)


def _ordered_mw(
    orders: Sequence[ActivationOrder], intervals: Sequence[Interval]
) -> dict[str, FloatArray]:
    column = {iv: t for t, iv in enumerate(intervals)}
    out: dict[str, FloatArray] = defaultdict(lambda: np.zeros(len(intervals)))
    for o in orders:
        sign = 1.0 if o.direction is Direction.UP else -1.0
        out[o.unit_id][column[o.interval]] += sign * o.quantity_mw
    return dict(out)


def _baselines(
    market: DayMarket, devices: Mapping[str, Device]
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Per unit, its realised schedule without activation and its declared (day-ahead) one:
    a SimBench element's profile and day-ahead forecast, an added device's
    (:func:`~flexcoord.simulation.study.day_market`) realised and default schedules."""
    realised_of = {
        uid: market.realised.p_mw[:, k] for k, uid in enumerate(market.realised.element_ids)
    }
    realised: dict[str, FloatArray] = {}
    declared: dict[str, FloatArray] = {}
    for uid in devices:
        if uid in realised_of:
            realised[uid] = realised_of[uid]
            declared[uid] = market.unit_forecast_mw[uid]
        else:
            realised[uid] = market.device_realised_mw[uid]
            declared[uid] = market.device_declared_mw[uid]
    return realised, declared


def _deliver(
    plan: StudyPlan,
    market: DayMarket,
    config: SchemeConfig,
    ordered: Mapping[str, FloatArray],
    realised: Mapping[str, FloatArray],
) -> dict[str, FloatArray]:
    """Per ordered unit, its realised schedule change (delivery and rebound), seeded."""
    seq = np.random.SeedSequence([plan.study.seed, market.index, *config.id.encode()])
    rng = np.random.default_rng(seq)
    devices = {d.unit_id: d for d in plan.devices}
    change: dict[str, FloatArray] = {}
    for uid in sorted(ordered):
        asked = ordered[uid]
        if rng.random() < plan.study.fsp.failure_rate:
            asked = np.zeros_like(asked)
        else:
            asked = asked * (1.0 + plan.study.fsp.delivery_noise * rng.standard_normal(len(asked)))
        response = apply_activation(devices[uid], realised[uid], asked, mtus=market.intervals)
        change[uid] = response.delivered_mw + response.rebound_mw
    return change


def _violations(
    plan: StudyPlan, state: OperatingForecast, no_flex_outside_pu: FloatArray
) -> pd.DataFrame:
    """The realised overloads (MW above the study's limits) and the voltage violations the
    dispatch added: buses further outside their band than without any activation (SimBench's
    HV/MV grids run outside their band in the base case already, which no scheme is judged by)."""
    rows: list[dict[str, object]] = []
    over = overload_mw(plan, state)
    for i, t in zip(*np.nonzero(over > 1e-6), strict=True):
        rows.append(
            {
                "mtu": state.intervals[t].start,
                "element": state.branch_names[i],
                "kind": "branch-flow",
                "value": float(over[i, t]),
            }
        )
    added = voltage_outside_pu(plan, state) - no_flex_outside_pu
    for i, t in zip(*np.nonzero(added > _VM_TOLERANCE_PU), strict=True):
        rows.append(
            {
                "mtu": state.intervals[t].start,
                "element": f"bus:{int(state.bus_ids[i])}",
                "kind": "voltage",
                "value": float(added[i, t]),
            }
        )
    return pd.DataFrame(rows, columns=["mtu", "element", "kind", "value"])


def _verify(  # noqa: PLR0913 - private: the day and its three schedules, by position
    plan: StudyPlan,
    market: DayMarket,
    orders: Sequence[ActivationOrder],
    realised: Mapping[str, FloatArray],
    declared: Mapping[str, FloatArray],
    change: Mapping[str, FloatArray],
) -> tuple[DeliveryVerification, ...]:
    rule = make_baseline(plan.study.baseline.method)
    ivs = market.intervals
    meter = {
        uid: MeterSeries.of(
            [
                *(market.history.readings(uid) if market.history is not None else ()),
                *zip(ivs, (realised[uid] + change[uid]).tolist(), strict=True),
            ]
        )
        for uid in change
    }
    requested: dict[str, list[Interval]] = defaultdict(list)
    for o in orders:
        requested[o.unit_id].append(o.interval)
    baselines = {
        uid: rule.estimate(
            sorted(set(requested[uid]), key=lambda iv: iv.start),
            meter=meter[uid],
            schedule=MeterSeries.of(zip(ivs, declared[uid].tolist(), strict=True)),
        )
        for uid in requested
    }
    return verify_delivery(
        orders, baselines, meter, tolerance=Tolerance(relative=plan.study.baseline.tolerance)
    )


def _accepted(
    outcome: ChainOutcome, bids: Mapping[str, Bid]
) -> Iterator[tuple[RoundOutcome, AcceptedAward]]:
    """Every market's awards after conflicts (:func:`~flexcoord.simulation.awards.
    accepted_awards`), in round order, each with its round: an availability round's priced in
    €/MW/h, an activation round's in €/MWh."""
    for rnd in outcome.rounds:
        availability = rnd.sub_market.kind is RoundKind.AVAILABILITY
        kind = ProductKind.AVAILABILITY if availability else ProductKind.ACTIVATION
        for award in accepted_awards(rnd.markets, kind, bids):
            yield rnd, award


def settlement_awards(
    outcome: ChainOutcome, bids: Mapping[str, Bid]
) -> tuple[SettlementAward, ...]:
    """Every market's awards (:func:`_accepted`) as settlement records, each split over the
    market's buyers by their procurement in the round
    (:func:`~flexcoord.simulation.awards.settlement_records`)."""
    out: list[SettlementAward] = []
    for rnd, a in _accepted(outcome, bids):
        out += settlement_records([a], rnd.kpis.procurement_eur)
    return tuple(out)


def availability_awards(outcome: ChainOutcome, bids: Mapping[str, Bid]) -> list[Award]:
    """The availability rounds' awards (:func:`_accepted`) per root bid and MTU, priced as bid
    (€/MW/h), for :func:`~flexcoord.operations.verify_availability`."""
    out: list[Award] = []
    for _, a in _accepted(outcome, bids):
        if a.kind is not ProductKind.AVAILABILITY:
            continue
        out.append(award_of(a.key, a.bid, a.mw, a.price))
    return out


def availability_breaches(
    checks: Sequence[AvailabilityVerification],
) -> tuple[AvailabilityBreach, ...]:
    """The availability awards whose obligation to bid was not met (settled as forfeited)."""
    return tuple(
        AvailabilityBreach(bid_id=v.bid_id, mtu=v.interval.start.isoformat())
        for v in checks
        if v.status is AvailabilityStatus.NOT_OFFERED
    )


def delivery_outcomes(
    checks: Sequence[DeliveryVerification], awards: Sequence[SettlementAward]
) -> tuple[DeliveryOutcome, ...]:
    """Per activated (bid, MTU): the units' verified energy summed, its status by the same
    rule as each unit's (every unit delivered: delivered; none: failed; missing data:
    insufficient), ``ordered_mwh`` the activation awards' energy."""
    awarded: dict[tuple[str, str], float] = defaultdict(float)
    for a in awards:
        if a.kind is ProductKind.ACTIVATION:
            awarded[(a.bid_id, a.mtu)] += a.quantity_mw * a.duration_h
    by_key: dict[tuple[str, str], list[DeliveryVerification]] = defaultdict(list)
    for v in checks:
        by_key[(v.bid_id, v.interval.start.isoformat())].append(v)
    out: list[DeliveryOutcome] = []
    for key, ordered in sorted(awarded.items()):
        group = by_key.get(key, [])
        statuses = {str(v.status) for v in group}
        if not group or "insufficient_data" in statuses:
            status, delivered = OutcomeStatus.INSUFFICIENT_DATA, None
        else:
            delivered = max(sum(v.delivered_mwh or 0.0 for v in group), 0.0)
            status = (
                OutcomeStatus.DELIVERED
                if statuses == {"delivered"}
                else OutcomeStatus.FAILED
                if statuses == {"failed"}
                else OutcomeStatus.PARTIALLY_DELIVERED
            )
        out.append(
            DeliveryOutcome(
                bid_id=key[0],
                mtu=key[1],
                ordered_mwh=ordered,
                delivered_mwh=delivered,
                status=status,
            )
        )
    return tuple(out)


def run_day(plan: StudyPlan, market: DayMarket, config: SchemeConfig) -> DayOutcome:
    """Run ``config`` on ``market`` and follow its dispatch to the realised grid."""
    chain = market.chains[config.timeframes]
    outcome = run_chain(config, chain, ac_check=False, dso_models=plan.dso_models)
    bids: dict[str, Bid] = {b.id: b for b in chain.base.bids}
    for rnd in outcome.rounds:  # an availability award's obligatory activation bid
        bids.update((b.id, b) for b in rnd.obligation_bids)
    awards, buyers = _awards(outcome, bids)
    issued = chain_gate_closures(market.intervals[0].start)[Timeframe.NEAR_REAL_TIME]
    orders = activation_orders(
        awards, bids.values(), plan.register, issued_at=issued, buyers=buyers
    )
    devices = {d.unit_id: d for d in plan.devices}
    realised, declared = _baselines(market, devices)
    ordered = _ordered_mw(orders, market.intervals)
    change = _deliver(plan, market, config, ordered, realised)
    state = realised_state(
        plan, intervals=market.intervals, profile_step=market.profile_step, change=change
    )
    violations = _violations(plan, state, market.no_flex_outside_pu)
    checks = _verify(plan, market, orders, realised, declared, change)
    available = verify_availability(
        availability_awards(outcome, bids), list(bids.values()), chain.base.register, checks
    )
    to_settle = settlement_awards(outcome, bids)
    money = settle(
        to_settle,
        delivery_outcomes(checks, to_settle),
        penalty=PenaltyRule(factor=plan.study.settlement.penalty_factor),
        breaches=availability_breaches(available),
    )
    parts = _Parts(
        awards=awards,
        bids=bids,
        orders=orders,
        checks=checks,
        settlement=money,
        availability=available,
    )
    return _outcome(plan, market, config, outcome, parts, violations)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Parts:
    awards: Sequence[Award]
    bids: Mapping[str, Bid]
    orders: Sequence[ActivationOrder]
    checks: Sequence[DeliveryVerification]
    settlement: Settlement
    availability: Sequence[AvailabilityVerification]


def _award_rows(outcome: ChainOutcome, bids: Mapping[str, Bid]) -> list[dict[str, object]]:
    """Every market's awards (:func:`_accepted`) with the round, the market and the kind
    (``availability``: MW reserved at €/MW/h; ``activation``: MW at €/MWh)."""
    return [
        {
            "mtu": a.key.mtu.start,
            "round": str(rnd.sub_market.timeframe),
            "market": str(a.market.id),
            "kind": str(a.kind),
            "bid_id": a.key.root,
            "fsp_id": a.bid.fsp_id,
            "direction": str(a.bid.direction),
            "quantity_mw": a.mw,
            "price_eur_per_mwh": float(a.price or 0.0),
        }
        for rnd, a in _accepted(outcome, bids)
    ]


def _lifecycle(
    market: DayMarket, orders: Sequence[ActivationOrder], checks: Sequence[DeliveryVerification]
) -> tuple[OrderLog, dict[str, str]]:
    """Each order's lifecycle as events (ordered at the near-real-time gate, acknowledged by
    its FSP a minute later, then its verified outcome after the day), and the BRP notified of it
    (the study's one BRP answers for every unit)."""
    log = OrderLog().extend(ordered_events(orders))
    acked = [
        OrderEvent(order_id=o.id, status=OrderStatus.ACKNOWLEDGED, at=o.issued_at + _ACK_DELAY)
        for o in orders
    ]
    log = log.extend(acked).extend(lifecycle_events(checks, at=market.intervals[-1].end))
    notified = brp_notifications(orders, dict.fromkeys({o.unit_id for o in orders}, "brp"))
    return log, {str(n.order_id): n.brp_id for n in notified}


def _settlement_rows(money: Settlement) -> list[dict[str, object]]:
    return [
        {
            "auction_id": line.auction_id,
            "party_role": str(line.party_role),
            "party": line.party_id,
            "counterparty": line.counterparty_id,
            "bid_id": line.bid_id,
            "mtu": line.mtu,
            "kind": str(line.kind),
            "quantity": None if line.quantity is None else float(line.quantity),
            "unit_price_eur": None if line.unit_price_eur is None else float(line.unit_price_eur),
            "amount_cents": line.amount.cents,
            "amount_eur": line.amount.cents / 100,
        }
        for line in money.lines
    ]


def _money_kpis(
    money: Settlement, checks: Sequence[DeliveryVerification], bids: Mapping[str, Bid]
) -> dict[str, float]:
    """The day's money: FSP lines by kind (what buyers paid, in euros), and the delivered
    energy at the bids' prices (their cost-based offers: the FSPs' cost of what happened)."""
    cents: dict[str, int] = defaultdict(int)
    for line in money.lines:
        if line.party_role is PartyRole.FSP:
            cents[str(line.kind)] += line.amount.cents
            cents["fsp"] += line.amount.cents
    bid_cost = sum(
        max(v.delivered_mwh or 0.0, 0.0) * float(bids[v.bid_id].activation_price_eur_per_mwh or 0.0)
        for v in checks
    )
    return {
        "bid_cost_eur": bid_cost,
        "activation_paid_eur": cents[str(LineKind.ACTIVATION_PAYMENT)] / 100,
        "availability_cost_eur": cents[str(LineKind.AVAILABILITY_PAYMENT)] / 100,
        "penalty_eur": -cents[str(LineKind.PENALTY)] / 100,
        "fsp_revenue_eur": cents["fsp"] / 100,
        "pending_activations": float(len(money.pending)),
    }


def _outcome(  # noqa: PLR0913 - private: the day's parts, by keyword
    plan: StudyPlan,
    market: DayMarket,
    config: SchemeConfig,
    outcome: ChainOutcome,
    parts: _Parts,
    violations: pd.DataFrame,
) -> DayOutcome:
    _awards, bids, orders, checks = parts.awards, parts.bids, parts.orders, parts.checks
    day = market.day.isoformat()
    award_rows = _award_rows(outcome, bids)
    order_rows = [
        {
            "mtu": o.interval.start,
            "order_id": str(o.id),
            "bid_id": o.bid_id,
            "unit_id": o.unit_id,
            "fsp_id": o.fsp_id,
            "buyer_id": o.buyer_id or "",
            "direction": str(o.direction),
            "quantity_mw": o.quantity_mw,
            "energy_mwh": o.energy_mwh,
        }
        for o in orders
    ]
    delivery_rows = [
        {
            "mtu": v.interval.start,
            "order_id": str(v.order_id),
            "bid_id": v.bid_id,
            "unit_id": v.unit_id,
            "fsp_id": v.fsp_id,
            "ordered_mwh": v.ordered_mwh,
            "delivered_mwh": v.delivered_mwh,
            "status": str(v.status),
        }
        for v in checks
    ]
    step_h = market.intervals[0].duration.total_seconds() / 3600
    flow = violations[violations["kind"] == "branch-flow"]
    volt = violations[violations["kind"] == "voltage"]
    violation_mwh = float(flow["value"].sum()) * step_h
    delivered = sum(v.delivered_mwh or 0.0 for v in checks)
    ordered = sum(v.ordered_mwh for v in checks)
    kpis: dict[str, float | str] = {
        "scheme": config.id,
        "day": day,
        "violation_mwh": violation_mwh,
        "violation_bus_hours": float(len(volt)) * step_h,
        "violation_mwh_no_flex": market.no_flex_overload_mwh,
        "ordered_mwh": ordered,
        "delivered_mwh": delivered,
        "delivery_ratio": delivered / ordered if ordered > 0 else 1.0,
        **_money_kpis(parts.settlement, checks, bids),
        "violation_cost_eur": violation_mwh * plan.study.needs.dso_price_cap_eur_per_mwh,
        "forecast_cost_eur": float(outcome.total_cost_eur),
        "unserved_mwh": _unserved_mwh(market, outcome),
        "curtailed_res_mwh": _curtailed_mwh(plan, checks),
        "conflicts": float(sum(len(r.conflicts) for r in outcome.rounds)),
        **_liquidity(outcome),
        **_availability_kpis(parts.availability, step_h),
    }
    _price_realised(plan, kpis)
    return DayOutcome(
        scheme=config.id,
        day=day,
        kpis=kpis,
        awards=_tagged(pd.DataFrame(award_rows), config.id, day),
        activations=_tagged(pd.DataFrame(order_rows), config.id, day),
        deliveries=_tagged(pd.DataFrame(delivery_rows), config.id, day),
        settlement=_tagged(pd.DataFrame(_settlement_rows(parts.settlement)), config.id, day),
        violations=_tagged(violations, config.id, day),
    )


def _availability_kpis(
    checks: Sequence[AvailabilityVerification], step_h: float
) -> dict[str, float]:
    """Availability awarded (MW·h) and the share of it verified ``available`` (offered as
    obliged, every call delivered; 1 when none was awarded), and the MW·h not offered."""
    awarded = sum(v.awarded_mw for v in checks) * step_h
    ok = sum(v.awarded_mw for v in checks if v.status is AvailabilityStatus.AVAILABLE) * step_h
    missing = sum(v.awarded_mw for v in checks if v.status is AvailabilityStatus.NOT_OFFERED)
    return {
        "availability_mw_h": awarded,
        "availability_verified_share": ok / awarded if awarded > 0 else 1.0,
        "availability_not_offered_mw_h": missing * step_h,
    }


def _price_realised(plan: StudyPlan, kpis: dict[str, float | str]) -> None:
    """The unserved need's cost and the realised yardstick (module docstring), in place."""
    kpis["unserved_cost_eur"] = (
        float(kpis["unserved_mwh"]) * plan.study.needs.tso_price_cap_eur_per_mwh
    )
    kpis["realised_cost_eur"] = (
        float(kpis["bid_cost_eur"])
        + float(kpis["availability_cost_eur"])
        + float(kpis["violation_cost_eur"])
        + float(kpis["unserved_cost_eur"])
    )


def run_no_flexibility(plan: StudyPlan, market: DayMarket) -> DayOutcome:
    """The reference row :data:`NO_FLEXIBILITY`: the realised day without any market, priced on
    the same yardstick (its overload at the DSO cap, every need unserved at the TSO cap)."""
    state = realised_state(
        plan, intervals=market.intervals, profile_step=market.profile_step, change={}
    )
    violations = _violations(plan, state, market.no_flex_outside_pu)
    step_h = market.intervals[0].duration.total_seconds() / 3600
    volt = violations[violations["kind"] == "voltage"]
    nothing = Settlement(lines=())
    kpis: dict[str, float | str] = {
        "scheme": NO_FLEXIBILITY,
        "day": market.day.isoformat(),
        "violation_mwh": market.no_flex_overload_mwh,
        "violation_bus_hours": float(len(volt)) * step_h,
        "violation_mwh_no_flex": market.no_flex_overload_mwh,
        "ordered_mwh": 0.0,
        "delivered_mwh": 0.0,
        "delivery_ratio": 1.0,
        **_money_kpis(nothing, (), {}),
        "violation_cost_eur": market.no_flex_overload_mwh
        * plan.study.needs.dso_price_cap_eur_per_mwh,
        "forecast_cost_eur": 0.0,
        "unserved_mwh": float(
            sum(market.joint.evaluate({}, default_options()).shortfall_mwh.values())
        ),
        "curtailed_res_mwh": 0.0,
        "conflicts": 0.0,
        "liquidity_root_bids": 0.0,
        "liquidity_units": 0.0,
        "liquidity_fsps": 0.0,
        **_availability_kpis((), step_h),
    }
    _price_realised(plan, kpis)
    day = market.day.isoformat()
    return DayOutcome(
        scheme=NO_FLEXIBILITY,
        day=day,
        kpis=kpis,
        awards=pd.DataFrame(),
        activations=pd.DataFrame(),
        deliveries=pd.DataFrame(),
        settlement=pd.DataFrame(),
        violations=_tagged(violations, NO_FLEXIBILITY, day),
    )


def _liquidity(outcome: ChainOutcome) -> dict[str, float]:
    """The most liquid round's distinct root bids, units and FSPs that could serve its needs
    (:class:`~flexcoord.coordination.liquidity.Liquidity`); 0 when no round ran."""
    rounds = [r.kpis.liquidity for r in outcome.rounds]
    return {
        "liquidity_root_bids": float(max((q.root_bids for q in rounds), default=0)),
        "liquidity_units": float(max((q.units for q in rounds), default=0)),
        "liquidity_fsps": float(max((q.fsps for q in rounds), default=0)),
    }


def _unserved_mwh(market: DayMarket, outcome: ChainOutcome) -> float:
    """The day's needs (the single-round scenario's: every DSO congestion need and the TSO's
    balancing need, as forecast day-ahead) not covered by the scheme's activation dispatch, on
    the one joint problem every scheme is priced on. An obligatory activation bid stands for the
    bid it came from (same resource, direction and MTUs). A scheme that buys only availability
    leaves the whole need unserved."""
    base_ids = {b.id for b in market.base.bids}
    dispatch: dict[DispatchKey, float] = defaultdict(float)
    for key, mw in outcome.activation_mw.items():
        root = key.root.removesuffix(_OBLIGATION_SUFFIX)
        if root in base_ids and mw > 0:
            dispatch[DispatchKey(root=root, mtu=key.mtu)] += mw
    cost = market.joint.evaluate(dict(dispatch), default_options())
    return float(sum(cost.shortfall_mwh.values()))


def _curtailed_mwh(plan: StudyPlan, checks: Sequence[DeliveryVerification]) -> float:
    """Delivered DOWN energy of renewable generators (curtailment)."""
    renewable = {
        u.id for u in plan.register.units if u.technology in (Technology.PV, Technology.WIND)
    }
    return float(
        sum(
            v.delivered_mwh or 0.0
            for v in checks
            if v.unit_id in renewable and v.direction is Direction.DOWN
        )
    )


def _tagged(frame: pd.DataFrame, scheme: str, day: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "day", day)
    frame.insert(0, "scheme", scheme)
    return frame
