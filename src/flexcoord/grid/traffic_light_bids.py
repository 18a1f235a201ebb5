"""Using a traffic-light assessment: filtering bids (day-ahead) and checking activations (intraday).

* :func:`filter_bids` — the DSO's filter before bids are forwarded to another operator's market
  (InteGrid's day-ahead TLS mode): per bid and MTU, green passes; amber passes when the quantity
  fits the safe volume, is curtailed to it when the bid is divisible and the safe volume reaches
  the bid's minimum acceptance, and is rejected otherwise; red is rejected. A block bid loses all
  its MTUs when one is rejected. Every decision carries a reason the FSP may read (no topology).
* :func:`assess_activation` — InteGrid's intraday mode: is a requested activation (e.g. by the
  TSO) safe for the DSO grid *jointly* (all requested resources at once, linear model around the
  forecast)? If not, the largest common scaling of the request that is safe, and alternative
  resources in the same grid area with headroom after the curtailed request — the FSP's own first
  (others flagged), cheapest first when bids with activation prices are given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flexcoord.domain import Bid, Direction, Interval, MtuQuantity, Register, TrafficLight
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.traffic_light import (
    MIN_FLOW_EFFECT_MW,
    MIN_VM_EFFECT_PU,
    TrafficLightAssessment,
    classify,
)
from flexcoord.grid.traffic_light_kernel import ConstraintSet, safe_volumes

__all__ = [
    "ActivationCheck",
    "ActivationItem",
    "AlternativeActivation",
    "BidDecision",
    "BidFilterResult",
    "assess_activation",
    "filter_bids",
]

FloatArray = NDArray[np.float64]
_DIRECTIONS = (Direction.UP, Direction.DOWN)
_EPS_MW = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class BidDecision:
    """What the filter did with one bid: ``passed``, ``curtailed`` or ``rejected``, and why."""

    bid_id: str
    outcome: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BidFilterResult:
    """Bids after the traffic-light filter; the input bids are never changed.

    Attributes:
        passed: Bids forwarded unchanged (the same objects).
        curtailed: New bids with smaller quantities and/or fewer MTUs.
        rejected: Bids not forwarded (the input objects).
        decisions: One per input bid, in input order.
    """

    passed: tuple[Bid, ...]
    curtailed: tuple[Bid, ...]
    rejected: tuple[Bid, ...]
    decisions: tuple[BidDecision, ...]

    @property
    def forwarded(self) -> tuple[Bid, ...]:
        """The bids that go on to the market: passed and curtailed."""
        return self.passed + self.curtailed

    def decision(self, bid_id: str) -> BidDecision:
        """The decision on one bid."""
        return next(d for d in self.decisions if d.bid_id == bid_id)


def _when(interval: Interval) -> str:
    return f"{interval.start:%Y-%m-%dT%H:%MZ}"


def _limit_words(a: TrafficLightAssessment, row: int, upper: bool) -> str:
    n_branch = len(a.model.branches.value)
    kind = "thermal" if row < n_branch else ("upper voltage" if upper else "lower voltage")
    return f"{kind} limit in the {a.grid_word} grid (constraint {a.constraint_refs[row]})"


def filter_bids(  # noqa: PLR0912, PLR0915 - one pass over the bids; not split yet
    bids: Sequence[Bid], assessment: TrafficLightAssessment, register: Register
) -> BidFilterResult:
    """Filter bids through the traffic light (see the module docstring for the rules).

    Bids of resources the assessment does not cover, and MTUs outside it, pass unchanged with a
    reason saying so (the assessing operator has no say on them). A bid with its own
    ``q_mvar_per_mw`` is re-assessed with that reactive behaviour.

    Example:
        >>> # see tests/grid/test_traffic_light.py::test_filter_bids_curtails_and_rejects
    """
    a = assessment
    mtu_of = {mtu: t for t, mtu in enumerate(a.intervals)}
    passed: list[Bid] = []
    curtailed: list[Bid] = []
    rejected: list[Bid] = []
    decisions: list[BidDecision] = []
    for bid in bids:
        register.resource(bid.resource_id)  # NotFoundError for an unknown resource
        if bid.resource_id not in a.resource_ids:
            passed.append(bid)
            decisions.append(
                BidDecision(
                    bid_id=bid.id,
                    outcome="passed",
                    reasons=(f"resource not in the grid assessed by {a.operator_id}",),
                )
            )
            continue
        r = a.resource_index(bid.resource_id)
        d = _DIRECTIONS.index(bid.direction)
        safe, row, light = a.safe_mw[r], a.constraint[r], a.light_code[r]
        upper_bound = a.kind_code[r] == 2  # overvoltage: the upper bound of a bus binds
        q_bid = bid.q_mvar_per_mw or 0.0
        if q_bid != float(a.model.q_ratio[r]):
            again = a.model.safe(np.array([r]), a.range_mw[r : r + 1], q_ratio=np.array([q_bid]))
            safe, row, upper_bound = again.x_mw[0], again.row[0], again.upper[0]
            lights, _ = classify(
                again, a.range_mw[r : r + 1], a.amber_floor_mw, n_branch=len(a.model.branches.value)
            )
            light = lights[0]
        reasons: list[str] = []
        kept: list[MtuQuantity] = []
        changed = False
        for mq in bid.quantities:
            t = mtu_of.get(mq.interval)
            if t is None:
                kept.append(mq)
                reasons.append(f"{_when(mq.interval)} not assessed: passed unchanged")
                continue
            x = float(safe[t, d])
            if light[t, d] == 0 or mq.quantity <= x + _EPS_MW:
                kept.append(mq)
                continue
            c = int(row[t, d])
            why = _limit_words(a, c, bool(upper_bound[t, d]))
            changed = True
            floor = max(bid.min_acceptance or 0.0, a.amber_floor_mw)
            if light[t, d] == 1 and bid.divisible and x >= floor and x > 0:
                kept.append(MtuQuantity(interval=mq.interval, quantity=x))
                reasons.append(f"curtailed to {x:.2f} MW at {_when(mq.interval)}: {why}")
            elif light[t, d] == 2:
                reasons.append(f"rejected at {_when(mq.interval)} (red): {why}")
            else:
                what = "indivisible" if not bid.divisible else "below its minimum acceptance"
                reasons.append(
                    f"rejected at {_when(mq.interval)}: only {x:.2f} MW safe and the bid is "
                    f"{what}: {why}"
                )
        if not changed:
            passed.append(bid)
            decisions.append(BidDecision(bid_id=bid.id, outcome="passed", reasons=tuple(reasons)))
        elif not kept or (bid.block and len(kept) < len(bid.quantities)):
            if kept:
                reasons.append("block bid: rejected in all MTUs")
            rejected.append(bid)
            decisions.append(BidDecision(bid_id=bid.id, outcome="rejected", reasons=tuple(reasons)))
        else:
            curtailed.append(dataclasses.replace(bid, quantities=tuple(kept)))
            decisions.append(
                BidDecision(bid_id=bid.id, outcome="curtailed", reasons=tuple(reasons))
            )
    return BidFilterResult(
        passed=tuple(passed),
        curtailed=tuple(curtailed),
        rejected=tuple(rejected),
        decisions=tuple(decisions),
    )


# --- intraday: activation check ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationItem:
    """One requested (resource, MTU) activation and the safe part of it; ``reason`` says why
    the MTU's request is cut (``None`` when all of it is safe)."""

    key: str
    resource_id: str
    interval: Interval
    direction: Direction
    requested_mw: float
    safe_mw: float
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlternativeActivation:
    """A suggested replacement volume: ``other_fsp`` flags a resource of another FSP."""

    resource_id: str
    fsp_id: str
    interval: Interval
    direction: Direction
    volume_mw: float
    bid_id: str | None
    activation_price_eur_per_mwh: float | None
    other_fsp: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationCheck:
    """The verdict on a requested activation.

    Attributes:
        safe: Whether the whole request is safe for the assessed grid.
        light: GREEN (safe), AMBER (safe only curtailed), RED (nothing of it is safe).
        items: Requested and safe volume per (request key, MTU).
        alternatives: Suggested replacements for the curtailed volume.
        reasons: Explanations without topology.
    """

    safe: bool
    light: TrafficLight
    items: tuple[ActivationItem, ...]
    alternatives: tuple[AlternativeActivation, ...]
    reasons: tuple[str, ...]


