"""The worker's grid assessment: requested grid prequalifications → in progress, with the
traffic light of the platform grid stored on each record as the operator's decision aid.

:func:`assess_pending` is called by the service's worker (and ``flexcoord service assess``),
never by the API process: the grid layer (pandapower, power-grid-model) is imported inside it,
so importing this module loads no grid library, and :mod:`flexcoord.service.app` does not import
it at all.

What is assessed: for every ``requested`` record, the resource's range at its buses on the
platform grid (``ServiceSettings.grid_code``), by the record's impacted operator (the branches
touching its areas' buses and those buses are monitored), with
:func:`~flexcoord.grid.traffic_light.compute_traffic_light` over the next delivery day (Europe/
Brussels) after ``now``: its MTUs on the same quarter-hours of the SimBench profile year (the
profile itself, no forecast noise: a prequalification is a planning check), or the grid's own
operating point when it has no profiles. Per direction the worst MTU is kept
(:func:`~flexcoord.grid.traffic_light_summary.worst_case`): light, MW headroom, the binding
limit. A resource the grid cannot place (a bus not in it, an operator without areas) gets an
assessment that says so, for the operator to decide by hand. Each record's move is one audit
event (operation ``grid_prequalification.assess``, no party: the worker).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.domain import Interval, Register, market_time_units
from flexcoord.errors import InvalidInputError, NotFoundError
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.market_schemas import PrequalificationStatus
from flexcoord.service.register_store import placement_register
from flexcoord.service.tables import GridPrequalificationRow, PartyRow

if TYPE_CHECKING:
    from flexcoord.grid.forecast import OperatingForecast
    from flexcoord.grid.model import GridModel
    from flexcoord.grid.traffic_light_summary import DirectionSummary

__all__ = ["ASSESS_OPERATION", "assess_pending", "forecast_of", "horizon_of"]

#: The audit operation of the worker's move of a record to ``in_progress``.
ASSESS_OPERATION: Final = "grid_prequalification.assess"
_MARKET_TZ: Final = ZoneInfo("Europe/Brussels")
_STEP: Final = timedelta(minutes=15)


def assess_pending(
    engine_or_session: Engine | Session, grid: GridModel, *, now: datetime | None = None
) -> int:
    """Assess every ``requested`` grid prequalification on ``grid`` and move it to
    ``in_progress`` with its traffic light; the number of records moved.

    With an engine the work is one transaction, committed here; with a session it joins the
    caller's transaction (flushed, not committed). On PostgreSQL the records are locked
    (``FOR UPDATE SKIP LOCKED``), so two workers never assess one record twice.
    """
    at = (now or datetime.now(UTC)).astimezone(UTC)
    if isinstance(engine_or_session, Session):
        return _assess(engine_or_session, grid, at)
    with Session(engine_or_session) as session:
        moved = _assess(session, grid, at)
        session.commit()
        return moved


def horizon_of(now: datetime) -> tuple[Interval, ...]:
    """The MTUs assessed at ``now``: the next delivery day's (Europe/Brussels).

    Example:
        >>> mtus = horizon_of(datetime(2026, 6, 1, 8, tzinfo=UTC))
        >>> len(mtus), mtus[0].start.isoformat()
        (96, '2026-06-01T22:00:00+00:00')
    """
    return market_time_units(now.astimezone(_MARKET_TZ).date() + timedelta(days=1))


def forecast_of(grid: GridModel, mtus: Sequence[Interval], now: datetime) -> OperatingForecast:
    """The operating point the assessment linearises around: the SimBench profile on the same
    quarter-hours of its year as ``mtus`` (no noise), or the grid's own operating point when it
    has no profiles."""
    from flexcoord.grid.forecast import (  # noqa: PLC0415 - the API process never loads the grid layer
        forecast_from_profiles,
        forecast_from_snapshot,
    )

    try:
        steps = grid.profiles().n_steps
    except InvalidInputError:
        return forecast_from_snapshot(grid, intervals=mtus, issued_at=now)
    start = mtus[0].start
    step = int((start - datetime(start.year, 1, 1, tzinfo=UTC)) / _STEP)
    step = min(step, steps - len(mtus))
    return forecast_from_profiles(
        grid, start_step=step, intervals=mtus, issued_at=now, label="grid prequalification"
    )


def _assess(session: Session, grid: GridModel, now: datetime) -> int:
    query = select(GridPrequalificationRow).where(
        GridPrequalificationRow.status == PrequalificationStatus.REQUESTED.value
    )
    order = (GridPrequalificationRow.created_at, GridPrequalificationRow.id)
    rows = session.scalars(query.order_by(*order).with_for_update(skip_locked=True)).all()
    if not rows:
        return 0
    mtus = horizon_of(now)
    forecast = forecast_of(grid, mtus, now)
    by_operator: dict[str, list[GridPrequalificationRow]] = defaultdict(list)
    for row in rows:
        by_operator[row.operator_id].append(row)
    run_id = f"worker-{uuid.uuid4().hex}"
    for operator_id, records in sorted(by_operator.items()):
        for batch in _batches(records):
            register = _register_of(session, batch)
            stored = _batch(register, grid, forecast, operator_id, [r.resource_id for r in batch])
            for row in batch:
                _move(row, {**stored[row.resource_id], "assessed_at": now.isoformat()}, now)
                _audit(session, row, run_id, now)
    session.flush()
    return len(rows)


def _batches(records: Sequence[GridPrequalificationRow]) -> list[list[GridPrequalificationRow]]:
    """One operator's records in as few batches as one register can hold: FSPs' resource ids
    are their own namespaces, so two FSPs' ``u1`` go to different batches (first fit)."""
    batches: list[tuple[set[str], list[GridPrequalificationRow]]] = []
    by_owner: dict[str, list[GridPrequalificationRow]] = defaultdict(list)
    for row in records:
        by_owner[row.owner_id].append(row)
    for _owner, owned in sorted(by_owner.items()):
        ids = {r.resource_id for r in owned}
        fit = next((b for b in batches if not b[0] & ids), None)
        if fit is None:
            batches.append((set(ids), list(owned)))
        else:
            fit[0].update(ids)
            fit[1].extend(owned)
    return [rows for _ids, rows in batches]


