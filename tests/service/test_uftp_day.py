"""A congestion-management day over UFTP between a client made only of shapeshifter-uftp
(its message dataclasses, ``seal_message``/``unseal_message``, its XML) and flexcoord's
endpoint: every message that should pass is accepted, the ones that break a market rule are
rejected with the protocol's response, and every tampered signature is refused with nothing
written."""

from __future__ import annotations

import time
import uuid
from base64 import b64decode
from datetime import timedelta
from decimal import Decimal
from typing import Any

from nacl.bindings import crypto_sign_open
from shapeshifter_uftp import transport
from shapeshifter_uftp.uftp import (
    AcceptedDisputed,
    AcceptedRejected,
    AvailableRequested,
    DPrognosis,
    DPrognosisISP,
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
    SignedMessage,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from xsdata.models.datatype import XmlDate, XmlDuration

from flexcoord.clearing.result import Award
from flexcoord.domain import Location
from flexcoord.service.tables import BidRow, NeedRow, UftpOutboxRow
from flexcoord.service.uftp_endpoint import UFTP_PATH, UftpEndpoint, mount_uftp
from flexcoord.standards import uftp
from tests.service.conftest import Api
from tests.service.markets import DAY, FIRST_MTU, market
from tests.standards.binding_check import uftp_violations

CP = "ea1.2026-06.dso.example:mv-a"
FLEX, DSO, AGR = "flexcoord.example", "dso.example", "agr.example"
PERIOD = XmlDate.from_date(DAY)


def _keys() -> dict[str, tuple[str, str]]:
    return {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr", "intruder")}


def _endpoint(keys: dict[str, tuple[str, str]]) -> UftpEndpoint:
    market_ = uftp.UftpMarket(
        product_id="da-cm",
        congestion_points={CP: Location.in_area("mv-a")},
        domains={"dso-a": DSO, "fsp-a": AGR},
        resources={("fsp-a", CP): "u1"},
        eans={"u1": "E0000000000000001"},
    )
    return UftpEndpoint(
        market=market_,
        domain=FLEX,
        private_key=keys["flexcoord"][0],
        public_keys={(DSO, "DSO"): keys["dso"][1], (AGR, "AGR"): keys["agr"][1]},
        sessions={DAY: "s1"},
    )


def _meta(sender: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": "3.1.0",
        "sender_domain": sender,
        "recipient_domain": FLEX,
        "time_stamp": "2026-06-01T08:30:00+00:00",
        "message_id": str(uuid.uuid4()),
        "conversation_id": str(uuid.uuid4()),
        **extra,
    }


def _flex(sender: str, congestion_point: str = CP) -> dict[str, Any]:
    return {
        **_meta(sender),
        "isp_duration": XmlDuration("PT15M"),
        "time_zone": "Europe/Amsterdam",
        "period": PERIOD,
        "congestion_point": congestion_point,
    }


def _signed(message: Any, sender: str, role: str, key: str) -> bytes:
    body = transport.seal_message(message, key)
    return transport.to_xml(
        SignedMessage(sender_domain=sender, sender_role=role, body=body)
    ).encode()


def sent(api: Api, party_id: str, *messages: Any) -> None:
    """Record messages flexcoord built as sent to the AGR, as the delivery outbox does
    (flexcoord takes an answer only to a message it sent)."""
    now = api.app.state.services.settings.clock()
    with Session(api.app.state.services.engine) as s, s.begin():
        for message in messages:
            s.add(
                UftpOutboxRow(
                    message_id=message.message_id,
                    party_id=party_id,
                    message_type=type(message).__name__,
                    subject_id="test",
                    recipient_domain=message.recipient_domain,
                    recipient_role="AGR",
                    payload=uftp.to_xml(message).decode(),
                    status="sent",
                    attempts=1,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


def _rows(api: Api) -> tuple[int, int]:
    engine = api.app.state.services.engine
    with Session(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(NeedRow)) or 0,
            s.scalar(select(func.count()).select_from(BidRow)) or 0,
        )


class Exchange:
    """The client side: posts signed messages, reads flexcoord's signed answers; every answer
    flexcoord writes is checked against the package's bindings (``binding_check``) and, with
    ``$FLEXCOORD_UFTP_XSD_DIR``, validated against the XSD."""

    def __init__(self, api: Api, flexcoord_public: str) -> None:
        self.api, self.public = api, flexcoord_public
        self.sent = self.answers = self.validated = 0
        self.xsd = uftp.schema_dir_from_environment()

    def opened(self, signed_xml: bytes) -> Any:
        """A SignedMessage flexcoord wrote, verified with its key (and XSD-checked)."""
        signed = transport.from_xml(signed_xml)
        inner = crypto_sign_open(signed.body, b64decode(self.public))
        message = transport.unseal_message(signed.body, self.public)
        assert uftp_violations(inner, type(message)) == []  # the package's bindings, in CI
        if self.xsd is not None:
            assert uftp.schema_violations(inner, self.xsd) == ()
            self.validated += 1
        return message

    def post(self, data: bytes) -> Any:
        self.sent += 1
        return self.api.client.post(
            UFTP_PATH, content=data, headers={"Content-Type": "text/xml; charset=utf-8"}
        )

    def acknowledged(self, data: bytes) -> bool:
        """A response message (answered by none): HTTP 200, empty body, logged as accepted."""
        r = self.post(data)
        return (
            r.status_code == 200 and r.content == b"" and self.api.app.state.uftp_log[-1].accepted
        )

    def result(self, data: bytes) -> Any:
        r = self.post(data)
        assert r.status_code == 200, r.text
        self.answers += 1
        return self.opened(r.content)


def _request(keys: dict[str, tuple[str, str]]) -> FlexRequest:
    isps = [
        FlexRequestISP(
            disposition=AvailableRequested.REQUESTED,
            min_power=-400_000,
            max_power=-400_000,
            start=s,
        )
        for s in (41, 42)
    ]
    return FlexRequest(
        **_flex(DSO),
        isps=isps,
        revision=1,
        expiration_date_time="2026-06-01T09:30:00+00:00",
        service_type="da-cm",
    )


def _offer(request_id: str, *, options: list[tuple[str, int, str]]) -> FlexOffer:
    return FlexOffer(
        **_flex(AGR),
        offer_options=[
            FlexOfferOption(
                option_reference=ref,
                price=Decimal(price),
                min_activation_factor=Decimal("1.00"),
                isps=[FlexOfferOptionISP(power=power, start=s) for s in (41, 42)],
            )
            for ref, power, price in options
        ],
        expiration_date_time="2026-06-01T09:30:00+00:00",
        flex_request_message_id=request_id,
        contract_id="da-cm",
        currency="EUR",
    )


def test_a_congestion_management_day_over_uftp(api: Api) -> None:
    started = time.perf_counter()
    market(api)
    keys = _keys()
    endpoint = _endpoint(keys)
    mount_uftp(api.app, endpoint)
    client = Exchange(api, keys["flexcoord"][1])
    dso_key, agr_key = keys["dso"][0], keys["agr"][0]

    # 1. the DSO publishes its need for ISPs 41-42 at the congestion point
    request = _request(keys)
    answer = client.result(_signed(request, DSO, "DSO", dso_key))
    assert (answer.result, answer.flex_request_message_id) == (
        AcceptedRejected.ACCEPTED,
        request.message_id,
    )
    # 2. the AGR offers two exclusive options, solicited by that request
    offer = _offer(
        request.message_id, options=[("opt-a", -400_000, "20.0000"), ("opt-b", -300_000, "13.5000")]
    )
    answer = client.result(_signed(offer, AGR, "AGR", agr_key))
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    assert _rows(api) == (1, 2)
    # a FlexOffer citing an unknown FlexRequest is rejected by the protocol, nothing stored
    stray = _offer(str(uuid.uuid4()), options=[("opt-c", -200_000, "5.0000")])
    answer = client.result(_signed(stray, AGR, "AGR", agr_key))
    assert (
        answer.result == AcceptedRejected.REJECTED
        and "Unknown Reference" in answer.rejection_reason
    )
    # an offer above the unit's range breaks a market rule of the JSON API: rejected the same way
    big = _offer(request.message_id, options=[("opt-d", -900_000, "50.0000")])
    answer = client.result(_signed(big, AGR, "AGR", agr_key))
    assert answer.result == AcceptedRejected.REJECTED and "range" in answer.rejection_reason
    assert _rows(api) == (1, 2)
    # 3. the AGR's D-Prognosis of its portfolio for the whole day
    prognosis = DPrognosis(
        **_flex(AGR),
        revision=1,
        isps=[DPrognosisISP(power=-450_000, start=s) for s in range(1, 97)],
    )
    assert (
        client.result(_signed(prognosis, AGR, "AGR", agr_key)).result == AcceptedRejected.ACCEPTED
    )
    # 4. flexcoord orders option a (its FlexOrder, signed by flexcoord, verified by the AGR)
    bid = _bid_of_offer(offer, endpoint)
    awards = [
        Award(
            bid_id="opt-a",
            mtu=(FIRST_MTU + k * timedelta(minutes=15)).isoformat(),
            quantity_mw=0.4,
            price_eur_per_mwh=100.0,
            payment_eur=10.0,
        )
        for k in (40, 41)
    ]
    order = uftp.flex_order(
        awards,
        bid,
        endpoint.market,
        envelope=uftp.Envelope.new(FLEX, AGR, at=FIRST_MTU),
        flex_offer_message_id=offer.message_id,
        order_reference="o-1",
    ).message
    signed = uftp.seal(order, endpoint.private_key)
    received = transport.unseal_message(signed, keys["flexcoord"][1])
    assert (received.option_reference, received.price) == ("opt-a", Decimal("20.0000"))
    sent(api, "fsp-a", order)
    ack = FlexOrderResponse(**_meta(AGR), flex_order_message_id=received.message_id)
    assert client.acknowledged(_signed(ack, AGR, "AGR", agr_key))
    # 5. the AGR's metering of its unit
    meter = Metering(
        **_meta(AGR),
        revision=1,
        isp_duration=XmlDuration("PT15M"),
        time_zone="Europe/Amsterdam",
        period=PERIOD,
        ean="E0000000000000001",
        profiles=[
            MeteringProfile(
                profile_type=MeteringProfileEnum.POWER,
                unit=MeteringUnit.K_W,
                isps=[MeteringISP(start=s, value=Decimal("-430.000")) for s in range(1, 97)],
            )
        ],
    )
    assert client.result(_signed(meter, AGR, "AGR", agr_key)).result == AcceptedRejected.ACCEPTED
    # 6. flexcoord settles the order with a penalty for the power deficiency
    settlement = uftp.OrderSettlement(
        order_reference="o-1",
        congestion_point=CP,
        direction=bid.direction,
        price_eur=Decimal("20"),
        penalty_eur=Decimal("2.5"),
        isps=tuple(
            uftp.SettledIsp(
                interval=q.interval,
                baseline_mw=0.45,
                ordered_mw=0.4,
                metered_mw=0.43,
                delivered_mw=0.3,
                deficiency_mw=0.1,
            )
            for q in bid.quantities
        ),
    )
    statement = uftp.flex_settlement(
        [settlement], endpoint.market, envelope=uftp.Envelope.new(FLEX, AGR, at=FIRST_MTU)
    ).message
    received = transport.unseal_message(
        uftp.seal(statement, endpoint.private_key), keys["flexcoord"][1]
    )
    assert received.flex_order_settlements[0].net_settlement == Decimal("17.5000")
    sent(api, "fsp-a", statement)
    ack = FlexSettlementResponse(
        **_meta(AGR),
        flex_settlement_message_id=received.message_id,
        flex_order_settlement_statuses=[
            FlexOrderSettlementStatus(order_reference="o-1", disposition=AcceptedDisputed.ACCEPTED)
        ],
    )
    assert client.acknowledged(_signed(ack, AGR, "AGR", agr_key))

    log = api.app.state.uftp_log
    wrongly_rejected = [
        o for o in log if not o.accepted and o.message_id not in (stray.message_id, big.message_id)
    ]
    assert wrongly_rejected == []
    assert (client.sent, len(log), sum(o.accepted for o in log)) == (8, 8, 6)
    print(
        f"\nUFTP day: {client.sent} messages to flexcoord, {client.answers} signed answers, "
        f"2 flexcoord -> AGR (FlexOrder, FlexSettlement), 0 wrongly rejected, "
        f"{client.validated} answers XSD-valid, "
        f"{time.perf_counter() - started:.2f} s"
    )


def _bid_of_offer(offer: FlexOffer, endpoint: UftpEndpoint) -> Any:
    parsed = transport.from_xml(transport.to_xml(offer))
    return uftp.bids_from_flex_offer(parsed, endpoint.market)[0]


def _flip(data: bytes, at: int) -> bytes:
    signed = transport.from_xml(data)
    body = bytearray(signed.body)
    body[at] ^= 0x01
    return transport.to_xml(
        SignedMessage(
            sender_domain=signed.sender_domain, sender_role=signed.sender_role, body=bytes(body)
        )
    ).encode()


def test_every_tampered_signature_is_refused_with_nothing_written(api: Api) -> None:
    market(api)
    keys = _keys()
    mount_uftp(api.app, _endpoint(keys))
    client = Exchange(api, keys["flexcoord"][1])
    request = _request(keys)
    good = _signed(request, DSO, "DSO", keys["dso"][0])
    size = len(transport.from_xml(good).body)
    tampered = [_flip(good, at) for at in (0, 31, 63, 64, 100, size // 2, size - 1)]
    tampered += [
        _signed(request, DSO, "DSO", keys["intruder"][0]),  # signed with another key
        _signed(request, DSO, "DSO", keys["agr"][0]),  # the AGR's key for the DSO's message
        _signed(_request(keys), "intruder.example", "DSO", keys["intruder"][0]),  # unregistered
    ]
    statuses = [client.post(data).status_code for data in tampered]
    assert statuses == [401] * len(tampered)
    assert _rows(api) == (0, 0) and list(api.app.state.uftp_log) == []
    # the same message untouched is accepted: the refusals were the signatures'
    assert client.result(good).result == AcceptedRejected.ACCEPTED
    assert _rows(api) == (1, 0)
    # replayed, it is rejected (its MessageID is the need's id) and stores nothing more
    answer = client.result(good)
    assert answer.result == AcceptedRejected.REJECTED and _rows(api) == (1, 0)
    # an expired request is rejected by the protocol's reason
    late = _request(keys)
    late.expiration_date_time = "2026-06-01T07:00:00+00:00"
    answer = client.result(_signed(late, DSO, "DSO", keys["dso"][0]))
    assert answer.rejection_reason == "Expiration DateTime Out Of Bounds"
    assert _rows(api) == (1, 0)


def test_a_message_for_another_recipient_or_from_a_spoofed_sender_is_rejected(api: Api) -> None:
    market(api)
    keys = _keys()
    mount_uftp(api.app, _endpoint(keys))
    client = Exchange(api, keys["flexcoord"][1])
    other = _request(keys)
    other.recipient_domain = "elsewhere.example"
    answer = client.result(_signed(other, DSO, "DSO", keys["dso"][0]))
    assert (answer.result, answer.rejection_reason) == (
        AcceptedRejected.REJECTED,
        "Unknown Recipient",
    )
    spoofed = _request(keys)
    spoofed.sender_domain = AGR  # the wrapper says DSO, the inner message AGR
    answer = client.result(_signed(spoofed, DSO, "DSO", keys["dso"][0]))
    assert (answer.result, answer.rejection_reason) == (AcceptedRejected.REJECTED, "Invalid Sender")
    assert _rows(api) == (0, 0)
    assert client.post(b"<not-xml").status_code == 400
