"""A D-Prognosis is the AGR's declared baseline: stored through the baseline store, it is what
settlement verifies the cleared order's delivery against (instead of meter before/after)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from shapeshifter_uftp.uftp import AcceptedRejected, DPrognosis, DPrognosisISP
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings
from flexcoord.service.tables import BaselineRow
from flexcoord.service.uftp_endpoint import mount_uftp
from flexcoord.service.uftp_outbound import flex_settlements
from flexcoord.service.worker import Worker
from flexcoord.standards import uftp
from tests.service.conftest import Api, Clock
from tests.service.markets import GATE_CLOSES
from tests.service.platform import GRID, open_session, register_grid
from tests.service.test_uftp_cleared_day import CP, ISPS, _endpoint, _meter, _offer, _request
from tests.service.test_uftp_day import AGR, DSO, Exchange, _flex, _signed

pytestmark = pytest.mark.slow


def _prognosis(consumed_kw: int, congestion_point: str = CP) -> DPrognosis:
    return DPrognosis(
        **_flex(AGR, congestion_point),
        revision=1,
        isps=[DPrognosisISP(power=consumed_kw * 1000, start=s) for s in range(1, 97)],
    )


def _settled_day(api: Api, engine: Engine, clock: Clock, prognosis_kw: int | None) -> Any:
    """The cleared day of test_uftp_cleared_day, the AGR 0.1 MW short of the order against
    the meter's ISP before; with a D-Prognosis of ``prognosis_kw`` consumption (or none).
    The FlexSettlement's order element."""
    register_grid(api)
    open_session(api)
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    endpoint = _endpoint(keys)
    mount_uftp(api.app, endpoint)
    client = Exchange(api, keys["flexcoord"][1])
    request = _request()
    assert (
        client.result(_signed(request, DSO, "DSO", keys["dso"][0])).result
        == AcceptedRejected.ACCEPTED
    )
    offer = _offer(request.message_id)
    assert (
        client.result(_signed(offer, AGR, "AGR", keys["agr"][0])).result
        == AcceptedRejected.ACCEPTED
    )
    if prognosis_kw is not None:
        answer = client.result(_signed(_prognosis(prognosis_kw), AGR, "AGR", keys["agr"][0]))
        assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    clock.now = GATE_CLOSES
    worker = Worker(engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock))
    assert worker.run_once() is not None
    awards = api.as_("dso", "GET", "/v1/sessions/s1/awards").json()
    ordered_kw = round(awards[0]["quantity_mw"] * 1000)
    meter = _signed(_meter(ordered_kw - 100), AGR, "AGR", keys["agr"][0])
    assert client.result(meter).result == AcceptedRejected.ACCEPTED
    clock.advance(timedelta(days=1))
    assert api.as_("mo", "POST", "/v1/sessions/s1/settlement").status_code == 202
    assert worker.settle_once() == "s1"
    with Session(engine) as s:
        (signed,) = flex_settlements(s, endpoint, "s1", now=clock())
    (element,) = client.opened(signed.xml).flex_order_settlements
    return element


def test_without_a_prognosis_the_meter_before_is_the_baseline(
    api: Api, engine: Engine, clock: Clock
) -> None:
    element = _settled_day(api, engine, clock, None)
    assert [i.baseline_power for i in element.isps] == [1_000_000] * len(ISPS)
    assert [i.power_deficiency for i in element.isps] == [-100_000] * len(ISPS)
    assert element.penalty > 0


def test_the_d_prognosis_is_the_baseline_settlement_verifies_against(
    api: Api, engine: Engine, clock: Clock
) -> None:
    # the AGR declared 1,100 kW consumption: metered 1,000 - (ordered - 100) kW is the whole
    # order delivered against it, where the meter before (1,000 kW) leaves 100 kW short
    element = _settled_day(api, engine, clock, 1100)
    assert [i.baseline_power for i in element.isps] == [1_100_000] * len(ISPS)
    assert [i.power_deficiency for i in element.isps] == [0] * len(ISPS)
    assert element.penalty == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(BaselineRow)) == 96


def test_a_bad_d_prognosis_is_rejected_with_nothing_stored(api: Api) -> None:
    register_grid(api)
    open_session(api)
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    mount_uftp(api.app, _endpoint(keys))
    client = Exchange(api, keys["flexcoord"][1])
    unknown = _prognosis(1100, "ea1.2026-06.dso.example:elsewhere")
    answer = client.result(_signed(unknown, AGR, "AGR", keys["agr"][0]))
    assert (
        answer.result == AcceptedRejected.REJECTED and "CongestionPoint" in answer.rejection_reason
    )
    twice = _prognosis(1100)
    twice.isps.append(DPrognosisISP(power=1, start=5))
    answer = client.result(_signed(twice, AGR, "AGR", keys["agr"][0]))
    assert answer.result == AcceptedRejected.REJECTED and "twice" in answer.rejection_reason
    engine = api.app.state.services.engine
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(BaselineRow)) == 0
