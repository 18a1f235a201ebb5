"""The validation rules of a :class:`~flexcoord.clearing.problem.ClearingProblem`'s arrays.

Each rule is a small function of the problem returning the issues it finds (every one, up to
:data:`MAX_ISSUES_PER_RULE` per rule and field). The rules run in stages: a stage runs only when
the stages before it found nothing, because its rules index with what those checked (the value
rules read ``slot_bid``, the cycle rule follows ``bid_parent``). Within a stage every rule runs,
so one error lists every issue of that stage, in the order of :data:`STAGES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from flexcoord.clearing.capability import capability_issues, n_duplicates
from flexcoord.errors import Issue

if TYPE_CHECKING:
    from flexcoord.clearing.problem import ClearingProblem

__all__ = ["MAX_ISSUES_PER_RULE", "STAGES", "Rule", "problem_issues"]

#: Issues a rule reports per field; the rest of the same kind are not listed.
MAX_ISSUES_PER_RULE = 20

Rule = Callable[["ClearingProblem"], list[Issue]]

_BID_FIELDS = (
    "bid_submitted_s",
    "bid_indivisible",
    "bid_block",
    "bid_min_mw",
    "bid_xor",
    "bid_parent",
)
_SLOT_FIELDS = (
    "slot_mtu",
    "slot_quantity_mw",
    "slot_price_eur_per_mwh",
    "slot_payment_price_eur_per_mwh",
    "slot_q_mvar_per_mw",
    "slot_up",
    "slot_reactive",
    "slot_bus",
)
_SLOT_PRICES = ("slot_price_eur_per_mwh", "slot_payment_price_eur_per_mwh", "slot_q_mvar_per_mw")
_GRID_FIELDS = (
    "ptdf",
    "base_flow_mw",
    "limit_mw",
    "dvm_dp",
    "dvm_dq",
    "base_vm_pu",
    "vm_min_pu",
    "vm_max_pu",
    "ic_p",
    "ic_q",
    "if_p",
    "if_q",
    "ic_flow",
)


# --- issue makers -------------------------------------------------------------------------------
def _problem(field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="ClearingProblem", object_id="problem", field=field, value=value, message=message
    )


def _grid(field: str, value: object, message: str) -> Issue:
    return Issue(kind="Grid", object_id="grid", field=field, value=value, message=message)


@dataclass(frozen=True, slots=True)
class _Entities:
    """Whom an index space's issues name: the kind and the id of entry ``i``."""

    kind: str
    id_of: Callable[[int], str]


def _each(
    who: _Entities, bad: NDArray[np.bool_], field: str, values: NDArray[Any], message: str
) -> list[Issue]:
    """One issue per entry where ``bad`` holds (the first :data:`MAX_ISSUES_PER_RULE`)."""
    return [
        Issue(
            kind=who.kind,
            object_id=who.id_of(int(i)),
            field=field,
            value=values[int(i)].item(),
            message=message,
        )
        for i in np.flatnonzero(bad)[:MAX_ISSUES_PER_RULE]
    ]


def _slots(p: ClearingProblem) -> _Entities:
    """Slots are named by their bid (``slot <i>`` when the slot names no bid)."""

    def owner(i: int) -> str:
        b = int(p.slot_bid[i])
        return p.bid_ids[b] if 0 <= b < p.n_bid else f"slot {i}"

    return _Entities("Bid", owner)


def _bids(p: ClearingProblem) -> _Entities:
    return _Entities("Bid", p.bid_ids.__getitem__)


def _shapes(p: ClearingProblem, expected: Iterable[tuple[str, tuple[int, ...]]]) -> list[Issue]:
    return [
        _problem(name, getattr(p, name).shape, f"must have shape {shape}")
        for name, shape in expected
        if getattr(p, name).shape != shape
    ]


# --- stage 1: shapes ----------------------------------------------------------------------------
def bid_and_slot_shapes(p: ClearingProblem) -> list[Issue]:
    """One entry per bid in the bid fields, one per slot in the slot fields."""
    return _shapes(
        p,
        [
            *((name, (p.n_bid,)) for name in _BID_FIELDS),
            *((name, (p.n_slot,)) for name in _SLOT_FIELDS),
        ],
    )


def time_and_need_shapes(p: ClearingProblem) -> list[Issue]:
    """One duration per MTU; need rows of ``(n_need, n_mtu)``; eligibility pairs of one size."""
    n = p.n_need
    return _shapes(
        p,
        [
            ("mtu_duration_h", (p.n_mtu,)),
            ("need_required_mw", (n, p.n_mtu)),
            *((name, (n,)) for name in ("need_up", "need_reactive", "need_price_cap_eur_per_mwh")),
            ("eligible_slot", p.eligible_need.shape),
        ],
    )