def _issue(key: str, field: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [Issue(kind="ActivationRequest", object_id=key, field=field, value=value, message=message)]
    )


def assess_activation(  # noqa: PLR0913 - public: requests, assessment, register, then keyword options
    requests: Mapping[str, Mapping[Interval, float]],
    assessment: TrafficLightAssessment,
    register: Register,
    *,
    direction: Direction | None = None,
    bids: Sequence[Bid] = (),
    bid_backed_only: bool = False,
) -> ActivationCheck:
    """Check a requested activation against the assessment's grid and suggest alternatives.

    Args:
        requests: ``{bid id or resource id: {MTU: MW}}``; a bid id takes its bid's resource and
            direction, a resource id needs ``direction``.
        assessment: The (intraday) traffic light the check linearises around.
        register: The register (FSPs of the resources).
        direction: Direction of requests keyed by resource id.
        bids: Bids known to the DSO: resolve bid ids and price the alternatives.
        bid_backed_only: Suggest only resources that one of ``bids`` offers in the MTU and
            direction (a market can activate nothing else); default: any resource of the area,
            the FSP's own first.

    Raises:
        InvalidInputError: a key that is neither a given bid nor an assessed resource, a missing
            direction, an MTU outside the assessment, a negative volume.
    """
    a, model = assessment, assessment.model
    bid_by_id = {b.id: b for b in bids}
    mtu_of = {mtu: t for t, mtu in enumerate(a.intervals)}
    cells: dict[int, list[tuple[str, int, int, float]]] = {}  # t → (key, r, d, MW)
    for key, volumes in requests.items():
        bid = bid_by_id.get(key)
        resource_id = bid.resource_id if bid else key
        way = bid.direction if bid else direction
        if resource_id not in a.resource_ids:
            raise _issue(key, "key", key, "is neither a given bid nor an assessed resource")
        if way is None:
            raise _issue(key, "direction", None, "is needed for a request keyed by resource")
        for mtu, mw in volumes.items():
            if mtu not in mtu_of:
                raise _issue(key, "interval", str(mtu), "is not an MTU of the assessment")
            if not (np.isfinite(mw) and mw >= 0):
                raise _issue(key, "volume_mw", mw, "must be a finite number >= 0")
            cells.setdefault(mtu_of[mtu], []).append(
                (key, a.resource_index(resource_id), _DIRECTIONS.index(Direction(way)), mw)
            )
    items: list[ActivationItem] = []
    alternatives: list[AlternativeActivation] = []
    reasons: list[str] = []
    worst = 0.0  # smallest scaling over the MTUs
    n_branch = len(model.branches.value)
    for t, cell in sorted(cells.items()):
        signed = np.array([(1.0 if d == 0 else -1.0) * mw for _, _, d, mw in cell])
        cols = np.array([r for _, r, _, _ in cell])
        d_flow = model.s_flow[:, cols] @ signed
        s_vm = model.s_vm_p[:, cols] + model.s_vm_q[:, cols] * model.q_ratio[cols]
        d_vm = s_vm @ signed
        alpha, row, upper = _largest_scaling(a, t, d_flow, d_vm)
        worst = min(worst, alpha) if items else alpha
        reason = None
        if alpha < 1.0 - 1e-9:
            kind = "thermal" if row < n_branch else ("upper voltage" if upper else "lower voltage")
            reason = (
                f"{_when(a.intervals[t])}: only {alpha:.0%} of the request is safe: {kind} limit "
                f"in the {a.grid_word} grid (constraint {a.constraint_refs[row]})"
            )
        for key, r, d, mw in cell:
            items.append(
                ActivationItem(
                    key=key,
                    resource_id=a.resource_ids[r],
                    interval=a.intervals[t],
                    direction=_DIRECTIONS[d],
                    requested_mw=mw,
                    safe_mw=alpha * mw,
                    reason=reason,
                )
            )
        if reason is None:
            continue
        reasons.append(reason)
        flows = model.branches.value[:, [t]] + alpha * d_flow[:, None]
        vm = model.buses.value[:, [t]] + alpha * d_vm[:, None]
        for d in (0, 1):
            shortfall = sum((1.0 - alpha) * mw for _, _, dd, mw in cell if dd == d)
            if shortfall > _EPS_MW:
                found = _alternatives(
                    a,
                    register,
                    _Shortfall(cell=cell, t=t, d=d, mw=shortfall),
                    flows,
                    vm,
                    bids,
                    set(cols.tolist()),
                    bid_backed_only=bid_backed_only,
                )
                alternatives += found
    light = (
        TrafficLight.GREEN
        if worst >= 1.0 - 1e-9
        else (TrafficLight.RED if worst <= 0.0 else TrafficLight.AMBER)
    )
    return ActivationCheck(
        safe=light is TrafficLight.GREEN,
        light=light,
        items=tuple(items),
        alternatives=tuple(alternatives),
        reasons=tuple(reasons),
    )


