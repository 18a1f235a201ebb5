"""The app factory: :func:`create_app` builds the FastAPI app over an opened, checked database.

Requests get an id (a client's ``X-Request-ID`` when it is a short token, else a new one),
returned in the ``X-Request-ID`` header and written into the audit event. Every error is an
RFC 9457 problem (:mod:`flexcoord.service.problems`); every state-changing request that did not
commit its own audit event (it was denied, rejected or failed) gets one here, in a transaction
of its own, after its change was rolled back. ``GET /health`` answers while the process runs;
``GET /ready`` only while the database answers too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.service.audit import AuditRecord, Outcome, append_event, outcome_of
from flexcoord.service.broker_config import parse_mqtt_url
from flexcoord.service.calls import (
    MUTATING_METHODS,
    Services,
    payload_sha256,
    services_of,
    settled_replay,
)
from flexcoord.service.database import open_engine
from flexcoord.service.idempotency import Replay
from flexcoord.service.logs import LOGGER_NAME
from flexcoord.service.metrics import UNMATCHED
from flexcoord.service.problems import (
    PROBLEM_JSON,
    ServiceProblem,
    problem_response,
    problem_responses,
    validation_issues,
)
from flexcoord.service.publisher import Publisher
from flexcoord.service.roles import Operation
from flexcoord.service.routes_bids import router as bids_router
from flexcoord.service.routes_documents import router as documents_router
from flexcoord.service.routes_grid_prequalification import interface_router
from flexcoord.service.routes_grid_prequalification import router as grid_prequalification_router
from flexcoord.service.routes_markets import router as markets_router
from flexcoord.service.routes_messages import router as messages_router
from flexcoord.service.routes_metrics import router as metrics_router
from flexcoord.service.routes_parties import router as parties_router
from flexcoord.service.routes_prequalification import router as prequalification_router
from flexcoord.service.routes_register import router as register_router
from flexcoord.service.routes_results import router as results_router
from flexcoord.service.routes_uftp import router as uftp_router
from flexcoord.service.schemas import Health
from flexcoord.service.settings import ServiceSettings

__all__ = ["create_app"]

_LOG = logging.getLogger(LOGGER_NAME)
_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_RETRY_AFTER_S: Final = "5"
#: The object kind each operation's body describes (named in body validation issues).
_BODY_KINDS: Final = {
    Operation.PARTY_CREATE.value: "Party",
    Operation.GRID_AREA_CREATE.value: "GridArea",
    Operation.CONNECTION_POINT_CREATE.value: "ConnectionPoint",
    Operation.UNIT_CREATE.value: "Unit",
    Operation.GROUP_CREATE.value: "Group",
    Operation.PRODUCT_CREATE.value: "Product",
    Operation.SESSION_CREATE.value: "MarketSession",
    Operation.NEED_CREATE.value: "Need",
    Operation.BID_SUBMIT.value: "Bid",
    Operation.BID_REPLACE.value: "Bid",
    Operation.BID_SUBMIT_BULK.value: "BidDocument",
    Operation.PREQUALIFICATION_APPLY.value: "Prequalification",
    Operation.PREQUALIFICATION_DECIDE.value: "Prequalification",
    Operation.METER_UPLOAD.value: "MeterUpload",
    Operation.GRID_PREQUALIFICATION_DECIDE.value: "GridPrequalification",
    Operation.UFTP_KEY_ADD.value: "UftpKey",
    Operation.UFTP_OWN_KEY_ROTATE.value: "UftpOwnKey",
}


def _operation(request: Request) -> str:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    return name if isinstance(name, str) else f"{request.method} {request.url.path}"[:64]


def _metric_operation(request: Request) -> str:
    """The operation label of a request's metrics: its route's name, or ``unmatched`` (a bounded
    label set: an unknown path never becomes a label of its own)."""
    name = getattr(request.scope.get("route"), "name", None)
    return name if isinstance(name, str) else UNMATCHED


def _request_id(request: Request) -> str:
    found = getattr(request.state, "request_id", None)
    return found if isinstance(found, str) else uuid.uuid4().hex


def _audit_refusal(
    services: Services, request: Request, status: int, body_sha256: str, outcome: Outcome
) -> None:
    principal = getattr(request.state, "principal", None)
    record = AuditRecord(
        at=services.settings.clock(),
        party_id=principal.party_id if principal else None,
        credential_id=principal.key_id if principal else None,
        operation=_operation(request),
        target=None,
        request_id=_request_id(request),
        payload_sha256=body_sha256,
        outcome=outcome,
        status=status,
    )
    try:
        with Session(services.engine) as session:
            append_event(session, record)
            session.commit()
    except Exception:  # the database is down: the answer still goes out, the log says so
        _LOG.exception("audit event not written", extra={"request_id": record.request_id})


async def _body_sha256(request: Request) -> str:
    """The body's hash: as the call computed it, else read now (a request refused before its
    route ran has its body unread; one refused for its size is not read)."""
    known = getattr(request.state, "payload_sha256", None)
    if isinstance(known, str):
        return known
    if _too_large(request) is not None:
        return payload_sha256(b"")
    try:
        return payload_sha256(await request.body())
    except Exception:  # the body can no longer be read (the client went away)
        return payload_sha256(b"")


async def _answer(request: Request, problem: ServiceProblem) -> Response:
    services_of(request).metrics.refuse(_metric_operation(request), problem.status, problem.issues)
    if request.method in MUTATING_METHODS and not getattr(request.state, "audited", False):
        services: Services = request.app.state.services
        body_sha256 = await _body_sha256(request)
        await run_in_threadpool(
            _audit_refusal,
            services,
            request,
            problem.status,
            body_sha256,
            outcome_of(problem.status),
        )
        request.state.audited = True
    response: Response
    if problem.document is not None:
        content, media_type = problem.document
        response = Response(content, status_code=problem.status, media_type=media_type)
    else:
        response = problem_response(
            problem, instance=request.url.path, request_id=_request_id(request)
        )
    response.headers["X-Request-ID"] = _request_id(request)
    return response


def _invalid(issues: Sequence[Issue]) -> ServiceProblem:
    n = len(issues)
    return ServiceProblem(422, f"{n} invalid input issue{'s' if n != 1 else ''}", issues)


def _problem_of(request: Request, exc: Exception) -> ServiceProblem:
    """The problem an exception stands for."""
    if isinstance(exc, ServiceProblem):
        return exc
    if isinstance(exc, InvalidInputError):
        return _invalid(exc.issues)
    if isinstance(exc, RequestValidationError):
        return _invalid(validation_issues(exc, _BODY_KINDS.get(_operation(request), "")))
    if isinstance(exc, NotFoundError):
        return ServiceProblem(404, str(exc))
    if isinstance(exc, StarletteHTTPException):
        detail = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        return ServiceProblem(exc.status_code, detail, headers=exc.headers)
    if isinstance(exc, IntegrityError):
        return ServiceProblem(409, "the request conflicts with the register's current state")
    if isinstance(exc, OperationalError):
        _LOG.error("database unavailable", exc_info=exc, extra={"request_id": _request_id(request)})
        return ServiceProblem(
            503, "the database is unavailable; retry later", headers={"Retry-After": _RETRY_AFTER_S}
        )
    _LOG.error("internal error", exc_info=exc, extra={"request_id": _request_id(request)})
    return ServiceProblem(
        500, "internal error: the service failed; the request id finds it in the log"
    )


async def _replayed(request: Request, exc: Exception) -> Response:
    """The stored answer of an earlier request with the same Idempotency-Key and body."""
    assert isinstance(exc, Replay)
    services: Services = request.app.state.services
    await run_in_threadpool(
        _audit_refusal,
        services,
        request,
        exc.status,
        await _body_sha256(request),
        Outcome.REPLAYED,
    )
    request.state.audited = True
    headers = {"Idempotent-Replayed": "true", "X-Request-ID": _request_id(request)}
    if exc.response is None:
        return Response(status_code=exc.status, headers=headers)
    return JSONResponse(exc.response, status_code=exc.status, headers=headers)


async def _handle(request: Request, exc: Exception) -> Response:
    problem = _problem_of(request, exc)
    if 400 <= problem.status < 500:  # a concurrent twin with its key may have committed
        replay = await run_in_threadpool(settled_replay, request)
        if replay is not None:
            return await _replayed(request, replay)
    return await _answer(request, problem)


def _log_request(request: Request, status: int, started: float) -> None:
    principal = getattr(request.state, "principal", None)
    _LOG.info(
        "request",
        extra={
            "request_id": request.state.request_id,
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "party_id": principal.party_id if principal else None,
            "operation": _operation(request),
        },
    )


def _too_large(request: Request) -> ServiceProblem | None:
    """A 413 for a body declared larger than the limit, or streamed without a length (a body
    is read whole before any work, so its size must be known and bounded)."""
    limit = services_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is None:
        if request.headers.get("transfer-encoding") is None:
            return None
        return ServiceProblem(411, "a request body needs a Content-Length")
    if declared.isdigit() and int(declared) <= limit:
        return None
    return ServiceProblem(413, f"the request body is larger than {limit} bytes")


def _nul_in_url(request: Request) -> ServiceProblem | None:
    """A 422 for a NUL character in the path or a query parameter: no stored text can hold it
    (PostgreSQL refuses it), so it never reaches a query; the issue names the parameter."""
    issues = [
        Issue(
            kind="query",
            object_id=name,
            field="value",
            value=value.replace("\x00", "\\0"),
            message="must not hold a NUL character",
        )
        for name, value in request.query_params.multi_items()
        if "\x00" in name or "\x00" in value
    ]
    if "\x00" in request.url.path:
        issues.append(
            Issue(
                kind="path",
                object_id="path",
                field="value",
                value=request.url.path.replace("\x00", "\\0"),
                message="must not hold a NUL character",
            )
        )
    return _invalid(issues) if issues else None


def _add_handlers(app: FastAPI) -> None:
    for kind in (
        ServiceProblem,
        InvalidInputError,
        RequestValidationError,
        NotFoundError,
        StarletteHTTPException,
        IntegrityError,
        OperationalError,
        Exception,
    ):
        app.add_exception_handler(kind, _handle)
    app.add_exception_handler(Replay, _replayed)

    @app.middleware("http")
    async def _request_ids(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        refused = _too_large(request) or _nul_in_url(request)
        metrics = services_of(request).metrics
        if refused is not None:
            response = await _answer(request, refused)
        else:
            try:
                response = await call_next(request)
            except Exception:  # a bug: answered 500 by the outermost handler, counted here
                metrics.observe_request(
                    _metric_operation(request), 500, time.perf_counter() - started
                )
                raise
        response.headers["X-Request-ID"] = request.state.request_id
        _log_request(request, response.status_code, started)
        metrics.observe_request(
            _metric_operation(request), response.status_code, time.perf_counter() - started
        )
        return response


def _add_health(app: FastAPI) -> None:
    @app.get("/health", tags=["health"])
    def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/ready", tags=["health"], responses=problem_responses(503))
    def ready(request: Request) -> Health:
        """Readiness: the database answers too (503 while it does not)."""
        with services_of(request).reader.connect() as connection:
            connection.execute(text("SELECT 1"))
        return Health(status="ready")


def _operation_id(route: APIRoute) -> str:
    """OpenAPI ``operationId``: the operation's name (``unit.create``), the route name else."""
    return route.name


