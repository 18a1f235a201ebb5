"""A sealed session as the clearing sees it: the database's register, needs and bids as domain
objects, every id an owner scopes qualified by its owner.

Units, groups, bids and needs are keyed by ``(owner, id)`` in the database (an FSP's ids are its
own namespace), but one clearing sees every party's objects together, where ids must be unique.
The snapshot names each such object ``"<owner>/<id>"`` (:class:`OwnedId`) and keeps the map
back, so a result is stored against its owner and id without parsing a string. Grid areas,
connection points, products and parties have global ids and keep them.

Everything is read in a stable order (owner, then id) and nothing depends on when or in which
order bids arrived except each bid's own ``submitted_at`` (the engine's time priority between
equal prices), so the same sealed session always gives the same snapshot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import (
    Bid,
    ConnectionPoint,
    FlexibilityServiceProvider,
    Group,
    Interval,
    Need,
    Product,
    Register,
    Unit,
    build_all,
)
from flexcoord.schemas import ConnectionPointModel, GroupModel, NeedModel, UnitModel
from flexcoord.service.market_schemas import BidIn, BidStatus
from flexcoord.service.market_store import get_product, product_of, session_mtus
from flexcoord.service.register_store import area_of, operator_of
from flexcoord.service.roles import Role
from flexcoord.service.tables import (
    BidRow,
    ConnectionPointRow,
    GridAreaRow,
    GroupMemberRow,
    GroupRow,
    MarketSessionRow,
    NeedRow,
    PartyRow,
    UnitRow,
)

__all__ = ["OwnedId", "SessionSnapshot", "session_snapshot"]


@dataclass(frozen=True, slots=True, order=True)
class OwnedId:
    """An object's id within its owner's namespace.

    Example:
        >>> OwnedId("fsp-a", "b1").qualified
        'fsp-a/b1'
    """

    owner_id: str
    id: str

    @property
    def qualified(self) -> str:
        """The id one clearing knows the object by."""
        return f"{self.owner_id}/{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSnapshot:
    """One session's clearing input.

    Attributes:
        session_id: the session.
        scheme: its coordination scheme (a preset id).
        product: its product.
        delivery_day: its local delivery day.
        intervals: its delivery day's MTUs (92, 96 or 100).
        gate_closes_at: its gate closure.
        register: every system operator, grid area and connection point; the FSPs with a
            submitted bid, their units and groups the bids name (qualified ids).
        needs: the session's needs (qualified ids).
        bids: its submitted bids (qualified ids), withdrawn ones left out.
        owned: qualified id → :class:`OwnedId`, for bids, needs, units and groups.
    """

    session_id: str
    scheme: str
    product: Product
    delivery_day: date
    intervals: tuple[Interval, ...]
    gate_closes_at: datetime
    register: Register
    needs: tuple[Need, ...]
    bids: tuple[Bid, ...]
    owned: Mapping[str, OwnedId]


def _q(owner_id: str, object_id: str | None) -> str | None:
    return None if object_id is None else OwnedId(owner_id, object_id).qualified


def _bids(
    session: Session, srow: MarketSessionRow
) -> tuple[tuple[Bid, ...], list[OwnedId], list[OwnedId]]:
    """The submitted bids (qualified), their ids and the resources they name."""
    rows = session.scalars(
        select(BidRow)
        .where(BidRow.session_id == srow.id, BidRow.status == BidStatus.SUBMITTED.value)
        .order_by(BidRow.owner_id, BidRow.id)
    ).all()
    specs: list[dict[str, Any]] = []
    resources: list[OwnedId] = []
    for r in rows:
        body = BidIn.model_validate(r.spec).model_dump()
        resources.append(OwnedId(r.owner_id, body["resource_id"]))
        specs.append(
            {
                **body,
                "id": _q(r.owner_id, r.id),
                "resource_id": _q(r.owner_id, body["resource_id"]),
                "parent_bid_id": _q(r.owner_id, body["parent_bid_id"]),
                "exclusive_set": _q(r.owner_id, body["exclusive_set"]),
                "fsp_id": r.owner_id,
                "product_id": srow.product_id,
                "submitted_at": r.submitted_at,
            }
        )
    return build_all(Bid, specs), [OwnedId(r.owner_id, r.id) for r in rows], resources


def _needs(session: Session, srow: MarketSessionRow) -> tuple[tuple[Need, ...], list[OwnedId]]:
    rows = session.scalars(
        select(NeedRow).where(NeedRow.session_id == srow.id).order_by(NeedRow.owner_id, NeedRow.id)
    ).all()
    models = [
        NeedModel.model_validate(
            {
                **r.spec,
                "id": _q(r.owner_id, r.id),
                "buyer_id": r.owner_id,
                "product_id": srow.product_id,
                "created_at": r.created_at,
            }
        )
        for r in rows
    ]
    return build_all(Need, [m.row() for m in models]), [OwnedId(r.owner_id, r.id) for r in rows]


def _resources(
    session: Session, wanted: Mapping[str, set[str]]
) -> tuple[list[Unit], list[Group], list[OwnedId]]:
    """The units and groups each owner's bids name (with the groups' units), qualified."""
    units: list[Unit] = []
    groups: list[Group] = []
    owned: list[OwnedId] = []
    for owner_id in sorted(wanted):
        ids = wanted[owner_id]
        group_rows = session.scalars(
            select(GroupRow).where(GroupRow.owner_id == owner_id, GroupRow.id.in_(ids))
        ).all()
        members = session.scalars(
            select(GroupMemberRow.unit_id).where(
                GroupMemberRow.owner_id == owner_id,
                GroupMemberRow.group_id.in_([g.id for g in group_rows]),
            )
        ).all()
        unit_rows = session.scalars(
            select(UnitRow)
            .where(UnitRow.owner_id == owner_id, UnitRow.id.in_(ids | set(members)))
            .order_by(UnitRow.id)
        ).all()
        for r in unit_rows:
            unit = UnitModel.model_validate(r.spec).to_domain(owner_id)
            units.append(dataclasses.replace(unit, id=OwnedId(owner_id, r.id).qualified))
            owned.append(OwnedId(owner_id, r.id))
        for g in sorted(group_rows, key=lambda row: row.id):
            group = GroupModel.model_validate(g.spec).to_domain(owner_id)
            groups.append(
                dataclasses.replace(
                    group,
                    id=OwnedId(owner_id, g.id).qualified,
                    unit_ids=tuple(OwnedId(owner_id, u).qualified for u in group.unit_ids),
                )
            )
            owned.append(OwnedId(owner_id, g.id))
    return units, groups, owned


def _parties(session: Session, ids: Iterable[str]) -> Sequence[PartyRow]:
    return session.scalars(select(PartyRow).where(PartyRow.id.in_(set(ids)))).all()


def session_snapshot(session: Session, srow: MarketSessionRow) -> SessionSnapshot:
    """The clearing input of session ``srow`` as the database holds it now (module docstring).

    Raises:
        InvalidInputError: a stored object no longer passes the domain's rules.
    """
    product = product_of(get_product(session, srow.product_id))
    bids, bid_ids, named = _bids(session, srow)
    needs, need_ids = _needs(session, srow)
    wanted: dict[str, set[str]] = {}
    for resource in named:
        wanted.setdefault(resource.owner_id, set()).add(resource.id)
    units, groups, resource_ids = _resources(session, wanted)
    area_rows = session.scalars(select(GridAreaRow).order_by(GridAreaRow.id)).all()
    point_rows = session.scalars(select(ConnectionPointRow).order_by(ConnectionPointRow.id)).all()
    operators = session.scalars(
        select(PartyRow)
        .where(PartyRow.role.in_([Role.TSO.value, Role.DSO.value]))
        .order_by(PartyRow.id)
    ).all()
    points: list[ConnectionPoint] = [
        ConnectionPointModel.model_validate(p.spec).to_domain() for p in point_rows
    ]
    register = Register(
        operators=tuple(operator_of(p) for p in operators),
        areas=tuple(area_of(a) for a in area_rows),
        connection_points=tuple(points),
        fsps=tuple(
            FlexibilityServiceProvider(id=p.id, name=p.name)
            for p in sorted(_parties(session, wanted), key=lambda p: p.id)
        ),
        units=tuple(units),
        groups=tuple(groups),
        products=(product,),
    )
    owned = {k.qualified: k for k in (*bid_ids, *need_ids, *resource_ids)}
    return SessionSnapshot(
        session_id=srow.id,
        scheme=srow.scheme,
        product=product,
        delivery_day=srow.delivery_day,
        intervals=session_mtus(product, srow),
        gate_closes_at=srow.gate_closes_at,
        register=register,
        needs=tuple(needs),
        bids=tuple(bids),
        owned=owned,
    )
