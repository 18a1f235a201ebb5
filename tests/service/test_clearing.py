"""Clearing a sealed session by the worker: the session's scheme on the real grid, results
stored once per session, even when a claim is lost or a worker crashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings
from flexcoord.service.clearing_job import RunStatus, claim_next, clear_claimed
from flexcoord.service.tables import ActivationOrderRow, AwardRow, ClearingRunRow
from flexcoord.service.worker import Worker
from tests.service.conftest import Api, Clock
from tests.service.markets import GATE_CLOSES
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
