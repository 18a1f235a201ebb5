"""The DSO's intraday check of the TSO's activations before dispatch (InteGrid's TLS, L1211–1214).

InteGrid's traffic light has two modes: day-ahead, it filters the bids before they reach the
TSO's market (:func:`~flexcoord.coordination.markets.traffic_light`); intraday, "the TSO forwards
a bid activation to the TLS. It evaluates the bids to be activated and suggests an alternative bid
activation to the FO if the activation would lead to network constraints" (seed L1214).
:func:`check_activations` is the second mode in the near-real-time activation round of a timeframe
chain, for every scheme whose DSO grid enters the TSO's market through a traffic light:

1. the TSO's activations in each DSO's areas (the awards of the markets the TSO buys in, after the
   conflict rule) are checked **jointly** by
   :func:`~flexcoord.grid.traffic_light_bids.assess_activation` on the DSO's intraday traffic
   light (``mode="intraday"``) at the round's operating point: the chain's intraday forecast (or
   its base forecast) moved by the earlier rounds' activations and by this round's other awards;
2. an activation that would violate is cut to its safe share (the largest common scaling of the
   DSO's requests in that MTU); nothing safe → refused;
3. the alternatives the assessment suggests for the cut volume (same grid area, the FSP's own
   resources first, cheapest first) are activated instead where a bid of the round backs them
   (an unused bid of the same direction on that resource, up to its quantity; an indivisible or
   block bid only whole), recorded by the ledger in the TSO's market of the round (the DSO
   activates them on the TSO's behalf). A suggestion no bid backs stays a suggestion.

Every check is an :class:`ActivationCheckRecord` (bid, MTU, verdict, MW before and after) and
every replacement a :class:`Replacement`, on the round's outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flexcoord.coordination.identities import DispatchKey, MarketId, MarketKind, Mtu
from flexcoord.coordination.ledger import ClearingLedger
from flexcoord.coordination.markets import (
    MarketsState,
    SchemeContext,
    dso_assessment,
    moved_forecast,
)
from flexcoord.domain import Bid, Direction, Interval
from flexcoord.grid.forecast import OperatingForecast
from flexcoord.grid.traffic_light_bids import ActivationCheck, ActivationItem, assess_activation

__all__ = [
    "ActivationCheckRecord",
    "ActivationChecks",
    "ActivationVerdict",
    "Replacement",
    "check_activations",
]

_EPS_MW = 1e-6
#: A cut smaller than this (1 kW) is linearisation noise at a limit the DSO market left exactly
#: binding: the activation counts as safe and is dispatched as requested.
_CUT_TOLERANCE_MW = 1e-3


class ActivationVerdict(StrEnum):
    """What the DSO's check did with one TSO activation in one MTU."""

    SAFE = "safe"  # activated as requested
    CURTAILED = "curtailed"  # activated in part (its safe share)
    REFUSED = "refused"  # nothing of it is safe


@dataclass(frozen=True, slots=True, kw_only=True)
class Replacement:
    """A bid the DSO activated instead of the cut volume of ``replaces`` in one MTU."""

    dso_id: str
    bid_id: str  # root bid
    mtu: Mtu
    direction: Direction
    activated_mw: float
    replaces: tuple[str, ...]  # root bids cut in that MTU and direction
    other_fsp: bool  # a resource of another FSP than those of ``replaces``


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationCheckRecord:
    """The DSO's check of one TSO activation (root bid, MTU) at the intraday operating point."""

    dso_id: str
    bid_id: str  # root bid
    mtu: Mtu
    direction: Direction
    requested_mw: float
    activated_mw: float
    verdict: ActivationVerdict
    reasons: tuple[str, ...]  # without topology, as the FSP may read them


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationChecks:
    """A round's dispatch after the checks, the ledger that records the replacements, and the
    checks and replacements themselves."""

    accepted_mw: Mapping[DispatchKey, float]
    ledger: ClearingLedger
    records: tuple[ActivationCheckRecord, ...] = ()
    replacements: tuple[Replacement, ...] = ()


def check_activations(
    ctx: SchemeContext,
    state: MarketsState,
    accepted_mw: Mapping[DispatchKey, float],
    forecast: OperatingForecast,
) -> ActivationChecks:
    """The round's dispatch ``accepted_mw`` after each DSO checked the TSO's activations in its
    areas (module docstring); ``forecast``: the intraday base case of the round (earlier rounds'
    activations included, this round's not)."""
    requested = _tso_activations(ctx, state, accepted_mw)
    out = ActivationChecks(accepted_mw=dict(accepted_mw), ledger=state.ledger)
    if not requested:
        return out
    others = {k: v for k, v in accepted_mw.items() if k not in requested}
    point = moved_forecast(ctx, forecast, others)
    for dso in ctx.dso_ids:
        areas = _areas(ctx, dso)
        mine = {k: v for k, v in requested.items() if ctx.joint.bid_area[k.root] in areas}
        if mine:
            out = _check_dso(ctx, out, dso, mine, point)
    return out


def _areas(ctx: SchemeContext, dso: str) -> set[str]:
    """The distribution areas of ``dso``."""
    return set(ctx.scenario.areas_of(dso)) - set(ctx.tso_areas)


