"""A cleared availability market tells the AGR what stays reserved: the worker's clearing
awards availability (reserved capacity) to a bid of a UFTP participant, and flexcoord's outbox
delivers a signed FlexReservationUpdate, per ISP the reserved power, to the AGR's own endpoint
(built from shapeshifter-uftp's pieces, on a real port), which answers asynchronously."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from shapeshifter_uftp.uftp import FlexReservationUpdate
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.domain import Direction
from flexcoord.service import ServiceSettings
from flexcoord.service.tables import UftpOutboxRow
from flexcoord.service.uftp_delivery import UftpDelivery
from flexcoord.service.uftp_endpoint import UFTP_PATH, DeliveryPolicy, mount_uftp
from flexcoord.service.worker import Worker
from flexcoord.standards import uftp
from tests.service.conftest import Api, Clock
from tests.service.markets import FIRST_MTU, GATE_CLOSES, mtu
from tests.service.platform import AREA, GRID, MTUS, open_session, register_grid
from tests.service.test_uftp_cleared_day import CP
from tests.service.test_uftp_day import FLEX
from tests.service.test_uftp_delivery import _agr, _endpoint, _free_port, _serving
from tests.standards.binding_check import uftp_violations

pytestmark = pytest.mark.slow
#: The DSO's need per MTU 40-43 (MW): the AGR's cheaper 0.3 MW bid covers it up to 0.3.
NEED_MW = (0.5, 0.5, 0.2, 0.1)


def _quantities(mws: tuple[float, ...]) -> list[dict[str, Any]]:
    return [mtu(FIRST_MTU + k * timedelta(minutes=15), mw) for k, mw in zip(MTUS, mws, strict=True)]


def _rows(engine: Engine) -> list[UftpOutboxRow]:
    with Session(engine) as s:
        return list(s.scalars(select(UftpOutboxRow).order_by(UftpOutboxRow.seq)))


def _wait_for(engine: Engine, status: str, timeout_s: float = 15.0) -> None:
    """Until every outbox message reached ``status`` (the AGR answers asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(r.status == status for r in _rows(engine)):
            return
        time.sleep(0.05)
    raise AssertionError(f"not {status}: {[(r.status, r.last_error) for r in _rows(engine)]}")


def _availability_market(api: Api) -> None:
    register_grid(api, product_kind="availability")
    open_session(api, scheme="onenet-common")  # a scheme that trades availability
    need = {
        "id": "n1",
        "location": {"kind": "area", "area_id": AREA},
        "direction": "up",
        "quantities": _quantities(NEED_MW),
        "availability_price_cap_eur_per_mw_h": 100.0,
    }
    r = api.as_("dso", "POST", "/v1/sessions/s1/needs", json=need)
    assert r.status_code == 201, r.text
    for fsp, bid_id, price in (("fsp-a", "res-a", 10.0), ("fsp-b", "res-b", 20.0)):
        body = {
            "id": bid_id,
            "resource_id": "u0",
            "direction": "up",
            "quantities": _quantities((0.3,) * len(MTUS)),
            "availability_price_eur_per_mw_h": price,
        }
        r = api.as_(fsp, "POST", "/v1/sessions/s1/bids", json=body)
        assert r.status_code == 201, r.text


def test_a_cleared_availability_market_sends_the_agr_a_flex_reservation_update(
    api: Api, engine: Engine, clock: Clock
) -> None:
    _availability_market(api)
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    agr_port, flexcoord_port = _free_port(), _free_port()
    endpoint = _endpoint(keys, agr_port, DeliveryPolicy())
    mount_uftp(api.app, endpoint)
    clock.now = GATE_CLOSES
    worker = Worker(
        engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock), uftp=endpoint
    )
    assert worker.run_once() is not None
    awards = api.as_("mo", "GET", "/v1/sessions/s1/awards").json()
    mine = {a["mtu_start"]: a["quantity_mw"] for a in awards if a["bid_id"] == "res-a"}
    assert {a["kind"] for a in awards} == {"availability"}
    assert sorted(mine.values(), reverse=True) == [0.3, 0.3, 0.2, 0.1]  # cheaper: first

    rows = _rows(engine)
    assert [(r.message_type, r.party_id, r.status) for r in rows] == [
        ("FlexReservationUpdate", "fsp-a", "pending")  # no FlexOrder: nothing is activated
    ]
    payload = rows[0].payload.encode()
    assert uftp_violations(payload, type(uftp.parse_xml(payload))) == []
    xsd = uftp.schema_dir_from_environment()
    if xsd is not None:  # what is signed and sent: valid against the 3.1.0 XSD
        assert uftp.schema_violations(rows[0].payload.encode(), xsd) == ()
    delivery = UftpDelivery(engine=engine, endpoint=endpoint, clock=clock)
    url = f"http://127.0.0.1:{flexcoord_port}{UFTP_PATH}"
    with _serving(api.app, flexcoord_port), _agr(keys, agr_port, url) as agr:
        (attempt,) = delivery.run_once()
        assert attempt.status == 200
        _wait_for(engine, "accepted")
    (update,) = agr.received  # verified by the package with flexcoord's key
    assert isinstance(update, FlexReservationUpdate)
    assert update.sender_domain == FLEX and update.congestion_point == CP
    assert (update.contract_id, update.reference) == ("res-a", "s1/res-a")
    assert update.message_id == rows[0].message_id
    # per ISP the reserved power, UFTP's sign (UP: injection, negative W), ISPs 41-44
    assert [(isp.start, isp.power) for isp in update.isps] == [
        (k + 1, -round(mw * 1e6)) for k, mw in zip(MTUS, (0.3, 0.3, 0.2, 0.1), strict=True)
    ]
    assert uftp.reservation_from_flex_reservation_update(
        update, endpoint.market, direction=Direction.UP
    ).quantities[2].quantity == pytest.approx(0.2)
