"""The live platform's service: a thin FastAPI layer over the domain, with its own storage.

``flexcoord serve`` runs it (``docs/service.md``). :func:`create_app` builds the app over a
checked, migrated database (:func:`open_engine`, :func:`migrate`); parties authenticate with
API keys (:mod:`.credentials`), the role → operation table :data:`PERMISSIONS` decides what
each role may call, every object has an owner, and every state-changing request writes one
hash-chained audit event (:func:`verify_chain`). Every rule about units, groups and connection
points is the domain's (:class:`flexcoord.domain.Register`), and so is every rule about
products, needs, bids and prequalifications (:func:`flexcoord.domain.market_issues`); the
service adds market sessions whose gate the server clock alone decides, and messages to parties
through a transactional outbox (:func:`enqueue`) that a :class:`Publisher` sends over MQTT.
Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "PERMISSIONS": "flexcoord.service.roles",
    "ChainReport": "flexcoord.service.audit",
    "MessageKind": "flexcoord.service.outbox",
    "MessageStatus": "flexcoord.service.outbox",
    "Publisher": "flexcoord.service.publisher",
    "Operation": "flexcoord.service.roles",
    "Role": "flexcoord.service.roles",
    "ServiceSettings": "flexcoord.service.settings",
    "assess_pending": "flexcoord.service.grid_assessment",
    "create_app": "flexcoord.service.app",
    "durability_issues": "flexcoord.service.database",
    "enqueue": "flexcoord.service.outbox",
    "make_engine": "flexcoord.service.database",
    "migrate": "flexcoord.service.database",
    "open_engine": "flexcoord.service.database",
    "verify_chain": "flexcoord.service.audit",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "PERMISSIONS",
    "ChainReport",
    "MessageKind",
    "MessageStatus",
    "Operation",
    "Publisher",
    "Role",
    "ServiceSettings",
    "assess_pending",
    "create_app",
    "durability_issues",
    "enqueue",
    "make_engine",
    "migrate",
    "open_engine",
    "verify_chain",
]

if TYPE_CHECKING:
    from flexcoord.service.app import create_app
    from flexcoord.service.audit import ChainReport, verify_chain
    from flexcoord.service.database import durability_issues, make_engine, migrate, open_engine
    from flexcoord.service.grid_assessment import assess_pending
    from flexcoord.service.outbox import MessageKind, MessageStatus, enqueue
    from flexcoord.service.publisher import Publisher
    from flexcoord.service.roles import PERMISSIONS, Operation, Role
    from flexcoord.service.settings import ServiceSettings
