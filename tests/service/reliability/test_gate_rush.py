"""T1, the gate-closure rush: 20 concurrent FSP clients × 100 bids in the last 10 s before
gate closure against a real server (PostgreSQL when available), 20 % of them retried with the
same Idempotency-Key (half at once, half after the client gave up on a forced timeout), then a
batch after closure. Nothing acknowledged is lost, nothing is stored twice, nothing is
accepted at or after closure; the client-side p50/p99 latency is reported."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.service import open_engine, verify_chain
from flexcoord.service.tables import BidRow, IdempotencyRow
from tests.service.reliability.conftest import Database
from tests.service.reliability.live import Market, bid, pinned_server, set_up_market

CLIENTS, BIDS_EACH, LATE_EACH = 20, 100, 5
RUSH_S = 10.0
#: Wall seconds from starting the server clock to the rush.
LEAD_S = 1.0
GATE_CLOSES = datetime(2026, 6, 1, 10, tzinfo=UTC)
DAY, FIRST_MTU = "2026-06-02", datetime(2026, 6, 1, 22, tzinfo=UTC)
#: Loose bounds asserted so CI noise does not flake; the goal (300 ms) is reported. SQLite
#: queues writers for its one write lock, its busy handler sleeping up to 100 ms a try.
P99_BOUND_S = {"postgresql": 2.0, "sqlite": 4.0}
FORCED_TIMEOUT_S = 0.002


@dataclass
class Log:
    """What the clients saw."""

    acknowledged: dict[tuple[str, str], bytes] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    refused_late: int = 0
    late_accepted: list[tuple[str, str]] = field(default_factory=list)
    replay_mismatches: list[str] = field(default_factory=list)
    other: list[tuple[str, int, str]] = field(default_factory=list)
    forced_timeouts: int = 0
    retries: int = 0


async def _send(
    client: httpx2.AsyncClient,
    market: Market,
    fsp: str,
    key: str,
    body: dict[str, object],
    log: Log,
    *,
    timeout: float = 30.0,
) -> httpx2.Response:
    started = time.perf_counter()
    r = await client.post(
        f"{market.base}/v1/sessions/s1/bids",
        json=body,
        headers=market.headers(fsp, **{"Idempotency-Key": key}),
        timeout=timeout,
    )
    log.latencies_s.append(time.perf_counter() - started)
    return r


async def _until_answered(
    client: httpx2.AsyncClient,
    market: Market,
    fsp: str,
    key: str,
    body: dict[str, object],
    log: Log,
) -> httpx2.Response:
    """Resend with the same key while the first attempt is still in flight (409 on the key)."""
    while True:
        r = await _send(client, market, fsp, key, body, log)
        if r.status_code != 409 or r.json()["errors"][0]["object_id"] != "Idempotency-Key":
            return r
        await asyncio.sleep(0.02)


def _answer(r: httpx2.Response) -> tuple[int, object]:
    """What a retry must repeat: an acknowledgement byte for byte; a refusal's status and
    issues (a refused request stores nothing, so its retry is judged afresh: a bid refused at
    the gate is refused again)."""
    if r.status_code == 201:
        return r.status_code, r.content
    return r.status_code, r.json()["errors"]


def _file(log: Log, fsp: str, body: dict[str, object], r: httpx2.Response, *, before: bool) -> None:
    bid_id = str(body["id"])
    if r.status_code == 201:
        log.acknowledged[fsp, bid_id] = r.content
        if not before:
            log.late_accepted.append((fsp, bid_id))
    elif r.status_code == 409 and r.json()["errors"][0]["field"] == "gate_closes_at":
        log.refused_late += 1
    else:
        log.other.append((bid_id, r.status_code, r.text[:200]))


async def _one(client: httpx2.AsyncClient, market: Market, fsp: str, i: int, log: Log) -> None:
    body, key = bid(f"b{i}", FIRST_MTU, i), f"{fsp}-k{i}"
    if i % 10 == 5:  # retried after a forced client timeout
        try:
            await _send(client, market, fsp, key, body, log, timeout=FORCED_TIMEOUT_S)
            log.latencies_s.pop()  # answered within the forced timeout: not a retry case
        except httpx2.TimeoutException:
            log.forced_timeouts += 1
        log.retries += 1
        r = await _until_answered(client, market, fsp, key, body, log)
    else:
        r = await _until_answered(client, market, fsp, key, body, log)
        if i % 10 == 0:  # retried at once: the same answer, byte for byte
            log.retries += 1
            again = await _until_answered(client, market, fsp, key, body, log)
            if _answer(again) != _answer(r) or (
                r.status_code == 201 and again.headers.get("Idempotent-Replayed") != "true"
            ):
                log.replay_mismatches.append(key)
    _file(log, fsp, body, r, before=True)


async def _client(market: Market, n: int, origin: float, log: Log) -> None:
    fsp, rng = f"fsp{n}", random.Random(n)
    async with httpx2.AsyncClient() as client:
        for i in range(BIDS_EACH):
            due = origin + RUSH_S * (i + rng.random()) / BIDS_EACH
            await asyncio.sleep(max(0.0, due - time.time()))
            await _one(client, market, fsp, i, log)
        await asyncio.sleep(max(0.0, origin + RUSH_S + 0.3 - time.time()))
        for j in range(LATE_EACH):  # after closure: every one refused
            body = bid(f"late{j}", FIRST_MTU, j)
            r = await _until_answered(client, market, fsp, f"{fsp}-late{j}", body, log)
            _file(log, fsp, body, r, before=False)


async def _rush(market: Market, origin: float) -> Log:
    log = Log()
    await asyncio.gather(*(_client(market, n, origin, log) for n in range(CLIENTS)))
    return log


def _stored(url: str) -> tuple[list[BidRow], int, bool]:
    engine = open_engine(url)
    try:
        with Session(engine) as session:
            rows = list(session.scalars(select(BidRow).where(BidRow.session_id == "s1")))
            keys = len(
                session.scalars(
                    select(IdempotencyRow.key).where(IdempotencyRow.operation == "bid.submit")
                ).all()
            )
            intact = verify_chain(session).intact
    finally:
        engine.dispose()
    return rows, keys, intact


@pytest.mark.slow
def test_gate_closure_rush_loses_duplicates_and_accepts_late_nothing(
    live_database: Database, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    rush_starts_at = GATE_CLOSES - timedelta(seconds=RUSH_S)
    with pinned_server(live_database.url, tmp_path / "serve.log", at=rush_starts_at) as server:
        market = set_up_market(
            server.base,
            live_database.admin_key,
            fsps=CLIENTS,
            day=DAY,
            gate_opens_at=GATE_CLOSES - timedelta(hours=1),
            gate_closes_at=GATE_CLOSES,
        )
        origin = time.time() + LEAD_S
        server.start_clock(origin)
        log = asyncio.run(_rush(market, origin))
    rows, keys, intact = _stored(live_database.url)
    stored = {(r.owner_id, r.id) for r in rows}
    lost = set(log.acknowledged) - stored
    unacknowledged = stored - set(log.acknowledged)
    late_rows = [r for r in rows if r.submitted_at >= GATE_CLOSES]
    duplicates = len(rows) - len(stored) + (keys - len(rows))
    cuts = statistics.quantiles(log.latencies_s, n=100)
    p50_ms, p99_ms = cuts[49] * 1000, cuts[98] * 1000
    figures = (
        f"T1 on {live_database.backend}: {CLIENTS}x{BIDS_EACH} bids in {RUSH_S:.0f} s, "
        f"{log.retries} retried ({log.forced_timeouts} after a forced timeout), "
        f"{len(log.latencies_s)} requests; acknowledged {len(log.acknowledged)}, "
        f"refused at the gate {log.refused_late}; lost {len(lost)}, duplicated {duplicates}, "
        f"accepted late {len(late_rows) + len(log.late_accepted)}, stored unacknowledged "
        f"{len(unacknowledged)}; {len(log.acknowledged) / RUSH_S:.0f} bids/s acknowledged; "
        f"latency p50 {p50_ms:.0f} ms, p99 {p99_ms:.0f} ms (goal 300 ms)"
    )
    print(f"\n{figures}")
    for name, value in (
        ("acknowledged", len(log.acknowledged)),
        ("lost", len(lost)),
        ("duplicated", duplicates),
        ("accepted_late", len(late_rows) + len(log.late_accepted)),
        ("p50_ms", round(p50_ms, 1)),
        ("p99_ms", round(p99_ms, 1)),
        ("requests", len(log.latencies_s)),
    ):
        record_property(name, value)
    assert not log.other, (figures, log.other[:5])
    assert not lost and not duplicates and not unacknowledged, figures
    assert not late_rows and not log.late_accepted, figures
    assert log.refused_late >= CLIENTS * LATE_EACH, figures
    assert not log.replay_mismatches, (figures, log.replay_mismatches[:5])
    assert intact, figures
    assert len(log.acknowledged) >= 10 * CLIENTS, figures  # the rush did reach the session
    assert p99_ms < P99_BOUND_S[live_database.backend] * 1000, figures
