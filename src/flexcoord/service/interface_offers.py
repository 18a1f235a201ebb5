"""The TSO's view of distribution bids: merit-order curves per TSO–DSO coupling point.

The granularity rule: a TSO sees distribution flexibility only aggregated at its interface —
per coupling point, MTU and direction, the price and cumulative quantity of the submitted bids
located behind it (no unit, bus or FSP id). A DSO sees the same curves of its own coupling
points. The curves exist once the session is sealed (before gate closure bids still change: 409).

Why not :func:`flexcoord.coordination.aggregation.aggregated_offer_curve`: that curve is the
DSO-feasible least-cost combination, a linear program over the DSO's grid model (HiGHS and the
grid layer), which the API process must not load. This one is the plain merit order of the
bids as offered (:func:`merit_order`, pure), FIS's "power per substation" with prices: what the
TSO may see before any grid check; the grid-checked curve is the clearing worker's business.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import OperatorRole, Product, Register
from flexcoord.errors import Issue
from flexcoord.service.grid_schemas import InterfaceCurveOut, InterfaceStepOut
from flexcoord.service.market_schemas import BidIn, BidStatus, GateState
from flexcoord.service.market_store import gate_state, get_product, product_of
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.register_store import resources_register
from flexcoord.service.roles import Role
from flexcoord.service.tables import BidRow, GridAreaRow, MarketSessionRow, PartyRow

__all__ = ["curves_for", "merit_order"]

_ACTIVATION: Final = "activation_eur_per_mwh"
_AVAILABILITY: Final = "availability_eur_per_mw_h"


def merit_order(offers: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(price, quantity)`` offers as a merit-order curve: ``(price, cumulative quantity)``
    steps, cheapest first, one step per distinct price.

    Example:
        >>> merit_order([(120.0, 0.5), (80.0, 1.0), (80.0, 0.5)])
        [(80.0, 1.5), (120.0, 2.0)]
    """
    by_price: dict[float, float] = defaultdict(float)
    for price, quantity in offers:
        by_price[price] += quantity
    steps, total = [], 0.0
    for price in sorted(by_price):
        total += by_price[price]
        steps.append((price, round(total, 9)))
    return steps


def _sealed(srow: MarketSessionRow, now: datetime) -> None:
    state = gate_state(srow, now)
    if state is GateState.SEALED:
        return
    issue = Issue(
        kind="MarketSession",
        object_id=srow.id,
        field="gate_closes_at",
        value=srow.gate_closes_at.isoformat(),
        message="is later: the interface offers exist once the session is sealed",
    )
    raise ServiceProblem(
        409, f"MarketSession {srow.id!r} is {state.value} at {now.isoformat()}", [issue]
    )


def _visible_coupling_points(session: Session, party: PartyRow) -> frozenset[str]:
    areas = session.scalars(select(GridAreaRow).where(GridAreaRow.owner_id == party.id))
    return frozenset(c for a in areas for c in a.spec.get("coupling_point_ids", []))


def _placement(register: Register, resource_id: str) -> tuple[str, str] | None:
    """The coupling point and DSO behind which a resource sits, ``None`` if not in a DSO area
    behind one (transmission-connected, or an area without coupling point)."""
    coupling = register.coupling_point_of(resource_id)
    unit = register.units_of(resource_id)[0]
    area = register.area(register.connection_point(unit.connection_point_id).area_id)
    if coupling is None or register.operator(area.operator_id).role is not OperatorRole.DSO:
        return None
    return coupling, area.operator_id


def _located_bids(session: Session, srow: MarketSessionRow) -> list[tuple[BidIn, tuple[str, str]]]:
    """The session's submitted bids in DSO areas, each with its coupling point and DSO."""
    rows = session.scalars(
        select(BidRow).where(
            BidRow.session_id == srow.id, BidRow.status == BidStatus.SUBMITTED.value
        )
    ).all()
    by_owner: dict[str, list[BidRow]] = defaultdict(list)
    for row in rows:
        by_owner[row.owner_id].append(row)
    located = []
    for owner_id, owned in sorted(by_owner.items()):
        owner = session.get(PartyRow, owner_id)
        assert owner is not None  # a bid's owner is a party (foreign key)
        register = resources_register(session, owner, {r.resource_id for r in owned}, [])
        for row in owned:
            known = register.has("units", row.resource_id) or register.has(
                "groups", row.resource_id
            )
            place = _placement(register, row.resource_id) if known else None
            if place is not None:
                located.append((BidIn.model_validate(row.spec), place))
    return located


def _price(bid: BidIn, basis: str) -> float | None:
    if basis == _ACTIVATION:
        return bid.activation_price_eur_per_mwh
    return bid.availability_price_eur_per_mw_h


def _curves(
    located: Sequence[tuple[BidIn, tuple[str, str]]], product: Product
) -> list[InterfaceCurveOut]:
    basis = _ACTIVATION if product.kind.has_activation else _AVAILABILITY
    offers: dict[tuple[str, datetime, datetime, str], list[tuple[float, float]]] = defaultdict(list)
    for bid, (coupling, _dso) in located:
        price = _price(bid, basis)
        if price is None:
            continue
        for q in bid.quantities:
            offers[coupling, q.start, q.end, bid.direction].append((price, q.quantity))
    return [
        InterfaceCurveOut(
            coupling_point_id=coupling,
            start=start,
            end=end,
            direction=direction,  # type: ignore[arg-type]
            price_basis=basis,  # type: ignore[arg-type]
            quantity_unit=product.quantity_unit,
            steps=[InterfaceStepOut(price=p, cumulative_quantity=c) for p, c in merit_order(o)],
        )
        for (coupling, start, end, direction), o in sorted(offers.items())
    ]


def curves_for(
    session: Session, party: PartyRow, srow: MarketSessionRow, *, now: datetime
) -> list[InterfaceCurveOut]:
    """The sealed session's interface curves the operator ``party`` may see: a TSO those of
    the coupling points its areas name, a DSO those of its own areas' coupling points (and only
    bids in its own areas)."""
    _sealed(srow, now)
    product = product_of(get_product(session, srow.product_id))
    visible = _visible_coupling_points(session, party)
    located = [
        (bid, (coupling, dso))
        for bid, (coupling, dso) in _located_bids(session, srow)
        if coupling in visible and (party.role == Role.TSO.value or dso == party.id)
    ]
    return _curves(located, product)
