"""flexcoord as UFTP's Common Reference Operator: the portfolio messages of DSOs and AGRs,
checked against and answered from the register (grid areas, connection points, units).

- **DSOPortfolioUpdate** (a DSO): every congestion point must be one of the UFTP market's and
  the sender's (its grid area, or every connection point the register places there); every
  connection a register connection point of the sender, in that congestion point. Accepted: the
  register agrees; nothing is written (the register changes through its own routes, never over
  UFTP). Any mismatch rejects the whole message.
- **DSOPortfolioQuery** (a DSO): the congestion point's connections from the register, each
  with the UFTP domain of the AGR that has a unit there.
- **AGRPortfolioUpdate** (an AGR): every connection a register connection point at which the
  sender has a unit. Accepted: nothing is written, as above.
- **AGRPortfolioQuery** (an AGR): its connections (the connection points of its units) per
  DSO and congestion point; those in no congestion point of a DSO known over UFTP on their own.
  An AGR with no connection in any congestion point cannot be answered (the response needs a
  DSO portfolio): refused, as every AGRPortfolioQuery rejected, with HTTP 400 and the reason
  (:mod:`~flexcoord.service.uftp_endpoint`).

A DSO message must come signed as a DSO from a DSO party, an AGR message as an AGR from an FSP
("Invalid Sender Role" otherwise). Each function raises on any issue; the endpoint rejects the
message and rolls back (nothing is written in any case).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import ConnectionPoint, Location, LocationKind
from flexcoord.errors import Issue
from flexcoord.schemas import ConnectionPointModel
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.roles import Role
from flexcoord.service.tables import ConnectionPointRow, GridAreaRow, PartyRow, UnitRow
from flexcoord.standards import uftp

if TYPE_CHECKING:
    from flexcoord.service.uftp_endpoint import UftpEndpoint

__all__ = ["PORTFOLIO_MESSAGES", "portfolio_message"]

#: The CRO's messages: the package's class name → (the UFTP message name, the sender's UFTP
#: role, its register role).
PORTFOLIO_MESSAGES = {
    "DsoPortfolioUpdate": ("DSOPortfolioUpdate", "DSO", Role.DSO),
    "DsoPortfolioQuery": ("DSOPortfolioQuery", "DSO", Role.DSO),
    "AgrPortfolioUpdate": ("AGRPortfolioUpdate", "AGR", Role.FSP),
    "AgrPortfolioQuery": ("AGRPortfolioQuery", "AGR", Role.FSP),
}


def _sender(session: Session, endpoint: UftpEndpoint, msg: Any, role: str) -> PartyRow:
    """The sending party, if it sent in the role the message belongs to."""
    name, uftp_role, register_role = PORTFOLIO_MESSAGES[type(msg).__name__]
    if role != uftp_role:
        raise ServiceProblem(
            422, f"Invalid Sender Role: {name} is sent in role {uftp_role}, not {role}"
        )
    party_id = endpoint.market.party_of(msg.sender_domain or "", name)
    party = session.get(PartyRow, party_id)
    if party is None or party.role != register_role.value:
        raise ServiceProblem(
            422, f"Invalid Sender Role: {party_id} is not a registered {register_role.value}"
        )
    return party


def _mismatch(name: str, issues: list[Issue]) -> ServiceProblem:
    return ServiceProblem(422, f"Invalid Message: {name} does not match the register", issues)


def _issue(name: str, field: str, value: str, text: str) -> Issue:
    return Issue(kind=name, object_id=name, field=field, value=value, message=f"{value} {text}")


def _point(row: ConnectionPointRow) -> ConnectionPoint:
    return ConnectionPointModel.model_validate(row.spec).to_domain()


def _held(session: Session, location: Location) -> list[ConnectionPointRow]:
    """The register's connection points in the congestion point at ``location``, by id."""
    query = select(ConnectionPointRow).order_by(ConnectionPointRow.id)
    if location.kind is LocationKind.AREA:
        query = query.where(ConnectionPointRow.area_id == location.area_id)
    return [r for r in session.scalars(query) if uftp.holds(location, _point(r))]


def _operator(session: Session, location: Location) -> str | None:
    """The operator of the congestion point: its grid area's, or the one operator of every
    connection point the register places in it (``None``: none, or several)."""
    if location.kind is LocationKind.AREA:
        area = session.get(GridAreaRow, location.area_id)
        return None if area is None else area.owner_id
    owners = {r.owner_id for r in _held(session, location)}
    return owners.pop() if len(owners) == 1 else None


def _time_zone(msg: Any, endpoint: UftpEndpoint) -> None:
    if msg.time_zone != endpoint.market.time_zone:
        raise ServiceProblem(
            422, f"Invalid Message: TimeZone {msg.time_zone} is not {endpoint.market.time_zone}"
        )


