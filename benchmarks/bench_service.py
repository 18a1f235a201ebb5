"""The live service on PostgreSQL: single-bid intake under 20 concurrent clients, one 4,000-bid
document, against the raw database doing the same inserts.

A real ``flexcoord serve`` (uvicorn, one process, system clock) over a fresh database on the
PostgreSQL server of ``--database-url``, else ``$FLEXCOORD_TEST_POSTGRES_URL``, else one
started with ``scripts/postgres`` (and stopped afterwards). Every request goes over HTTP on
loopback through authentication, the role table, the domain's bid rules against the FSP's
register and prequalifications, the audit chain and a commit with ``synchronous_commit=on``.
The load generator (threads, one process) shares the machine with the server and the database.

Prints, per section: the single-bid intake throughput (bids/s) and client-side p50 / p99 of
``--clients`` clients each posting ``--singles`` / ``--clients`` bids as fast as answered; the
accept time of one ``--bulk``-bid document (4 MTUs each; goal < 2 s); the raw SQLAlchemy Core
inserts of the same rows (one transaction per bid, sequential; the document's rows in one
transaction); one session on 1-HVMV-mixed with ``--grid-units`` units bidding 12 MTUs each
(1,200 bids by default) cleared end to end by the worker, with the share of its wall time in the
clearing itself. Last line: the service's wall time per bid under concurrency / the raw
database's time per single-row insert transaction.

    .venv/bin/python benchmarks/bench_service.py [--singles 2000] [--clients 20] [--bulk 4000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine, delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from flexcoord.domain import market_time_units
from flexcoord.grid.model import load_grid
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.schemas import ConnectionPointModel, GridAreaModel
from flexcoord.service import ServiceSettings, open_engine
from flexcoord.service.bootstrap import init_admin
from flexcoord.service.clearing_job import platform_grid
from flexcoord.service.tables import BidRow, ConnectionPointRow, OutboxRow, UnitRow
from flexcoord.service.worker import Worker

ROOT = Path(__file__).parents[1]
NOW = datetime.now(UTC)
DAY = (NOW + timedelta(days=3)).date()
FIRST_MTU = market_time_units(DAY)[0].start
MTU = timedelta(minutes=15)
BENCH_DATABASE = "flexcoord_bench_service"
BENCH_PGPORT, BENCH_PG_DIR = "54339", "/tmp/flexcoord-postgres-bench-service"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _bid(bid_id: str, unit: int, k: int, mtus: int = 1) -> dict[str, Any]:
    start = FIRST_MTU + (k % (96 - mtus)) * MTU
    return {
        "id": bid_id,
        "resource_id": f"u{unit}",
        "direction": "up",
        "quantities": [
            {"start": _iso(start + i * MTU), "end": _iso(start + (i + 1) * MTU), "quantity": 0.4}
            for i in range(mtus)
        ],
        "activation_price_eur_per_mwh": 100.0 + k % 50,
    }


@contextmanager
def _postgres_server(given: str | None) -> Iterator[str]:
    """The server URL given, or one of ``scripts/postgres`` started here (and stopped)."""
    url = given or os.environ.get("FLEXCOORD_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    script = ["bash", str(ROOT / "scripts" / "postgres")]
    # a cluster of the benchmark's own (port and folder), so stopping it stops nobody else's
    env = {**os.environ, "PGPORT": BENCH_PGPORT, "FLEXCOORD_PG_DIR": BENCH_PG_DIR}
    url = subprocess.run(
        [*script, "start"], check=True, capture_output=True, text=True, env=env
    ).stdout
    try:
        yield url.strip()
    finally:
        subprocess.run([*script, "stop"], check=False, capture_output=True, env=env)


def _fresh_database(server_url: str, name: str = BENCH_DATABASE) -> str:
    """An empty, migrated database of its own on the server."""
    server = make_url(server_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    open_engine(url, migrate_schema=True).dispose()
    return url


@dataclass
class Live:
    """A running ``flexcoord serve`` and the keys of its parties."""

    base: str
    keys: dict[str, str]

    def call(self, party: str, method: str, path: str, body: Any = None) -> Any:
        r = httpx2.request(
            method,
            f"{self.base}{path}",
            json=body,
            timeout=60,
            headers={"Authorization": f"Bearer {self.keys[party]}"},
        )
        assert r.status_code < 300, r.text
        return r.json()

    def party(self, party_id: str, role: str) -> None:
        self.call("admin", "POST", "/v1/parties", {"id": party_id, "name": party_id, "role": role})
        issued = self.call("admin", "POST", f"/v1/parties/{party_id}/credentials")
        self.keys[party_id] = issued["api_key"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _served(url: str) -> Iterator[str]:
    with httpx2.Client() as probe:
        port = _free_port()
        command = ["-c", "from flexcoord.cli.app import main; main()", "serve"]
        process = subprocess.Popen(
            [sys.executable, *command, "--port", str(port), "--database-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if probe.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    time.sleep(0.05)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)


def _market(live: Live, units: int) -> None:
    live.party("dso", "dso")
    live.party("mo", "market_operator")
    live.party("fsp", "fsp")
    area = {"id": "mv", "bus_ids": [1], "coupling_point_ids": ["t"]}
    live.call("dso", "POST", "/v1/grid-areas", area)
    point = {"id": "cp1", "bus": 1, "area_id": "mv", "coupling_point_id": "t"}
    live.call("dso", "POST", "/v1/connection-points", point)
    live.call("mo", "POST", "/v1/products", {"id": "da", "kind": "activation", "min_quantity": 0.1})
    decision = {
        "status": "approved",
        "valid_from": "2020-01-01T00:00:00Z",
        "valid_until": "2040-01-01T00:00:00Z",
    }
    for n in range(units):
        unit = {
            "id": f"u{n}",
            "connection_point_id": "cp1",
            "technology": "pv",
            "p_min_mw": 0.0,
            "p_max_mw": 1.0,
        }
        live.call("fsp", "POST", "/v1/units", unit)
        body = {"resource_id": f"u{n}", "product_id": "da", "operator_id": "dso"}
        record = live.call("fsp", "POST", "/v1/prequalifications", body)["id"]
        live.call("dso", "POST", f"/v1/prequalifications/{record}/decisions", decision)
    for name in ("singles", "bulk"):
        session = {
            "id": name,
            "product_id": "da",
            "delivery_day": DAY.isoformat(),
            "gate_opens_at": _iso(NOW - timedelta(hours=1)),
            "gate_closes_at": _iso(NOW + timedelta(days=1)),
        }
        live.call("mo", "POST", "/v1/sessions", session)


@dataclass(frozen=True)
class Intake:
    """Single-bid intake under concurrency."""

    bids: int
    wall_s: float
    latencies_s: list[float]


def _single_intake(live: Live, singles: int, clients: int, units: int) -> Intake:
    latencies: list[float] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {live.keys['fsp']}"}

    def client(c: int) -> None:
        mine = []
        with httpx2.Client(timeout=60, headers=headers) as http:
            for n in range(c, singles, clients):
                started = time.perf_counter()
                r = http.post(
                    f"{live.base}/v1/sessions/singles/bids", json=_bid(f"s{n}", n % units, n)
                )
                mine.append(time.perf_counter() - started)
                assert r.status_code == 201, r.text
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Intake(bids=singles, wall_s=time.perf_counter() - started, latencies_s=latencies)


def _bulk_accept(live: Live, bulk: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    answer = live.call("fsp", "POST", "/v1/sessions/bulk/bid-documents", {"bids": bulk})
    elapsed = time.perf_counter() - started
    assert answer["accepted"] == len(bulk)
    return elapsed


def _rows(session_id: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "session_id": session_id,
            "owner_id": "fsp",
            "id": f"raw-{b['id']}",
            "resource_id": b["resource_id"],
            "status": "submitted",
            "version": 1,
            "spec": b,
            "submitted_at": NOW,
        }
        for b in bodies
    ]


def _raw_inserts(
    url: str, singles: list[dict[str, Any]], bulk: list[dict[str, Any]]
) -> tuple[float, float]:
    """Seconds for the singles' rows one transaction each, and the document's in one."""
    engine = open_engine(url)
    try:
        started = time.perf_counter()
        for row in _rows("singles", singles):
            with Session(engine) as session:
                session.execute(insert(BidRow), [row])
                session.commit()
        singles_s = time.perf_counter() - started
        started = time.perf_counter()
        with Session(engine) as session:
            session.execute(insert(BidRow), _rows("bulk", bulk))
            session.commit()
        bulk_s = time.perf_counter() - started
        with Session(engine) as session:
            session.execute(delete(BidRow).where(BidRow.id.like("raw-%")))
            session.commit()
    finally:
        engine.dispose()
    return singles_s, bulk_s


def _report_intake(intake: Intake, clients: int) -> None:
    cuts = statistics.quantiles(intake.latencies_s, n=100)
    print(
        f"single-bid intake, {intake.bids} bids from {clients} concurrent clients: "
        f"{intake.bids / intake.wall_s:.0f} bids/s, p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms"
    )


#: The sections run against the live service, in order; each gets the service and the
#: arguments and prints its figures.
# end-to-end clearing: added by the clearing branch (one market session of 1-HVMV-mixed with
# >= 1,000 bids cleared and published, with the share of wall time spent in the clearing).
GRID = "1-HVMV-mixed-all-0-sw"
CLEARING_MTUS = range(36, 48)  # 09:00-12:00 local


def _grid_market(live: Live, units: int) -> list[tuple[str, str, float]]:
    """The grid's operators and areas, ``units`` units of its MV areas with their connection
    points (alternately two FSPs'), prequalified; the (fsp, unit, range MW) triples."""
    register = build_portfolio(load_grid(GRID))
    for party, role in (("tso", "tso"), ("dso", "dso"), ("mo", "market_operator")):
        live.party(party, role)
    for fsp in ("fsp-a", "fsp-b"):
        live.party(fsp, "fsp")
    for a in register.areas:
        live.call(
            a.operator_id, "POST", "/v1/grid-areas", GridAreaModel.of(a).model_dump(mode="json")
        )
    live.call("mo", "POST", "/v1/products", {"id": "da", "kind": "activation", "min_quantity": 0.1})
    points = {p.id: p for p in register.connection_points}
    chosen = [
        u
        for u in register.units
        if points[u.connection_point_id].area_id != "tso" and u.p_max_mw - u.p_min_mw >= 0.5
    ][:units]
    decision = {
        "status": "approved",
        "valid_from": "2020-01-01T00:00:00Z",
        "valid_until": "2040-01-01T00:00:00Z",
    }
    out: list[tuple[str, str, float]] = []
    known: set[str] = set()
    for n, unit in enumerate(chosen):
        point = points[unit.connection_point_id]
        if point.id not in known:
            cp = ConnectionPointModel.of(point).model_dump(mode="json")
            live.call("dso", "POST", "/v1/connection-points", cp)
            known.add(point.id)
        fsp = ("fsp-a", "fsp-b")[n % 2]
        spec = {
            "id": f"u{n}",
            "connection_point_id": point.id,
            "technology": str(unit.technology),
            "p_min_mw": unit.p_min_mw,
            "p_max_mw": unit.p_max_mw,
        }
        live.call(fsp, "POST", "/v1/units", spec)
        body = {"resource_id": f"u{n}", "product_id": "da", "operator_id": "dso"}
        record = live.call(fsp, "POST", "/v1/prequalifications", body)["id"]
        live.call("dso", "POST", f"/v1/prequalifications/{record}/decisions", decision)
        out.append((fsp, f"u{n}", unit.p_max_mw - unit.p_min_mw))
    return out


def _clearing_bids(units: list[tuple[str, str, float]]) -> dict[str, list[dict[str, Any]]]:
    """One single-MTU up bid per unit and MTU of :data:`CLEARING_MTUS`, priced by unit."""
    docs: dict[str, list[dict[str, Any]]] = {}
    for n, (fsp, unit, range_mw) in enumerate(units):
        for k in CLEARING_MTUS:
            start = FIRST_MTU + k * MTU
            docs.setdefault(fsp, []).append(
                {
                    "id": f"b{n}-{k}",
                    "resource_id": unit,
                    "direction": "up",
                    "quantities": [
                        {
                            "start": _iso(start),
                            "end": _iso(start + MTU),
                            "quantity": min(0.4, range_mw),
                        }
                    ],
                    "activation_price_eur_per_mwh": 40.0 + (7 * n) % 90 + k % 5,
                }
            )
    return docs


def _clearing_end_to_end(server_url: str, units: int) -> None:
    """One session on 1-HVMV-mixed: bids in bulk over HTTP, needs of the DSO in every MV area
    holding a unit, cleared by the worker (its claim, snapshot, base case, scheme, results and
    messages in one transaction); the share of the worker's wall time in the clearing itself."""
    url = _fresh_database(server_url, f"{BENCH_DATABASE}_clearing")
    engine = open_engine(url)
    admin = init_admin(engine, party_id="admin", name="Admin", now=NOW)
    closes = NOW + timedelta(hours=6)
    with _served(url) as base:
        live = Live(base=base, keys={"admin": admin.api_key})
        chosen = _grid_market(live, units)
        session = {
            "id": "grid",
            "product_id": "da",
            "delivery_day": DAY.isoformat(),
            "gate_opens_at": _iso(NOW - timedelta(hours=1)),
            "gate_closes_at": _iso(closes),
        }
        live.call("mo", "POST", "/v1/sessions", session)
        with Session(engine) as s:
            area_of = {r.id: r.area_id for r in s.scalars(select(ConnectionPointRow)).all()}
            unit_point = {
                (r.owner_id, r.id): r.connection_point_id for r in s.scalars(select(UnitRow)).all()
            }
        areas = sorted({area_of[unit_point[(f, u)]] for f, u, _ in chosen})
        for a in areas:
            quantities = [
                {
                    "start": _iso(FIRST_MTU + k * MTU),
                    "end": _iso(FIRST_MTU + (k + 1) * MTU),
                    "quantity": 1.0,
                }
                for k in CLEARING_MTUS
            ]
            need = {
                "id": f"n-{a}",
                "location": {"kind": "area", "area_id": a},
                "direction": "up",
                "quantities": quantities,
                "activation_price_cap_eur_per_mwh": 500.0,
            }
            live.call("dso", "POST", "/v1/sessions/grid/needs", need)
        docs = _clearing_bids(chosen)
        for fsp, bids in docs.items():
            live.call(fsp, "POST", "/v1/sessions/grid/bid-documents", {"bids": bids})
    n_bids = sum(len(b) for b in docs.values())
    settings = ServiceSettings(database_url=url, grid_code=GRID, clock=lambda: closes)
    worker = Worker(engine=engine, settings=settings)
    started = time.perf_counter()
    platform_grid(GRID)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    done = worker.run_once()
    wall_s = time.perf_counter() - started
    assert done is not None and done[1] is not None, "the session was not cleared"
    summary = done[1].summary
    with Session(engine) as s:
        messages = s.scalar(select(func.count()).select_from(OutboxRow))
    engine.dispose()
    clearing_s = float(summary["clearing_s"])
    base_s = float(summary["base_case_s"])
    print(
        f"end-to-end clearing on {GRID}: {n_bids} bids of {len(chosen)} units, "
        f"{len(areas)} DSO needs, scheme {summary['scheme']}: worker {wall_s:.2f} s from claim to "
        f"commit (grid loaded before, {load_s:.1f} s), of which the scheme's clearing "
        f"{clearing_s:.2f} s ({clearing_s / wall_s:.0%}) and the base case's power flow "
        f"{base_s:.2f} s ({base_s / wall_s:.0%}); {summary['awards']} awards, "
        f"{summary['orders']} activation orders, {messages} messages enqueued in the same "
        "transaction"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL")
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--bulk", type=int, default=4000)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument(
        "--grid-units", type=int, default=100, help="units bidding in the end-to-end clearing"
    )
    args = parser.parse_args()
    with _postgres_server(args.database_url) as server_url:
        url = _fresh_database(server_url)
        engine = open_engine(url)
        admin = init_admin(engine, party_id="admin", name="Admin", now=NOW)
        engine.dispose()
        with _served(url) as base:
            live = Live(base=base, keys={"admin": admin.api_key})
            _market(live, args.units)
            intake = _single_intake(live, args.singles, args.clients, args.units)
            _report_intake(intake, args.clients)
            bulk = [_bid(f"b{n}", n % args.units, n, mtus=4) for n in range(args.bulk)]
            bulk_s = _bulk_accept(live, bulk)
            print(
                f"bulk document of {args.bulk} bids (4 MTUs each): accepted in {bulk_s:.2f} s "
                "(goal < 2 s)"
            )
        _clearing_end_to_end(server_url, args.grid_units)
        singles = [_bid(f"s{n}", n % args.units, n) for n in range(args.singles)]
        raw_singles_s, raw_bulk_s = _raw_inserts(url, singles, bulk)
    raw_per_bid_s = raw_singles_s / args.singles
    print(
        f"raw SQLAlchemy Core inserts of the same rows: {raw_per_bid_s * 1000:.2f} ms per bid "
        f"(one transaction each), the document's {args.bulk} rows in {raw_bulk_s:.3f} s "
        f"(bulk / raw {bulk_s / raw_bulk_s:.1f})"
    )
    service_per_bid_s = intake.wall_s / intake.bids
    print(f"ratio service per-bid intake / raw insert: {service_per_bid_s / raw_per_bid_s:.1f}")


if __name__ == "__main__":
    main()
