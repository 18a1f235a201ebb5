"""Who may do what: the parties' roles, the service's operations, and the table joining them.

The table :data:`PERMISSIONS` is data: the routers look an operation up in it and nothing else
decides whether a role may call an endpoint (ownership is a second, separate check: a permitted
call on a foreign object answers 404). ``docs/service.md`` prints the same table and
``tests/service/test_roles.py`` calls every operation with every role against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = ["PERMISSIONS", "Operation", "Role", "allowed"]


class Role(StrEnum):
    """The role of a party on the platform (one role per party)."""

    TSO = "tso"
    DSO = "dso"
    FSP = "fsp"
    MARKET_OPERATOR = "market_operator"
    ADMIN = "admin"


class Operation(StrEnum):
    """Every authenticated operation of the API; the value is the route's name in OpenAPI."""

    PARTY_CREATE = "party.create"
    PARTY_LIST = "party.list"
    PARTY_READ = "party.read"
    CREDENTIAL_ISSUE = "credential.issue"
    CREDENTIAL_ROTATE = "credential.rotate"
    CREDENTIAL_REVOKE = "credential.revoke"
    WHOAMI = "whoami"
    GRID_AREA_CREATE = "grid_area.create"
    GRID_AREA_LIST = "grid_area.list"
    GRID_AREA_READ = "grid_area.read"
    CONNECTION_POINT_CREATE = "connection_point.create"
    CONNECTION_POINT_LIST = "connection_point.list"
    CONNECTION_POINT_READ = "connection_point.read"
    UNIT_CREATE = "unit.create"
    UNIT_LIST = "unit.list"
    UNIT_READ = "unit.read"
    UNIT_DELETE = "unit.delete"
    GROUP_CREATE = "group.create"
    GROUP_LIST = "group.list"
    GROUP_READ = "group.read"
    GROUP_DELETE = "group.delete"


_ALL: Final = frozenset(Role)
_OPERATORS: Final = frozenset({Role.TSO, Role.DSO})
_FSP: Final = frozenset({Role.FSP})
_ADMIN: Final = frozenset({Role.ADMIN})

#: The role → operation table: the roles allowed to call each operation.
PERMISSIONS: Final[Mapping[Operation, frozenset[Role]]] = MappingProxyType(
    {
        Operation.PARTY_CREATE: _ADMIN,
        Operation.PARTY_LIST: _ADMIN,
        Operation.PARTY_READ: _ADMIN,
        Operation.CREDENTIAL_ISSUE: _ADMIN,
        Operation.CREDENTIAL_ROTATE: _ALL,
        Operation.CREDENTIAL_REVOKE: _ALL,
        Operation.WHOAMI: _ALL,
        Operation.GRID_AREA_CREATE: _OPERATORS,
        Operation.GRID_AREA_LIST: _OPERATORS,
        Operation.GRID_AREA_READ: _OPERATORS,
        Operation.CONNECTION_POINT_CREATE: _OPERATORS,
        Operation.CONNECTION_POINT_LIST: _OPERATORS,
        Operation.CONNECTION_POINT_READ: _OPERATORS,
        Operation.UNIT_CREATE: _FSP,
        Operation.UNIT_LIST: _FSP,
        Operation.UNIT_READ: _FSP,
        Operation.UNIT_DELETE: _FSP,
        Operation.GROUP_CREATE: _FSP,
        Operation.GROUP_LIST: _FSP,
        Operation.GROUP_READ: _FSP,
        Operation.GROUP_DELETE: _FSP,
    }
)


def allowed(role: Role, operation: Operation) -> bool:
    """Whether ``role`` may call ``operation``.

    Example:
        >>> allowed(Role.FSP, Operation.UNIT_CREATE), allowed(Role.DSO, Operation.UNIT_CREATE)
        (True, False)
    """
    return role in PERMISSIONS[operation]
