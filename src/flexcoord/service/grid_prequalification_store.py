"""Grid prequalification per impacted system operator (FIS's
``service_providing_group_grid_prequalification``): records, decisions, the two views.

When an FSP applies for a product with one of its units or groups, the resource gets one grid
prequalification record per *impacted* operator, unless it has one already (the grid's
verdict is about the resource on the grid, not about a product):
:meth:`~flexcoord.domain.Register.impacted_operator_ids` names them — the operator of each
area hosting its connection points and the TSO of every area naming the same coupling point;
a unit on a TSO's area impacts only that TSO. The worker
(:func:`flexcoord.service.grid_assessment.assess_pending`) moves ``requested`` records to
``in_progress`` with the traffic light stored on them; the impacted operator decides along the
workflow's :data:`~flexcoord.service.prequalification_workflow.TRANSITIONS` (a conditional
approval carries ``max_up_mw`` / ``max_down_mw`` and / or time ``windows``). Only the impacted
operator decides its own record; the FSP and that operator read it; anyone else gets a 404.

At bid intake the decided records become domain
:class:`~flexcoord.domain.GridPrequalification` records (:func:`grid_records_for`) and the
domain's :func:`~flexcoord.domain.market_issues` applies them, beside the product records:
rejected or suspended refuses, a condition caps the quantity, time outside a condition's
windows is refused (one not-qualified record per gap), undecided records hold no bid back. A
grid record has no validity of its own: it holds until its operator changes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import GridPrequalification, Interval
from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.service.grid_schemas import (
    AssessmentOut,
    GridDecisionIn,
    GridPrequalificationOperatorOut,
    GridPrequalificationOut,
    OperatorAssessmentOut,
)
from flexcoord.service.market_schemas import PrequalificationStatus
from flexcoord.service.prequalification_workflow import TRANSITIONS
from flexcoord.service.register_store import placement_register
from flexcoord.service.roles import Role
from flexcoord.service.tables import GridPrequalificationRow, PartyRow

__all__ = [
    "ALWAYS",
    "decide",
    "ensure_records",
    "get_visible",
    "grid_records_for",
    "list_visible",
    "out",
]

S = PrequalificationStatus
#: The validity of a domain record made from a grid decision: it holds until changed.
ALWAYS: Final = Interval(
    start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(9999, 1, 1, tzinfo=UTC)
)
_DOMAIN: Final = {
    S.APPROVED: "qualified",
    S.CONDITIONALLY_APPROVED: "conditional",
    S.REJECTED: "not_qualified",
    S.SUSPENDED: "suspended",
}
_OPERATOR_ROLES: Final = (Role.TSO.value, Role.DSO.value)


def _issue(object_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="GridPrequalification", object_id=object_id, field=field, value=value, message=message
    )


def ensure_records(
    session: Session, owner: PartyRow, resource_id: str, *, now: datetime
) -> list[GridPrequalificationRow]:
    """The resource's grid prequalification records, one per impacted operator: those it has,
    and a ``requested`` one for each impacted operator it has none of yet."""
    register = placement_register(session, owner, [resource_id])
    impacted = register.impacted_operator_ids(resource_id)
    known = {
        r.operator_id: r
        for r in session.scalars(
            select(GridPrequalificationRow).where(
                GridPrequalificationRow.owner_id == owner.id,
                GridPrequalificationRow.resource_id == resource_id,
            )
        )
    }
    for operator_id in impacted:
        if operator_id not in known:
            known[operator_id] = GridPrequalificationRow(
                id=uuid.uuid4().hex,
                owner_id=owner.id,
                operator_id=operator_id,
                resource_id=resource_id,
                status=S.REQUESTED.value,
                created_at=now,
                updated_at=now,
            )
            session.add(known[operator_id])
    session.flush()
    return [known[o] for o in sorted(known)]


def get_visible(session: Session, caller: PartyRow, record_id: str) -> GridPrequalificationRow:
    """The record, if the caller is its FSP or its impacted operator.

    Raises:
        NotFoundError: none, or another party's (the same words either way).
    """
    row = session.get(GridPrequalificationRow, record_id)
    if row is None or caller.id not in (row.owner_id, row.operator_id):
        raise NotFoundError(f"GridPrequalification {record_id!r} does not exist")
    return row


def list_visible(  # noqa: PLR0913 - the store, the caller, two filters, paging
    session: Session,
    caller: PartyRow,
    *,
    status: PrequalificationStatus | None,
    resource_id: str | None,
    limit: int,
    offset: int,
) -> Sequence[GridPrequalificationRow]:
    """An FSP's records, or those of an impacted operator; oldest first."""
    column = GridPrequalificationRow.owner_id
    if caller.role in _OPERATOR_ROLES:
        column = GridPrequalificationRow.operator_id
    query = select(GridPrequalificationRow).where(column == caller.id)
    if status is not None:
        query = query.where(GridPrequalificationRow.status == status.value)
    if resource_id is not None:
        query = query.where(GridPrequalificationRow.resource_id == resource_id)
    order = (GridPrequalificationRow.created_at, GridPrequalificationRow.id)
    return session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()


