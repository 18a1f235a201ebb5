"""The worker's grid assessment on 1-HVMV-mixed: ``assess_pending`` over many requested records.

The register of :func:`flexcoord.grid.portfolio.build_portfolio` (one TSO, one DSO for every MV
area, one FSP per area) is written straight into a migrated SQLite file (areas, connection
points, ``--units`` units spread over the grid) with one requested grid prequalification per
impacted operator; then ``assess_pending`` runs once on the loaded grid. Prints the number of
records, the wall time, and the time of the bare grid work (the forecast and one
``compute_traffic_light`` of the same resources per operator); last line: the ratio (the rest
is the service's: registers from the database, stored assessments, one audit event each).

    .venv/bin/python benchmarks/bench_grid_assessment.py [--units 300]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from flexcoord.domain import Register
from flexcoord.grid.model import load_grid
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.grid.traffic_light import compute_traffic_light
from flexcoord.service import open_engine
from flexcoord.service.grid_assessment import assess_pending, forecast_of, horizon_of
from flexcoord.service.tables import (
    ConnectionPointRow,
    GridAreaRow,
    GridPrequalificationRow,
    PartyRow,
    UnitRow,
)

NOW = datetime(2026, 6, 1, 8, tzinfo=UTC)


def _safe(name: str) -> str:
    """A SimBench name as a service id (``MV3.101#2`` → ``MV3.101-2``)."""
    return re.sub(r"[^A-Za-z0-9._:-]", "-", name)


def _fill(session: Session, register: Register, units: int) -> tuple[int, dict[str, list[str]]]:
    roles = {o.id: o.role.value for o in register.operators}
    for party in [*register.operators, *register.fsps]:
        role = roles.get(party.id, "fsp")
        session.add(PartyRow(id=party.id, name=party.name, role=role, created_at=NOW))
    session.flush()
    for a in register.areas:
        spec = {
            "id": _safe(a.id),
            "bus_ids": sorted(a.bus_ids),
            "voltage_levels_kv": sorted(a.voltage_levels_kv),
            "coupling_point_ids": sorted(a.coupling_point_ids),
        }
        row = GridAreaRow(id=_safe(a.id), owner_id=a.operator_id, spec=spec, created_at=NOW)
        session.add(row)
    session.flush()
    owners = {a.id: a.operator_id for a in register.areas}
    step = max(1, len(register.units) // units)
    chosen = register.units[::step][:units]
    points = {register.connection_point(u.connection_point_id) for u in chosen}
    for p in points:
        area = _safe(p.area_id)
        spec = {"id": p.id, "bus": p.bus, "area_id": area}
        spec["coupling_point_id"] = p.coupling_point_id
        session.add(
            ConnectionPointRow(
                id=p.id, owner_id=owners[p.area_id], area_id=area, spec=spec, created_at=NOW
            )
        )
    session.flush()
    records = 0
    assessed: dict[str, list[str]] = {"tso": [], "dso": []}
    for u in chosen:
        spec = {
            "id": u.id,
            "connection_point_id": u.connection_point_id,
            "technology": "pv",
            "p_min_mw": 0.0,
            "p_max_mw": max(u.p_range_mw, 0.01),
        }
        session.add(
            UnitRow(
                owner_id=u.fsp_id,
                id=u.id,
                connection_point_id=u.connection_point_id,
                spec=spec,
                created_at=NOW,
            )
        )
        for operator in {owners[register.connection_point(u.connection_point_id).area_id], "tso"}:
            session.add(
                GridPrequalificationRow(
                    id=uuid.uuid4().hex,
                    owner_id=u.fsp_id,
                    operator_id=operator,
                    resource_id=u.id,
                    status="requested",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            assessed[operator].append(u.id)
            records += 1
    session.commit()
    return records, assessed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=300)
    args = parser.parse_args()
    grid = load_grid("1-HVMV-mixed-all-0-sw")
    register = build_portfolio(grid)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'bench.db'}", migrate_schema=True)
        with Session(engine) as session:
            records, assessed = _fill(session, register, args.units)
        grid.ptdf(), grid.voltage_sensitivity()  # cached by the worker's grid too
        started = time.perf_counter()
        moved = assess_pending(engine, grid, now=NOW)
        total = time.perf_counter() - started
        engine.dispose()
    assert moved == records
    started = time.perf_counter()
    forecast = forecast_of(grid, horizon_of(NOW), NOW)
    for operator, resources in assessed.items():
        compute_traffic_light(register, grid, forecast, operator_id=operator, resources=resources)
    bare = time.perf_counter() - started
    print(f"{records} records ({args.units} units) assessed in {total:.2f} s")
    print(f"bare forecast + compute_traffic_light of the same resources: {bare:.2f} s")
    print(f"ratio assess_pending / bare: {total / bare:.2f}")


if __name__ == "__main__":
    main()