def _largest_scaling(
    a: TrafficLightAssessment, t: int, d_flow: FloatArray, d_vm: FloatArray
) -> tuple[float, int, bool]:
    """Largest α in [0, 1] with the request × α safe at MTU ``t``; binding row and side."""
    model = a.model
    best, row, upper = 1.0, -1, False
    for offset, cs, delta in (
        (0, model.branches, d_flow),
        (len(model.branches.value), model.buses, d_vm),
    ):
        one = ConstraintSet(
            value=cs.value[:, [t]], lower=cs.lower, upper=cs.upper, min_sensitivity=0.0
        )
        # the traffic light's influence rule, for the request as a whole: a row it moves by at
        # most MIN_FLOW_EFFECT_MW (MIN_VM_EFFECT_PU) is not influenced by it
        floor = MIN_FLOW_EFFECT_MW if offset == 0 else MIN_VM_EFFECT_PU
        moved = np.where(np.abs(delta) <= floor, 0.0, delta)
        res = safe_volumes(one, moved[:, None], np.ones(1))
        if res.x_mw[0, 0, 0] < best:
            best, row, upper = (
                float(res.x_mw[0, 0, 0]),
                int(res.row[0, 0, 0]) + offset,
                bool(res.upper[0, 0, 0]),
            )
    return best, row, upper