def _conditions(body: GridDecisionIn) -> list[tuple[str, object]]:
    """The conditions a decision gives, as (field, value)."""
    given = [("max_up_mw", body.max_up_mw), ("max_down_mw", body.max_down_mw)]
    given.append(("windows", None if body.windows is None else len(body.windows)))
    return [(f, v) for f, v in given if v is not None]


def _window_issues(row_id: str, body: GridDecisionIn) -> list[Issue]:
    return [
        _issue(row_id, f"windows[{i}].end", w.end, "must be after start")
        for i, w in enumerate(body.windows or [])
        if not w.start < w.end
    ]


def _decision_issues(row: GridPrequalificationRow, body: GridDecisionIn) -> list[Issue]:
    current = S(row.status)
    if body.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none: it is final"
        message = f"cannot follow {current.value} ({allowed})"
        return [_issue(row.id, "status", body.status.value, message)]
    given = _conditions(body)
    if body.status is not S.CONDITIONALLY_APPROVED:
        return [
            _issue(row.id, f, v, "is a condition: only conditionally_approved") for f, v in given
        ]
    had = (row.max_up_mw, row.max_down_mw, row.windows) != (None, None, None)
    if not (given or (current is S.SUSPENDED and had)):
        message = "max_down_mw or windows is required for a conditional approval"
        return [_issue(row.id, "max_up_mw", None, message)]
    return _window_issues(row.id, body)


def decide(
    session: Session, caller: PartyRow, record_id: str, body: GridDecisionIn, *, now: datetime
) -> GridPrequalificationRow:
    """The impacted operator's decision on its own record (another party's answers 404)."""
    row = get_visible(session, caller, record_id)
    if row.operator_id != caller.id:
        raise NotFoundError(f"GridPrequalification {record_id!r} does not exist")
    issues = _decision_issues(row, body)
    if issues:
        raise InvalidInputError(issues)
    if body.status is S.APPROVED or _conditions(body):
        row.max_up_mw, row.max_down_mw = body.max_up_mw, body.max_down_mw
        row.windows = (
            None if body.windows is None else [w.model_dump(mode="json") for w in body.windows]
        )
    if body.status is S.SUSPENDED:
        row.suspended_from = now
    elif body.status in (S.APPROVED, S.CONDITIONALLY_APPROVED):
        row.suspended_from = None
    row.status, row.updated_at = body.status.value, now
    session.flush()
    return row


