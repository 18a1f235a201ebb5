"""The service's tables: SQLAlchemy 2 typed declarative models (the schema Alembic migrates).

Every registered object has an owner (a party). Units and groups are keyed by ``(owner, id)``:
an FSP's ids are its own namespace, so registering ``u1`` never tells FSP B that FSP A has a
``u1``. Grid areas and connection points are the system operators' (their ids are grid
identifiers such as EANs, unique across operators). Each object row keeps the validated input
(``spec``, the API schema's JSON) from which the domain object is rebuilt; the columns beside it
are what queries and foreign keys need. Times are aware UTC (:class:`UtcDateTime`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActivationOrderRow",
    "AuditEventRow",
    "AuditHeadRow",
    "AwardRow",
    "Base",
    "BaselineRow",
    "BidRow",
    "BrokerCredentialRow",
    "ClearingRunRow",
    "ConnectionPointRow",
    "CredentialRow",
    "GridAreaRow",
    "GridPrequalificationRow",
    "GroupMemberRow",
    "GroupRow",
    "IdempotencyRow",
    "MarketSessionRow",
    "MeterReadingRow",
    "NeedRow",
    "OrderEventRow",
    "OutboxRow",
    "PartyRow",
    "PrequalificationRow",
    "ProductRow",
    "RejectionRow",
    "RunStatus",
    "SettlementRunRow",
    "StatementRow",
    "UftpKeyRow",
    "UftpOutboxRow",
    "UnitRow",
    "UtcDateTime",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_ID = 64


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC time; refuses naive values (SQLite hands back naive ones: read as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"time {value.isoformat()} has no UTC offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations are reproducible)."""

    metadata = MetaData(naming_convention=_NAMING)


class PartyRow(Base):
    """A party: a TSO, DSO, FSP, market operator or administrator."""

    __tablename__ = "party"
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CredentialRow(Base):
    """An API key of a party: its public key id and the SHA-256 of its secret, never the secret.

    The key is valid while ``revoked_at`` is unset or in the future (a rotated key keeps working
    until its grace period ends).
    """

    __tablename__ = "credential"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class GridAreaRow(Base):
    """A grid area of a system operator (spec: the :class:`GridAreaIn` schema)."""

    __tablename__ = "grid_area"
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConnectionPointRow(Base):
    """A connection point on an operator's grid area."""

    __tablename__ = "connection_point"
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("grid_area.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UnitRow(Base):
    """A service-providing unit of an FSP, at a connection point."""

    __tablename__ = "unit"
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    connection_point_id: Mapped[str] = mapped_column(ForeignKey("connection_point.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GroupRow(Base):
    """A service-providing group of an FSP."""

    __tablename__ = "resource_group"
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GroupMemberRow(Base):
    """A unit's membership of a group; a unit is in at most one group, and a unit in a group
    cannot be deleted (the foreign key restricts it)."""

    __tablename__ = "group_member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id", "group_id"], ["resource_group.owner_id", "resource_group.id"]
        ),
        ForeignKeyConstraint(["owner_id", "unit_id"], ["unit.owner_id", "unit.id"]),
        UniqueConstraint("owner_id", "unit_id"),
    )
    owner_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)


