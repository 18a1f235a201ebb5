"""Market-level validation: needs and bids checked against the register and against each other.

:func:`validate_market` is always run before clearing. It raises one
:class:`~flexcoord.errors.InvalidInputError` listing every issue across all needs and bids, or
returns ``None``. Whether a *valid* bid is then rejected (by price, by the grid) is a market
outcome, not an issue.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from flexcoord.domain.bids import Bid
from flexcoord.domain.needs import Need
from flexcoord.domain.products import Product
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.domain.register import Register
from flexcoord.domain.resources import Group, Unit
from flexcoord.domain.time import QUARTER_HOUR, Interval, is_on_grid
from flexcoord.domain.validation import IssueCollector
from flexcoord.domain.vocabulary import (
    LocationKind,
    PowerType,
    PrequalificationStatus,
    ProductKind,
)
from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, format_duration, format_value

__all__ = ["market_issues", "validate_market"]


def validate_market(  # noqa: PLR0913 - public: the market, then keyword-only context
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid],
    *,
    gate_closure_at: datetime | None = None,
    known_buses: frozenset[int] | None = None,
    require_prequalification: bool = False,
) -> None:
    """Check needs and bids against the register and each other; raise once with every issue.

    Checks: duplicate ids; unknown buyer, FSP, resource, product, area, coupling point or bus
    references; a bid resource not owned by the bid's FSP; MTUs off the product's resolution
    grid; bid quantities below the product minimum or above the resource's power range; prices
    missing for the product kind; ``q_mvar_per_mw`` on a reactive product; bids submitted after
    ``gate_closure_at`` or after the product's gate closure before their first MTU; resources
    slower than the product lead time; exclusive (XOR) sets spanning FSPs; parent links to
    unknown bids, to another FSP's bid, to a bid of the same XOR set, or in a cycle; with
    ``known_buses``, areas, units and need locations on buses absent from the grid model; with
    ``require_prequalification``, bids whose resource holds no valid product prequalification at
    the start of each of its MTUs, and bids an impacted operator's grid prequalification
    covering an MTU's start refuses (not qualified, suspended) or caps (a conditional record's
    ``max_up_mw`` / ``max_down_mw`` below the quantity).

    Args:
        register: The consistent register (already cross-checked at construction).
        needs: The needs of the market.
        bids: The bids of the market.
        gate_closure_at: Market gate closure; later submissions are issues.
        known_buses: Bus indices of the grid model, if it is known.
        require_prequalification: Whether missing product prequalification is an issue.

    Raises:
        InvalidInputError: With every issue found.

    Example:
        >>> validate_market(Register(), needs=[], bids=[]) is None
        True
    """
    issues = market_issues(
        register,
        needs,
        bids,
        gate_closure_at=gate_closure_at,
        known_buses=known_buses,
        require_prequalification=require_prequalification,
    )
    if issues:
        raise InvalidInputError(issues)


def market_issues(  # noqa: PLR0913 - public: as validate_market
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid],
    *,
    gate_closure_at: datetime | None = None,
    known_buses: frozenset[int] | None = None,
    require_prequalification: bool = False,
) -> list[Issue]:
    """The issues :func:`validate_market` would raise, as a list (empty when valid)."""
    issues: list[Issue] = []
    if known_buses is not None:
        issues += _bus_issues(register, known_buses)
    issues += _duplicates("Need", [n.id for n in needs])
    issues += _duplicates("Bid", [b.id for b in bids])
    lookups = _Lookups(register)
    for need in needs:
        c = IssueCollector("Need", need.id)
        _check_need(c, lookups, need, known_buses)
        issues += c.issues
    bids_by_id = {b.id: b for b in bids}
    for bid in bids:
        c = IssueCollector("Bid", bid.id)
        _check_bid(c, lookups, bid, gate_closure_at, require_prequalification)
        if bid.parent_bid_id is not None:
            _check_links(c, bid, bids_by_id)
        issues += c.issues
    issues += _xor_issues(bids)
    return issues


def _duplicates(kind: str, ids: list[str]) -> list[Issue]:
    counts = Counter(ids)
    return [
        Issue(kind=kind, object_id=i, field="id", value=i, message=f"is used by {n} {kind}s")
        for i, n in sorted(counts.items())
        if n > 1
    ]


def _bus_issues(register: Register, known_buses: frozenset[int]) -> list[Issue]:
    issues: list[Issue] = []
    for area in register.areas:
        missing = sorted(area.bus_ids - known_buses)
        if missing:
            issues.append(
                Issue(
                    kind="GridArea",
                    object_id=area.id,
                    field="bus_ids",
                    value=missing,
                    message="are not buses of the grid model",
                )
            )
    for unit in register.units:
        bus = register.connection_point(unit.connection_point_id).bus
        if bus not in known_buses:
            issues.append(
                Issue(
                    kind="Unit",
                    object_id=unit.id,
                    field="connection_point_id",
                    value=unit.connection_point_id,
                    message=f"is on bus {bus}, which is not a bus of the grid model",
                )
            )
    return issues


def _choices(ids: Iterable[str], limit: int = 12) -> str:
    """The registered ids a reference may name, for the message (the first ``limit`` of them)."""
    known = sorted(ids)
    if not known:
        return "none registered"
    shown = ", ".join(format_value(i) for i in known[:limit])
    return f"registered: {shown}" + (f", ... ({len(known)} in all)" if len(known) > limit else "")


class _Lookups:
    """What many bids of one market share, looked up once: products, a resource's owner check,
    power range and lead time, and whether an MTU lies on a resolution's grid.

    A valid market is checked on every clearing (a coordination run clears about 20 sub-markets
    of the same bids; a day-ahead market holds 100k bids on a few thousand resources and 96
    MTUs), so the per-bid checks read these instead of walking the register again. Messages
    are still formatted only for a failed check.
    """

    __slots__ = ("_capacity", "_lead_time", "_on_grid", "_owner", "products", "register")

    def __init__(self, register: Register) -> None:
        self.register = register
        self.products: dict[str, Product | None] = {}
        self._owner: dict[tuple[str, str], tuple[Unit | Group | None, list[tuple[str, str]]]] = {}
        self._capacity: dict[tuple[str, PowerType], float] = {}
        self._lead_time: dict[str, timedelta] = {}
        self._on_grid: dict[timedelta, dict[Interval, bool]] = {}

    def owner(
        self, fsp_id: str, resource_id: str
    ) -> tuple[Unit | Group | None, list[tuple[str, str]]]:
        """The resource (``None`` if unregistered) and the owner issues as (field, message)."""
        key = (fsp_id, resource_id)
        found = self._owner.get(key)
        if found is None:
            found = self._owner[key] = _owner_issues(self.register, fsp_id, resource_id)
        return found

    def capacity(self, resource_id: str, power_type: PowerType) -> float:
        """The resource's active (MW) or reactive (Mvar) range."""
        key = (resource_id, power_type)
        found = self._capacity.get(key)
        if found is None:
            register = self.register
            found = self._capacity[key] = (
                register.p_range_mw(resource_id)
                if power_type is PowerType.ACTIVE
                else register.q_range_mvar(resource_id)
            )
        return found

    def lead_time(self, resource_id: str) -> timedelta:
        """The slowest activation lead time of the resource's units."""
        found = self._lead_time.get(resource_id)
        if found is None:
            found = self._lead_time[resource_id] = max(
                u.activation_lead_time for u in self.register.units_of(resource_id)
            )
        return found

    def on_grid(self, resolution: timedelta) -> dict[Interval, bool]:
        """Memo of :func:`~flexcoord.domain.time.is_on_grid` for one resolution."""
        found = self._on_grid.get(resolution)
        if found is None:
            found = self._on_grid[resolution] = {}
        return found