@dataclass(frozen=True, slots=True)
class _Shortfall:
    """The curtailed part of one MTU's request in one direction."""

    cell: list[tuple[str, int, int, float]]
    t: int
    d: int
    mw: float


def _alternatives(  # noqa: PLR0913 - private: one shortfall's arrays, by keyword
    a: TrafficLightAssessment,
    register: Register,
    short: _Shortfall,
    flows: FloatArray,
    vm: FloatArray,
    bids: Sequence[Bid],
    requested: set[int],
    *,
    bid_backed_only: bool = False,
) -> list[AlternativeActivation]:
    """Greedy replacements for ``short.mw`` MW in direction ``short.d`` at MTU ``short.t``."""
    cell, t, d, shortfall = short.cell, short.t, short.d, short.mw
    fsps = {a.fsp_ids[r] for _, r, dd, _ in cell if dd == d}
    areas = {a.area_ids[r] for _, r, dd, _ in cell if dd == d}
    mtu = a.intervals[t]
    price: dict[int, tuple[float, str]] = {}
    for bid in bids:
        if bid.direction is not _DIRECTIONS[d] or bid.resource_id not in a.resource_ids:
            continue
        if not any(q.interval == mtu for q in bid.quantities):
            continue
        p = bid.activation_price_eur_per_mwh
        r = a.resource_index(bid.resource_id)
        if p is not None and (r not in price or p < price[r][0]):
            price[r] = (p, bid.id)
    candidates = [
        r
        for r in range(len(a.resource_ids))
        if r not in requested
        and a.area_ids[r] in areas
        and a.light_code[r, t, d] < 2
        and (r in price or not bid_backed_only)
    ]
    if not candidates:
        return []

    def order(r: int) -> tuple[bool, bool, float, float]:
        p = price.get(r)
        return (a.fsp_ids[r] not in fsps, p is None, p[0] if p else 0.0, -a.safe_mw[r, t, d])

    candidates.sort(key=order)
    out: list[AlternativeActivation] = []
    sign = 1.0 if d == 0 else -1.0
    for r in candidates:
        res = a.model.safe(
            np.array([r]), a.range_mw[r : r + 1], branch_flow_mw=flows, vm_pu=vm, mtus=np.array([t])
        )
        x = min(float(res.x_mw[0, 0, d]), shortfall)
        if x < a.amber_floor_mw:
            continue
        q = a.model.q_ratio[r]
        flows = flows + sign * x * a.model.s_flow[:, [r]]
        vm = vm + sign * x * (a.model.s_vm_p[:, [r]] + q * a.model.s_vm_q[:, [r]])
        priced = price.get(r)
        out.append(
            AlternativeActivation(
                resource_id=a.resource_ids[r],
                fsp_id=a.fsp_ids[r],
                interval=mtu,
                direction=_DIRECTIONS[d],
                volume_mw=x,
                bid_id=priced[1] if priced else None,
                activation_price_eur_per_mwh=priced[0] if priced else None,
                other_fsp=a.fsp_ids[r] not in fsps,
            )
        )
        shortfall -= x
        if shortfall <= _EPS_MW:
            break
    return out
