"""Every mapped UFTP message type: flexcoord → UFTP (shapeshifter-uftp dataclasses, its XML)
→ flexcoord gives the same objects, every export validates against the official XSD, and
messages that do not fit the market are refused naming the attribute."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from flexcoord.clearing.result import Award
from flexcoord.domain import Direction
from flexcoord.domain.quantities import MtuQuantity
from flexcoord.errors import InvalidInputError
from flexcoord.operations.baselines import BaselineValue, MeterSeries
from flexcoord.standards import uftp
from tests.standards.uftp_builders import (
    AGR_DOMAIN,
    CP,
    CREATED,
    DSO_DOMAIN,
    ISPS,
    MARKET,
    XOR_ID,
    bid,
    need,
    xsd_dir,
)

EXPIRES = CREATED + timedelta(hours=6)
CONV = "11111111-2222-3333-4444-555555555555"


def _envelope(sender: str, recipient: str) -> uftp.Envelope:
    return uftp.Envelope.new(sender, recipient, at=CREATED)


def _wire(exported: uftp.Exported) -> object:
    """Through XML and back with the package's serializer and parser."""
    return uftp.parse_xml(uftp.to_xml(exported.message))


def _bids() -> list:
    return [
        bid("b-1", price=120.0, quantities=[0.8, 1.25], min_acceptance=0.4),
        bid("b-2", price=95.5, quantities=[1.0, 1.0], min_acceptance=None),
    ]


def _reservation() -> uftp.Reservation:
    return uftp.Reservation(
        bid_id="b-1",
        reference="r-1",
        direction=Direction.UP,
        quantities=(
            MtuQuantity(interval=ISPS[69], quantity=0.5),
            MtuQuantity(interval=ISPS[70], quantity=0.0),
        ),
    )


def _settlement() -> uftp.OrderSettlement:
    return uftp.OrderSettlement(
        order_reference="o-1",
        congestion_point=CP,
        direction=Direction.UP,
        price_eur=Decimal("61.5"),
        penalty_eur=Decimal("7.25"),
        isps=(
            uftp.SettledIsp(
                interval=ISPS[69],
                baseline_mw=-2.5,
                ordered_mw=0.8,
                metered_mw=-1.9,
                delivered_mw=0.6,
                deficiency_mw=0.2,
            ),
        ),
    )


def _exports() -> dict[str, uftp.Exported]:
    b1, b2 = _bids()
    awards = [
        Award(
            bid_id="b-1",
            mtu=ISPS[69].start.isoformat(),
            quantity_mw=0.8,
            price_eur_per_mwh=120.0,
            payment_eur=24.0,
        ),
        Award(
            bid_id="b-1",
            mtu=ISPS[70].start.isoformat(),
            quantity_mw=1.25,
            price_eur_per_mwh=120.0,
            payment_eur=37.5,
        ),
    ]
    reservation = _reservation()
    baseline = tuple(BaselineValue.of(i, -2.5 + 0.001 * n) for n, i in enumerate(ISPS))
    series = MeterSeries.of((i, -2.0 + 0.125 * (n % 4)) for n, i in enumerate(ISPS))
    settlement = _settlement()
    return {
        "FlexRequest": uftp.flex_request(
            need(),
            MARKET,
            recipient_domain=AGR_DOMAIN,
            conversation_id=CONV,
            revision=1,
            expires_at=EXPIRES,
        ),
        "FlexOffer": uftp.flex_offer(
            [b1, b2],
            MARKET,
            recipient_domain=DSO_DOMAIN,
            conversation_id=CONV,
            expires_at=EXPIRES,
            flex_request_message_id=need().id,
        ),
        "FlexOrder": uftp.flex_order(
            awards,
            b1,
            MARKET,
            envelope=_envelope(DSO_DOMAIN, AGR_DOMAIN),
            flex_offer_message_id=XOR_ID,
            order_reference="o-1",
        ),
        "FlexReservationUpdate": uftp.flex_reservation_update(
            reservation, b1, MARKET, envelope=_envelope(DSO_DOMAIN, AGR_DOMAIN)
        ),
        "D-Prognosis": uftp.d_prognosis(
            baseline,
            MARKET,
            fsp_id="fsp-1",
            congestion_point=CP,
            envelope=_envelope(AGR_DOMAIN, DSO_DOMAIN),
            revision=1,
        ),
        "Metering": uftp.metering(
            "u-1", series, MARKET, envelope=_envelope(AGR_DOMAIN, DSO_DOMAIN), revision=1
        ),
        "FlexSettlement": uftp.flex_settlement(
            [settlement], MARKET, envelope=_envelope(DSO_DOMAIN, AGR_DOMAIN)
        ),
    }