def _tso_activations(
    ctx: SchemeContext, state: MarketsState, accepted_mw: Mapping[DispatchKey, float]
) -> dict[DispatchKey, float]:
    """The awards of the markets the TSO buys in, on bids in DSO areas, as they stand in
    ``accepted_mw`` (after the conflict rule)."""
    tso_areas = set(ctx.tso_areas)
    keys = {
        k
        for m in state.markets
        if m.id.kind is not MarketKind.DSO and set(m.buyer_ids) & set(ctx.tso_ids)
        for k in m.accepted_mw
    }
    return {
        k: v
        for k, v in accepted_mw.items()
        if k in keys and v > _EPS_MW and ctx.joint.bid_area[k.root] not in tso_areas
    }


def _check_dso(
    ctx: SchemeContext,
    out: ActivationChecks,
    dso: str,
    requested: Mapping[DispatchKey, float],
    point: OperatingForecast,
) -> ActivationChecks:
    """One DSO's check of its share of the TSO's activations, and the replacements."""
    areas = _areas(ctx, dso)
    interval_of = {Mtu(iv.start): iv for iv in ctx.scenario.intervals}
    bids = ctx.bids_by_root
    candidates = [
        b
        for b in out.ledger.unused(bids.values())
        if ctx.joint.bid_area[b.id] in areas and b.activation_price_eur_per_mwh is not None
    ]
    requests: dict[str, dict[Interval, float]] = defaultdict(dict)
    for key, mw in requested.items():
        requests[key.root][interval_of[key.mtu]] = mw
    resources = sorted(
        {bids[r].resource_id for r in requests} | {b.resource_id for b in candidates}
    )
    assessment = dso_assessment(ctx, point, dso, resources, mode="intraday")
    known = [bids[r] for r in requests if bids[r].resource_id in assessment.resource_ids]
    check = assess_activation(
        {b.id: requests[b.id] for b in known},
        assessment,
        ctx.scenario.register,
        bids=[*known, *candidates],
        bid_backed_only=True,
    )
    accepted = dict(out.accepted_mw)
    records = [_record(dso, item) for item in check.items]
    for record in records:
        accepted[DispatchKey(record.bid_id, record.mtu)] = record.activated_mw
    replacements = _replacements(dso, check, records, {b.id: b for b in candidates})
    for rep in replacements:
        key = DispatchKey(rep.bid_id, rep.mtu)
        accepted[key] = accepted.get(key, 0.0) + rep.activated_mw
    ledger = out.ledger
    if replacements:
        market = MarketId.tso(ctx.round)
        volume: dict[str, float] = defaultdict(float)
        for rep in replacements:
            volume[rep.bid_id] += rep.activated_mw
        ledger = ledger.offer(market, sorted(volume)).record(market, volume)
    return ActivationChecks(
        accepted_mw={k: v for k, v in accepted.items() if v > _EPS_MW},
        ledger=ledger,
        records=(*out.records, *records),
        replacements=(*out.replacements, *replacements),
    )


def _record(dso: str, item: ActivationItem) -> ActivationCheckRecord:
    """The record of one checked (bid, MTU)."""
    safe = min(item.safe_mw, item.requested_mw)
    if safe >= item.requested_mw - _CUT_TOLERANCE_MW:
        verdict, safe = ActivationVerdict.SAFE, item.requested_mw
    elif safe <= _EPS_MW:
        verdict, safe = ActivationVerdict.REFUSED, 0.0
    else:
        verdict = ActivationVerdict.CURTAILED
    reasons = () if item.reason is None else (item.reason,)
    return ActivationCheckRecord(
        dso_id=dso,
        bid_id=item.key,
        mtu=Mtu(item.interval.start),
        direction=item.direction,
        requested_mw=item.requested_mw,
        activated_mw=safe,
        verdict=verdict,
        reasons=reasons if verdict is not ActivationVerdict.SAFE else (),
    )


def _replacements(
    dso: str,
    check: ActivationCheck,
    records: Sequence[ActivationCheckRecord],
    candidates: Mapping[str, Bid],
) -> list[Replacement]:
    """The suggested alternatives a bid backs, up to its quantity in the MTU."""
    cut: dict[tuple[Mtu, Direction], tuple[str, ...]] = defaultdict(tuple)
    for r in records:
        if r.verdict is not ActivationVerdict.SAFE:
            cut[(r.mtu, r.direction)] += (r.bid_id,)
    out = []
    for alt in check.alternatives:
        bid = candidates.get(alt.bid_id or "")
        if bid is None:
            continue
        offered = sum(q.quantity for q in bid.quantities if q.interval == alt.interval)
        mw = min(alt.volume_mw, offered)
        if not bid.divisible or bid.block:
            mw = offered if alt.volume_mw >= offered - _EPS_MW else 0.0
        if mw <= _EPS_MW:
            continue
        mtu = Mtu(alt.interval.start)
        out.append(
            Replacement(
                dso_id=dso,
                bid_id=bid.id,
                mtu=mtu,
                direction=alt.direction,
                activated_mw=mw,
                replaces=cut.get((mtu, alt.direction), ()),
                other_fsp=alt.other_fsp,
            )
        )
    return out
