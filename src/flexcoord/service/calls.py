"""One authenticated call: who is calling, which operation, and its audited transaction.

A route declares its :class:`~flexcoord.service.roles.Operation` once
(``Depends(call_of(Operation.UNIT_CREATE))``); the dependency authenticates the bearer key
(401 otherwise), looks the role up in :data:`~flexcoord.service.roles.PERMISSIONS` (403
otherwise) and hands the route a :class:`Call`. A state-changing route does its work in
``with call.transaction() as session:`` and ends it with :meth:`Call.accept`, which appends the
audit event (and the answer of a request with an ``Idempotency-Key``,
:mod:`flexcoord.service.idempotency`) and commits, all or nothing. A retried request with a known
key never reaches its route: the dependency answers it with the stored answer. Any exception
rolls the transaction back; the error handlers then write the denied event in a transaction of
its own (:mod:`flexcoord.service.app`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.credentials import Principal, authenticate
from flexcoord.service.database import READ_ONLY_OPTION
from flexcoord.service.idempotency import (
    IDEMPOTENCY_HEADER,
    Replay,
    check_key,
    lock_key,
    remember,
    replay_of,
)
from flexcoord.service.metrics import ServiceMetrics
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.roles import Operation, allowed
from flexcoord.service.settings import ServiceSettings
from flexcoord.service.tables import IdempotencyRow

__all__ = [
    "MUTATING_METHODS",
    "Call",
    "Services",
    "call_of",
    "payload_sha256",
    "services_of",
    "settled_replay",
]

#: The methods whose every request is audited.
MUTATING_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BEARER: Final = HTTPBearer(auto_error=False, description="An API key: `Bearer fck_<id>_<secret>`")


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """What the app holds for its requests: the settings, the database engine, and its
    read-only face (``reader``: transactions that only read; on SQLite they begin deferred and
    never take the write lock), and the app's Prometheus metrics (``metrics``)."""

    settings: ServiceSettings
    engine: Engine
    reader: Engine
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)

    @classmethod
    def over(cls, settings: ServiceSettings, engine: Engine) -> Services:
        """The services of an app over ``engine``."""
        return cls(
            settings=settings,
            engine=engine,
            reader=engine.execution_options(**{READ_ONLY_OPTION: True}),
        )


def services_of(request: Request) -> Services:
    """The app's :class:`Services`."""
    services: Services = request.app.state.services
    return services


def payload_sha256(body: bytes) -> str:
    """The SHA-256 of a request body as received (hex)."""
    return hashlib.sha256(body).hexdigest()


