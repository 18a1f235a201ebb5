"""A UFTP day through the service's own clearing and settlement: the DSO's FlexRequest and an
AGR's FlexOffer (shapeshifter-uftp only) meet a JSON-API bid in one session; the worker clears
it; flexcoord's FlexOrders follow the awards; the AGR's Metering is what settlement verifies;
flexcoord's FlexSettlement carries the statement's price, penalty and power deficiency."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from shapeshifter_uftp.uftp import (
    AcceptedDisputed,
    AcceptedRejected,
    AvailableRequested,
    FlexOffer,
    FlexOfferOption,
    FlexOfferOptionISP,
    FlexOrderResponse,
    FlexOrderSettlementStatus,
    FlexRequest,
    FlexRequestISP,
    FlexSettlementResponse,
    Metering,
    MeteringISP,
    MeteringProfile,
    MeteringProfileEnum,
    MeteringUnit,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from xsdata.models.datatype import XmlDuration

from flexcoord.domain import Location
from flexcoord.service import ServiceSettings
from flexcoord.service.uftp_endpoint import UftpEndpoint, mount_uftp
from flexcoord.service.uftp_outbound import flex_orders, flex_settlements
from flexcoord.service.worker import Worker
from flexcoord.standards import uftp
from tests.service.conftest import Api, Clock
from tests.service.markets import DAY, GATE_CLOSES
from tests.service.platform import AREA, GRID, bid, open_session, register_grid
from tests.service.test_uftp_day import (
    AGR,
    DSO,
    FLEX,
    PERIOD,
    Exchange,
    _flex,
    _meta,
    _signed,
    sent,
)

pytestmark = pytest.mark.slow
CP = "ea1.2026-06.dso.example:mv1-102"
ISPS = range(41, 45)  # MTUs 40-43 of the day, as tests.service.platform's needs and bids
EAN = "E0000000000000042"


def _endpoint(keys: dict[str, tuple[str, str]]) -> UftpEndpoint:
    return UftpEndpoint(
        market=uftp.UftpMarket(
            product_id="da-cm",
            congestion_points={CP: Location.in_area(AREA)},
            domains={"dso": DSO, "fsp-a": AGR},
            resources={("fsp-a", CP): "u0"},
            eans={"u0": EAN},
        ),
        domain=FLEX,
        private_key=keys["flexcoord"][0],
        public_keys={(DSO, "DSO"): keys["dso"][1], (AGR, "AGR"): keys["agr"][1]},
        sessions={DAY: "s1"},
    )


def _option(ref: str, kw: int, eur: str) -> FlexOfferOption:
    isps = [FlexOfferOptionISP(power=-kw * 1000, start=s) for s in ISPS]
    return FlexOfferOption(option_reference=ref, price=Decimal(eur), isps=isps)


def _meter(delivered_kw: int) -> Metering:
    """-1 MW (1,000 kW consumed) in the ISP before the orders (the baseline), then the
    delivered part of the order less consumption."""
    values = {40: 1000} | {s: 1000 - delivered_kw for s in ISPS}
    return Metering(
        **_meta(AGR),
        revision=1,
        isp_duration=XmlDuration("PT15M"),
        time_zone="Europe/Amsterdam",
        period=PERIOD,
        ean=EAN,
        profiles=[
            MeteringProfile(
                profile_type=MeteringProfileEnum.POWER,
                unit=MeteringUnit.K_W,
                isps=[MeteringISP(start=s, value=Decimal(v)) for s, v in values.items()],
            )
        ],
    )


def _request() -> FlexRequest:
    return FlexRequest(
        **_flex(DSO, CP),
        revision=1,
        expiration_date_time="2026-06-01T09:30:00+00:00",
        service_type="da-cm",
        isps=[
            FlexRequestISP(
                disposition=AvailableRequested.REQUESTED,
                min_power=-500_000,
                max_power=-500_000,
                start=s,
            )
            for s in ISPS
        ],
    )


def _offer(request_id: str) -> FlexOffer:
    # two exclusive options: 0.3 MW at 60 EUR/MWh (18 EUR over the hour), 0.2 MW at 40 EUR/MWh
    return FlexOffer(
        **_flex(AGR, CP),
        offer_options=[_option("opt-a", 300, "18"), _option("opt-b", 200, "8")],
        expiration_date_time="2026-06-01T09:30:00+00:00",
        flex_request_message_id=request_id,
        contract_id="da-cm",
        currency="EUR",
    )


def _check_order(order: Any, awards: list[dict[str, Any]], offer_id: str) -> str:
    """The FlexOrder is the awards of one option of the FlexOffer; the option's id."""
    chosen = order.option_reference
    mine = [a for a in awards if a["bid_id"] == chosen]
    assert order.flex_offer_message_id == offer_id and len(order.isps) == len(mine) == 4
    assert order.price == Decimal(str(round(sum(a["payment_eur"] for a in mine), 4))).quantize(
        Decimal("0.0001")
    )
    return chosen