def _product(c: IssueCollector, lookups: _Lookups, product_id: str) -> Product | None:
    if product_id in lookups.products:
        product = lookups.products[product_id]
    else:
        register = lookups.register
        product = register.product(product_id) if register.has("products", product_id) else None
        lookups.products[product_id] = product
    if product is not None:
        return product
    register = lookups.register
    c.add(
        "product_id",
        product_id,
        f"is not a registered product ({_choices(p.id for p in register.products)})",
    )
    return None


def _check_grid(
    c: IssueCollector,
    product: Product,
    quantities: tuple[MtuQuantity, ...],
    memo: dict[Interval, bool] | None = None,
) -> None:
    for i, mq in enumerate(quantities):
        if memo is None:
            ok = is_on_grid(mq.interval, product.resolution)
        else:
            ok = memo.get(mq.interval)  # type: ignore[assignment]
            if ok is None:
                ok = memo[mq.interval] = is_on_grid(mq.interval, product.resolution)
        if not ok:
            c.add(
                f"quantities[{i}].interval",
                str(mq.interval),
                f"is not one MTU of product {format_value(product.id)} "
                f"(resolution {format_duration(product.resolution)})",
            )


def _check_need(
    c: IssueCollector, lookups: _Lookups, need: Need, known_buses: frozenset[int] | None
) -> None:
    register = lookups.register
    c.check(
        register.has("operators", need.buyer_id),
        "buyer_id",
        need.buyer_id,
        f"is not a registered system operator ({_choices(o.id for o in register.operators)})",
    )
    location = need.location
    if location.kind is LocationKind.AREA:
        c.check(
            location.area_id is not None and register.has("areas", location.area_id),
            "location.area_id",
            location.area_id,
            f"is not a registered grid area ({_choices(a.id for a in register.areas)})",
        )
    elif location.kind is LocationKind.COUPLING_POINT:
        c.check(
            location.coupling_point_id in register.coupling_point_ids,
            "location.coupling_point_id",
            location.coupling_point_id,
            "is not a coupling point of any registered area",
        )
    elif known_buses is not None:
        missing = sorted(location.bus_ids - known_buses)
        c.check(not missing, "location.bus_ids", missing, "are not buses of the grid model")
    product = _product(c, lookups, need.product_id)
    if product is None:
        return
    _check_grid(c, product, need.quantities)
    if need.activation_price_cap_eur_per_mwh is not None:
        c.check(
            product.kind.has_activation,
            "activation_price_cap_eur_per_mwh",
            need.activation_price_cap_eur_per_mwh,
            f"is meaningless for {product.kind} product {format_value(product.id)}",
        )
    if need.availability_price_cap_eur_per_mw_h is not None:
        c.check(
            product.kind.has_availability,
            "availability_price_cap_eur_per_mw_h",
            need.availability_price_cap_eur_per_mw_h,
            f"is meaningless for {product.kind} product {format_value(product.id)}",
        )
    if product.kind is ProductKind.AVAILABILITY_AND_ACTIVATION:
        c.check(
            need.expected_activation_share is not None,
            "expected_activation_share",
            None,
            f"is required for {product.kind} product {format_value(product.id)}",
        )


