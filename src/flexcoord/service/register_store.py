"""The register in the database: rows in, domain objects out, every rule the domain's.

Each add builds the domain objects from the body (their constructors check each object), then
a :class:`~flexcoord.domain.Register` of the owner's part of the register (an FSP's units and
groups with the connection points, areas and operators they refer to; an operator's areas), so
every cross-reference and group rule is the register's, reported as its
:class:`~flexcoord.errors.InvalidInputError` issues. Nothing is written unless the register
builds. Every read filters by owner: another party's object is *not registered* for the caller,
in lookups, lists and error messages alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import (
    ConnectionPoint,
    FlexibilityServiceProvider,
    GridArea,
    GridPrequalification,
    Group,
    Product,
    ProductPrequalification,
    Register,
    SystemOperator,
    Unit,
)
from flexcoord.errors import Issue, NotFoundError
from flexcoord.schemas import ConnectionPointModel, GridAreaModel, GroupModel, UnitModel
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.roles import Role
from flexcoord.service.tables import (
    BidRow,
    ConnectionPointRow,
    GridAreaRow,
    GroupMemberRow,
    GroupRow,
    PartyRow,
    UnitRow,
)

__all__ = [
    "add_connection_point",
    "add_grid_area",
    "add_group",
    "add_unit",
    "area_of",
    "conflict",
    "delete_group",
    "delete_unit",
    "get_owned",
    "grid_register",
    "list_owned",
    "operator_of",
    "placement_register",
    "resources_register",
]

Row = TypeVar("Row", GridAreaRow, ConnectionPointRow, UnitRow, GroupRow)
_KINDS: Final[dict[type[Any], str]] = {
    GridAreaRow: "GridArea",
    ConnectionPointRow: "ConnectionPoint",
    UnitRow: "Unit",
    GroupRow: "Group",
}


def conflict(kind: str, object_id: str) -> ServiceProblem:
    """The 409 problem of registering ``kind`` ``object_id`` twice."""
    return ServiceProblem(
        409,
        f"{kind} {object_id!r} is already registered",
        [
            Issue(
                kind=kind,
                object_id=object_id,
                field="id",
                value=object_id,
                message="is already registered",
            )
        ],
    )


def operator_of(party: PartyRow) -> SystemOperator:
    """The domain system operator of a TSO or DSO party."""
    return SystemOperator(id=party.id, name=party.name, role=party.role)  # type: ignore[arg-type]


def get_owned(session: Session, table: type[Row], owner_id: str, object_id: str) -> Row:
    """The owner's object ``object_id``.

    Raises:
        NotFoundError: none, or another party's (the same words either way).
    """
    row = session.execute(
        select(table).where(table.owner_id == owner_id, table.id == object_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"{_KINDS[table]} {object_id!r} is not registered")
    return row


def list_owned(
    session: Session,
    table: type[Row],
    owner_id: str,
    *,
    limit: int,
    offset: int,
    **filters: str | None,
) -> Sequence[Row]:
    """The owner's objects in id order (``filters``: column equals value, ``None`` ignored)."""
    query = select(table).where(table.owner_id == owner_id)
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(table, column) == value)
    return session.execute(query.order_by(table.id).limit(limit).offset(offset)).scalars().all()


def add_grid_area(
    session: Session, owner: PartyRow, body: GridAreaModel, *, now: datetime
) -> GridAreaRow:
    """Register a grid area of the operator ``owner``."""
    area = body.to_domain(owner.id)
    Register(operators=(operator_of(owner),), areas=(area,))
    if session.get(GridAreaRow, area.id) is not None:
        raise conflict("GridArea", area.id)
    row = GridAreaRow(
        id=area.id, owner_id=owner.id, spec=body.model_dump(mode="json"), created_at=now
    )
    session.add(row)
    session.flush()
    return row


def area_of(row: GridAreaRow) -> GridArea:
    """The domain grid area of a stored one."""
    return GridAreaModel.model_validate(row.spec).to_domain(row.owner_id)


