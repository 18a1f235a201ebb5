"""Products, market sessions and needs in the database; the gate decided by the server clock.

A market operator defines products (the domain :class:`~flexcoord.domain.Product`, from the
market file's product model) and opens sessions: one product, one local delivery day whose
MTUs are the domain's :func:`~flexcoord.domain.market_time_units` (92, 96 or 100 quarter-hours
in Europe/Brussels), a gate opening and a gate closure. :func:`gate_state` is the only place
that decides the gate, by the time the server read for the request: before opening
``scheduled``, from opening until just before closure ``open``, at and after closure ``sealed``
(the closure instant itself is closed). Needs are the domain's :class:`~flexcoord.domain.Need`,
checked by :func:`~flexcoord.domain.market_issues` against the grid register.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.coordination.presets import PRESETS
from flexcoord.domain import Interval, Need, Product, build_all, market_issues, market_time_units
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.schemas import NeedModel
from flexcoord.service.market_schemas import GateState, NeedIn, ProductIn, SessionIn, SessionOut
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.register_store import conflict, grid_register
from flexcoord.service.roles import Role
from flexcoord.service.tables import MarketSessionRow, NeedRow, PartyRow, ProductRow

__all__ = [
    "add_need",
    "add_product",
    "add_session",
    "delivery_issues",
    "gate_state",
    "get_product",
    "get_session",
    "list_needs",
    "list_products",
    "list_sessions",
    "product_of",
    "require_open",
    "session_mtus",
    "session_out",
]

#: The market time zone of every session (the domain's default).
MARKET_TZ: Final = "Europe/Brussels"


#: The coordination schemes a session may be cleared under (the presets' ids).
SCHEMES: Final = tuple(p.id for p in PRESETS)


def product_of(row: ProductRow) -> Product:
    """The domain product of a stored row."""
    return ProductIn.model_validate(row.spec).to_domain()


def add_product(session: Session, owner: PartyRow, body: ProductIn, *, now: datetime) -> ProductRow:
    """Define a product of the market operator ``owner`` (its rules are the domain's)."""
    body.to_domain()
    if session.get(ProductRow, body.id) is not None:
        raise conflict("Product", body.id)
    row = ProductRow(
        id=body.id, owner_id=owner.id, spec=body.model_dump(mode="json"), created_at=now
    )
    session.add(row)
    session.flush()
    return row


def get_product(session: Session, product_id: str) -> ProductRow:
    """The product ``product_id``.

    Raises:
        NotFoundError: it is not defined.
    """
    row = session.get(ProductRow, product_id)
    if row is None:
        raise NotFoundError(f"Product {product_id!r} is not defined")
    return row


def list_products(session: Session, *, limit: int, offset: int) -> Sequence[ProductRow]:
    """Every product, in id order."""
    query = select(ProductRow).order_by(ProductRow.id).limit(limit).offset(offset)
    return session.scalars(query).all()


def session_mtus(product: Product, row: MarketSessionRow | SessionIn) -> tuple[Interval, ...]:
    """The MTUs of a session's delivery day at its product's resolution."""
    return market_time_units(row.delivery_day, resolution=product.resolution, market_tz=MARKET_TZ)


def gate_state(row: MarketSessionRow, now: datetime) -> GateState:
    """The gate of session ``row`` at ``now`` (the server clock's time of the request).

    Example:
        >>> from datetime import UTC, date, timedelta
        >>> t = datetime(2026, 6, 1, 10, tzinfo=UTC)
        >>> row = MarketSessionRow(gate_opens_at=t - timedelta(hours=4), gate_closes_at=t)
        >>> [gate_state(row, t + d).value for d in (-timedelta(hours=5),
        ...     -timedelta(microseconds=1), timedelta(0))]
        ['scheduled', 'open', 'sealed']
    """
    if now < row.gate_opens_at:
        return GateState.SCHEDULED
    return GateState.OPEN if now < row.gate_closes_at else GateState.SEALED


def require_open(row: MarketSessionRow, now: datetime, what: str) -> None:
    """Refuse a change of ``what`` (``"bids"``) unless the session's gate is open (409)."""
    state = gate_state(row, now)
    if state is GateState.OPEN:
        return
    if state is GateState.SCHEDULED:
        field, at, message = "gate_opens_at", row.gate_opens_at, f"is later: {what} are refused"
    else:
        field, at = "gate_closes_at", row.gate_closes_at
        message = f"has passed: the session is sealed and its {what} can no longer change"
    issue = Issue(
        kind="MarketSession", object_id=row.id, field=field, value=at.isoformat(), message=message
    )
    raise ServiceProblem(
        409, f"MarketSession {row.id!r} is {state.value} at {now.isoformat()}", [issue]
    )


def _session_issues(body: SessionIn, mtus: tuple[Interval, ...]) -> list[Issue]:
    issues: list[tuple[str, object, str]] = []
    if body.scheme not in SCHEMES:
        issues.append(
            ("scheme", body.scheme, f"is not a coordination scheme; schemes: {', '.join(SCHEMES)}")
        )
    if not body.gate_opens_at < body.gate_closes_at:
        issues.append(("gate_closes_at", body.gate_closes_at, "must be after gate_opens_at"))
    if not body.gate_closes_at < mtus[-1].end:
        issues.append(
            ("gate_closes_at", body.gate_closes_at, f"must be before the day's end {mtus[-1].end}")
        )
    return [
        Issue(kind="MarketSession", object_id=body.id, field=f, value=v, message=m)
        for f, v, m in issues
    ]


def add_session(
    session: Session, owner: PartyRow, body: SessionIn, *, now: datetime
) -> MarketSessionRow:
    """Open a session of a defined product for one delivery day."""
    product_row = session.get(ProductRow, body.product_id)
    if product_row is None:
        raise InvalidInputError(
            [
                Issue(
                    kind="MarketSession",
                    object_id=body.id,
                    field="product_id",
                    value=body.product_id,
                    message="is not a defined product",
                )
            ]
        )
    product = product_of(product_row)
    issues = _session_issues(body, session_mtus(product, body))
    if issues:
        raise InvalidInputError(issues)
    if session.get(MarketSessionRow, body.id) is not None:
        raise conflict("MarketSession", body.id)
    row = MarketSessionRow(
        id=body.id,
        owner_id=owner.id,
        product_id=product.id,
        timeframe=product.timeframe.value,
        scheme=body.scheme,
        delivery_day=body.delivery_day,
        gate_opens_at=body.gate_opens_at,
        gate_closes_at=body.gate_closes_at,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def session_out(session: Session, row: MarketSessionRow, now: datetime) -> SessionOut:
    """The session as the API shows it at ``now``."""
    mtus = session_mtus(product_of(get_product(session, row.product_id)), row)
    return SessionOut(
        id=row.id,
        product_id=row.product_id,
        delivery_day=row.delivery_day,
        gate_opens_at=row.gate_opens_at,
        gate_closes_at=row.gate_closes_at,
        timeframe=row.timeframe,
        scheme=row.scheme,
        delivery_start=mtus[0].start,
        delivery_end=mtus[-1].end,
        mtu_count=len(mtus),
        state=gate_state(row, now),
        owner_id=row.owner_id,
        created_at=row.created_at,
    )


def get_session(session: Session, session_id: str) -> MarketSessionRow:
    """The session ``session_id`` (sessions are public to every trading role).

    Raises:
        NotFoundError: there is none.
    """
    row = session.get(MarketSessionRow, session_id)
    if row is None:
        raise NotFoundError(f"MarketSession {session_id!r} does not exist")
    return row


def list_sessions(
    session: Session,
    *,
    product_id: str | None,
    delivery_day: Any,
    limit: int,
    offset: int,
) -> Sequence[MarketSessionRow]:
    """The sessions in id order, optionally of one product and one delivery day."""
    query = select(MarketSessionRow)
    if product_id is not None:
        query = query.where(MarketSessionRow.product_id == product_id)
    if delivery_day is not None:
        query = query.where(MarketSessionRow.delivery_day == delivery_day)
    return session.scalars(query.order_by(MarketSessionRow.id).limit(limit).offset(offset)).all()


def delivery_issues(
    kind: str,
    object_id: str,
    intervals: Iterable[Interval],
    mtus: tuple[Interval, ...],
    session_id: str,
) -> list[Issue]:
    """An issue for each interval that is not an MTU of the session's delivery day."""
    known = set(mtus)
    return [
        Issue(
            kind=kind,
            object_id=object_id,
            field=f"quantities[{i}]",
            value=str(interval),
            message=f"is not an MTU of session {session_id!r} "
            f"({mtus[0].start.isoformat()} to {mtus[-1].end.isoformat()}, {len(mtus)} MTUs)",
        )
        for i, interval in enumerate(intervals)
        if interval not in known
    ]


def add_need(
    session: Session, owner: PartyRow, row: MarketSessionRow, body: NeedIn, *, now: datetime
) -> NeedRow:
    """Post a need of the system operator ``owner`` into session ``row`` (until its closure)."""
    if gate_state(row, now) is GateState.SEALED:
        require_open(row, now, "needs")
    product = product_of(get_product(session, row.product_id))
    spec = body.model_dump(mode="json")
    model = NeedModel.model_validate(
        {**spec, "buyer_id": owner.id, "product_id": product.id, "created_at": now}
    )
    (need,) = build_all(Need, [model.row()])
    issues = market_issues(grid_register(session, owner, [product]), [need], [])
    issues += delivery_issues(
        "Need", need.id, [q.interval for q in need.quantities], session_mtus(product, row), row.id
    )
    if issues:
        raise InvalidInputError(issues)
    if session.get(NeedRow, (row.id, owner.id, need.id)) is not None:
        raise conflict("Need", need.id)
    need_row = NeedRow(session_id=row.id, owner_id=owner.id, id=need.id, spec=spec, created_at=now)
    session.add(need_row)
    session.flush()
    return need_row


def list_needs(
    session: Session, caller: PartyRow, session_id: str, *, limit: int, offset: int
) -> Sequence[NeedRow]:
    """The needs of a session a caller sees: an operator its own, a market operator all."""
    query = select(NeedRow).where(NeedRow.session_id == session_id)
    if caller.role != Role.MARKET_OPERATOR.value:
        query = query.where(NeedRow.owner_id == caller.id)
    order = (NeedRow.owner_id, NeedRow.id)
    return session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
