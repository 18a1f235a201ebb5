"""Clearing a sealed session by the worker: the session's scheme on the real grid, results
stored once per session, even when a claim is lost or a worker crashes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings
from flexcoord.service.clearing_job import (
    RunStatus,
    claim_next,
    clear_claimed,
    compute_result,
    platform_grid,
)
from flexcoord.service.session_snapshot import session_snapshot
from flexcoord.service.tables import (
    ActivationOrderRow,
    AwardRow,
    ClearingRunRow,
    MarketSessionRow,
    OutboxRow,
)
from flexcoord.service.worker import Worker
from tests.service.conftest import Api, Clock
from tests.service.markets import GATE_CLOSES, iso
from tests.service.platform import GRID, bid, need, open_session, register_grid

pytestmark = pytest.mark.slow


def _market(api: Api) -> list[tuple[str, str]]:
    units = register_grid(api)
    open_session(api)
    need(api, mw=0.5)
    for n, (fsp, unit_id) in enumerate(units):
        bid(api, fsp, unit_id, f"b{n}", price=50.0 + 10 * n)
    return units


def _worker(engine: Engine, clock: Clock) -> Worker:
    return Worker(engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock))


def test_a_sealed_session_is_cleared_once_and_the_cheapest_bids_win(
    api: Api, engine: Engine, clock: Clock
) -> None:
    _market(api)
    worker = _worker(engine, clock)
    assert worker.run_once() is None  # the gate is open: nothing to clear
    clock.now = GATE_CLOSES
    done = worker.run_once()
    assert done is not None and done[1] is not None
    assert worker.run_once() is None  # cleared once
    with Session(engine) as s:
        run = s.get(ClearingRunRow, "s1")
        assert run is not None and run.status == RunStatus.DONE.value
        awards = s.scalars(select(AwardRow)).all()
        orders = s.scalars(select(ActivationOrderRow)).all()
    # 0.5 MW a quarter-hour from 0.2 MW bids at 50, 60, 70, ... €/MWh: b0 and b1 whole, b2 0.1
    by_bid: dict[str, float] = {}
    for a in awards:
        by_bid[a.bid_id] = by_bid.get(a.bid_id, 0.0) + a.quantity_mw
    assert by_bid == pytest.approx({"b0": 0.8, "b1": 0.8, "b2": 0.4}, abs=1e-6)
    assert {(a.owner_id, a.bid_id) for a in awards} == {
        ("fsp-a", "b0"),
        ("fsp-b", "b1"),
        ("fsp-a", "b2"),
    }
    assert all(a.buyer_id == "dso" and a.kind == "activation" for a in awards)
    assert sum(o.quantity_mw for o in orders) == pytest.approx(2.0, abs=1e-6)
    assert {o.unit_id for o in orders} == {"u0", "u1"}
    assert _publications(engine) == {
        ("fsp-a", "results"): 1,
        ("fsp-b", "results"): 1,
        ("dso", "results"): 1,
        ("mo", "results"): 1,
        ("fsp-a", "activations"): 1,
        ("fsp-b", "activations"): 1,
    }
    with Session(engine) as s:
        to_b = s.scalars(select(OutboxRow).where(OutboxRow.party_id == "fsp-b")).all()
    bodies = [m.body for m in to_b]
    assert {a["bid_id"] for b in bodies for a in b.get("awards", [])} == {"b1"}
    assert all(o["owner_id"] == "fsp-b" for b in bodies for o in b.get("orders", []))


def _publications(engine: Engine) -> dict[tuple[str, str], int]:
    """Messages in the outbox per (party, kind)."""
    with Session(engine) as s:
        rows = s.execute(
            select(OutboxRow.party_id, OutboxRow.kind, func.count()).group_by(
                OutboxRow.party_id, OutboxRow.kind
            )
        ).all()
    return {(party, kind): n for party, kind, n in rows}


def test_a_worker_that_lost_its_claim_writes_nothing_and_the_takeover_writes_the_same_result(
    api: Api, engine: Engine, clock: Clock
) -> None:
    _market(api)
    clock.now = GATE_CLOSES
    first = claim_next(engine, worker_id="w1", now=clock.now, lease=timedelta(seconds=30))
    assert first is not None
    assert claim_next(engine, worker_id="w2", now=clock.now) is None  # held
    clock.advance(timedelta(minutes=1))  # w1 stalls past its lease: w2 takes over
    second = claim_next(engine, worker_id="w2", now=clock.now)
    assert second is not None and second.attempt == first.attempt + 1
    assert clear_claimed(engine, first, GRID, clock=clock) is None  # fenced off
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(AwardRow)) == 0
    result = clear_claimed(engine, second, GRID, clock=clock)
    assert result is not None
    with Session(engine) as s:
        run = s.get(ClearingRunRow, "s1")
        assert run is not None and run.result_sha256 == result.sha256 and run.attempt == 2
        assert s.scalar(select(func.count()).select_from(AwardRow)) == len(result.awards) > 0


def test_each_party_reads_only_its_own_results_and_settles_on_its_meter_data(
    api: Api, engine: Engine, clock: Clock
) -> None:
    _market(api)
    r = api.as_("fsp-a", "GET", "/v1/sessions/s1/clearing")
    assert r.status_code == 200 and r.json()["status"] == "gate open"
    clock.now = GATE_CLOSES
    assert api.as_("fsp-a", "GET", "/v1/sessions/s1/clearing").json()["status"] == "pending"
    _worker(engine, clock).run_once()
    mine = api.as_("fsp-a", "GET", "/v1/sessions/s1/clearing").json()
    everything = api.as_("mo", "GET", "/v1/sessions/s1/clearing").json()
    assert mine["status"] == "done" and mine["result_sha256"] == everything["result_sha256"]
    assert "procurement_eur" not in mine["summary"] and "procurement_eur" in everything["summary"]
    awards = {p: api.as_(p, "GET", "/v1/sessions/s1/awards").json() for p in ("fsp-a", "fsp-b")}
    assert {a["bid_id"] for a in awards["fsp-a"]} == {"b0", "b2"}
    assert {a["bid_id"] for a in awards["fsp-b"]} == {"b1"}
    assert len(api.as_("dso", "GET", "/v1/sessions/s1/awards").json()) == 12
    assert api.as_("tso", "GET", "/v1/sessions/s1/awards").json() == []
    orders = api.as_("fsp-a", "GET", "/v1/activations", params={"session_id": "s1"}).json()
    assert {o["unit_id"] for o in orders} == {"u0", "u1"} and {o["owner_id"] for o in orders} == {
        "fsp-a"
    }
    # fsp-a delivers in full: -1 MW in the MTU before the run (the baseline), then -1 + order
    readings = {}
    for o in orders:
        start = datetime.fromisoformat(o["mtu_start"])
        before = iso(start - timedelta(minutes=15))
        readings.setdefault(
            (o["unit_id"], before),
            {"unit_id": o["unit_id"], "start": before, "end": iso(start), "mw": -1.0},
        )
    for o in orders:
        readings[(o["unit_id"], o["mtu_start"])] = {
            "unit_id": o["unit_id"],
            "start": o["mtu_start"],
            "end": o["mtu_end"],
            "mw": -1.0 + o["quantity_mw"],
        }
    r = api.as_("fsp-a", "PUT", "/v1/meter-readings", json={"readings": list(readings.values())})
    assert r.status_code == 200, r.text
    one = next(iter(readings.values()))
    foreign = {"readings": [{**one, "unit_id": "u0"}]}  # fsp-b has a u0 too: its own
    assert (
        api.as_(
            "fsp-b",
            "PUT",
            "/v1/meter-readings",
            json={"readings": [{**one, "unit_id": "u9"}]},
        ).status_code
        == 422
    )
    assert api.as_("fsp-b", "PUT", "/v1/meter-readings", json=foreign).status_code == 200
    first = datetime.fromisoformat(one["start"])  # fsp-b's u0 stays at -1 MW: not delivered
    flat = [
        {
            "unit_id": "u0",
            "start": iso(first + k * timedelta(minutes=15)),
            "end": iso(first + (k + 1) * timedelta(minutes=15)),
            "mw": -1.0,
        }
        for k in range(5)
    ]
    r = api.as_("fsp-b", "PUT", "/v1/meter-readings", json={"readings": flat})
    assert r.status_code == 200 and r.json()["replaced"] == 1, r.text
    r = api.as_("mo", "POST", "/v1/sessions/s1/settlement")
    assert r.status_code == 202 and r.json()["status"] == "requested", r.text
    assert api.as_("mo", "POST", "/v1/sessions/s1/settlement").status_code == 409
    assert api.as_("fsp-a", "GET", "/v1/sessions/s1/statement").status_code == 404
    assert _worker(engine, clock).settle_once() == "s1"
    r = api.as_("fsp-a", "GET", "/v1/sessions/s1/settlement")
    assert r.json()["status"] == "done", r.text
    assert r.json()["summary"]["statements"] == 3  # fsp-a, fsp-b, dso
    statements = {p: n for (p, kind), n in _publications(engine).items() if kind == "statements"}
    assert statements == {"fsp-a": 1, "fsp-b": 1, "dso": 1}
    a = api.as_("fsp-a", "GET", "/v1/sessions/s1/statement").json()
    b = api.as_("fsp-b", "GET", "/v1/sessions/s1/statement").json()
    paid_a = sum(x["payment_eur"] for x in awards["fsp-a"])
    assert float(a["net_eur"]) == pytest.approx(paid_a, abs=0.02)  # delivered: paid as bid
    assert float(b["net_eur"]) < 0  # nothing delivered: nothing paid, penalised at its price
    assert {ln["party_id"] for ln in a["lines"]} == {"fsp-a"}
    assert api.as_("tso", "GET", "/v1/sessions/s1/statement").status_code == 404


def test_t6_the_result_does_not_depend_on_the_order_bids_arrived_in(
    api: Api, engine: Engine, clock: Clock
) -> None:
    """T6: two sessions with the same needs and bids, submitted in opposite orders (seconds
    apart, so each session's time priority differs too), clear to one result hash."""
    units = register_grid(api)
    prices = [50.0 + 7 * n for n in range(len(units))]
    for s, order in (("s1", units), ("s2", units[::-1])):
        open_session(api, s, scheme="onenet-multi-level")
        need(api, s, mw=0.5)
        for fsp, unit_id in order:
            n = units.index((fsp, unit_id))
            clock.advance(timedelta(seconds=1))
            bid(api, fsp, unit_id, f"b{n}", price=prices[n], s=s)
    clock.now = GATE_CLOSES
    worker = _worker(engine, clock)
    assert worker.run_once() is not None and worker.run_once() is not None
    assert worker.run_once() is None
    with Session(engine) as s:
        runs = s.scalars(select(ClearingRunRow).order_by(ClearingRunRow.session_id)).all()
    assert [r.status for r in runs] == ["done", "done"]
    assert runs[0].result_sha256 == runs[1].result_sha256
    assert runs[0].summary["awards"] > 0


def _worker_process(database_url: str, *args: str, errors: int = -3) -> subprocess.Popen[bytes]:
    """``flexcoord service worker`` in a process of its own (``errors``: where its stderr
    goes; the default discards it)."""
    command = [str(Path(sys.executable).with_name("flexcoord")), "service", "worker"]
    command += ["--database-url", database_url, "--grid", GRID, "--lease-s", "2", *args]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)