@dataclass(slots=True, kw_only=True)
class Call:
    """An authenticated, permitted call of one operation.

    ``now`` is the moment the call is judged at (a gate's closure, validity windows, the audit
    time): its arrival, then, for a writing call, the start of its write transaction
    (:meth:`transaction`), taken under its Idempotency-Key's lock: two attempts of one request
    are judged in the order they take the write, never the later one refused by a clock the
    earlier one beat."""

    request: Request
    services: Services
    principal: Principal
    operation: Operation
    now: datetime
    payload_sha256: str
    idempotency_key: str | None = None
    request_sha256: str = ""

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session whose transaction is rolled back unless :meth:`accept` commits it
        (``read_only``: a transaction that only reads)."""
        bind = self.services.reader if read_only else self.services.engine
        session = Session(bind, expire_on_commit=False)
        try:
            if not read_only:
                self._begin_write(session)
            yield session
        finally:
            session.close()

    def _begin_write(self, session: Session) -> None:
        """Begin the write transaction and judge the call from now on (class docstring); a
        twin with the same key that committed while this one waited answers with its result."""
        if self.idempotency_key is None:
            session.connection()  # begins (SQLite: BEGIN IMMEDIATE, the write lock)
        else:
            lock_key(session, self.principal.party_id, self.idempotency_key)
            replay = replay_of(
                session,
                self.principal.party_id,
                self.idempotency_key,
                self.operation,
                self.request_sha256,
            )
            if replay is not None:
                raise replay
        self.now = self.services.settings.clock()

    def accept(
        self,
        session: Session,
        *,
        target: str | None,
        status: int,
        response: BaseModel | None = None,
    ) -> None:
        """Append the accepted audit event and commit the change with it (and, for a request
        with an ``Idempotency-Key``, its ``response`` to replay)."""
        if self.idempotency_key is not None:
            remember(
                session,
                IdempotencyRow(
                    party_id=self.principal.party_id,
                    key=self.idempotency_key,
                    operation=self.operation.value,
                    payload_sha256=self.request_sha256,
                    status=status,
                    response=None if response is None else response.model_dump(mode="json"),
                    created_at=self.now,
                ),
            )
        append_event(
            session,
            AuditRecord(
                at=self.now,
                party_id=self.principal.party_id,
                credential_id=self.principal.key_id,
                operation=self.operation.value,
                target=target,
                request_id=self.request.state.request_id,
                payload_sha256=self.payload_sha256,
                outcome=Outcome.ACCEPTED,
                status=status,
            ),
        )
        session.commit()
        self.request.state.audited = True


def _request_sha256(request: Request, body: bytes) -> str:
    """What an Idempotency-Key is bound to: the SHA-256 of method, path and body (the same
    key on another object, e.g. a withdrawal of another bid with its empty body, is another
    request)."""
    return payload_sha256(f"{request.method} {request.url.path}\n".encode() + body)


def _authenticate(services: Services, api_key: str, now: datetime) -> Principal | None:
    with Session(services.reader) as session:
        return authenticate(session, api_key, now=now)


def _replay(
    services: Services, principal: Principal, key: str, operation: Operation, body_sha256: str
) -> Replay | None:
    with Session(services.reader) as session:
        return replay_of(session, principal.party_id, key, operation, body_sha256)


def settled_replay(request: Request) -> Replay | None:
    """The stored answer for a refused request's Idempotency-Key, if a concurrent request with
    the same key and body committed after this one looked (a retry sent while the first
    attempt was still in flight then fails on the first attempt's change, e.g. its bid id is
    now used): the retry gets the original answer, not a conflict of its own making. ``None``
    when the key is still free or holds another request (the refusal stands)."""
    found = getattr(request.state, "idempotency", None)
    principal = getattr(request.state, "principal", None)
    if found is None or principal is None:
        return None
    key, operation, request_sha256 = found
    try:
        return _replay(services_of(request), principal, key, operation, request_sha256)
    except ServiceProblem:
        return None


def call_of(operation: Operation) -> Callable[..., Awaitable[Call]]:
    """The dependency authenticating and authorising a call of ``operation``."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Call:
        services = services_of(request)
        now = services.settings.clock()
        request.state.payload_sha256 = payload_sha256(await request.body())
        principal = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            principal = await run_in_threadpool(
                _authenticate, services, credentials.credentials, now
            )
        if principal is None:
            raise ServiceProblem(
                401,
                "a valid API key is required: Authorization: Bearer fck_<key id>_<secret>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.principal = principal
        if not allowed(principal.role, operation):
            raise ServiceProblem(
                403, f"role {principal.role.value!r} may not call {operation.value!r}"
            )
        key = request.headers.get(IDEMPOTENCY_HEADER)
        request_sha256 = _request_sha256(request, await request.body())
        if key is not None:
            check_key(key, operation)
            request.state.idempotency = (key, operation, request_sha256)
            replay = await run_in_threadpool(
                _replay, services, principal, key, operation, request_sha256
            )
            if replay is not None:
                raise replay
        return Call(
            request=request,
            services=services,
            principal=principal,
            operation=operation,
            now=now,
            payload_sha256=request.state.payload_sha256,
            idempotency_key=key,
            request_sha256=request_sha256,
        )

    return dependency