def grid_shapes(p: ClearingProblem) -> list[Issue]:
    """Sensitivities ``(rows, n_bus)``, base cases and bounds ``(rows, n_mtu)``, limits per row."""
    nb, nl, nv, nc, t = p.n_bus, p.n_branch, p.n_vbus, p.n_interface, p.n_mtu
    return _shapes(
        p,
        [
            ("ptdf", (nl, nb)),
            ("base_flow_mw", (nl, t)),
            ("limit_mw", (nl,)),
            ("dvm_dp", (nv, nb)),
            ("dvm_dq", (nv, nb)),
            ("base_vm_pu", (nv, t)),
            ("vm_min_pu", (nv,)),
            ("vm_max_pu", (nv,)),
            *((name, (nc, nb)) for name in ("ic_p", "ic_q")),
            *((name, (nc, t)) for name in ("ic_lower", "ic_upper")),
            *((name, (p.n_interface_flow, nb)) for name in ("if_p", "if_q")),
            ("ic_flow", (nc, p.n_interface_flow)),
        ],
    )


def capability_shapes(p: ClearingProblem) -> list[Issue]:
    """One entry per capability; the uses' fields of one size."""
    return _shapes(
        p,
        [
            *((name, (p.n_capability,)) for name in ("cap_up", "cap_reactive", "cap_limit_mw")),
            *((name, p.cap_use_cap.shape) for name in ("cap_use_bid", "cap_use_weight")),
        ],
    )


# --- stage 2: the slots' bids -------------------------------------------------------------------
def slot_bids(p: ClearingProblem) -> list[Issue]:
    """Every slot belongs to a bid."""
    b = p.n_bid
    bad = (p.slot_bid < 0) | (p.slot_bid >= b)
    return _each(_slots(p), bad, "slot_bid", p.slot_bid, f"must index a bid in [0, {b})")


# --- stage 3: indices and values of bids, slots and capabilities --------------------------------
def slot_indices(p: ClearingProblem) -> list[Issue]:
    """A slot's MTU exists; its bus exists or is ``-1`` (no location)."""
    t, nb, slots = p.n_mtu, p.n_bus, _slots(p)
    return [
        *_each(
            slots,
            (p.slot_mtu < 0) | (p.slot_mtu >= t),
            "mtu",
            p.slot_mtu,
            f"must index an MTU in [0, {t})",
        ),
        *_each(
            slots,
            (p.slot_bus < -1) | (p.slot_bus >= nb),
            "bus",
            p.slot_bus,
            f"must index a bus in [-1, {nb})",
        ),
    ]


def slot_values(p: ClearingProblem) -> list[Issue]:
    """Quantities finite and >= 0; prices and reactive ratios finite."""
    slots, q = _slots(p), p.slot_quantity_mw
    issues = _each(
        slots, ~np.isfinite(q) | (q < 0), "quantity_mw", q, "must be a finite number >= 0"
    )
    for name in _SLOT_PRICES:
        values = getattr(p, name)
        field = name.removeprefix("slot_")
        issues += _each(slots, ~np.isfinite(values), field, values, "must be a finite number")
    return issues


def bid_values(p: ClearingProblem) -> list[Issue]:
    """Minimum quantities finite and >= 0 (none on an indivisible bid); XOR sets ``>= -1``;
    a parent is another bid or ``-1``."""
    b, bids, m, parent = p.n_bid, _bids(p), p.bid_min_mw, p.bid_parent
    bad_parent = (parent < -1) | (parent >= b) | (parent == np.arange(b))
    return [
        *_each(
            bids, ~np.isfinite(m) | (m < 0), "min_quantity_mw", m, "must be a finite number >= 0"
        ),
        *_each(bids, p.bid_xor < -1, "xor", p.bid_xor, "must be >= -1"),
        *_each(bids, bad_parent, "parent", parent, "must index another bid or be -1"),
        *_each(
            bids,
            p.bid_indivisible & (m > 0),
            "min_quantity_mw",
            m,
            "an indivisible bid has no minimum acceptance quantity",
        ),
    ]


# --- stage 4: structure, time, needs and grid ---------------------------------------------------
def parent_cycles(p: ClearingProblem) -> list[Issue]:
    """Parent chains end: a bid whose chain comes back on itself is named with its parent."""
    issues = []
    seen = np.full(p.n_bid, -1, dtype=np.int64)
    for start in np.flatnonzero(p.bid_parent >= 0):
        node = int(start)
        while node >= 0 and seen[node] != start:
            seen[node] = start
            node = int(p.bid_parent[node])
        if node >= 0:
            issues.append(
                Issue(
                    kind="Bid",
                    object_id=p.bid_ids[int(start)],
                    field="parent",
                    value=p.bid_ids[int(p.bid_parent[start])],
                    message="linked bids form a cycle",
                )
            )
    return issues