class AuditEventRow(Base):
    """One audit event, append-only (database triggers refuse UPDATE and DELETE).

    ``sha256`` is the hash of this event's fields and ``prev_sha256`` (the previous event's
    hash), so editing, inserting or deleting any row breaks the chain
    (:func:`flexcoord.service.audit.verify_chain`).
    """

    __tablename__ = "audit_event"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    party_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    credential_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    operation: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_id: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    status: Mapped[int] = mapped_column(Integer)
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The chain's head (one row, ``id = 1``): the last event's number and hash. Appends lock
    it, so events are numbered one at a time; it also reveals a deleted tail."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class IdempotencyRow(Base):
    """The answer to a request sent with an ``Idempotency-Key``: the same key with the same
    body gets this answer again, with another body a 422 (keys are per party)."""

    __tablename__ = "idempotency_key"
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProductRow(Base):
    """A product defined by a market operator (spec: the market file's product model). Product
    ids are unique across market operators (every party trading names them)."""

    __tablename__ = "product"
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MarketSessionRow(Base):
    """A market session of one product for one delivery day, with its gate times; its state
    (scheduled, open, sealed) follows from the gate times and the server clock alone."""

    __tablename__ = "market_session"
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), index=True)
    timeframe: Mapped[str] = mapped_column(String(32))
    scheme: Mapped[str] = mapped_column(String(_ID))
    delivery_day: Mapped[date] = mapped_column(Date, index=True)
    gate_opens_at: Mapped[datetime] = mapped_column(UtcDateTime())
    gate_closes_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NeedRow(Base):
    """A system operator's need posted into a session; keyed by (session, owner, id)."""

    __tablename__ = "need"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BidRow(Base):
    """An FSP's bid in a session; keyed by (session, owner, id). ``spec`` is the bid as
    submitted (its latest version); ``status`` is ``submitted`` or ``withdrawn``."""

    __tablename__ = "bid"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(_ID))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PrequalificationRow(Base):
    """An FSP's application for the product prequalification of one of its units or groups,
    addressed to a procuring system operator, and that operator's decisions on it."""

    __tablename__ = "prequalification"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    resource_id: Mapped[str] = mapped_column(String(_ID))
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"))
    status: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    suspended_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RunStatus(StrEnum):
    """A worker's job on a session (its clearing, its settlement): ``requested`` (settlement
    asked for), ``running`` (claimed), ``done`` (results written), ``failed`` (the stored
    inputs did not pass the domain's rules; the issues are in the summary)."""

    REQUESTED = "requested"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ClearingRunRow(Base):
    """The clearing of one session (at most one row per session: the claim).

    A worker claims a sealed session by inserting this row (``status = running``, its
    ``attempt`` and a lease); another worker takes it over only once the lease has expired,
    with ``attempt + 1``. The results, the activation orders and their messages are written in
    the one transaction that moves the row to ``done`` *for the attempt that wrote them* (a
    worker whose lease was taken over finds its attempt gone and writes nothing), so a session is
    cleared and published exactly once, even across crashes.
    """

    __tablename__ = "clearing_run"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(_ID))
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    result_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[Any] = mapped_column(JSON, nullable=True)


class AwardRow(Base):
    """One award of a cleared session: a bid's MW in one MTU, bought in one market by one
    buyer, paid as bid (``payment_eur``)."""

    __tablename__ = "award"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    bid_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    mtu_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    market_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True, index=True)
    mtu_end: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    quantity_mw: Mapped[float] = mapped_column(Float)
    price_eur_per_unit: Mapped[float] = mapped_column(Float)
    payment_eur: Mapped[float] = mapped_column(Float)


class ActivationOrderRow(Base):
    """An activation order to one unit of an FSP over one MTU (from an activation award)."""

    __tablename__ = "activation_order"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    bid_id: Mapped[str] = mapped_column(String(_ID))
    unit_id: Mapped[str] = mapped_column(String(_ID))
    buyer_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True, index=True)
    mtu_start: Mapped[datetime] = mapped_column(UtcDateTime())
    mtu_end: Mapped[datetime] = mapped_column(UtcDateTime())
    direction: Mapped[str] = mapped_column(String(8))
    quantity_mw: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RejectionRow(Base):
    """A bid of a cleared session that no market accepted in any MTU, and why (the reason of the
    last market that was offered it, :class:`~flexcoord.clearing.result.RejectionReason`)."""

    __tablename__ = "rejection"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    bid_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    reason: Mapped[str] = mapped_column(String(48))
    detail: Mapped[str] = mapped_column(String(512))


