"""Declared baselines: what an FSP says its unit would do without activation, per MTU.

Settlement verifies delivery against a baseline (:mod:`flexcoord.operations.baselines`). Before
this store the service had one source only, *meter before/after* from the FSP's meter readings
(:func:`~flexcoord.service.settlement_job.session_verifications`). A UFTP D-Prognosis
(:mod:`flexcoord.service.uftp_endpoint`) now declares one: :func:`declare` stores it, and
:func:`declared_schedule` hands settlement the unit's schedule, which it uses through
:class:`~flexcoord.operations.DeclaredSchedule` wherever the schedule covers every ordered MTU
of the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import Interval
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.operations import BaselineValue, MeterSeries
from flexcoord.service.tables import BaselineRow, PartyRow, UnitRow

__all__ = ["D_PROGNOSIS", "declare", "declared_schedule"]

#: The ``source`` of a baseline a UFTP D-Prognosis declared.
D_PROGNOSIS: Final = "d_prognosis"


def _issue(unit_id: str, field: str, value: object, message: str) -> Issue:
    return Issue(kind="Baseline", object_id=unit_id, field=field, value=value, message=message)


def declare(  # noqa: PLR0913 - the store, the owner, the unit, the values, their origin, now
    session: Session,
    owner: PartyRow,
    unit_id: str,
    values: Sequence[BaselineValue],
    *,
    source: str,
    message_id: str,
    now: datetime,
) -> int:
    """Store the FSP's declared baseline of one of its units (in the caller's transaction); a
    value for an MTU already declared replaces it. How many values were stored.

    Raises:
        InvalidInputError: the unit is not one of the owner's registered units (a group's
            baseline cannot be split into its units), a value has no power, or none is given.
    """
    issues = []
    if session.get(UnitRow, (owner.id, unit_id)) is None:
        issues.append(_issue(unit_id, "unit_id", unit_id, "is not a registered unit of yours"))
    if not values:
        issues.append(_issue(unit_id, "values", [], "must hold at least one MTU"))
    missing = [str(v.interval) for v in values if v.mw is None]
    if missing:
        issues.append(_issue(unit_id, "values", missing[:5], "must give a power in every MTU"))
    if issues:
        raise InvalidInputError(issues)
    stored = {
        row.start: row
        for row in session.scalars(
            select(BaselineRow).where(
                BaselineRow.owner_id == owner.id,
                BaselineRow.unit_id == unit_id,
                BaselineRow.start >= min(v.interval.start for v in values),
                BaselineRow.start <= max(v.interval.start for v in values),
            )
        )
    }
    for v in values:
        assert v.mw is not None  # checked above
        row = stored.get(v.interval.start)
        if row is None:
            session.add(
                BaselineRow(
                    owner_id=owner.id,
                    unit_id=unit_id,
                    start=v.interval.start,
                    end=v.interval.end,
                    mw=v.mw,
                    source=source,
                    message_id=message_id,
                    received_at=now,
                )
            )
        else:
            row.end, row.mw, row.source = v.interval.end, v.mw, source
            row.message_id, row.received_at = message_id, now
    session.flush()
    return len(values)


def declared_schedule(session: Session, owner_id: str, unit_id: str) -> MeterSeries | None:
    """The unit's declared baseline as a schedule (``None``: none declared)."""
    rows = session.scalars(
        select(BaselineRow)
        .where(BaselineRow.owner_id == owner_id, BaselineRow.unit_id == unit_id)
        .order_by(BaselineRow.start)
    ).all()
    if not rows:
        return None
    return MeterSeries.of((Interval(start=r.start, end=r.end), r.mw) for r in rows)