def _check_bid(
    c: IssueCollector,
    lookups: _Lookups,
    bid: Bid,
    gate_closure_at: datetime | None,
    require_prequalification: bool,
) -> None:
    resource, owner_issues = lookups.owner(bid.fsp_id, bid.resource_id)
    for field, message in owner_issues:
        c.add(field, getattr(bid, field), message)
    if gate_closure_at is not None:
        c.check(
            bid.submitted_at <= gate_closure_at,
            "submitted_at",
            bid.submitted_at,
            f"is after gate closure {gate_closure_at.isoformat()}",
        )
    product = _product(c, lookups, bid.product_id)
    if product is None:
        return
    _check_grid(c, product, bid.quantities, lookups.on_grid(product.resolution))
    _check_quantities(c, lookups, bid, product, resource, require_prequalification)
    _check_terms(c, bid, product)


def _owner_issues(
    register: Register, fsp_id: str, resource_id: str
) -> tuple[Unit | Group | None, list[tuple[str, str]]]:
    """The bid's FSP is registered and owns its resource: the resource, if registered, and the
    issues as (bid field, message)."""
    issues: list[tuple[str, str]] = []
    if not register.has("fsps", fsp_id):
        issues.append(("fsp_id", "is not a registered FSP (flexibility service provider)"))
    if not (register.has("units", resource_id) or register.has("groups", resource_id)):
        issues.append(("resource_id", "is not a registered unit or group"))
        return None, issues
    resource = register.resource(resource_id)
    if resource.fsp_id != fsp_id:
        issues.append(
            (
                "resource_id",
                f"belongs to FSP {format_value(resource.fsp_id)}, "
                f"not to the bid's FSP {format_value(fsp_id)}",
            )
        )
    return resource, issues


