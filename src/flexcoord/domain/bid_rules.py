"""The bid rules of :func:`~flexcoord.domain.validate_market`, on a market's :class:`BidTable`.

Each rule is a small function of the market (:class:`BidMarket`: the table, the register and the
options) returning what it finds as ``(bid, position, issue)``: the bid's index, the position of
the quantity concerned (0 for a rule on the whole bid) and the :class:`~flexcoord.errors.Issue`.
A rule decides over numpy arrays of the bids' fields, once per market, and formats an issue only
for a bid that fails, so a valid 100k-bid market costs a few array operations per rule. What is
looked up in the register (a product, a resource's owner, range and lead time, an MTU's place on
a resolution's grid, a prequalification) is looked up once per distinct key, not per bid.

:data:`BID_RULES` lists the rules with their place in a bid's issues: :func:`bid_issues` returns
the issues bid by bid, in the order of the rules (the quantity rules interleaved per position),
the order one bid's checks always had. A bid of an unregistered product gets only the owner,
gate-closure, product and link issues (its quantities mean nothing without the product); a bid
of an unregistered resource gets no range, lead-time or prequalification issues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from flexcoord.domain.bid_table import BidTable, BoolArray, FloatArray, IntArray
from flexcoord.domain.prequalification import GridPrequalification
from flexcoord.domain.products import Product
from flexcoord.domain.register import Register
from flexcoord.domain.resources import Group, Unit
from flexcoord.domain.validation import registered_choices
from flexcoord.domain.vocabulary import Direction, PowerType, PrequalificationStatus
from flexcoord.errors import Issue, format_duration, format_value

__all__ = ["BID_RULES", "BidMarket", "Found", "bid_issues", "bid_market", "exclusive_set_issues"]

#: What a rule finds: (bid index, quantity position or 0, issue).
Found = tuple[int, int, Issue]
#: Seconds of slack in the float prefilters of the time rules; an exact check confirms.
_SLACK_S = 1.0
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, eq=False)
class BidMarket:
    """A market's bids with what the rules look up once: the products and resources by index.

    Attributes:
        table: The bids' fields.
        register: The register checked against.
        gate_closure_at: The market's gate closure, if any.
        require_prequalification: Whether the prequalification rules apply.
        products: Per distinct product id of the table, the product (``None``: unregistered).
        resources: Per distinct resource id of the table, the unit or group (``None``: unknown).
        units: Per distinct resource id, its units (none for an unknown resource).
        known: Per bid, whether its product is registered.
        registered: Per bid, whether its resource is registered.
    """

    table: BidTable
    register: Register
    gate_closure_at: datetime | None
    require_prequalification: bool
    products: tuple[Product | None, ...]
    resources: tuple[Unit | Group | None, ...]
    units: tuple[tuple[Unit, ...], ...]
    known: BoolArray
    registered: BoolArray

    def product_values(self, values: Callable[[Product], float]) -> FloatArray:
        """Per bid, ``values`` of its product (NaN for an unregistered one)."""
        per = [np.nan if p is None else values(p) for p in self.products]
        return np.array(per, dtype=np.float64)[self.table.product]

    def issue(self, b: int, field: str, value: object, message: str, position: int = 0) -> Found:
        """What a rule reports for bid ``b``."""
        issue = Issue(
            kind="Bid", object_id=self.table.ids[b], field=field, value=value, message=message
        )
        return (b, position, issue)


def bid_market(
    table: BidTable,
    register: Register,
    *,
    gate_closure_at: datetime | None = None,
    require_prequalification: bool = False,
) -> BidMarket:
    """The :class:`BidMarket` of ``table`` against ``register``."""
    products = tuple(
        register.product(pid) if register.has("products", pid) else None for pid in table.products
    )
    resources = register.find_resources(table.resources)
    return BidMarket(
        table=table,
        register=register,
        gate_closure_at=gate_closure_at,
        require_prequalification=require_prequalification,
        products=products,
        resources=resources,
        units=tuple(
            () if r is None else register.units_of(rid)
            for rid, r in zip(table.resources, resources, strict=True)
        ),
        known=np.array([p is not None for p in products], dtype=bool)[table.product],
        registered=np.array([r is not None for r in resources], dtype=bool)[table.resource],
    )


def _owner_issues(register: Register, fsp_id: str, resource_id: str) -> list[tuple[str, str]]:
    """The bid's FSP is registered and owns its resource: the issues as (bid field, message)."""
    issues: list[tuple[str, str]] = []
    if not register.has("fsps", fsp_id):
        issues.append(("fsp_id", "is not a registered FSP (flexibility service provider)"))
    if not (register.has("units", resource_id) or register.has("groups", resource_id)):
        issues.append(("resource_id", "is not a registered unit or group"))
        return issues
    resource = register.resource(resource_id)
    if resource.fsp_id != fsp_id:
        issues.append(
            (
                "resource_id",
                f"belongs to FSP {format_value(resource.fsp_id)}, "
                f"not to the bid's FSP {format_value(fsp_id)}",
            )
        )
    return issues