def unique_slots(p: ClearingProblem) -> list[Issue]:
    """A bid has at most one slot per MTU."""
    if not n_duplicates(p.slot_bid * max(p.n_mtu, 1) + p.slot_mtu):
        return []
    return [_problem("slots", p.n_slot, "a bid has two slots in the same MTU")]


def mtu_durations(p: ClearingProblem) -> list[Issue]:
    """Every MTU lasts a finite time > 0."""
    d = p.mtu_duration_h
    mtus = _Entities("MTU", p.mtu_labels.__getitem__)
    return _each(mtus, ~np.isfinite(d) | (d <= 0), "duration_h", d, "must be > 0")


def need_values(p: ClearingProblem) -> list[Issue]:
    """Required quantities finite and >= 0 (the lowest is shown); price caps >= 0 or NaN."""
    n, t, req, cap = p.n_need, p.n_mtu, p.need_required_mw, p.need_price_cap_eur_per_mwh
    needs = _Entities("Need", p.need_ids.__getitem__)
    bad_req = ~np.all(np.isfinite(req) & (req >= 0), axis=1)
    lowest = np.min(req, axis=1) if n and t else np.zeros(n)
    return [
        *_each(needs, bad_req, "quantity_mw", lowest, "must be finite numbers >= 0"),
        *_each(needs, cap < 0, "price_cap_eur_per_mwh", cap, "must be >= 0 (NaN = no cap)"),
    ]


def eligibility(p: ClearingProblem) -> list[Issue]:
    """Every eligibility pair names a need and a slot."""
    need, slot = p.eligible_need, p.eligible_slot
    if need.size and (
        need.min() < 0 or need.max() >= p.n_need or slot.min() < 0 or slot.max() >= p.n_slot
    ):
        return [_problem("eligible", None, "eligibility pairs out of range")]
    return []


def grid_finite(p: ClearingProblem) -> list[Issue]:
    """Sensitivities, base cases, limits and interface coefficients are finite."""
    return [
        _grid(name, "non-finite", "must be finite numbers")
        for name in _GRID_FIELDS
        if not np.all(np.isfinite(getattr(p, name)))
    ]


def interface_bounds(p: ClearingProblem) -> list[Issue]:
    """Interface bounds are not NaN and lower <= upper in every MTU (``±inf`` allowed)."""
    lo, up = p.ic_lower, p.ic_upper
    bad = np.any(np.isnan(lo) | np.isnan(up) | (lo > up), axis=1)
    return [
        Issue(
            kind="InterfaceConstraint",
            object_id=p.ic_names[int(c)],
            field="ic_lower/ic_upper",
            value=None,
            message="bounds must not be NaN and lower <= upper (±inf allowed)",
        )
        for c in np.flatnonzero(bad)[:MAX_ISSUES_PER_RULE]
    ]


def interface_names(p: ClearingProblem) -> list[Issue]:
    """Interface constraint names are unique."""
    duplicates = p.n_interface - len(set(p.ic_names))
    if not duplicates:
        return []
    return [_grid("ic_names", duplicates, "interface constraint names must be unique")]


def interface_flow_names(p: ClearingProblem) -> list[Issue]:
    """Interface flow names are unique."""
    duplicates = p.n_interface_flow - len(set(p.if_names))
    if not duplicates:
        return []
    return [_grid("if_names", duplicates, "interface flow names must be unique")]


def branch_limits(p: ClearingProblem) -> list[Issue]:
    """Branch limits are >= 0 and the safety margin is in ``[0, 1)``."""
    issues = []
    if np.any(p.limit_mw < 0):
        issues.append(_grid("limit_mw", "negative", "must be >= 0"))
    if not (math.isfinite(p.safety_margin) and 0.0 <= p.safety_margin < 1.0):
        issues.append(_grid("safety_margin", p.safety_margin, "must be in [0, 1)"))
    return issues


#: The rules by stage, in the order they report.
STAGES: tuple[tuple[Rule, ...], ...] = (
    (bid_and_slot_shapes, time_and_need_shapes, grid_shapes, capability_shapes),
    (slot_bids,),
    (slot_indices, slot_values, bid_values, capability_issues),
    (
        parent_cycles,
        unique_slots,
        mtu_durations,
        need_values,
        eligibility,
        grid_finite,
        interface_bounds,
        interface_names,
        interface_flow_names,
        branch_limits,
    ),
)


def problem_issues(problem: ClearingProblem) -> list[Issue]:
    """Every issue of the first stage of :data:`STAGES` that finds any (none: a valid problem)."""
    for stage in STAGES:
        issues = [issue for rule in stage for issue in rule(problem)]
        if issues:
            return issues
    return []
