"""Product prequalification: an FSP applies for one of its units or groups and a product to a
procuring system operator, which decides; a bid needs a valid prequalification.

The workflow (:data:`TRANSITIONS`): ``requested`` → ``in_progress`` → ``approved``,
``conditionally_approved`` or ``rejected``; an approval may be ``suspended`` and a suspension
lifted (approved again) or ended by a rejection; ``rejected`` is final. An approval carries its
validity ``[valid_from, valid_until)``. The decided records become the domain's
:class:`~flexcoord.domain.ProductPrequalification` (approved → qualified, conditionally
approved → conditional, suspended → suspended), and the domain's
:meth:`~flexcoord.domain.Register.is_product_qualified` decides, for each MTU of a bid, whether
a valid one covers it (:func:`records_for`, used at bid intake).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import Interval, ProductPrequalification
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.service.grid_prequalification_store import ensure_records
from flexcoord.service.market_schemas import (
    DecisionIn,
    PrequalificationIn,
    PrequalificationOut,
    PrequalificationStatus,
)
from flexcoord.service.prequalification_workflow import TRANSITIONS
from flexcoord.service.register_store import resources_register
from flexcoord.service.roles import Role
from flexcoord.service.tables import PartyRow, PrequalificationRow, ProductRow

__all__ = ["TRANSITIONS", "apply", "decide", "get_visible", "list_visible", "out", "records_for"]

S = PrequalificationStatus
#: The domain status of each decided status (the others make no domain record).
_DOMAIN: Final = {
    S.APPROVED: "qualified",
    S.CONDITIONALLY_APPROVED: "conditional",
    S.SUSPENDED: "suspended",
}
_APPROVALS: Final = frozenset({S.APPROVED, S.CONDITIONALLY_APPROVED})


def _issue(object_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="Prequalification", object_id=object_id, field=field, value=value, message=message
    )


def apply(
    session: Session, owner: PartyRow, body: PrequalificationIn, *, now: datetime
) -> PrequalificationRow:
    """The FSP's application (``requested``) for its resource and a defined product; the
    resource's grid prequalification records by its impacted operators are made with it
    (:func:`~flexcoord.service.grid_prequalification_store.ensure_records`)."""
    issues = []
    if session.get(ProductRow, body.product_id) is None:
        issues.append(_issue("new", "product_id", body.product_id, "is not a defined product"))
    register = resources_register(session, owner, [body.resource_id], [])
    if not (register.has("units", body.resource_id) or register.has("groups", body.resource_id)):
        issues.append(
            _issue("new", "resource_id", body.resource_id, "is not a registered unit or group")
        )
    operator = session.get(PartyRow, body.operator_id)
    if operator is None or operator.role not in (Role.TSO.value, Role.DSO.value):
        issues.append(
            _issue("new", "operator_id", body.operator_id, "is not a registered system operator")
        )
    if issues:
        raise InvalidInputError(issues)
    row = PrequalificationRow(
        id=uuid.uuid4().hex,
        owner_id=owner.id,
        operator_id=body.operator_id,
        resource_id=body.resource_id,
        product_id=body.product_id,
        status=S.REQUESTED.value,
        scope="dedicated",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    ensure_records(session, owner, body.resource_id, now=now)
    return row


def get_visible(session: Session, caller: PartyRow, record_id: str) -> PrequalificationRow:
    """The record, if the caller is its FSP or its procuring operator.

    Raises:
        NotFoundError: none, or another party's (the same words either way).
    """
    row = session.get(PrequalificationRow, record_id)
    if row is None or caller.id not in (row.owner_id, row.operator_id):
        raise NotFoundError(f"Prequalification {record_id!r} does not exist")
    return row


def list_visible(
    session: Session, caller: PartyRow, *, limit: int, offset: int
) -> Sequence[PrequalificationRow]:
    """An FSP's applications, or those addressed to an operator; oldest first."""
    column = PrequalificationRow.owner_id
    if caller.role in (Role.TSO.value, Role.DSO.value):
        column = PrequalificationRow.operator_id
    query = select(PrequalificationRow).where(column == caller.id)
    order = (PrequalificationRow.created_at, PrequalificationRow.id)
    return session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()


def _decision_issues(row: PrequalificationRow, body: DecisionIn) -> list[Issue]:
    current = S(row.status)
    if body.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none: it is final"
        return [
            _issue(
                row.id, "status", body.status.value, f"cannot follow {current.value} ({allowed})"
            )
        ]
    if body.status not in _APPROVALS:
        return []
    start = body.valid_from or row.valid_from
    end = body.valid_until or row.valid_until
    if start is None or end is None:
        return [_issue(row.id, "valid_until", None, "and valid_from are required for an approval")]
    if not start < end:
        return [_issue(row.id, "valid_until", end, "must be after valid_from")]
    return []


def decide(
    session: Session, caller: PartyRow, record_id: str, body: DecisionIn, *, now: datetime
) -> PrequalificationRow:
    """The procuring operator's decision on an application addressed to it."""
    row = get_visible(session, caller, record_id)
    if row.operator_id != caller.id:
        raise NotFoundError(f"Prequalification {record_id!r} does not exist")
    issues = _decision_issues(row, body)
    if issues:
        raise InvalidInputError(issues)
    if body.status in _APPROVALS:
        row.valid_from = body.valid_from or row.valid_from
        row.valid_until = body.valid_until or row.valid_until
        row.scope = body.scope
        row.suspended_from = None
    if body.status is S.SUSPENDED:
        row.suspended_from = now
    row.status, row.updated_at = body.status.value, now
    session.flush()
    return row


def records_for(
    session: Session, owner_id: str, resource_ids: Iterable[str], product_id: str
) -> list[ProductPrequalification]:
    """The FSP's decided prequalifications of these resources for the product, as domain
    records (suspended ones too: the domain counts them as not valid)."""
    rows = session.scalars(
        select(PrequalificationRow).where(
            PrequalificationRow.owner_id == owner_id,
            PrequalificationRow.product_id == product_id,
            PrequalificationRow.resource_id.in_(set(resource_ids)),
            PrequalificationRow.status.in_([s.value for s in _DOMAIN]),
        )
    )
    return [
        ProductPrequalification(
            id=r.id,
            resource_id=r.resource_id,
            product_id=r.product_id,
            procuring_operator_id=r.operator_id,
            scope=r.scope,  # type: ignore[arg-type]
            status=_DOMAIN[S(r.status)],  # type: ignore[arg-type]
            valid=Interval(start=r.valid_from, end=r.valid_until),  # type: ignore[arg-type]
        )
        for r in rows
    ]


def out(row: PrequalificationRow) -> PrequalificationOut:
    """The record as the API shows it."""
    return PrequalificationOut(
        id=row.id,
        owner_id=row.owner_id,
        operator_id=row.operator_id,
        resource_id=row.resource_id,
        product_id=row.product_id,
        status=S(row.status),
        scope=row.scope,  # type: ignore[arg-type]
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        suspended_from=row.suspended_from,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