def test_t13_a_worker_killed_mid_clearing_is_taken_over_with_the_same_result(
    api: Api, engine: Engine, database_url: str
) -> None:
    """T13: kill -9 of the worker while it clears (it has claimed the session, not committed):
    a restarted worker takes the session over once the claim's lease expires and stores the
    result a worker that was never interrupted computes, once."""
    _market(api)  # the real clock is long past the session's gate closure
    with Session(engine) as s:
        expected = compute_result(
            session_snapshot(s, s.get_one(MarketSessionRow, "s1")), platform_grid(GRID)
        )
    victim = _worker_process(database_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with Session(engine) as s:
            run = s.get(ClearingRunRow, "s1")
            if run is not None:
                break
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    with Session(engine) as s:
        run = s.get_one(ClearingRunRow, "s1")
        assert run.status == RunStatus.RUNNING.value and run.attempt == 1
        assert s.scalar(select(func.count()).select_from(AwardRow)) == 0
    time.sleep(2.1)  # the lease expires
    survivor = _worker_process(database_url, "--once", errors=subprocess.PIPE)
    _, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err.decode()
    with Session(engine) as s:
        run = s.get_one(ClearingRunRow, "s1")
        assert run.status == RunStatus.DONE.value and run.attempt == 2
        assert run.result_sha256 == expected.sha256
        assert s.scalar(select(func.count()).select_from(AwardRow)) == len(expected.awards)
    published = _publications(engine)  # exactly one publication per party and kind
    assert published and set(published.values()) == {1}


def test_a_clearing_is_recorded_in_the_apps_metrics(api: Api, engine: Engine, clock: Clock) -> None:
    _market(api)
    clock.now = GATE_CLOSES
    worker = _worker(engine, clock)
    worker.metrics = api.app.state.services.metrics
    assert worker.run_once() is not None
    text = worker.metrics.exposition().decode()
    assert (
        'flexcoord_clearing_duration_seconds_count{outcome="cleared",scheme="smartnet-common"} 1.0'
        in text
    )
    assert "flexcoord_clearing_in_progress 0.0" in text