def owner_rule(m: BidMarket) -> list[Found]:
    """The bid's FSP is registered and owns the bid's resource."""
    t, register = m.table, m.register
    fsp_pos = {f: i for i, f in enumerate(t.fsps)}
    fsp_ok = np.array([register.has("fsps", f) for f in t.fsps], dtype=bool)
    owner = np.array(
        [-2 if r is None else fsp_pos.get(r.fsp_id, -1) for r in m.resources], dtype=np.int64
    )
    bad = np.flatnonzero(~fsp_ok[t.fsp] | (owner[t.resource] != t.fsp))
    memo: dict[tuple[str, str], list[tuple[str, str]]] = {}
    found: list[Found] = []
    for b in bad.tolist():
        key = (t.fsp_ids[b], t.resource_ids[b])
        if key not in memo:
            memo[key] = _owner_issues(register, *key)
        value = {"fsp_id": key[0], "resource_id": key[1]}
        found += [m.issue(b, field, value[field], message) for field, message in memo[key]]
    return found


def _later(submitted: list[int], table: BidTable, limit: list[datetime]) -> list[int]:
    """The bids of ``submitted`` (candidates) submitted after their ``limit``, exactly."""
    return [b for b, at in zip(submitted, limit, strict=True) if not table.submitted_at[b] <= at]


def market_gate_closure_rule(m: BidMarket) -> list[Found]:
    """No bid is submitted after the market's gate closure."""
    gate = m.gate_closure_at
    if gate is None:
        return []
    t = m.table
    near = np.flatnonzero(t.submitted_s > gate.timestamp() - _SLACK_S).tolist()
    return [
        m.issue(b, "submitted_at", t.submitted_at[b], f"is after gate closure {gate.isoformat()}")
        for b in _later(near, t, [gate] * len(near))
    ]


def product_rule(m: BidMarket) -> list[Found]:
    """The bid's product is registered."""
    unknown = np.flatnonzero(~m.known)
    if not unknown.size:
        return []
    choices = registered_choices(p.id for p in m.register.products)
    t = m.table
    return [
        m.issue(b, "product_id", t.product_ids[b], f"is not a registered product ({choices})")
        for b in unknown.tolist()
    ]