def _check_quantities(  # noqa: PLR0913 - the bid, its product and resource, and one option
    c: IssueCollector,
    lookups: _Lookups,
    bid: Bid,
    product: Product,
    resource: Unit | Group | None,
    require_prequalification: bool,
) -> None:
    """Each quantity at least the product minimum and within the resource's range (and covered
    by a prequalification when required); the resource activates within the lead time."""
    register = lookups.register
    capacity = math.inf
    if resource is not None:
        capacity = lookups.capacity(resource.id, product.power_type)
        lead_time = lookups.lead_time(resource.id)
        if lead_time > product.lead_time:
            c.add(
                "resource_id",
                bid.resource_id,
                f"needs {format_duration(lead_time)} to activate, more than the product lead "
                f"time {format_duration(product.lead_time)}",
            )
    minimum = product.min_quantity
    for i, mq in enumerate(bid.quantities):
        if not mq.quantity >= minimum:
            c.add(
                f"quantities[{i}].quantity",
                mq.quantity,
                f"is below the product minimum {minimum} {product.quantity_unit}",
            )
        if resource is None:
            continue
        if not mq.quantity <= capacity + 1e-9:
            kind = "Group" if isinstance(resource, Group) else "Unit"
            c.add(
                f"quantities[{i}].quantity",
                mq.quantity,
                f"exceeds the {capacity} {product.quantity_unit} range of {kind} "
                f"{format_value(resource.id)}",
            )
        if require_prequalification and not register.is_product_qualified(
            resource.id, product.id, mq.interval.start
        ):
            c.add(
                f"quantities[{i}].interval",
                str(mq.interval),
                f"is not covered by a valid prequalification of {format_value(resource.id)} "
                f"for {format_value(product.id)}",
            )
        if require_prequalification:
            _check_grid_prequalification(c, register, resource.id, bid, i)


def _check_grid_prequalification(
    c: IssueCollector, register: Register, resource_id: str, bid: Bid, i: int
) -> None:
    """The grid prequalifications of the impacted operators covering the MTU's start: none may
    refuse the resource (not qualified, or suspended), and a condition's MW limit in the bid's
    direction caps the quantity. A resource with no record covering the MTU is not refused (an
    assessment not yet decided does not hold a unit back)."""
    mq = bid.quantities[i]
    at = mq.interval.start
    for record in register.grid_prequalifications_of(resource_id):
        if not record.valid.contains(at):
            continue
        operator = format_value(record.impacted_operator_id)
        if not record.is_valid_at(at):
            suspended = record.status is PrequalificationStatus.SUSPENDED or (
                record.suspended_from is not None and record.suspended_from <= at
            )
            refusal = "suspends" if suspended else "refuses"
            c.add(
                f"quantities[{i}].interval",
                str(mq.interval),
                f"is refused: the grid prequalification of {operator} {refusal} "
                f"{format_value(resource_id)}",
            )
            continue
        limit = record.limit_mw(bid.direction)
        if limit is not None and mq.quantity > limit + 1e-9:
            c.add(
                f"quantities[{i}].quantity",
                mq.quantity,
                f"exceeds the {limit} MW {bid.direction.value} limit of the grid "
                f"prequalification of {format_value(resource_id)} by {operator}",
            )


