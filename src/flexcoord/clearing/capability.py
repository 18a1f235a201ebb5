"""The unit-capability rule: a unit never delivers more than its range, summed over all its bids.

An FSP may send several bids (price steps) for one unit; each alone fits the unit's range (checked
by :func:`flexcoord.domain.validate_market`), together they may not. The clearing therefore limits,
per unit, direction, power type and MTU, the sum of what it accepts (see
:class:`~flexcoord.clearing.problem.ClearingProblem` for the index space ``c`` and the uses ``k``)::

    Σ_k  cap_use_weight[k] · accepted_mw[cap_use_bid[k], t]  <=  cap_limit_mw[c]

over the uses ``k`` of capability ``c``. A unit's own bid uses it with weight 1; a group's bid
uses each member's capability with the member's share of the group's range (the weights of the
group's virtual bus), so a MW accepted from a group is taken from its members pro rata. The rule
is *hard* (a unit physically cannot deliver beyond its range); it never makes a clearing
infeasible, since accepting nothing satisfies it.

This module holds the rule once: the capability fields of a set of bids
(:func:`capability_fields`, for the clearing's mapping and the DSO area's aggregated offers), the
validation of the arrays, the rows the formulation emits
(only where the offered quantities can exceed the capability, so a market with one bid per unit
keeps its size) and the words that explain a bid cut by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from flexcoord.domain import Bid, Register
from flexcoord.domain.bid_table import index_by_first_use, unique_inverse
from flexcoord.domain.resources import Unit
from flexcoord.errors import Issue

if TYPE_CHECKING:
    from flexcoord.clearing.problem import BoolArray, ClearingProblem, FloatArray, IntArray

__all__ = [
    "CapabilityRows",
    "capability_detail",
    "capability_fields",
    "capability_issues",
    "capability_label",
    "capability_rows",
    "capability_words",
    "member_shares",
    "range_of",
    "resource_capability_fields",
    "unique_inverse",
]

#: Offered MW above the capability by less than this emit no row (the domain's own tolerance).
OFFER_TOL_MW = 1e-9
_SHOWN_BIDS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class CapabilityRows:
    """The capability rows a problem needs, and their entries (one per slot and use).

    Attributes:
        row_cap: capability ``c`` of each row (rows sorted by ``(c, t)``).
        row_mtu: MTU ``t`` of each row.
        entry_row: row of each entry.
        entry_slot: slot of each entry.
        entry_weight: MW of the capability taken per accepted MW of the slot.
    """

    row_cap: IntArray
    row_mtu: IntArray
    entry_row: IntArray
    entry_slot: IntArray
    entry_weight: FloatArray

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.row_cap.shape[0])


def _entries(problem: ClearingProblem) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (slot, use) pair: the slot, its capability and weight (vectorised ragged join;
    each bid's uses found by counting, not by searching)."""
    p = problem
    order, per_bid = _uses_by_bid(p.cap_use_bid, p.n_bid)
    count = per_bid[p.slot_bid]
    first = (np.cumsum(per_bid) - per_bid)[p.slot_bid]
    slot = np.repeat(np.arange(p.n_slot, dtype=np.int64), count)
    within = np.arange(slot.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    use = order[np.repeat(first, count) + within]
    return slot, p.cap_use_cap[use], p.cap_use_weight[use]


def _uses_by_bid(use_bid: IntArray, n_bid: int) -> tuple[IntArray, IntArray]:
    """The uses in bid order (stable) and each bid's number of uses: a counting sort, placing
    each bid's only use directly and sorting only the uses of multi-use (group) bids."""
    per_bid = np.bincount(use_bid, minlength=n_bid)
    first = np.cumsum(per_bid) - per_bid
    rank = np.zeros(use_bid.shape[0], dtype=np.int64)
    multi = np.flatnonzero(per_bid[use_bid] > 1)
    if multi.size:  # the place of each among its bid's uses, in use order
        by_bid = multi[np.argsort(use_bid[multi], kind="stable")]
        group_first = np.searchsorted(use_bid[by_bid], use_bid[by_bid], side="left")
        rank[by_bid] = np.arange(by_bid.shape[0]) - group_first
    order = np.empty(use_bid.shape[0], dtype=np.int64)
    order[first[use_bid] + rank] = np.arange(use_bid.shape[0])
    return order, per_bid


def capability_rows(problem: ClearingProblem) -> CapabilityRows:
    """The ``(c, t)`` whose offered quantities can exceed the capability, with their entries."""
    p = problem
    n_t = max(p.n_mtu, 1)
    slot, cap, weight = _entries(p)
    key = cap * n_t + p.slot_mtu[slot]
    keys, inverse = unique_inverse(key, max(p.n_capability, 1) * n_t)
    offered = np.bincount(inverse, weights=weight * p.slot_quantity_mw[slot])
    tight = offered > p.cap_limit_mw[keys // n_t] + OFFER_TOL_MW
    row_of_key = np.cumsum(tight) - 1
    keep = tight[inverse]
    rows = keys[tight]
    return CapabilityRows(
        row_cap=(rows // n_t).astype(np.int64),
        row_mtu=(rows % n_t).astype(np.int64),
        entry_row=row_of_key[inverse[keep]].astype(np.int64),
        entry_slot=slot[keep],
        entry_weight=weight[keep],
    )


def capability_label(problem: ClearingProblem, c: int) -> str:
    """``<unit>,<direction>`` (``<unit>:q,…`` for a reactive capability), for row names."""
    p = problem
    unit = p.cap_names[c] + (":q" if p.cap_reactive[c] else "")
    return f"{unit},{'up' if p.cap_up[c] else 'down'}"


def capability_words(problem: ClearingProblem, c: int, t: int) -> str:
    """``unit load:0 capability 0.23 MW up at <mtu>`` (``… reactive capability … Mvar`` for Q)."""
    p = problem
    what, unit = ("reactive capability", "Mvar") if p.cap_reactive[c] else ("capability", "MW")
    direction = "up" if p.cap_up[c] else "down"
    return (
        f"unit {p.cap_names[c]} {what} {p.cap_limit_mw[c]:.6g} {unit} {direction} "
        f"at {p.mtu_labels[t]}"
    )


def capability_detail(
    problem: ClearingProblem, slot_accepted_mw: FloatArray, ref: int, bid: int
) -> str:
    """Why ``bid`` got nothing (or less) in capability row ``ref = c · n_mtu + t``, in words.

    Names the bids the capability went to (``cheaper`` when all of them are), and what is left
    when the bid is indivisible or has a minimum quantity that does not fit.
    """
    p = problem
    c, t = divmod(ref, p.n_mtu)
    uses = np.flatnonzero(p.cap_use_cap == c)
    weight = np.zeros(p.n_bid)
    weight[p.cap_use_bid[uses]] = p.cap_use_weight[uses]
    at_t = np.flatnonzero((weight[p.slot_bid] > 0) & (p.slot_mtu == t))
    x = slot_accepted_mw[at_t]
    taken = weight[p.slot_bid[at_t]] * x  # MW of the capability each slot takes
    left = float(p.cap_limit_mw[c] - np.sum(taken))
    own = at_t[p.slot_bid[at_t] == bid]
    others = at_t[(x > 0) & (p.slot_bid[at_t] != bid)]
    ids = [p.bid_ids[int(b)] for b in p.slot_bid[others]]
    shown = ", ".join(ids[:_SHOWN_BIDS]) + (
        f" and {len(ids) - _SHOWN_BIDS} more" if len(ids) > _SHOWN_BIDS else ""
    )
    own_price = float(p.slot_price_eur_per_mwh[own].min()) if own.size else np.inf
    cheaper = bool(others.size) and bool(np.all(p.slot_price_eur_per_mwh[others] < own_price))
    to = f"{'cheaper ' if cheaper else ''}bid{'s' if len(ids) != 1 else ''} {shown}"
    words = capability_words(p, c, t)
    unit = "Mvar" if p.cap_reactive[c] else "MW"
    own_mw = float(np.sum(taken[p.slot_bid[at_t] == bid]))
    if left > 1e-6:
        after = f" after {to}" if ids else ""
        return (
            f"{words}: {left:.6g} {unit} left{after}, less than this bid's indivisible or "
            "minimum quantity"
        )
    if own_mw > 0:
        rest = f", the rest to {to}" if ids else ""
        return f"{words} fully sold: {own_mw:.6g} {unit} to this bid{rest}"
    return f"{words} fully sold to {to}" if ids else f"{words} fully sold"


_RESOURCE_ID = attrgetter("resource_id")


def n_duplicates(keys: IntArray) -> int:
    """How many entries of ``keys`` repeat an earlier one (0: all distinct).

    Keys already strictly increasing (a mapped market's slots, bid by bid in MTU order) are
    counted without a sort; others by sorting: numpy 2's hash-based ``np.unique`` is ~40x
    slower on the 160k slot keys of a 100k-bid market.

    Example:
        >>> n_duplicates(np.array([3, 1, 3, 3, 2]))
        2
    """
    if bool(np.all(keys[1:] > keys[:-1])):
        return 0
    s = np.sort(keys)
    return int(np.count_nonzero(s[1:] == s[:-1]))


def capability_issues(problem: ClearingProblem) -> list[Issue]:
    """Index ranges, values and consistency of the capability fields (shapes checked before)."""
    p = problem
    issues: list[Issue] = []

    def add(object_id: str, field: str, value: object, message: str) -> None:
        issues.append(
            Issue(kind="Capability", object_id=object_id, field=field, value=value, message=message)
        )

    nk = len(p.cap_names)
    for c in np.flatnonzero(~np.isfinite(p.cap_limit_mw) | (p.cap_limit_mw < 0))[:20]:
        add(p.cap_names[int(c)], "cap_limit_mw", float(p.cap_limit_mw[c]), "must be finite, >= 0")
    keys = set(zip(p.cap_names, p.cap_up.tolist(), p.cap_reactive.tolist(), strict=True))
    if len(keys) != nk:
        add(
            "problem",
            "cap_names",
            nk - len(keys),
            "a unit has two capabilities of one direction and power type",
        )
    bad_index = (p.cap_use_cap < 0) | (p.cap_use_cap >= nk)
    bad_index |= (p.cap_use_bid < 0) | (p.cap_use_bid >= p.n_bid)
    if bad_index.any():
        add("problem", "cap_use_cap/cap_use_bid", int(bad_index.sum()), "out of range")
        return issues
    for k in np.flatnonzero(~np.isfinite(p.cap_use_weight) | (p.cap_use_weight <= 0))[:20]:
        add(
            p.bid_ids[int(p.cap_use_bid[k])],
            "cap_use_weight",
            float(p.cap_use_weight[k]),
            "must be finite, > 0",
        )
    twice = n_duplicates(p.cap_use_bid * max(nk, 1) + p.cap_use_cap)  # by bid, as mapped
    if twice:
        add("problem", "cap_use", twice, "a bid uses one capability twice")
    # per use: a slot of its bid in another direction or power type than the capability's
    # (counted per bid, not joined per slot and use)
    count = np.bincount(p.slot_bid, minlength=p.n_bid)
    n_up = np.bincount(p.slot_bid, weights=p.slot_up, minlength=p.n_bid)
    n_reactive = np.bincount(p.slot_bid, weights=p.slot_reactive, minlength=p.n_bid)
    b, c = p.cap_use_bid, p.cap_use_cap
    wrong: BoolArray = np.where(p.cap_up[c], n_up[b] != count[b], n_up[b] != 0) | np.where(
        p.cap_reactive[c], n_reactive[b] != count[b], n_reactive[b] != 0
    )
    for s in np.unique(b[wrong])[:20]:
        add(
            p.bid_ids[int(s)],
            "cap_use",
            None,
            "uses a capability of another direction or power type",
        )
    return issues


def range_of(unit: Unit, reactive: bool) -> float:
    """A unit's range in the power type: ``p_range_mw``, or ``q_range_mvar`` when reactive."""
    return float(unit.q_range_mvar if reactive else unit.p_range_mw)


def member_shares(units: Sequence[Unit], *, reactive: bool = False) -> FloatArray:
    """Each member's share of a MW accepted from a group: its share of the group's range.

    The one rule by which a group's accepted quantity is taken from its members, in the
    clearing's capability rows and in the activation orders of
    :mod:`flexcoord.operations.activation`. Equal shares when the group's range is 0; a member
    with no range takes nothing otherwise.

    Example:
        >>> from flexcoord.domain import Unit
        >>> units = [Unit(id=f"u{i}", fsp_id="f", connection_point_id="cp", technology="pv",
        ...               p_min_mw=0.0, p_max_mw=mw) for i, mw in enumerate((1.0, 3.0))]
        >>> member_shares(units).tolist()
        [0.25, 0.75]
    """
    ranges = np.array([range_of(u, reactive) for u in units], dtype=np.float64)
    total = float(ranges.sum())
    return ranges / total if total > 0 else np.full(len(units), 1.0 / len(units))


def capability_fields(
    register: Register, bids: Sequence[Bid], up: BoolArray, reactive: BoolArray
) -> dict[str, object]:
    """The problem's unit-capability fields (``cap_*`` of
    :class:`~flexcoord.clearing.problem.ClearingProblem`) of ``bids``; ``up`` and ``reactive`` per
    bid. The clearing's mapping and the aggregated offers of a DSO area
    (:mod:`flexcoord.coordination.aggregation.bid_columns`) both take the rule from here.

    One capability per unit, direction and power type that a bid uses, limited to the unit's range
    in every MTU, ordered by unit id, direction (down first) and power type (active first). A
    unit's bid uses its unit's with weight 1, a group's bid each member's with the member's share
    of the group's range (the weights of the group's virtual bus; equal shares when the range is
    0; a member with no range takes nothing). Availability and activation bids count alike. One
    dictionary lookup per bid; the expansion to the members is vectorised. No bids: empty fields
    (without touching the register).
    """
    if not bids:
        return _no_capability()
    res_pos, res_of_bid = index_by_first_use(
        list(zip(map(_RESOURCE_ID, bids), reactive.tolist(), strict=True))
    )
    return resource_capability_fields(register, list(res_pos), res_of_bid, up, reactive)


def resource_capability_fields(
    register: Register,
    resources: Sequence[tuple[str, bool]],
    resource_of_bid: IntArray,
    up: BoolArray,
    reactive: BoolArray,
) -> dict[str, object]:
    """:func:`capability_fields` of bids given by their ``(resource id, reactive)`` index:
    ``resources[resource_of_bid[b]]`` is bid ``b``'s (the mapping has that index already)."""
    n_b = resource_of_bid.shape[0]
    if n_b == 0:
        return _no_capability()
    members = register.derived_each(
        "clearing.capability.members", resources, partial(_members, register)
    )
    member_ids = list(chain.from_iterable(ids for ids, _ in members))  # in index order
    unit_ids = sorted(set(member_ids))
    unit_pos = {u: i for i, u in enumerate(unit_ids)}
    n_m = len(member_ids)
    m_unit = np.fromiter(map(unit_pos.__getitem__, member_ids), dtype=np.int64, count=n_m)
    m_weight = np.fromiter(chain.from_iterable(w for _, w in members), dtype=np.float64, count=n_m)
    count = np.fromiter(map(len, (ids for ids, _ in members)), dtype=np.int64, count=len(members))
    per_bid = count[resource_of_bid]
    use_bid = np.repeat(np.arange(n_b, dtype=np.int64), per_bid)
    within = np.arange(use_bid.shape[0]) - np.repeat(np.cumsum(per_bid) - per_bid, per_bid)
    member = np.repeat((np.cumsum(count) - count)[resource_of_bid], per_bid) + within
    use_unit = m_unit[member]
    use_weight = m_weight[member]
    keep = use_weight > 0
    use_bid, use_unit, use_weight = use_bid[keep], use_unit[keep], use_weight[keep]
    key = (use_unit * 2 + up[use_bid]) * 2 + reactive[use_bid]
    keys, use_cap = unique_inverse(key, len(unit_ids) * 4)
    cap_unit = keys // 4
    cap_reactive = keys % 2 == 1
    ranges = np.array(
        register.derived_each("clearing.capability.ranges", unit_ids, partial(_ranges, register)),
        dtype=np.float64,
    )
    p_range = ranges[:, 0] if unit_ids else np.zeros(0)
    q_range = ranges[:, 1] if unit_ids else np.zeros(0)
    return dict(
        cap_names=tuple(unit_ids[int(u)] for u in cap_unit),
        cap_up=(keys // 2) % 2 == 1,
        cap_reactive=cap_reactive,
        cap_limit_mw=np.where(cap_reactive, q_range[cap_unit], p_range[cap_unit]),
        cap_use_cap=use_cap.astype(np.int64),
        cap_use_bid=use_bid,
        cap_use_weight=use_weight,
    )


def _members(
    register: Register, key: tuple[str, bool]
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The unit ids of a resource, by id (a bid's capability uses then come in capability order,
    checked without a sort), and the share each takes of its bids in the power type
    (:func:`member_shares`)."""
    units = sorted(register.units_of(key[0]), key=attrgetter("id"))
    # a unit takes its whole capability (member_shares of one member, without an array)
    weights = (1.0,) if len(units) == 1 else tuple(member_shares(units, reactive=key[1]))
    return tuple(u.id for u in units), tuple(float(w) for w in weights)


def _ranges(register: Register, unit_id: str) -> tuple[float, float]:
    """A unit's ``(p_range_mw, q_range_mvar)``."""
    unit = register.unit(unit_id)
    return float(unit.p_range_mw), float(unit.q_range_mvar)


def _no_capability() -> dict[str, object]:
    """The fields of no bids (what the general path yields for an empty list, built directly:
    the aggregated offers ask for them thousands of times)."""
    return dict(
        cap_names=(),
        cap_up=np.zeros(0, dtype=bool),
        cap_reactive=np.zeros(0, dtype=bool),
        cap_limit_mw=np.zeros(0, dtype=np.float64),
        cap_use_cap=np.zeros(0, dtype=np.int64),
        cap_use_bid=np.zeros(0, dtype=np.int64),
        cap_use_weight=np.zeros(0, dtype=np.float64),
    )