def mtu_grid_rule(m: BidMarket) -> list[Found]:
    """Each MTU of the bid is one MTU of its product's resolution (epoch-aligned)."""
    t = m.table
    resolution_us = np.array(
        [0 if p is None else p.resolution // _MICROSECOND for p in m.products], dtype=np.int64
    )  # a product's resolution is > 0; 0 marks an unregistered product (not checked here)
    aligned = (t.start_us[None, :] % np.maximum(resolution_us, 1)[:, None]) == 0
    slot_product = t.product[t.slot_bid]
    duration = t.end_us[t.slot_end] - t.start_us[t.slot_start]
    on_grid = (duration == resolution_us[slot_product]) & aligned[slot_product, t.slot_start]
    found: list[Found] = []
    for s in np.flatnonzero(m.known[t.slot_bid] & ~on_grid).tolist():
        b = int(t.slot_bid[s])
        product = m.products[int(t.product[b])]
        assert product is not None
        found.append(
            m.issue(
                b,
                f"quantities[{int(t.slot_position[s])}].interval",
                str(t.slots[s].interval),
                f"is not one MTU of product {format_value(product.id)} "
                f"(resolution {format_duration(product.resolution)})",
                int(t.slot_position[s]),
            )
        )
    return found


def _per_resource(m: BidMarket, name: str, value: Callable[[Unit], float]) -> FloatArray:
    """Per bid, the sum of ``value`` (called ``name``) over its resource's units (NaN for an
    unknown resource), as :meth:`~flexcoord.domain.Register.p_range_mw` sums them; the sum of
    each resource kept per register (the register is frozen)."""
    memo: dict[str, float] = m.register.derived(f"bid_rules.per_resource.{name}", dict)
    per: list[float] = []
    for rid, units, r in zip(m.table.resources, m.units, m.resources, strict=True):
        if r is None:
            per.append(np.nan)
            continue
        found = memo.get(rid)
        if found is None:
            memo[rid] = found = sum(value(u) for u in units)
        per.append(found)
    return np.array(per, dtype=np.float64)[m.table.resource]


def lead_time_rule(m: BidMarket) -> list[Found]:
    """The bid's resource activates within the product's lead time."""
    t = m.table
    slowest = [
        None if r is None else max(u.activation_lead_time for u in units)
        for units, r in zip(m.units, m.resources, strict=True)
    ]
    slowest_us = np.array([0 if d is None else d // _MICROSECOND for d in slowest], np.int64)
    limit_us = np.array(
        [0 if p is None else p.lead_time // _MICROSECOND for p in m.products], dtype=np.int64
    )
    slow = m.known & m.registered & (slowest_us[t.resource] > limit_us[t.product])
    found: list[Found] = []
    for b in np.flatnonzero(slow).tolist():
        lead_time = slowest[int(t.resource[b])]
        product = m.products[int(t.product[b])]
        assert lead_time is not None and product is not None
        found.append(
            m.issue(
                b,
                "resource_id",
                t.resource_ids[b],
                f"needs {format_duration(lead_time)} to activate, more than the product "
                f"lead time {format_duration(product.lead_time)}",
            )
        )
    return found


def _quantity_issue(m: BidMarket, s: int, message: str) -> Found:
    t = m.table
    i = int(t.slot_position[s])
    return m.issue(int(t.slot_bid[s]), f"quantities[{i}].quantity", t.slots[s].quantity, message, i)


def minimum_rule(m: BidMarket) -> list[Found]:
    """Each quantity is at least the product's minimum."""
    t = m.table
    minimum = m.product_values(lambda p: p.min_quantity)[t.slot_bid]
    below = m.known[t.slot_bid] & ~(t.slot_quantity >= minimum)
    found: list[Found] = []
    for s in np.flatnonzero(below).tolist():
        product = m.products[int(t.product[t.slot_bid[s]])]
        assert product is not None
        text = f"is below the product minimum {product.min_quantity} {product.quantity_unit}"
        found.append(_quantity_issue(m, s, text))
    return found


def _reactive(m: BidMarket) -> BoolArray:
    """Per bid, whether its (registered) product is reactive."""
    per = [p is not None and p.power_type is not PowerType.ACTIVE for p in m.products]
    return np.array(per, dtype=bool)[m.table.product]


def range_rule(m: BidMarket) -> list[Found]:
    """Each quantity is within the resource's active (MW) or reactive (Mvar) range."""
    t, register = m.table, m.register
    p_range = _per_resource(m, "p_range_mw", lambda u: u.p_range_mw)
    q_range = _per_resource(m, "q_range_mvar", lambda u: u.q_range_mvar)
    capacity = np.where(_reactive(m), q_range, p_range)[t.slot_bid]
    slot_ok = (m.known & m.registered)[t.slot_bid]
    found: list[Found] = []
    for s in np.flatnonzero(slot_ok & ~(t.slot_quantity <= capacity + 1e-9)).tolist():
        b = int(t.slot_bid[s])
        product, resource = m.products[int(t.product[b])], m.resources[int(t.resource[b])]
        assert product is not None and resource is not None
        kind = "Group" if isinstance(resource, Group) else "Unit"
        reactive = product.power_type is not PowerType.ACTIVE
        limit = (register.q_range_mvar if reactive else register.p_range_mw)(resource.id)
        text = (
            f"exceeds the {limit} {product.quantity_unit} range of {kind} "
            f"{format_value(resource.id)}"
        )
        found.append(_quantity_issue(m, s, text))
    return found


def _checked_slots(m: BidMarket) -> IntArray:
    """The slots the prequalification rules check: known product and resource, when required."""
    if not m.require_prequalification:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((m.known & m.registered)[m.table.slot_bid])


def product_prequalification_rule(m: BidMarket) -> list[Found]:
    """A valid product prequalification covers the resource at the start of each MTU."""
    t, register = m.table, m.register
    found: list[Found] = []
    memo: dict[tuple[int, int, int], bool] = {}
    for s in _checked_slots(m).tolist():
        b = int(t.slot_bid[s])
        key = (int(t.resource[b]), int(t.product[b]), int(t.slot_start[s]))
        if key not in memo:
            rid, pid = t.resources[key[0]], t.products[key[1]]
            memo[key] = register.is_product_qualified(rid, pid, t.starts[key[2]])
        if not memo[key]:
            i = int(t.slot_position[s])
            found.append(
                m.issue(
                    b,
                    f"quantities[{i}].interval",
                    str(t.slots[s].interval),
                    f"is not covered by a valid prequalification of "
                    f"{format_value(t.resource_ids[b])} for {format_value(t.product_ids[b])}",
                    i,
                )
            )
    return found


def grid_prequalification_rule(m: BidMarket) -> list[Found]:
    """The grid prequalifications of the impacted operators covering an MTU's start: none may
    refuse the resource (not qualified, or suspended), and a condition's MW limit in the bid's
    direction caps the quantity. A resource with no record covering the MTU is not refused (an
    assessment not yet decided does not hold a unit back)."""
    t, register = m.table, m.register
    slots = _checked_slots(m)
    if not slots.size or not register.grid_prequalifications:
        return []
    records = [register.grid_prequalifications_of(rid) for rid in t.resources]
    found: list[Found] = []
    for s in slots[np.array([bool(r) for r in records], dtype=bool)[t.resource[t.slot_bid[slots]]]]:
        b, i = int(t.slot_bid[s]), int(t.slot_position[s])
        found += _grid_record_issues(m, records[int(t.resource[b])], b, int(s), i)
    return found


def _grid_record_issues(
    m: BidMarket, records: tuple[GridPrequalification, ...], b: int, s: int, i: int
) -> list[Found]:
    """The refusals and caps of one slot by the records of its resource."""
    t = m.table
    direction = Direction.UP if t.up[b] else Direction.DOWN
    mq = t.slots[s]
    at = mq.interval.start
    rid = format_value(t.resource_ids[b])
    found: list[Found] = []
    for record in records:
        if not record.valid.contains(at):
            continue
        operator = format_value(record.impacted_operator_id)
        if not record.is_valid_at(at):
            suspended = record.status is PrequalificationStatus.SUSPENDED or (
                record.suspended_from is not None and record.suspended_from <= at
            )
            refusal = "suspends" if suspended else "refuses"
            text = f"is refused: the grid prequalification of {operator} {refusal} {rid}"
            found.append(m.issue(b, f"quantities[{i}].interval", str(mq.interval), text, i))
            continue
        limit = record.limit_mw(direction)
        if limit is not None and mq.quantity > limit + 1e-9:
            text = (
                f"exceeds the {limit} MW {direction.value} limit of the grid "
                f"prequalification of {rid} by {operator}"
            )
            found.append(m.issue(b, f"quantities[{i}].quantity", mq.quantity, text, i))
    return found


def product_gate_closure_rule(m: BidMarket) -> list[Found]:
    """The bid is submitted by its product's gate closure before its first MTU."""
    t = m.table
    first_start_s = t.start_us[t.slot_start[t.first_slot]] / 1e6
    before = m.product_values(lambda p: p.gate_closure_before_delivery.total_seconds())
    near = np.flatnonzero(m.known & (t.submitted_s > first_start_s - before - _SLACK_S))
    found: list[Found] = []
    for b in near.tolist():
        product = m.products[int(t.product[b])]
        assert product is not None
        before_delivery = product.gate_closure_before_delivery
        gate = t.starts[int(t.slot_start[t.first_slot[b]])] - before_delivery
        if t.submitted_at[b] <= gate:
            continue
        found.append(
            m.issue(
                b,
                "submitted_at",
                t.submitted_at[b],
                f"is after the product gate closure {gate.isoformat()} "
                f"({format_duration(before_delivery)} before delivery)",
            )
        )
    return found


def _price_required(m: BidMarket, field: str, has: Callable[[Product], bool]) -> list[Found]:
    """Bids without the price ``field`` of a product whose kind ``has`` it."""
    t = m.table
    needed = m.product_values(lambda p: float(has(p))) == 1.0
    values = t.availability if field.startswith("availability") else t.activation
    found: list[Found] = []
    for b in np.flatnonzero(needed & np.isnan(values)).tolist():
        product = m.products[int(t.product[b])]
        assert product is not None
        text = f"is required for {product.kind} product {format_value(product.id)}"
        found.append(m.issue(b, field, None, text))
    return found


def availability_price_rule(m: BidMarket) -> list[Found]:
    """A bid on a product with availability carries an availability price."""
    return _price_required(m, "availability_price_eur_per_mw_h", lambda p: p.kind.has_availability)


def activation_price_rule(m: BidMarket) -> list[Found]:
    """A bid on a product with activation carries an activation price."""
    return _price_required(m, "activation_price_eur_per_mwh", lambda p: p.kind.has_activation)


def power_factor_rule(m: BidMarket) -> list[Found]:
    """``q_mvar_per_mw`` only on active power products."""
    t = m.table
    wrong = m.known & _reactive(m) & ~np.isnan(t.q_mvar_per_mw)
    found: list[Found] = []
    for b in np.flatnonzero(wrong).tolist():
        product = m.products[int(t.product[b])]
        assert product is not None
        found.append(
            m.issue(
                b,
                "q_mvar_per_mw",
                float(t.q_mvar_per_mw[b]) if t.bids is None else t.bids[b].q_mvar_per_mw,
                f"applies only to active power products, not to {format_value(product.id)}",
            )
        )
    return found


def link_rule(m: BidMarket) -> list[Found]:
    """A parent link names a bid of this market, of the same FSP, outside the child's exclusive
    set, and closes no cycle."""
    t = m.table
    if t.parent_ids.count(None) == t.n_bid:
        return []
    by_id = {bid_id: b for b, bid_id in enumerate(t.ids)}  # the last of a duplicated id
    found: list[Found] = []
    for b, parent_id in enumerate(t.parent_ids):
        if parent_id is not None:
            found += [
                m.issue(b, "parent_bid_id", parent_id, text) for text in _link_texts(t, b, by_id)
            ]
    return found


def _link_texts(t: BidTable, b: int, by_id: dict[str, int]) -> list[str]:
    parent_id = t.parent_ids[b]
    assert parent_id is not None
    parent = by_id.get(parent_id)
    if parent is None:
        return ["is not a bid of this market"]
    texts: list[str] = []
    if t.fsp_ids[parent] != t.fsp_ids[b]:
        texts.append(
            f"belongs to FSP {format_value(t.fsp_ids[parent])}; "
            "a bid may only depend on its own FSP's bids"
        )
    xor = t.exclusive_sets[b]
    if xor is not None and t.exclusive_sets[parent] == xor:
        texts.append(
            f"is in the same exclusive set {format_value(xor)}: the child could never be accepted"
        )
    seen = {t.ids[b]}
    current: int | None = parent
    while current is not None and t.ids[current] not in seen:
        seen.add(t.ids[current])
        if t.parent_ids[current] == t.ids[b]:
            texts.append("closes a cycle of linked bids")
            break
        up_id = t.parent_ids[current]
        current = None if up_id is None else by_id.get(up_id)
    return texts


def exclusive_set_issues(m: BidMarket) -> list[Issue]:
    """An exclusive (XOR) set holds the bids of one FSP (an issue on every bid of a set that
    spans FSPs, after all bids' own issues)."""
    t = m.table
    if t.exclusive_sets.count(None) == t.n_bid:
        return []
    fsps_of_set: dict[str, set[str]] = {}
    for name, fsp_id in zip(t.exclusive_sets, t.fsp_ids, strict=True):
        if name is not None:
            fsps_of_set.setdefault(name, set()).add(fsp_id)
    return [
        Issue(
            kind="Bid",
            object_id=t.ids[b],
            field="exclusive_set",
            value=name,
            message=f"spans FSPs {sorted(fsps_of_set[name])}; an exclusive set "
            "holds the bids of one FSP",
        )
        for b, name in enumerate(t.exclusive_sets)
        if name is not None and len(fsps_of_set[name]) > 1
    ]


Rule = Callable[[BidMarket], list[Found]]

#: The bid rules, each with its place among one bid's issues: ``(stage, rank)``. A bid's issues
#: are ordered by stage, then quantity position, then rank: the quantity rules of stage 5 are
#: interleaved per quantity. The rules from stage 3 on apply to bids of a registered product.
BID_RULES: tuple[tuple[int, int, Rule], ...] = (
    (0, 0, owner_rule),
    (1, 0, market_gate_closure_rule),
    (2, 0, product_rule),
    (3, 0, mtu_grid_rule),
    (4, 0, lead_time_rule),
    (5, 0, minimum_rule),
    (5, 1, range_rule),
    (5, 2, product_prequalification_rule),
    (5, 3, grid_prequalification_rule),
    (6, 0, product_gate_closure_rule),
    (7, 0, availability_price_rule),
    (8, 0, activation_price_rule),
    (9, 0, power_factor_rule),
    (10, 0, link_rule),
)


def bid_issues(m: BidMarket) -> list[Issue]:
    """Every issue of :data:`BID_RULES`, bid by bid (see the module docstring for the order)."""
    keyed: list[tuple[tuple[int, int, int, int], Issue]] = []
    for stage, rank, rule in BID_RULES:
        keyed += [((b, stage, position, rank), issue) for b, position, issue in rule(m)]
    keyed.sort(key=lambda item: item[0])
    return [issue for _, issue in keyed]