class OrderEventRow(Base):
    """One step an FSP reported of an activation order's lifecycle after it was issued
    (``acknowledged``, ``failed``, ...; :class:`~flexcoord.operations.OrderStatus`), in the
    order received (``seq``); ``at`` is when the FSP says it happened."""

    __tablename__ = "order_event"
    order_id: Mapped[str] = mapped_column(ForeignKey("activation_order.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[str] = mapped_column(String(512))
    document_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MeterReadingRow(Base):
    """An FSP's meter reading of one of its units: mean MW over ``[start, end)``; a later
    upload of the same interval replaces it (``uploaded_at`` says when)."""

    __tablename__ = "meter_reading"
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    mw: Mapped[float] = mapped_column(Float)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BaselineRow(Base):
    """A unit's declared baseline (its schedule without activation): mean MW over
    ``[start, end)``, injection positive, as an FSP declared it (``source``: ``d_prognosis``, a
    UFTP D-Prognosis, ``message_id`` naming it); a later declaration of the same interval
    replaces it. Settlement verifies delivery against it where it covers an order's MTUs
    (:func:`~flexcoord.service.settlement_job.session_verifications`)."""

    __tablename__ = "baseline_value"
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    mw: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(24))
    message_id: Mapped[str] = mapped_column(String(_ID))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StatementRow(Base):
    """One party's settlement statement of a session (``spec``: the statement as published)."""

    __tablename__ = "statement"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SettlementRunRow(Base):
    """The settlement of one cleared session: asked for by its market operator
    (``requested``), done by a worker in the one transaction that writes the statements."""

    __tablename__ = "settlement_run"
    session_id: Mapped[str] = mapped_column(ForeignKey("market_session.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(ForeignKey("party.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    summary: Mapped[Any] = mapped_column(JSON, nullable=True)


class OutboxRow(Base):
    """A message to a party in the transactional outbox (:mod:`flexcoord.service.outbox`).

    It is written in the transaction of the state change it reports, so it exists exactly when
    that change does; the publisher sends it over MQTT. ``seq`` is the creation order,
    ``message_id`` (a uuid4 hex) the consumer's de-duplication key. ``status``: ``accepted``
    (in the outbox) → ``delivered`` (the broker's PUBACK) → ``acknowledged`` (by the party),
    or ``failed`` when ``ack_deadline`` passed unacknowledged.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_seq", "status", "seq"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ack_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class UftpOutboxRow(Base):
    """A UFTP message flexcoord delivers to a participant's endpoint
    (:mod:`flexcoord.service.uftp_delivery`), written in the transaction of the change it
    reports (a clearing's FlexOrders, a settlement's FlexSettlements).

    ``message_id`` is the UFTP MessageID (the recipient's de-duplication key), ``payload`` the
    message's XML before signing (sealed at each attempt by shapeshifter-uftp's client; Ed25519
    is deterministic, so a re-send is the same bytes). ``status``: ``pending`` (to send, at
    ``next_attempt_at``) → ``sent`` (HTTP 200) → ``accepted`` or ``rejected`` (the
    recipient's signed response, ``rejection_reason``), or ``failed`` after the last attempt,
    ``expired`` (never answered) or ``cancelled`` (an operator's). ``replaces_message_id``: the
    rejected message an operator re-sent as this new one (:mod:`~flexcoord.service.uftp_outbox`).
    """

    __tablename__ = "uftp_outbox"
    __table_args__ = (Index("ix_uftp_outbox_status_next_attempt_at", "status", "next_attempt_at"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(_ID), unique=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    message_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    recipient_domain: Mapped[str] = mapped_column(String(200))
    recipient_role: Mapped[str] = mapped_column(String(8))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    replaces_message_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True, unique=True)


class UftpKeyRow(Base):
    """A UFTP participant's public signing key (:mod:`flexcoord.service.uftp_keys`), valid from
    ``valid_from`` until ``valid_until`` (``None``: the current key). Loaded from the UFTP
    configuration at start: a rotated key stays valid until the time the configuration states,
    a key the configuration no longer names is retired at once; the admin API adds, rotates and
    retires keys too (``source``). flexcoord's own keys are rows of its domain, role ``*``."""

    __tablename__ = "uftp_key"
    __table_args__ = (UniqueConstraint("domain", "role", "public_key"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: ``config`` (the configuration file manages it at each start) or ``admin`` (added or
    #: changed through the admin API: the configuration no longer touches it).
    source: Mapped[str] = mapped_column(String(8), server_default="config")


class BrokerCredentialRow(Base):
    """A party's MQTT broker password, as mosquitto's PBKDF2-SHA512 hash (``$7$...``), never
    the password itself; ``flexcoord service broker-config`` writes it into the broker's
    password file. One per party: issuing again replaces it."""

    __tablename__ = "broker_credential"
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GridPrequalificationRow(Base):
    """The grid prequalification of an FSP's unit or group by one *impacted* system operator
    (the DSO hosting its connection points, the TSO upstream of their coupling point), created
    when the FSP first applies for a product with it; the operator decides, with conditions
    (``max_up_mw`` / ``max_down_mw``; ``windows``: ``[{"start", "end"}]``, UTC). ``assessment``
    is the traffic light the worker stored (:mod:`flexcoord.service.grid_assessment`), ``None``
    until assessed."""

    __tablename__ = "grid_prequalification"
    __table_args__ = (UniqueConstraint("owner_id", "resource_id", "operator_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    resource_id: Mapped[str] = mapped_column(String(_ID))
    status: Mapped[str] = mapped_column(String(32), index=True)
    max_up_mw: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_down_mw: Mapped[float | None] = mapped_column(Float, nullable=True)
    windows: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    suspended_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    assessed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