def add_connection_point(
    session: Session, owner: PartyRow, body: ConnectionPointModel, *, now: datetime
) -> ConnectionPointRow:
    """Register a connection point on one of the operator's own grid areas."""
    point = body.to_domain()
    area = session.get(GridAreaRow, point.area_id)
    own_areas = (area_of(area),) if area is not None and area.owner_id == owner.id else ()
    Register(operators=(operator_of(owner),), areas=own_areas, connection_points=(point,))
    if session.get(ConnectionPointRow, point.id) is not None:
        raise conflict("ConnectionPoint", point.id)
    row = ConnectionPointRow(
        id=point.id,
        owner_id=owner.id,
        area_id=point.area_id,
        spec=body.model_dump(mode="json"),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _units(session: Session, owner_id: str, unit_ids: Iterable[str]) -> list[Unit]:
    rows = session.scalars(
        select(UnitRow).where(UnitRow.owner_id == owner_id, UnitRow.id.in_(set(unit_ids)))
    )
    return [UnitModel.model_validate(r.spec).to_domain(owner_id) for r in rows]


def _groups_holding(session: Session, owner_id: str, unit_ids: Iterable[str]) -> list[Group]:
    holding = select(GroupMemberRow.group_id).where(
        GroupMemberRow.owner_id == owner_id, GroupMemberRow.unit_id.in_(set(unit_ids))
    )
    rows = session.scalars(
        select(GroupRow).where(GroupRow.owner_id == owner_id, GroupRow.id.in_(holding))
    )
    return [GroupModel.model_validate(r.spec).to_domain(owner_id) for r in rows]


def _portfolio(
    session: Session,
    owner: PartyRow,
    *,
    new_units: Sequence[Unit] = (),
    new_groups: Sequence[Group] = (),
) -> Register:
    """The part of the FSP's register the new objects touch, with the new objects: the units
    of the new groups, every group already holding one of them (and those groups' units), and
    the connection points, areas and operators all these units refer to. Every rule of the
    :class:`~flexcoord.domain.Register` about the new objects is decided within this part: a
    new unit is in no group yet, and a group's rules involve only its units and the groups
    sharing them. (Loading only this part keeps an add independent of the portfolio's size.)"""
    member_ids = {u for g in new_groups for u in g.unit_ids}
    groups = _groups_holding(session, owner.id, member_ids)
    member_ids |= {u for g in groups for u in g.unit_ids}
    units = [*_units(session, owner.id, member_ids), *new_units]
    groups += new_groups
    return _register_of(session, owner, units, groups)


def resources_register(  # noqa: PLR0913 - the store, the owner, the ids, products, two kinds of records
    session: Session,
    owner: PartyRow,
    resource_ids: Iterable[str],
    products: Sequence[Product],
    prequalifications: Sequence[ProductPrequalification] = (),
    grid_prequalifications: Sequence[GridPrequalification] = (),
) -> Register:
    """The register a bid of the FSP ``owner`` is checked against: the owner's units and
    groups among ``resource_ids`` (with the groups' units), what they refer to, ``products``,
    and those of ``prequalifications`` and ``grid_prequalifications`` whose resource is among
    them (with their procuring and impacted operators). Another FSP's resource is not in it,
    exactly as an unknown one."""
    ids = set(resource_ids)
    group_rows = session.scalars(
        select(GroupRow).where(GroupRow.owner_id == owner.id, GroupRow.id.in_(ids))
    )
    groups = [GroupModel.model_validate(r.spec).to_domain(owner.id) for r in group_rows]
    units = _units(session, owner.id, ids | {u for g in groups for u in g.unit_ids})
    known = {u.id for u in units} | {g.id for g in groups}
    records = tuple(pq for pq in prequalifications if pq.resource_id in known)
    grid_records = tuple(g for g in grid_prequalifications if g.resource_id in known)
    operator_ids = {pq.procuring_operator_id for pq in records}
    operator_ids |= {g.impacted_operator_id for g in grid_records}
    register = _register_of(session, owner, units, groups, products, operator_ids)
    if not (records or grid_records):
        return register
    return replace(register, product_prequalifications=records, grid_prequalifications=grid_records)


def placement_register(session: Session, owner: PartyRow, resource_ids: Iterable[str]) -> Register:
    """The FSP's resources among ``resource_ids`` with what they refer to, and every registered
    grid area and system operator: where the resources sit in the grid, and which TSO areas
    name their coupling points (:meth:`~flexcoord.domain.Register.impacted_operator_ids`)."""
    base = resources_register(session, owner, resource_ids, [])
    areas = session.scalars(select(GridAreaRow).order_by(GridAreaRow.id)).all()
    operators = session.scalars(
        select(PartyRow).where(PartyRow.role.in_([Role.TSO.value, Role.DSO.value]))
    ).all()
    return replace(
        base,
        areas=tuple(area_of(a) for a in areas),
        operators=tuple(operator_of(p) for p in operators),
    )


def _register_of(  # noqa: PLR0913 - the store, the owner, its resources, products, operators
    session: Session,
    owner: PartyRow,
    units: Sequence[Unit],
    groups: Sequence[Group],
    products: Sequence[Product] = (),
    operator_ids: Iterable[str] = (),
) -> Register:
    point_rows = session.scalars(
        select(ConnectionPointRow).where(
            ConnectionPointRow.id.in_({u.connection_point_id for u in units})
        )
    ).all()
    area_rows = session.scalars(
        select(GridAreaRow).where(GridAreaRow.id.in_({p.area_id for p in point_rows}))
    ).all()
    operators = session.scalars(
        select(PartyRow).where(
            PartyRow.id.in_({a.owner_id for a in area_rows} | set(operator_ids)),
            PartyRow.role.in_([Role.TSO.value, Role.DSO.value]),
        )
    ).all()
    points: list[ConnectionPoint] = [
        ConnectionPointModel.model_validate(p.spec).to_domain() for p in point_rows
    ]
    return Register(
        fsps=(FlexibilityServiceProvider(id=owner.id, name=owner.name),),
        operators=tuple(operator_of(p) for p in operators),
        areas=tuple(area_of(a) for a in area_rows),
        connection_points=tuple(points),
        units=tuple(units),
        groups=tuple(groups),
        products=tuple(products),
    )


def _check_new_resource_id(session: Session, owner_id: str, kind: str, object_id: str) -> None:
    for table in (UnitRow, GroupRow):
        if session.get(table, (owner_id, object_id)) is not None:
            raise conflict(kind, object_id)


def add_unit(session: Session, owner: PartyRow, body: UnitModel, *, now: datetime) -> UnitRow:
    """Register a unit of the FSP ``owner`` (at any registered connection point)."""
    unit = body.to_domain(owner.id)
    _check_new_resource_id(session, owner.id, "Unit", unit.id)
    _portfolio(session, owner, new_units=[unit])
    row = UnitRow(
        owner_id=owner.id,
        id=unit.id,
        connection_point_id=unit.connection_point_id,
        spec=body.model_dump(mode="json"),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def add_group(session: Session, owner: PartyRow, body: GroupModel, *, now: datetime) -> GroupRow:
    """Register a group of the FSP's own units (the register's group rules decide)."""
    group = body.to_domain(owner.id)
    _check_new_resource_id(session, owner.id, "Group", group.id)
    _portfolio(session, owner, new_groups=[group])
    row = GroupRow(
        owner_id=owner.id, id=group.id, spec=body.model_dump(mode="json"), created_at=now
    )
    session.add(row)
    session.flush()
    session.add_all(
        GroupMemberRow(owner_id=owner.id, group_id=group.id, unit_id=u) for u in group.unit_ids
    )
    session.flush()
    return row


def _refuse_if_bid(session: Session, owner_id: str, kind: str, resource_id: str) -> None:
    """A 409 while a submitted bid names the resource (a sealed session's bids are kept for
    clearing and settlement, so their resources stay registered)."""
    session_id = session.execute(
        select(BidRow.session_id).where(
            BidRow.owner_id == owner_id,
            BidRow.resource_id == resource_id,
            BidRow.status == "submitted",
        )
    ).scalar()
    if session_id is None:
        return
    raise ServiceProblem(
        409,
        f"{kind} {resource_id!r} has submitted bids in session {session_id!r}",
        [
            Issue(
                kind=kind,
                object_id=resource_id,
                field="id",
                value=resource_id,
                message=f"has submitted bids in session {session_id!r}",
            )
        ],
    )


def delete_unit(session: Session, owner_id: str, unit_id: str) -> None:
    """Delete the FSP's unit; refused while a group holds it or a submitted bid names it."""
    row = get_owned(session, UnitRow, owner_id, unit_id)
    _refuse_if_bid(session, owner_id, "Unit", unit_id)
    member = session.execute(
        select(GroupMemberRow.group_id).where(
            GroupMemberRow.owner_id == owner_id, GroupMemberRow.unit_id == unit_id
        )
    ).scalar()
    if member is not None:
        raise ServiceProblem(
            409,
            f"Unit {unit_id!r} is in group {member!r}",
            [
                Issue(
                    kind="Unit",
                    object_id=unit_id,
                    field="id",
                    value=unit_id,
                    message=f"is in group {member!r}: delete the group first",
                )
            ],
        )
    session.delete(row)
    session.flush()


def delete_group(session: Session, owner_id: str, group_id: str) -> None:
    """Delete the FSP's group (its units stay registered); refused while a submitted bid
    names it."""
    row = get_owned(session, GroupRow, owner_id, group_id)
    _refuse_if_bid(session, owner_id, "Group", group_id)
    for member in session.scalars(
        select(GroupMemberRow).where(
            GroupMemberRow.owner_id == owner_id, GroupMemberRow.group_id == group_id
        )
    ):
        session.delete(member)
    session.flush()
    session.delete(row)
    session.flush()


def grid_register(session: Session, buyer: PartyRow, products: Sequence[Product]) -> Register:
    """The operator ``buyer``, every registered grid area with its operator, and
    ``products``: what a need is checked against (it may name any registered area or
    coupling point)."""
    area_rows = session.scalars(select(GridAreaRow)).all()
    operators = session.scalars(
        select(PartyRow).where(PartyRow.id.in_({a.owner_id for a in area_rows} | {buyer.id}))
    ).all()
    return Register(
        operators=tuple(operator_of(p) for p in operators),
        areas=tuple(area_of(a) for a in area_rows),
        products=tuple(products),
    )