def _dso_update(session: Session, endpoint: UftpEndpoint, msg: Any, dso: PartyRow) -> None:
    name = "DSOPortfolioUpdate"
    issues = []
    for p in uftp.points_from_dso_portfolio_update(msg, endpoint.market):
        location = endpoint.market.congestion_points[p.address]
        if _operator(session, location) != dso.id:
            issues.append(_issue(name, "CongestionPoint", p.address, f"is not {dso.id}'s"))
            continue
        for c in p.connections:
            address = uftp.connection_address(c.connection_point_id)
            row = session.get(ConnectionPointRow, c.connection_point_id)
            if row is None:
                issues.append(_issue(name, "Connection", address, "is not in the register"))
            elif row.owner_id != dso.id:
                issues.append(_issue(name, "Connection", address, f"is not {dso.id}'s"))
            elif not uftp.holds(location, _point(row)):
                text = f"is not in congestion point {p.address}"
                issues.append(_issue(name, "Connection", address, text))
    if issues:
        raise _mismatch(name, issues)


def _agrs_at(session: Session, endpoint: UftpEndpoint, point_ids: Iterable[str]) -> dict[str, str]:
    """Connection point → the UFTP domain of the AGR with a unit there (of several, the first
    by party id; an FSP without a UFTP domain is not named)."""
    rows = session.scalars(
        select(UnitRow)
        .where(UnitRow.connection_point_id.in_(list(point_ids)))
        .order_by(UnitRow.owner_id, UnitRow.id)
    )
    found: dict[str, str] = {}
    for unit in rows:
        domain = endpoint.market.domains.get(unit.owner_id)
        if domain is not None:
            found.setdefault(unit.connection_point_id, domain)
    return found


def _dso_query(session: Session, endpoint: UftpEndpoint, msg: Any, dso: PartyRow) -> dict[str, Any]:
    _time_zone(msg, endpoint)
    location = endpoint.market.location_of(msg.entity_address, "DSOPortfolioQuery")
    if _operator(session, location) != dso.id:
        raise ServiceProblem(422, f"Unknown Reference: {msg.entity_address} is not {dso.id}'s")
    held = [r.id for r in _held(session, location)]
    if not held:  # the response's CongestionPoint needs a connection
        raise ServiceProblem(422, f"Unknown Reference: {msg.entity_address} has no connection")
    agrs = _agrs_at(session, endpoint, held)
    point = uftp.PortfolioPoint(
        address=msg.entity_address,
        connections=tuple(
            uftp.PortfolioConnection(connection_point_id=i, agr_domain=agrs.get(i)) for i in held
        ),
    )
    return uftp.dso_portfolio_query_answer(point)


def _agr_points(session: Session, agr: PartyRow) -> list[ConnectionPointRow]:
    ids = set(
        session.scalars(select(UnitRow.connection_point_id).where(UnitRow.owner_id == agr.id))
    )
    return list(
        session.scalars(
            select(ConnectionPointRow)
            .where(ConnectionPointRow.id.in_(ids))
            .order_by(ConnectionPointRow.id)
        )
    )


def _agr_update(session: Session, endpoint: UftpEndpoint, msg: Any, agr: PartyRow) -> None:
    name = "AGRPortfolioUpdate"
    mine = {r.id for r in _agr_points(session, agr)}
    issues = []
    for point_id in uftp.connections_from_agr_portfolio_update(msg, endpoint.market):
        address = uftp.connection_address(point_id)
        if session.get(ConnectionPointRow, point_id) is None:
            issues.append(_issue(name, "Connection", address, "is not in the register"))
        elif point_id not in mine:
            issues.append(_issue(name, "Connection", address, f"has no unit of {agr.id}"))
    if issues:
        raise _mismatch(name, issues)


def _agr_query(session: Session, endpoint: UftpEndpoint, msg: Any, agr: PartyRow) -> dict[str, Any]:
    _time_zone(msg, endpoint)
    rows = _agr_points(session, agr)
    by_dso: dict[str, list[uftp.PortfolioPoint]] = defaultdict(list)
    placed: set[str] = set()
    for address, location in sorted(endpoint.market.congestion_points.items()):
        held = [r for r in rows if uftp.holds(location, _point(r))]
        domain = endpoint.market.domains.get(_operator(session, location) or "")
        if not held or domain is None:
            continue
        by_dso[domain].append(
            uftp.PortfolioPoint(
                address=address,
                connections=tuple(uftp.PortfolioConnection(connection_point_id=r.id) for r in held),
            )
        )
        placed |= {r.id for r in held}
    if not by_dso:  # the response's DSO-View needs a DSO portfolio
        raise ServiceProblem(
            422, f"Unknown Reference: {agr.id} has no connection in a congestion point"
        )
    outside = [r.id for r in rows if r.id not in placed]
    return uftp.agr_portfolio_query_answer(sorted(by_dso.items()), outside)


def portfolio_message(
    session: Session, endpoint: UftpEndpoint, msg: Any, role: str
) -> dict[str, Any]:
    """Check or answer one CRO message (module docstring); the response's own fields (a
    query's answer; an update has none). Raises on any issue."""
    sender = _sender(session, endpoint, msg, role)
    name = PORTFOLIO_MESSAGES[type(msg).__name__][0]
    if name == "DSOPortfolioUpdate":
        _dso_update(session, endpoint, msg, sender)
        return {}
    if name == "AGRPortfolioUpdate":
        _agr_update(session, endpoint, msg, sender)
        return {}
    if name == "DSOPortfolioQuery":
        return _dso_query(session, endpoint, msg, sender)
    return _agr_query(session, endpoint, msg, sender)