def _check_terms(c: IssueCollector, bid: Bid, product: Product) -> None:
    """The product's gate closure, the prices its kind needs, a power factor only on P."""
    gate = bid.quantities[0].interval.start - product.gate_closure_before_delivery
    if not bid.submitted_at <= gate:
        c.add(
            "submitted_at",
            bid.submitted_at,
            f"is after the product gate closure {gate.isoformat()} "
            f"({format_duration(product.gate_closure_before_delivery)} before delivery)",
        )
    if product.kind.has_availability and bid.availability_price_eur_per_mw_h is None:
        c.add(
            "availability_price_eur_per_mw_h",
            None,
            f"is required for {product.kind} product {format_value(product.id)}",
        )
    if product.kind.has_activation and bid.activation_price_eur_per_mwh is None:
        c.add(
            "activation_price_eur_per_mwh",
            None,
            f"is required for {product.kind} product {format_value(product.id)}",
        )
    if bid.q_mvar_per_mw is not None and product.power_type is not PowerType.ACTIVE:
        c.add(
            "q_mvar_per_mw",
            bid.q_mvar_per_mw,
            f"applies only to active power products, not to {format_value(product.id)}",
        )


def _check_links(c: IssueCollector, bid: Bid, bids_by_id: dict[str, Bid]) -> None:
    parent_id = bid.parent_bid_id
    if parent_id is None:
        return
    parent = bids_by_id.get(parent_id)
    if not c.check(parent is not None, "parent_bid_id", parent_id, "is not a bid of this market"):
        return
    assert parent is not None
    c.check(
        parent.fsp_id == bid.fsp_id,
        "parent_bid_id",
        parent_id,
        f"belongs to FSP {format_value(parent.fsp_id)}; "
        "a bid may only depend on its own FSP's bids",
    )
    if bid.exclusive_set is not None:
        c.check(
            parent.exclusive_set != bid.exclusive_set,
            "parent_bid_id",
            parent_id,
            f"is in the same exclusive set {format_value(bid.exclusive_set)}: "
            "the child could never be "
            "accepted",
        )
    seen = {bid.id}
    current: Bid | None = parent
    while current is not None and current.id not in seen:
        seen.add(current.id)
        if current.parent_bid_id == bid.id:
            c.add("parent_bid_id", parent_id, "closes a cycle of linked bids")
            return
        current = None if current.parent_bid_id is None else bids_by_id.get(current.parent_bid_id)


def _xor_issues(bids: Sequence[Bid]) -> list[Issue]:
    fsps_of_set: dict[str, set[str]] = defaultdict(set)
    for bid in bids:
        if bid.exclusive_set is not None:
            fsps_of_set[bid.exclusive_set].add(bid.fsp_id)
    return [
        Issue(
            kind="Bid",
            object_id=bid.id,
            field="exclusive_set",
            value=bid.exclusive_set,
            message=f"spans FSPs {sorted(fsps_of_set[bid.exclusive_set])}; an exclusive set "
            "holds the bids of one FSP",
        )
        for bid in bids
        if bid.exclusive_set is not None and len(fsps_of_set[bid.exclusive_set]) > 1
    ]


def market_span(
    needs: Sequence[Need], bids: Sequence[Bid], *, source: str, resolution: timedelta = QUARTER_HOUR
) -> tuple[Interval, ...]:
    """The contiguous MTUs from the first to the last one any need or bid of a market uses.

    Raises:
        InvalidInputError: no need or bid holds an MTU (``source`` names the market).

    Example:
        >>> market_span([], [], source="empty.json")
        Traceback (most recent call last):
        ...
        flexcoord.errors.InvalidInputError: 1 invalid input issue:
          - empty.json: holds no need or bid with an MTU
    """
    starts = [q.interval.start for n in needs for q in n.quantities]
    starts += [q.interval.start for b in bids for q in b.quantities]
    if not starts:
        raise InvalidInputError(
            [
                Issue(
                    kind="",
                    object_id="",
                    field="",
                    value=NO_VALUE,
                    message="holds no need or bid with an MTU",
                    source=source,
                )
            ]
        )
    first, last = min(starts), max(starts)
    n = int((last - first) / resolution) + 1
    return tuple(
        Interval(start=first + k * resolution, end=first + (k + 1) * resolution) for k in range(n)
    )
