"""Bid intake of the service on SQLite: single-bid POST latency and one 4,000-bid document.

Through the FastAPI TestClient (authentication, role table, domain validation against the
FSP's register and its product prequalifications, audit event, commit with
``synchronous=FULL``) on a migrated SQLite file in a
temporary folder. Prints p50 / p99 of ``--singles`` single-bid POSTs, the accept time of one
bulk document of ``--bulk`` bids (4 MTUs each, over ``--units`` units), and the raw SQLAlchemy
Core insert of the same rows in one transaction; last line: ratio bulk / raw.

    .venv/bin/python benchmarks/bench_service_bids.py [--singles 500] [--bulk 4000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings, create_app, open_engine
from flexcoord.service.bootstrap import init_admin
from flexcoord.service.tables import BidRow

NOW = datetime(2026, 6, 1, 8, tzinfo=UTC)
FIRST_MTU = datetime(2026, 6, 1, 22, tzinfo=UTC)
MTU = timedelta(minutes=15)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _bid(bid_id: str, unit: int, k: int) -> dict[str, Any]:
    start = FIRST_MTU + (k % 92) * MTU
    return {
        "id": bid_id,
        "resource_id": f"u{unit}",
        "direction": "up",
        "quantities": [
            {"start": _iso(start + i * MTU), "end": _iso(start + (i + 1) * MTU), "quantity": 0.4}
            for i in range(4)
        ],
        "activation_price_eur_per_mwh": 100.0 + k % 50,
    }


class _Client:
    def __init__(self, client: TestClient, admin_key: str) -> None:
        self.client, self.keys = client, {"admin": admin_key}

    def call(self, party: str, method: str, path: str, json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[party]}"}
        r = self.client.request(method, path, headers=headers, json=json)
        assert r.status_code < 300, r.text
        return r.json()

    def party(self, party_id: str, role: str) -> None:
        self.call("admin", "POST", "/v1/parties", {"id": party_id, "name": party_id, "role": role})
        self.keys[party_id] = self.call("admin", "POST", f"/v1/parties/{party_id}/credentials")[
            "api_key"
        ]


def _market(c: _Client, units: int) -> None:
    c.party("dso", "dso")
    c.party("mo", "market_operator")
    c.party("fsp", "fsp")
    c.call(
        "dso", "POST", "/v1/grid-areas", {"id": "mv", "bus_ids": [1], "coupling_point_ids": ["t"]}
    )
    point = {"id": "cp1", "bus": 1, "area_id": "mv", "coupling_point_id": "t"}
    c.call("dso", "POST", "/v1/connection-points", point)
    for n in range(units):
        unit = {
            "id": f"u{n}",
            "connection_point_id": "cp1",
            "technology": "pv",
            "p_min_mw": 0.0,
            "p_max_mw": 1.0,
        }
        c.call("fsp", "POST", "/v1/units", unit)
    c.call("mo", "POST", "/v1/products", {"id": "da", "kind": "activation", "min_quantity": 0.1})
    for n in range(units):
        body = {"resource_id": f"u{n}", "product_id": "da", "operator_id": "dso"}
        record = c.call("fsp", "POST", "/v1/prequalifications", body)["id"]
        decision = {
            "status": "approved",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z",
        }
        c.call("dso", "POST", f"/v1/prequalifications/{record}/decisions", decision)
    for name in ("singles", "bulk"):
        session = {
            "id": name,
            "product_id": "da",
            "delivery_day": "2026-06-02",
            "gate_opens_at": _iso(NOW - timedelta(hours=1)),
            "gate_closes_at": _iso(NOW + timedelta(hours=1)),
        }
        c.call("mo", "POST", "/v1/sessions", session)


def _raw_insert(url: str, bulk: list[dict[str, Any]]) -> float:
    engine = open_engine(url)
    rows = [
        {
            "session_id": "bulk",
            "owner_id": "fsp",
            "id": f"raw-{b['id']}",
            "resource_id": b["resource_id"],
            "status": "submitted",
            "version": 1,
            "spec": b,
            "submitted_at": NOW,
        }
        for b in bulk
    ]
    started = time.perf_counter()
    with Session(engine) as session:
        session.execute(insert(BidRow), rows)
        session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--bulk", type=int, default=4000)
    parser.add_argument("--units", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'flexcoord.db'}"
        engine = open_engine(url, migrate_schema=True)
        admin = init_admin(engine, party_id="admin", name="Admin", now=NOW)
        engine.dispose()
        app = create_app(ServiceSettings(database_url=url, clock=lambda: NOW))
        with TestClient(app) as client:
            c = _Client(client, admin.api_key)
            _market(c, args.units)
            times = []
            for n in range(args.singles):
                started = time.perf_counter()
                c.call("fsp", "POST", "/v1/sessions/singles/bids", _bid(f"s{n}", n % args.units, n))
                times.append(time.perf_counter() - started)
            bulk = [_bid(f"b{n}", n % args.units, n) for n in range(args.bulk)]
            started = time.perf_counter()
            answer = c.call("fsp", "POST", "/v1/sessions/bulk/bid-documents", {"bids": bulk})
            bulk_s = time.perf_counter() - started
            assert answer["accepted"] == args.bulk
        raw_s = _raw_insert(url, bulk)
    cuts = statistics.quantiles(times, n=100)
    print(
        f"single-bid POST over {args.singles} bids: p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms"
    )
    print(f"bulk document of {args.bulk} bids (4 MTUs each): accepted in {bulk_s:.2f} s")
    print(f"raw SQLAlchemy Core insert of the same rows: {raw_s:.3f} s")
    print(f"ratio bulk / raw insert: {bulk_s / raw_s:.1f}")


if __name__ == "__main__":
    main()
