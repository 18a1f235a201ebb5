"""FSPs see every need of a session, without the grid topology; operators keep their own view."""

from __future__ import annotations

import json
from typing import Any

from tests.service.conftest import Api
from tests.service.markets import bid_body, market


def _need(need_id: str, location: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": need_id,
        "location": location,
        "direction": "down",
        "quantities": bid_body("x", k=40)["quantities"],
        **extra,
    }


def _post(api: Api, party: str, body: dict[str, Any]) -> None:
    r = api.as_(party, "POST", "/v1/sessions/s1/needs", json=body)
    assert r.status_code == 201, r.text


def _posted(api: Api) -> None:
    """dso-a (area mv-a: buses 1-2, trafo:mv-a) and dso-b (areas mv-b: 21-22 and mv-b2:
    11-12) post needs."""
    market(api)
    api.party("dso-b", "dso")
    for area, buses in (("mv-b", [21, 22]), ("mv-b2", [11, 12])):
        r = api.as_("dso-b", "POST", "/v1/grid-areas", json={"id": area, "bus_ids": buses})
        assert r.status_code == 201, r.text
    _post(
        api,
        "dso-a",
        _need(
            "n-buses", {"kind": "buses", "bus_ids": [2, 12]}, activation_price_cap_eur_per_mwh=250.0
        ),
    )
    _post(
        api, "dso-a", _need("n-cp", {"kind": "coupling_point", "coupling_point_id": "trafo:mv-a"})
    )
    _post(api, "dso-b", _need("n-area", {"kind": "area", "area_id": "mv-b"}))


def test_an_fsp_sees_every_need_located_by_grid_area_only(api: Api) -> None:
    _posted(api)
    r = api.as_("fsp-a", "GET", "/v1/sessions/s1/needs")
    assert r.status_code == 200, r.text
    needs = {(n["owner_id"], n["id"]): n for n in r.json()}
    assert sorted(needs) == [("dso-a", "n-buses"), ("dso-a", "n-cp"), ("dso-b", "n-area")]
    buses = needs["dso-a", "n-buses"]
    assert buses["grid_area_ids"] == ["mv-a", "mv-b2"]
    assert buses["coupling_point_id"] is None
    assert buses["activation_price_cap_eur_per_mwh"] == 250.0
    assert buses["direction"] == "down" and buses["product_id"] == "da-cm"
    assert buses["quantities"][0]["quantity"] == 0.4
    assert needs["dso-a", "n-cp"]["grid_area_ids"] == ["mv-a"]
    assert needs["dso-a", "n-cp"]["coupling_point_id"] == "trafo:mv-a"
    assert needs["dso-b", "n-area"]["grid_area_ids"] == ["mv-b"]
    shown = {
        "id",
        "session_id",
        "product_id",
        "owner_id",
        "direction",
        "quantities",
        "activation_price_cap_eur_per_mwh",
        "availability_price_cap_eur_per_mw_h",
        "grid_area_ids",
        "coupling_point_id",
        "created_at",
    }
    assert all(set(n) == shown for n in r.json())
    assert {"start", "end", "quantity"} == set(buses["quantities"][0])
    assert r.json() == api.as_("fsp-b", "GET", "/v1/sessions/s1/needs").json()


def test_operators_keep_their_own_full_view(api: Api) -> None:
    _posted(api)
    mine = api.as_("dso-a", "GET", "/v1/sessions/s1/needs").json()
    assert [(n["owner_id"], n["id"]) for n in mine] == [("dso-a", "n-buses"), ("dso-a", "n-cp")]
    assert mine[0]["location"] == {
        "kind": "buses",
        "bus_ids": [2, 12],
        "area_id": None,
        "coupling_point_id": None,
    }
    theirs = api.as_("dso-b", "GET", "/v1/sessions/s1/needs").json()
    assert [n["id"] for n in theirs] == ["n-area"]
    every = api.as_("mo", "GET", "/v1/sessions/s1/needs").json()
    assert len(every) == 3 and all("location" in n for n in every)


def test_paging_and_an_unknown_session_for_an_fsp(api: Api) -> None:
    _posted(api)
    page = api.as_("fsp-a", "GET", "/v1/sessions/s1/needs", params={"limit": 2, "offset": 1})
    assert [n["id"] for n in page.json()] == ["n-cp", "n-area"]
    missing = api.as_("fsp-a", "GET", "/v1/sessions/nope/needs")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "MarketSession 'nope' does not exist"


def test_the_openapi_document_describes_both_views(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    answer = spec["paths"]["/v1/sessions/{session_id}/needs"]["get"]["responses"]["200"]
    text = json.dumps(answer)
    assert "NeedOut" in text and "FspNeedOut" in text
    assert "bus_ids" not in json.dumps(spec["components"]["schemas"]["FspNeedOut"])