def _gaps(windows: Sequence[dict[str, str]]) -> list[Interval]:
    """The time outside ``windows`` (within :data:`ALWAYS`), as intervals.

    Example:
        >>> [str(g.start.date()) + ".." + str(g.end.date()) for g in _gaps(
        ...     [{"start": "2026-06-02T00:00:00Z", "end": "2026-06-03T00:00:00Z"},
        ...      {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T12:00:00Z"}])]
        ['2000-01-01..2026-06-01', '2026-06-03..9999-01-01']
    """
    spans = sorted(
        (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])) for w in windows
    )
    gaps, cursor = [], ALWAYS.start
    for start, end in spans:
        if start > cursor:
            gaps.append(Interval(start=cursor, end=start))
        cursor = max(cursor, end)
    if cursor < ALWAYS.end:
        gaps.append(Interval(start=cursor, end=ALWAYS.end))
    return gaps


def _domain_records(r: GridPrequalificationRow) -> list[GridPrequalification]:
    """One record per decision; a conditional one with windows also refuses the time outside
    them (a not-qualified record per gap), and without MW limits it is otherwise qualified."""
    status = S(r.status)
    limited = status is S.CONDITIONALLY_APPROVED and (r.max_up_mw, r.max_down_mw) != (None, None)
    domain = _DOMAIN[status] if limited or status is not S.CONDITIONALLY_APPROVED else "qualified"
    main = GridPrequalification(
        id=f"gpq-{r.id}",
        resource_id=r.resource_id,
        impacted_operator_id=r.operator_id,
        status=domain,  # type: ignore[arg-type]
        valid=ALWAYS,
        max_up_mw=r.max_up_mw if limited else None,
        max_down_mw=r.max_down_mw if limited else None,
        suspended_from=r.suspended_from,
    )
    if status is not S.CONDITIONALLY_APPROVED or not r.windows:
        return [main]
    return [main] + [
        GridPrequalification(
            id=f"gpq-{r.id}-outside-{n}",
            resource_id=r.resource_id,
            impacted_operator_id=r.operator_id,
            status="not_qualified",  # type: ignore[arg-type]
            valid=gap,
        )
        for n, gap in enumerate(_gaps(r.windows))
    ]


def grid_records_for(
    session: Session, owner_id: str, resource_ids: Iterable[str]
) -> list[GridPrequalification]:
    """The FSP's decided grid prequalifications of these resources, as domain records."""
    rows = session.scalars(
        select(GridPrequalificationRow).where(
            GridPrequalificationRow.owner_id == owner_id,
            GridPrequalificationRow.resource_id.in_(set(resource_ids)),
            GridPrequalificationRow.status.in_([s.value for s in _DOMAIN]),
        )
    )
    return [record for row in rows for record in _domain_records(row)]


#: The keys of a stored direction the FSP may read (the rest name the grid).
_FSP_KEYS: Final = ("direction", "light", "headroom_mw", "range_mw", "message")


def _assessment(stored: dict[str, Any] | None, *, for_operator: bool) -> Any:
    if stored is None:
        return None
    common = {k: stored.get(k) for k in ("assessed_at", "horizon_start", "horizon_end", "error")}
    if for_operator:
        return OperatorAssessmentOut.model_validate(
            {
                **common,
                "directions": stored["directions"],
                "grid_code": stored["grid_code"],
                "bus_ids": stored["bus_ids"],
            }
        )
    return AssessmentOut.model_validate(
        {**common, "directions": [{k: d[k] for k in _FSP_KEYS} for d in stored["directions"]]}
    )


def out(
    row: GridPrequalificationRow, caller: PartyRow
) -> GridPrequalificationOut | GridPrequalificationOperatorOut:
    """The record as the caller reads it: the full assessment for its impacted operator, the
    FSP's view (no topology) for its FSP."""
    for_operator = caller.id == row.operator_id
    fields = {
        "id": row.id,
        "owner_id": row.owner_id,
        "resource_id": row.resource_id,
        "operator_id": row.operator_id,
        "status": S(row.status),
        "max_up_mw": row.max_up_mw,
        "max_down_mw": row.max_down_mw,
        "windows": row.windows,
        "suspended_from": row.suspended_from,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "assessment": _assessment(row.assessment, for_operator=for_operator),
    }
    if for_operator:
        return GridPrequalificationOperatorOut(**fields)
    return GridPrequalificationOut(**fields)
