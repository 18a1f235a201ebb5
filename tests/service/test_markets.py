"""Products, market sessions and needs: definitions, DST days, gate state by the server clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.service.conftest import Api, Clock
from tests.service.markets import (
    FIRST_MTU,
    GATE_CLOSES,
    GATE_OPENS,
    gate_opens,
    market,
    mtu,
    product_body,
    session_body,
)


def test_a_product_is_the_domains_and_visible_to_every_trading_role(api: Api) -> None:
    market(api)
    r = api.as_("mo", "POST", "/v1/products", json=product_body("bad", resolution_minutes=20))
    assert r.status_code == 422
    assert [(e["kind"], e["object_id"], e["field"]) for e in r.json()["errors"]] == [
        ("Product", "bad", "resolution")
    ]
    r = api.as_("mo", "POST", "/v1/products", json=product_body())
    assert r.status_code == 409
    for party in ("dso-a", "fsp-a", "mo"):
        r = api.as_(party, "GET", "/v1/products")
        assert [p["id"] for p in r.json()] == ["da-cm"], party
    assert api.as_("fsp-a", "GET", "/v1/products/nope").status_code == 404


@pytest.mark.parametrize(
    ("day", "mtus"), [(date(2026, 3, 29), 92), (date(2026, 6, 2), 96), (date(2026, 10, 25), 100)]
)
def test_a_session_has_the_mtus_of_its_local_day(
    api: Api, clock: Clock, day: date, mtus: int
) -> None:
    market(api, days=(day,))
    clock.now = gate_opens(day)
    r = api.as_("fsp-a", "GET", "/v1/sessions/s1")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["mtu_count"] == mtus
    assert got["timeframe"] == "day_ahead"
    # the day's last MTU is biddable, the next one is not the session's
    end = datetime.fromisoformat(got["delivery_end"])
    last = {
        "id": "last",
        "resource_id": "u1",
        "direction": "up",
        "quantities": [mtu(end - timedelta(minutes=15))],
        "activation_price_eur_per_mwh": 1.0,
    }
    after = {**last, "id": "after", "quantities": [mtu(end)]}
    assert api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=last).status_code == 201
    r = api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=after)
    assert r.status_code == 422
    assert [(e["object_id"], e["field"]) for e in r.json()["errors"]] == [
        ("after", "quantities[0]")
    ]
    assert f"{mtus} MTUs" in r.json()["errors"][0]["message"]


def test_session_gate_times_and_product_are_checked(api: Api) -> None:
    market(api)
    body = session_body("s9", gate_closes_at=session_body()["gate_opens_at"])
    r = api.as_("mo", "POST", "/v1/sessions", json=body)
    assert r.status_code == 422
    assert [(e["kind"], e["field"]) for e in r.json()["errors"]] == [
        ("MarketSession", "gate_closes_at")
    ]
    r = api.as_("mo", "POST", "/v1/sessions", json=session_body("s9", product_id="nope"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "product_id"
    assert api.as_("mo", "POST", "/v1/sessions", json=session_body("s1")).status_code == 409


def test_the_state_follows_the_server_clock(api: Api, clock: Clock) -> None:
    market(api)
    states = []
    for at in (
        GATE_OPENS - timedelta(microseconds=1),
        GATE_OPENS,
        GATE_CLOSES - timedelta(microseconds=1),
        GATE_CLOSES,
    ):
        clock.now = at
        states.append(api.as_("dso-a", "GET", "/v1/sessions").json()[0]["state"])
    assert states == ["scheduled", "open", "open", "sealed"]


def test_listing_filters_by_product_and_day(api: Api) -> None:
    market(api, days=(date(2026, 6, 2), date(2026, 6, 3)))
    r = api.as_("fsp-a", "GET", "/v1/sessions", params={"delivery_day": "2026-06-03"})
    assert [s["id"] for s in r.json()] == ["s2"]
    r = api.as_("fsp-a", "GET", "/v1/sessions", params={"product_id": "other"})
    assert r.json() == []


def _need(need_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": need_id,
        "location": {"kind": "area", "area_id": "mv-a"},
        "direction": "up",
        "quantities": [mtu(FIRST_MTU + timedelta(hours=10), 1.0)],
        **extra,
    }


def test_needs_are_the_domains_and_their_operators(api: Api, clock: Clock) -> None:
    market(api)
    api.party("tso", "tso")
    r = api.as_("dso-a", "POST", "/v1/sessions/s1/needs", json=_need("n1"))
    assert r.status_code == 201, r.text
    assert r.json()["owner_id"] == "dso-a"
    bad = _need("n2", location={"kind": "area", "area_id": "nowhere"})
    r = api.as_("tso", "POST", "/v1/sessions/s1/needs", json=bad)
    assert r.status_code == 422
    assert [(e["kind"], e["object_id"], e["field"]) for e in r.json()["errors"]] == [
        ("Need", "n2", "location.area_id")
    ]
    r = api.as_("tso", "POST", "/v1/sessions/s1/needs", json={**_need("n3"), "buyer_id": "dso-a"})
    assert r.status_code == 422
    assert [n["id"] for n in api.as_("tso", "GET", "/v1/sessions/s1/needs").json()] == []
    assert [n["id"] for n in api.as_("mo", "GET", "/v1/sessions/s1/needs").json()] == ["n1"]
    clock.now = GATE_CLOSES
    r = api.as_("dso-a", "POST", "/v1/sessions/s1/needs", json=_need("n4"))
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "gate_closes_at"