def test_a_need_round_trips_through_a_flex_request() -> None:
    out = _exports()["FlexRequest"]
    assert out.not_carried == ()
    assert uftp.need_from_flex_request(_wire(out), MARKET) == need()


def test_an_exclusive_set_of_bids_round_trips_through_one_flex_offer() -> None:
    out = _exports()["FlexOffer"]
    msg = _wire(out)
    assert [o.min_activation_factor for o in msg.offer_options] == [
        Decimal("0.50"),
        Decimal("1.00"),
    ]
    assert msg.message_id == XOR_ID and msg.flex_request_message_id == need().id
    assert uftp.bids_from_flex_offer(msg, MARKET) == tuple(_bids())
    assert out.not_carried == ()


def test_a_divisible_bid_without_minimum_comes_back_at_the_smallest_factor_and_says_so() -> None:
    b3 = replace(_bids()[0], id="b-3", divisible=True, min_acceptance=None, exclusive_set=None)
    out = uftp.flex_offer(
        [b3], MARKET, recipient_domain=DSO_DOMAIN, conversation_id=CONV, expires_at=EXPIRES
    )
    msg = _wire(out)
    (back,) = uftp.bids_from_flex_offer(msg, MARKET)
    # 0.01 x the smallest quantity 0.8 MW; the lone option's set is its FlexOffer
    assert back == replace(b3, min_acceptance=0.008, exclusive_set=msg.message_id)
    assert out.not_carried == (
        "Bid b-3.min_acceptance=None: the smallest factor is 0.01",
        f"Bid b-3.exclusive_set=None: read back as the MessageID {msg.message_id}",
    )


def test_awards_round_trip_through_a_flex_order() -> None:
    msg = _wire(_exports()["FlexOrder"])
    assert msg.activation_factor == Decimal("1.00") and msg.price == Decimal("61.5")
    assert [a.quantity_mw for a in uftp.awards_from_flex_order(msg, MARKET)] == [0.8, 1.25]
    assert uftp.awards_from_flex_order(msg, MARKET) == tuple(
        Award(
            bid_id="b-1",
            mtu=ISPS[69 + k].start.isoformat(),
            quantity_mw=q,
            price_eur_per_mwh=120.0,
            payment_eur=p,
        )
        for k, (q, p) in enumerate([(0.8, 24.0), (1.25, 37.5)])
    )


def test_a_reservation_round_trips_through_a_flex_reservation_update() -> None:
    out = _exports()["FlexReservationUpdate"]
    back = uftp.reservation_from_flex_reservation_update(_wire(out), MARKET, direction=Direction.UP)
    assert back == _reservation()
    assert back.quantities[1].quantity == 0.0  # released


def test_a_baseline_round_trips_through_a_d_prognosis() -> None:
    out = _exports()["D-Prognosis"]
    back = uftp.baseline_from_d_prognosis(_wire(out), MARKET)
    assert len(back) == 96
    assert back == tuple(BaselineValue.of(i, -2.5 + 0.001 * n) for n, i in enumerate(ISPS))


