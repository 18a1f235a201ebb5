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
    PRODUCT_CREATE = "product.create"
    PRODUCT_LIST = "product.list"
    PRODUCT_READ = "product.read"
    SESSION_CREATE = "session.create"
    SESSION_LIST = "session.list"
    SESSION_READ = "session.read"
    NEED_CREATE = "need.create"
    NEED_LIST = "need.list"
    BID_SUBMIT = "bid.submit"
    BID_SUBMIT_BULK = "bid.submit_bulk"
    BID_SUBMIT_DOCUMENT = "bid.submit_document"
    BID_REPLACE = "bid.replace"
    BID_WITHDRAW = "bid.withdraw"
    BID_LIST = "bid.list"
    BID_READ = "bid.read"
    PREQUALIFICATION_APPLY = "prequalification.apply"
    PREQUALIFICATION_LIST = "prequalification.list"
    PREQUALIFICATION_READ = "prequalification.read"
    PREQUALIFICATION_DECIDE = "prequalification.decide"
    CLEARING_READ = "clearing.read"
    AWARD_LIST = "award.list"
    ACTIVATION_LIST = "activation.list"
    ACTIVATION_DOCUMENT = "activation.document"
    ACTIVATION_RESPOND_DOCUMENT = "activation.respond_document"
    ALLOCATION_DOCUMENT = "allocation.document"
    METER_UPLOAD = "meter.upload"
    SETTLEMENT_RUN = "settlement.run"
    SETTLEMENT_READ = "settlement.read"
    STATEMENT_READ = "statement.read"
    BROKER_CREDENTIAL_ISSUE = "broker_credential.issue"
    MESSAGE_LIST = "message.list"
    MESSAGE_READ = "message.read"
    MESSAGE_ACK = "message.ack"
    METRICS_READ = "metrics.read"
    GRID_PREQUALIFICATION_LIST = "grid_prequalification.list"
    GRID_PREQUALIFICATION_READ = "grid_prequalification.read"
    GRID_PREQUALIFICATION_DECIDE = "grid_prequalification.decide"
    INTERFACE_OFFERS_READ = "interface_offers.read"
    UFTP_PARTICIPANT_LIST = "uftp_participant.list"
    UFTP_KEY_ADD = "uftp_key.add"
    UFTP_KEY_RETIRE = "uftp_key.retire"
    UFTP_OUTBOX_LIST = "uftp_outbox.list"
    UFTP_OUTBOX_RESEND = "uftp_outbox.resend"
    UFTP_OUTBOX_CANCEL = "uftp_outbox.cancel"
    UFTP_OWN_KEY_ROTATE = "uftp_own_key.rotate"


_ALL: Final = frozenset(Role)
_OPERATORS: Final = frozenset({Role.TSO, Role.DSO})
_FSP: Final = frozenset({Role.FSP})
_ADMIN: Final = frozenset({Role.ADMIN})
_MARKET_OPERATOR: Final = frozenset({Role.MARKET_OPERATOR})
#: The roles that trade: they read products and sessions.
_TRADERS: Final = frozenset({Role.TSO, Role.DSO, Role.FSP, Role.MARKET_OPERATOR})
#: Operators read their own needs in full, the market operator every need in full, FSPs every
#: need without the grid topology (``docs/service.md``, *What FSPs see of needs*).
_NEED_READERS: Final = frozenset({Role.TSO, Role.DSO, Role.FSP, Role.MARKET_OPERATOR})
_BID_READERS: Final = frozenset({Role.FSP, Role.MARKET_OPERATOR})

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
        Operation.PRODUCT_CREATE: _MARKET_OPERATOR,
        Operation.PRODUCT_LIST: _TRADERS,
        Operation.PRODUCT_READ: _TRADERS,
        Operation.SESSION_CREATE: _MARKET_OPERATOR,
        Operation.SESSION_LIST: _TRADERS,
        Operation.SESSION_READ: _TRADERS,
        Operation.NEED_CREATE: _OPERATORS,
        Operation.NEED_LIST: _NEED_READERS,
        Operation.BID_SUBMIT: _FSP,
        Operation.BID_SUBMIT_BULK: _FSP,
        Operation.BID_SUBMIT_DOCUMENT: _FSP,
        Operation.BID_REPLACE: _FSP,
        Operation.BID_WITHDRAW: _FSP,
        Operation.BID_LIST: _BID_READERS,
        Operation.BID_READ: _FSP,
        Operation.PREQUALIFICATION_APPLY: _FSP,
        Operation.PREQUALIFICATION_LIST: _OPERATORS | _FSP,
        Operation.PREQUALIFICATION_READ: _OPERATORS | _FSP,
        Operation.PREQUALIFICATION_DECIDE: _OPERATORS,
        Operation.CLEARING_READ: _TRADERS,
        Operation.AWARD_LIST: _TRADERS,
        Operation.ACTIVATION_LIST: _TRADERS,
        Operation.ACTIVATION_DOCUMENT: _TRADERS,
        Operation.ACTIVATION_RESPOND_DOCUMENT: _FSP,
        Operation.ALLOCATION_DOCUMENT: _TRADERS,
        Operation.METER_UPLOAD: _FSP,
        Operation.SETTLEMENT_RUN: _MARKET_OPERATOR,
        Operation.SETTLEMENT_READ: _TRADERS,
        Operation.STATEMENT_READ: _TRADERS,
        Operation.BROKER_CREDENTIAL_ISSUE: _ADMIN,
        Operation.MESSAGE_LIST: _TRADERS,
        Operation.MESSAGE_READ: _TRADERS,
        Operation.MESSAGE_ACK: _TRADERS,
        Operation.METRICS_READ: _ADMIN,
        Operation.GRID_PREQUALIFICATION_LIST: _OPERATORS | _FSP,
        Operation.GRID_PREQUALIFICATION_READ: _OPERATORS | _FSP,
        Operation.GRID_PREQUALIFICATION_DECIDE: _OPERATORS,
        Operation.INTERFACE_OFFERS_READ: _OPERATORS,
        Operation.UFTP_PARTICIPANT_LIST: _ADMIN,
        Operation.UFTP_KEY_ADD: _ADMIN,
        Operation.UFTP_KEY_RETIRE: _ADMIN,
        Operation.UFTP_OUTBOX_LIST: _ADMIN | _MARKET_OPERATOR,
        Operation.UFTP_OUTBOX_RESEND: _ADMIN,
        Operation.UFTP_OUTBOX_CANCEL: _ADMIN,
        Operation.UFTP_OWN_KEY_ROTATE: _ADMIN,
    }
)


def allowed(role: Role, operation: Operation) -> bool:
    """Whether ``role`` may call ``operation``.

    Example:
        >>> allowed(Role.FSP, Operation.UNIT_CREATE), allowed(Role.DSO, Operation.UNIT_CREATE)
        (True, False)
    """
    return role in PERMISSIONS[operation]