def _register_of(session: Session, batch: Sequence[GridPrequalificationRow]) -> Register:
    """One register of the batch's FSPs and their resources (with every area and operator)."""
    parts = []
    for owner_id in sorted({r.owner_id for r in batch}):
        owner = session.get(PartyRow, owner_id)
        assert owner is not None  # a record's owner is a party (foreign key)
        ids = {r.resource_id for r in batch if r.owner_id == owner_id}
        parts.append(placement_register(session, owner, ids))
    first = parts[0]
    points = {p.id: p for part in parts for p in part.connection_points}
    return Register(
        operators=first.operators,
        areas=first.areas,
        fsps=tuple(f for part in parts for f in part.fsps),
        connection_points=tuple(points.values()),
        units=tuple(u for part in parts for u in part.units),
        groups=tuple(g for part in parts for g in part.groups),
    )


def _batch(
    register: Register,
    grid: GridModel,
    forecast: OperatingForecast,
    operator_id: str,
    resource_ids: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """The stored assessment of each resource (by one operator, one FSP's resources)."""
    from flexcoord.grid.traffic_light import compute_traffic_light  # noqa: PLC0415 - as above
    from flexcoord.grid.traffic_light_summary import worst_case  # noqa: PLC0415 - as above

    known = grid.bus_ids()
    common = {
        "grid_code": grid.code,
        "horizon_start": forecast.intervals[0].start.isoformat(),
        "horizon_end": forecast.intervals[-1].end.isoformat(),
    }
    out: dict[str, dict[str, Any]] = {}
    placed = []
    for resource_id in dict.fromkeys(resource_ids):
        buses = sorted(register.buses_of(resource_id)) if _has(register, resource_id) else []
        out[resource_id] = {**common, "bus_ids": buses, "directions": [], "error": None}
        if not buses:
            out[resource_id]["error"] = "the resource is no longer registered"
        elif not set(buses) <= known:
            out[resource_id]["error"] = "the resource is not on an in-service bus of the grid"
        else:
            placed.append(resource_id)
    if not placed:
        return out
    try:
        light = compute_traffic_light(
            register, grid, forecast, operator_id=operator_id, resources=placed
        )
    except (InvalidInputError, NotFoundError) as err:
        for resource_id in placed:
            out[resource_id]["error"] = f"the grid assessment failed: {err.__class__.__name__}"
        return out
    for resource_id in placed:
        out[resource_id]["directions"] = [_direction(s) for s in worst_case(light, resource_id)]
    return out


def _has(register: Register, resource_id: str) -> bool:
    return register.has("units", resource_id) or register.has("groups", resource_id)


def _direction(summary: DirectionSummary) -> dict[str, Any]:
    start = summary.binding_mtu_start
    return {
        "direction": summary.direction.value,
        "light": summary.light.value,
        "headroom_mw": round(summary.headroom_mw, 6),
        "range_mw": round(summary.range_mw, 6),
        "message": summary.fsp_text,
        "limit_kind": summary.limit_kind.value,
        "constraint": summary.constraint,
        "asset_name": summary.asset_name,
        "constraint_ref": summary.constraint_ref,
        "binding_mtu_start": None if start is None else start.isoformat(),
    }


def _move(row: GridPrequalificationRow, assessment: dict[str, Any], now: datetime) -> None:
    row.assessment = assessment
    row.assessed_at = now
    row.status = PrequalificationStatus.IN_PROGRESS.value
    row.updated_at = now


def _audit(session: Session, row: GridPrequalificationRow, run_id: str, now: datetime) -> None:
    body = json.dumps(row.assessment, sort_keys=True, separators=(",", ":")).encode()
    append_event(
        session,
        AuditRecord(
            at=now,
            party_id=None,
            credential_id=None,
            operation=ASSESS_OPERATION,
            target=f"grid_prequalification:{row.id}",
            request_id=run_id,
            payload_sha256=hashlib.sha256(body).hexdigest(),
            outcome=Outcome.ACCEPTED,
            status=200,
        ),
    )