def test_meter_data_round_trips_through_metering() -> None:
    unit, series = uftp.meter_from_metering(_wire(_exports()["Metering"]), MARKET)
    assert unit == "u-1"
    assert series == MeterSeries.of((i, -2.0 + 0.125 * (n % 4)) for n, i in enumerate(ISPS))


def test_an_order_settlement_round_trips_with_penalty_and_power_deficiency() -> None:
    msg = _wire(_exports()["FlexSettlement"])
    element = msg.flex_order_settlements[0]
    assert (element.penalty, element.net_settlement) == (Decimal("7.25"), Decimal("54.25"))
    assert element.isps[0].power_deficiency == -200_000  # 0.2 MW less consumption not delivered
    (back,) = uftp.settlements_from_flex_settlement(msg, MARKET)
    assert back == _settlement() and back.net_eur == Decimal("54.25")


def test_every_export_validates_against_the_official_xsd() -> None:
    folder = xsd_dir()
    exports = _exports()
    assert sorted(exports) == sorted(k for k, v in uftp.MESSAGE_TYPES.items() if v == "mapped")
    violations = {
        name: uftp.schema_violations(uftp.to_xml(e.message), folder) for name, e in exports.items()
    }
    assert violations == {name: () for name in exports}


def test_the_xsd_names_what_is_wrong_in_a_broken_message() -> None:
    xml = uftp.to_xml(_exports()["FlexRequest"].message).replace(b'Revision="1"', b'Revision="x"')
    (violation,) = uftp.schema_violations(xml, xsd_dir())
    assert "Revision" in violation


def test_messages_that_do_not_fit_the_market_are_refused_naming_the_attribute() -> None:
    msg = _wire(_exports()["FlexRequest"])
    msg.congestion_point = "ea1.2026-06.dso.example:cp-9"
    with pytest.raises(InvalidInputError, match="CongestionPoint"):
        uftp.need_from_flex_request(msg, MARKET)
    msg = _wire(_exports()["FlexOffer"])
    msg.offer_options[0].isps[0].start = 97
    with pytest.raises(InvalidInputError, match="outside the 96 ISPs"):
        uftp.bids_from_flex_offer(msg, MARKET)


def test_a_hostile_message_is_refused_before_parsing() -> None:
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><FlexRequest>&a;</FlexRequest>'
    with pytest.raises(InvalidInputError, match="DTD"):
        uftp.parse_xml(bomb)


def test_the_coverage_counts_uftp_message_types() -> None:
    counts: dict[str, int] = {}
    for how in uftp.MESSAGE_TYPES.values():
        counts[how] = counts.get(how, 0) + 1
    assert len(uftp.MESSAGE_TYPES) == 27
    assert counts == {
        "mapped": 7,
        "received": 1,
        "response": 8,
        "transport": 3,
        "cro": 4,
        "cro response": 4,
    }
    assert all(
        k.startswith(("AGRPortfolio", "DSOPortfolio")) == v.startswith("cro")
        for k, v in uftp.MESSAGE_TYPES.items()
    )


def test_the_order_of_a_bid_no_flex_offer_carried_is_sent_unsolicited() -> None:
    b1 = _bids()[0]
    award = Award(
        bid_id="b-1",
        mtu=ISPS[69].start.isoformat(),
        quantity_mw=0.4,
        price_eur_per_mwh=120.0,
        payment_eur=12.0,
    )
    out = uftp.flex_order(
        [award],
        b1,
        MARKET,
        envelope=_envelope(DSO_DOMAIN, AGR_DOMAIN),
        flex_offer_message_id=None,
        order_reference="o-2",
    )
    msg = _wire(out)
    assert (msg.unsolicited, msg.flex_offer_message_id) == (True, None)
    assert msg.activation_factor == Decimal("0.50")  # 0.4 of the 0.8 MW offered
    assert out.not_carried == ()
    folder = uftp.schema_dir_from_environment()
    if folder is not None:
        assert uftp.schema_violations(uftp.to_xml(out.message), folder) == ()