def _openapi_of(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with problems under ``application/problem+json`` (FastAPI files a
    response model under the route's JSON type) and an example on every enum schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            for methods in document["paths"].values():
                for spec in methods.values():
                    for status, response in spec["responses"].items():
                        content = response.get("content", {})
                        if int(status) >= 400 and "application/json" in content:
                            content[PROBLEM_JSON] = content.pop("application/json")
            for schema in document["components"]["schemas"].values():
                if "enum" in schema and "examples" not in schema:
                    schema["examples"] = [schema["enum"][0]]
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def create_app(settings: ServiceSettings) -> FastAPI:
    """The flexcoord service over ``settings.database_url``.

    The database must be safe (WAL and ``synchronous=FULL`` on SQLite; ``fsync`` and
    ``synchronous_commit`` on PostgreSQL) and migrated (``flexcoord serve`` migrates first).

    With ``settings.mqtt_url`` set, the app's lifespan runs the outbox
    :class:`~flexcoord.service.publisher.Publisher` on a background thread.

    Raises:
        InvalidInputError: the database is unreachable, unsafe or not migrated; the MQTT URL
            is malformed.
    """
    target = None if settings.mqtt_url is None else parse_mqtt_url(settings.mqtt_url)
    engine = open_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        publisher = None
        if target is not None:
            publisher = Publisher(engine, target=target, clock=settings.clock)
            publisher.start()
        try:
            yield
        finally:
            if publisher is not None:
                await run_in_threadpool(publisher.stop)
            engine.dispose()

    app = FastAPI(
        title="flexcoord",
        version=version("flexcoord"),
        summary="TSO–DSO flexibility platform: register, parties, markets and bids, audit.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.services = Services.over(settings, engine)
    app.openapi = _openapi_of(app)  # type: ignore[method-assign]
    _add_handlers(app)
    _add_health(app)
    app.include_router(parties_router)
    app.include_router(register_router)
    app.include_router(markets_router)
    app.include_router(bids_router)
    app.include_router(documents_router)
    app.include_router(prequalification_router)
    app.include_router(results_router)
    app.include_router(messages_router)
    app.include_router(metrics_router)
    app.include_router(grid_prequalification_router)
    app.include_router(interface_router)
    app.include_router(uftp_router)
    return app
