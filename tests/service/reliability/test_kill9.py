"""T12, kill -9 during intake: ``flexcoord serve`` (PostgreSQL when available) is killed with
SIGKILL at a random moment while clients stream bids with Idempotency-Keys, then restarted;
every request not acknowledged is resent with its key. Afterwards every acknowledged bid is
stored exactly once, whole (its spec parses, version 1, one key and one accepted audit event
per bid), nothing else is stored, and the audit chain verifies."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from flexcoord.domain import market_time_units
from flexcoord.service import open_engine, verify_chain
from flexcoord.service.market_schemas import BidIn
from flexcoord.service.tables import AuditEventRow, BidRow, IdempotencyRow
from tests.service.reliability.conftest import Database
from tests.service.reliability.live import Market, Server, bid, set_up_market, start_serve

CYCLES, CLIENTS = 10, 4
KILL_AFTER_S = (0.2, 1.2)
HEALTHY_BOUND_S = 20.0  # asserted; the goal (10 s) is reported


@dataclass
class Ledger:
    """The clients' log: acknowledged bids, and requests sent but not answered."""

    acknowledged: dict[tuple[str, str], bytes] = field(default_factory=dict)
    pending: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    replayed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post(base: str, market: Market, fsp: str, key: str, body: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(
        f"{base}/v1/sessions/s1/bids",
        json=body,
        headers=market.headers(fsp, **{"Idempotency-Key": key}),
        timeout=10,
    )


def _stream(base: str, market: Market, fsp: str, prefix: str, ledger: Ledger) -> None:
    """Send bids until the server goes away; the unanswered one is pending."""
    for i in range(10**6):
        key, body = f"{prefix}-{i}", bid(f"{prefix}-{i}", FIRST_MTU, i)
        try:
            r = _post(base, market, fsp, key, body)
        except httpx2.TransportError:
            with ledger.lock:
                ledger.pending.append((fsp, key, body))
            return
        with ledger.lock:
            if r.status_code == 201:
                ledger.acknowledged[fsp, str(body["id"])] = r.content
            else:
                ledger.unexpected.append(f"{key}: {r.status_code} {r.text[:200]}")
                return


def _resend(base: str, market: Market, ledger: Ledger) -> int:
    """Resend every pending request with its key until answered; how many."""
    pending, ledger.pending = ledger.pending, []
    for fsp, key, body in pending:
        r = _post(base, market, fsp, key, body)
        if r.status_code == 201:
            ledger.acknowledged[fsp, str(body["id"])] = r.content
            ledger.replayed += r.headers.get("Idempotent-Replayed") == "true"
        else:
            ledger.unexpected.append(f"resent {key}: {r.status_code} {r.text[:200]}")
    return len(pending)


NOW = datetime.now(UTC)
DAY = (NOW + timedelta(days=3)).date()
FIRST_MTU = market_time_units(DAY)[0].start


def _started(url: str, tmp_path: Path, cycle: int, restarts: list[float]) -> Server:
    server = start_serve(url, tmp_path / f"serve-{cycle}.log")
    restarts.append(server.wait_ready())
    return server


def _kill(server: Server) -> None:
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def _cycle(server: Server, market: Market, cycle: int, ledger: Ledger, rng: random.Random) -> None:
    threads = [
        threading.Thread(
            target=_stream, args=(server.base, market, f"fsp{n}", f"c{cycle}-f{n}", ledger)
        )
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(rng.uniform(*KILL_AFTER_S))
    _kill(server)
    for thread in threads:
        thread.join(timeout=30)


def _check_store(url: str, ledger: Ledger) -> dict[str, int]:
    engine = open_engine(url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(BidRow).where(BidRow.session_id == "s1")).all()
            keys = session.scalars(
                select(IdempotencyRow).where(IdempotencyRow.operation == "bid.submit")
            ).all()
            events = session.scalar(
                select(func.count())
                .select_from(AuditEventRow)
                .where(AuditEventRow.operation == "bid.submit", AuditEventRow.outcome == "accepted")
            )
            chain = verify_chain(session)
            if engine.dialect.name == "sqlite":
                assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()
    stored = {(r.owner_id, r.id) for r in rows}
    torn = [
        r.id
        for r in rows
        if BidIn.model_validate(r.spec).id != r.id or r.version != 1 or r.status != "submitted"
    ]
    assert chain.intact, chain.issues
    return {
        "stored": len(rows),
        "lost": len(set(ledger.acknowledged) - stored),
        "unacknowledged_stored": len(stored - set(ledger.acknowledged)),
        # two rows, two stored keys or two accepted audit events for one bid
        "duplicated": (len(rows) - len(stored))
        + abs(len(keys) - len(rows))
        + abs((events or 0) - len(rows)),
        "torn": len(torn),
        "audit_events": chain.events,
    }


@pytest.mark.slow
def test_kill_9_during_intake_loses_tears_and_duplicates_nothing(
    live_database: Database, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    rng, ledger, restarts, resent = random.Random(12), Ledger(), [], 0
    server = _started(live_database.url, tmp_path, 0, restarts)
    market = set_up_market(
        server.base,
        live_database.admin_key,
        fsps=CLIENTS,
        day=DAY.isoformat(),
        gate_opens_at=NOW - timedelta(hours=1),
        gate_closes_at=NOW + timedelta(days=1),
    )
    for cycle in range(CYCLES):
        _cycle(server, market, cycle, ledger, rng)
        server = _started(live_database.url, tmp_path, cycle + 1, restarts)
        resent += _resend(server.base, market.__class__(base=server.base, keys=market.keys), ledger)
    server.stop()
    found = _check_store(live_database.url, ledger)
    figures = (
        f"T12 on {live_database.backend}: {CYCLES} kill -9 cycles, {len(ledger.acknowledged)} "
        f"bids acknowledged, {resent} unacknowledged resent with their keys ({ledger.replayed} "
        "of them had been stored before the kill: replayed); lost "
        f"{found['lost']}, torn {found['torn']}, duplicated {found['duplicated']}, stored "
        f"unacknowledged {found['unacknowledged_stored']}; restarts healthy in max "
        f"{max(restarts):.1f} s (median {sorted(restarts)[len(restarts) // 2]:.1f} s); audit "
        f"chain of {found['audit_events']} events intact"
    )
    print(f"\n{figures}")
    for name, value in found.items():
        record_property(name, value)
    record_property("max_restart_s", round(max(restarts), 2))
    assert not ledger.unexpected, (figures, ledger.unexpected[:5])
    assert found["lost"] == found["torn"] == found["duplicated"] == 0, figures
    assert found["unacknowledged_stored"] == 0, figures
    assert resent > 0 and len(ledger.acknowledged) > CYCLES, figures
    assert max(restarts) < HEALTHY_BOUND_S, figures