def _check_settlement(
    settlement: Any, statement: dict[str, Any], chosen: str, delivered_kw: int
) -> Any:
    """The FlexSettlement carries the statement's net, the penalty and the deficiency."""
    (element,) = settlement.flex_order_settlements
    assert element.order_reference == f"s1/{chosen}"
    assert [i.power_deficiency for i in element.isps] == [-100_000] * 4
    assert [i.delivered_flex_power for i in element.isps] == [-(delivered_kw * 1000)] * 4
    assert element.penalty > 0
    assert element.net_settlement == (Decimal(statement["net_eur"])).quantize(Decimal("0.0001"))
    return element


def test_a_uftp_day_cleared_and_settled_by_the_service(
    api: Api, engine: Engine, clock: Clock
) -> None:
    started = time.perf_counter()
    register_grid(api)
    open_session(api)
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    endpoint = _endpoint(keys)
    mount_uftp(api.app, endpoint)
    client = Exchange(api, keys["flexcoord"][1])

    request = _request()
    answer = client.result(_signed(request, DSO, "DSO", keys["dso"][0]))
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    offer = _offer(request.message_id)
    answer = client.result(_signed(offer, AGR, "AGR", keys["agr"][0]))
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    bid(api, "fsp-b", "u0", "json-1", price=50.0)  # a JSON-API bid in the same session

    clock.now = GATE_CLOSES
    worker = Worker(engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock))
    assert worker.run_once() is not None
    awards = api.as_("dso", "GET", "/v1/sessions/s1/awards").json()
    awarded = {a["bid_id"] for a in awards}
    assert len(awarded & {"opt-a", "opt-b"}) == 1  # the FlexOffer's options are exclusive

    with Session(engine) as s:
        orders = flex_orders(s, endpoint, "s1", now=clock())
    assert [o.recipient_domain for o in orders] == [AGR]
    (order,) = [client.opened(o.xml) for o in orders]
    sent(api, "fsp-a", order)
    chosen = _check_order(order, awards, offer.message_id)
    ack = FlexOrderResponse(**_meta(AGR), flex_order_message_id=order.message_id)
    assert client.acknowledged(_signed(ack, AGR, "AGR", keys["agr"][0]))

    ordered_kw = -order.isps[0].power // 1000
    delivered_kw = ordered_kw - 100  # 0.1 MW short in every ISP
    meter = _signed(_meter(delivered_kw), AGR, "AGR", keys["agr"][0])
    assert client.result(meter).result == AcceptedRejected.ACCEPTED
    clock.advance(timedelta(days=1))
    assert api.as_("mo", "POST", "/v1/sessions/s1/settlement").status_code == 202
    assert worker.settle_once() == "s1"
    statement = api.as_("fsp-a", "GET", "/v1/sessions/s1/statement").json()

    with Session(engine) as s:
        (signed,) = flex_settlements(s, endpoint, "s1", now=clock())
    settlement = client.opened(signed.xml)
    sent(api, "fsp-a", settlement)
    element = _check_settlement(settlement, statement, chosen, delivered_kw)
    ack = FlexSettlementResponse(
        **_meta(AGR),
        flex_settlement_message_id=settlement.message_id,
        flex_order_settlement_statuses=[
            FlexOrderSettlementStatus(
                order_reference=element.order_reference, disposition=AcceptedDisputed.ACCEPTED
            )
        ],
    )
    assert client.acknowledged(_signed(ack, AGR, "AGR", keys["agr"][0]))
    log = api.app.state.uftp_log
    assert [o.accepted for o in log] == [True] * 5
    assert client.validated in (0, 5)  # 3 answers, the FlexOrder, the FlexSettlement
    print(
        f"\nUFTP cleared day: {client.sent} messages to flexcoord, {len(orders) + 1} from it, "
        f"awards {sorted(awarded)}, penalty {element.penalty} EUR, "
        f"net {element.net_settlement} EUR, {time.perf_counter() - started:.1f} s"
    )
