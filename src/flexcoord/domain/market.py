"""Market-level validation: needs and bids checked against the register and against each other.

:func:`validate_market` is always run before clearing. It raises one
:class:`~flexcoord.errors.InvalidInputError` listing every issue across all needs and bids, or
returns ``None``. Whether a *valid* bid is then rejected (by price, by the grid) is a market
outcome, not an issue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from flexcoord.domain.bids import Bid
from flexcoord.domain.needs import Need
from flexcoord.domain.products import Product
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.domain.register import Register
from flexcoord.domain.time import QUARTER_HOUR, Interval, is_on_grid
from flexcoord.domain.validation import IssueCollector, registered_choices
from flexcoord.domain.vocabulary import LocationKind, ProductKind
from flexcoord.errors import NO_VALUE, InvalidInputError, Issue, format_duration, format_value

if TYPE_CHECKING:
    from flexcoord.domain.bid_table import BidTable

__all__ = ["market_issues", "validate_market"]


def validate_market(  # noqa: PLR0913 - public: the market, then keyword-only context
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid] | BidTable,
    *,
    gate_closure_at: datetime | None = None,
    known_buses: frozenset[int] | None = None,
    require_prequalification: bool = False,
    table: BidTable | None = None,
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
        bids: The bids of the market, as ``Bid`` objects or as a
            :class:`~flexcoord.domain.bid_table.BidTable` (e.g. of columns,
            :meth:`~flexcoord.domain.bid_table.BidTable.from_columns`): the same rules.
        gate_closure_at: Market gate closure; later submissions are issues.
        known_buses: Bus indices of the grid model, if it is known.
        require_prequalification: Whether missing product prequalification is an issue.
        table: The bids' :func:`~flexcoord.domain.bid_table.bid_table`, if the caller has it.

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
        table=table,
    )
    if issues:
        raise InvalidInputError(issues)


def market_issues(  # noqa: PLR0913 - public: as validate_market
    register: Register,
    needs: Sequence[Need],
    bids: Sequence[Bid] | BidTable,
    *,
    gate_closure_at: datetime | None = None,
    known_buses: frozenset[int] | None = None,
    require_prequalification: bool = False,
    table: BidTable | None = None,
) -> list[Issue]:
    """The issues :func:`validate_market` would raise, as a list (empty when valid).

    ``table``: the bids' :func:`~flexcoord.domain.bid_table.bid_table`, when the caller has it
    (the clearing reads it for its mapping too); made here otherwise.
    """
    # numpy on use: the CLI's start imports the domain but validates no market
    from flexcoord.domain.bid_rules import (  # noqa: PLC0415
        bid_issues,
        bid_market,
        exclusive_set_issues,
    )
    from flexcoord.domain.bid_table import BidTable, bid_table  # noqa: PLC0415

    if isinstance(bids, BidTable):
        if table is not None and table is not bids:
            raise ValueError("bids is a BidTable: give no other table")
        table = bids
    elif table is None:
        table = bid_table(bids)
    elif table.bids is not bids:
        raise ValueError("table is not the bid_table of these bids")
    issues: list[Issue] = []
    if known_buses is not None:
        issues += _bus_issues(register, known_buses)
    issues += _duplicates("Need", [n.id for n in needs])
    issues += _duplicates("Bid", table.ids)
    products: dict[str, Product | None] = {}
    for need in needs:
        c = IssueCollector("Need", need.id)
        _check_need(c, register, products, need, known_buses)
        issues += c.issues
    market = bid_market(
        table,
        register,
        gate_closure_at=gate_closure_at,
        require_prequalification=require_prequalification,
    )
    return issues + bid_issues(market) + exclusive_set_issues(market)


def _duplicates(kind: str, ids: Sequence[str]) -> list[Issue]:
    if len(set(ids)) == len(ids):
        return []
    counts = Counter(ids)
    return [
        Issue(kind=kind, object_id=i, field="id", value=i, message=f"is used by {n} {kind}s")
        for i, n in sorted(counts.items())
        if n > 1
    ]


def _bus_issues(register: Register, known_buses: frozenset[int]) -> list[Issue]:
    """The areas' and units' buses that are not buses of the grid model (kept per register and
    set of buses: a national register's 41,739 units are checked once, not per clearing)."""
    (found,) = register.derived_each(
        "domain.market.bus_issues", [known_buses], partial(_bus_issues_of, register)
    )
    return list(found)


def _bus_issues_of(register: Register, known_buses: frozenset[int]) -> tuple[Issue, ...]:
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
    return tuple(issues)


def _product(
    c: IssueCollector, register: Register, products: dict[str, Product | None], product_id: str
) -> Product | None:
    if product_id not in products:
        products[product_id] = (
            register.product(product_id) if register.has("products", product_id) else None
        )
    product = products[product_id]
    if product is None:
        choices = registered_choices(p.id for p in register.products)
        c.add("product_id", product_id, f"is not a registered product ({choices})")
    return product


def _check_grid(c: IssueCollector, product: Product, quantities: tuple[MtuQuantity, ...]) -> None:
    for i, mq in enumerate(quantities):
        if not is_on_grid(mq.interval, product.resolution):
            c.add(
                f"quantities[{i}].interval",
                str(mq.interval),
                f"is not one MTU of product {format_value(product.id)} "
                f"(resolution {format_duration(product.resolution)})",
            )


def _check_need(
    c: IssueCollector,
    register: Register,
    products: dict[str, Product | None],
    need: Need,
    known_buses: frozenset[int] | None,
) -> None:
    c.check(
        register.has("operators", need.buyer_id),
        "buyer_id",
        need.buyer_id,
        "is not a registered system operator "
        f"({registered_choices(o.id for o in register.operators)})",
    )
    location = need.location
    if location.kind is LocationKind.AREA:
        c.check(
            location.area_id is not None and register.has("areas", location.area_id),
            "location.area_id",
            location.area_id,
            f"is not a registered grid area ({registered_choices(a.id for a in register.areas)})",
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
    product = _product(c, register, products, need.product_id)
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
