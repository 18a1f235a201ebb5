"""The CRO's messages: the register's congestion points and connections ↔ the portfolio
updates and queries of the DSOs and AGRs (UFTP's Common Reference Operator role).

A UFTP *congestion point* is an entity address of :attr:`UftpMarket.congestion_points`; the
connection points it holds are the register's (:func:`holds`: those of its grid area, its buses
or behind its coupling point). A UFTP *connection* is a register connection point, its
EntityAddress ``ean.<connection point id>`` (the register's id is the connection's EAN). What a
portfolio says about periods and redispatch is not in the register: see :data:`NOT_CARRIED`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from shapeshifter_uftp.uftp import (
    AgrPortfolioQueryResponseCongestionPoint,
    AgrPortfolioQueryResponseConnection,
    AgrPortfolioQueryResponseDSOPortfolio,
    AgrPortfolioQueryResponseDSOView,
    AgrPortfolioUpdate,
    DsoPortfolioQueryCongestionPoint,
    DsoPortfolioQueryConnection,
    DsoPortfolioUpdate,
    RedispatchBy,
)

from flexcoord.domain import ConnectionPoint, Location, LocationKind
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.standards.uftp._common import UftpMarket

__all__ = [
    "MUTEX_OFFERS_SUPPORTED",
    "PortfolioConnection",
    "PortfolioPoint",
    "agr_portfolio_query_answer",
    "connection_address",
    "connection_point_id",
    "connections_from_agr_portfolio_update",
    "dso_portfolio_query_answer",
    "holds",
    "points_from_dso_portfolio_update",
]

#: What flexcoord states for every congestion point: a FlexOffer's options are one exclusive
#: set, so mutually exclusive offers are supported; the DSO redispatches (it buys the flexibility).
MUTEX_OFFERS_SUPPORTED: Final = True
_REDISPATCH_BY: Final = RedispatchBy.DSO
_EAN: Final = "ean."


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioConnection:
    """A connection of a portfolio: the register's connection point and, if an AGR with a UFTP
    domain has a unit there, that domain."""

    connection_point_id: str
    agr_domain: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioPoint:
    """A congestion point (entity address) with its connections."""

    address: str
    connections: tuple[PortfolioConnection, ...]


def connection_address(connection_point_id: str) -> str:
    """The EntityAddress of a register connection point (``ean.<id>``)."""
    return (
        connection_point_id if connection_point_id.startswith(_EAN) else _EAN + connection_point_id
    )


def connection_point_id(address: str) -> str:
    """The register connection point an EntityAddress names (``ean.`` dropped)."""
    return address.removeprefix(_EAN)


def holds(location: Location, point: ConnectionPoint) -> bool:
    """Whether the congestion point at ``location`` holds connection point ``point``."""
    if location.kind is LocationKind.AREA:
        return point.area_id == location.area_id
    if location.kind is LocationKind.COUPLING_POINT:
        return point.coupling_point_id == location.coupling_point_id
    return point.bus in location.bus_ids


def _issue(message: str, field: str, value: object, text: str) -> Issue:
    return Issue(
        kind=message, object_id=message, field=field, value=value, message=f"{value} {text}"
    )


def _time_zone(msg: Any, market: UftpMarket, name: str) -> list[Issue]:
    if msg.time_zone != market.time_zone:
        return [_issue(name, "TimeZone", msg.time_zone, f"is not the market's {market.time_zone}")]
    return []


def points_from_dso_portfolio_update(
    msg: DsoPortfolioUpdate, market: UftpMarket
) -> tuple[PortfolioPoint, ...]:
    """The congestion points and connections a DSOPortfolioUpdate states (connections by
    register id; no AGR domain: the DSO does not say). Every congestion point must be one of
    the market's; a congestion point or connection given twice is refused.

    Raises:
        InvalidInputError: Every issue (the message, the attribute and the value named).
    """
    name = "DSOPortfolioUpdate"
    issues = _time_zone(msg, market, name)
    points = []
    for cp in msg.congestion_points:
        if cp.entity_address not in market.congestion_points:
            issues.append(
                _issue(
                    name, "CongestionPoint", cp.entity_address, "is not a known congestion point"
                )
            )
        addresses = [c.entity_address for c in cp.connections]
        issues += [  # twice in one congestion point (congestion points may overlap)
            _issue(name, "Connection", a, f"is given twice in {cp.entity_address}")
            for i, a in enumerate(addresses)
            if a in addresses[:i]
        ]
        points.append(
            PortfolioPoint(
                address=cp.entity_address,
                connections=tuple(
                    PortfolioConnection(connection_point_id=connection_point_id(a))
                    for a in addresses
                ),
            )
        )
    given = [p.address for p in points]
    issues += [
        _issue(name, "CongestionPoint", a, "is given twice")
        for i, a in enumerate(given)
        if a in given[:i]
    ]
    if issues:
        raise InvalidInputError(issues)
    return tuple(points)


def connections_from_agr_portfolio_update(
    msg: AgrPortfolioUpdate, market: UftpMarket
) -> tuple[str, ...]:
    """The register connection points an AGRPortfolioUpdate states.

    Raises:
        InvalidInputError: The time zone is not the market's, or a connection is given twice.
    """
    name = "AGRPortfolioUpdate"
    issues = _time_zone(msg, market, name)
    addresses = [c.entity_address for c in msg.connections]
    issues += [
        _issue(name, "Connection", a, "is given twice")
        for i, a in enumerate(addresses)
        if a in addresses[:i]
    ]
    if issues:
        raise InvalidInputError(issues)
    return tuple(connection_point_id(a) for a in addresses)


def dso_portfolio_query_answer(point: PortfolioPoint) -> dict[str, Any]:
    """The DSOPortfolioQueryResponse's CongestionPoint: its connections, each with the domain
    of the AGR serving it (if one is known over UFTP)."""
    return {
        "congestion_point": DsoPortfolioQueryCongestionPoint(
            entity_address=point.address,
            connections=[
                DsoPortfolioQueryConnection(
                    entity_address=connection_address(c.connection_point_id),
                    agr_domain=c.agr_domain,
                )
                for c in point.connections
            ],
        )
    }


def agr_portfolio_query_answer(
    portfolios: Sequence[tuple[str, Sequence[PortfolioPoint]]], outside: Sequence[str]
) -> dict[str, Any]:
    """The AGRPortfolioQueryResponse's DSO-View: per DSO domain its congestion points with
    the AGR's connections there, and the AGR's connections in no congestion point of a DSO
    known over UFTP (``outside``, register ids)."""

    def connections(ids: Sequence[str]) -> list[AgrPortfolioQueryResponseConnection]:
        return [
            AgrPortfolioQueryResponseConnection(entity_address=connection_address(i)) for i in ids
        ]

    view = AgrPortfolioQueryResponseDSOView(
        dso_portfolios=[
            AgrPortfolioQueryResponseDSOPortfolio(
                dso_domain=domain,
                congestion_points=[
                    AgrPortfolioQueryResponseCongestionPoint(
                        entity_address=p.address,
                        connections=connections([c.connection_point_id for c in p.connections]),
                        mutex_offers_supported=MUTEX_OFFERS_SUPPORTED,
                        day_ahead_redispatch_by=_REDISPATCH_BY,
                    )
                    for p in points
                ],
            )
            for domain, points in portfolios
        ],
        connections=connections(outside),
    )
    return {"dso_views": [view]}
