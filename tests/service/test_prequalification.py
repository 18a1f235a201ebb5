"""Product prequalification: the workflow, who sees what, and bids need a valid one."""

from __future__ import annotations

from typing import Any

from tests.service.conftest import Api
from tests.service.markets import VALID, bid_body, market, prequalify

RECORDS = "/v1/prequalifications"
BIDS = "/v1/sessions/s1/bids"


def _decide(api: Api, record: str, operator: str = "dso-a", **body: Any) -> Any:
    return api.as_(operator, "POST", f"{RECORDS}/{record}/decisions", json=body)


def _fields(r: Any) -> list[tuple[str, str]]:
    return [(e["kind"], e["field"]) for e in r.json()["errors"]]


def test_the_workflow_from_request_to_rejection(api: Api) -> None:
    market(api, prequalified=False)
    body = {"resource_id": "u1", "product_id": "da-cm", "operator_id": "dso-a"}
    r = api.as_("fsp-a", "POST", RECORDS, json=body)
    assert (r.status_code, r.json()["status"]) == (201, "requested")
    record = r.json()["id"]
    assert _decide(api, record, status="in_progress").json()["status"] == "in_progress"
    r = _decide(api, record, status="approved")
    assert r.status_code == 422
    assert _fields(r) == [("Prequalification", "valid_until")]
    r = _decide(api, record, status="approved", **VALID, scope="common")
    assert (r.json()["status"], r.json()["scope"]) == ("approved", "common")
    r = _decide(api, record, status="suspended")
    assert r.json()["status"] == "suspended"
    assert r.json()["suspended_from"] is not None
    r = _decide(api, record, status="approved")
    assert (r.status_code, r.json()["valid_until"]) == (200, "2027-01-01T00:00:00Z")
    assert r.json()["suspended_from"] is None
    assert _decide(api, record, status="rejected").json()["status"] == "rejected"
    r = _decide(api, record, status="approved", **VALID)
    assert r.status_code == 422
    assert "final" in r.json()["errors"][0]["message"]


def test_an_application_names_own_resources_defined_products_and_an_operator(api: Api) -> None:
    market(api, prequalified=False)
    foreign = {"resource_id": "ub", "product_id": "nope", "operator_id": "fsp-b"}
    r = api.as_("fsp-a", "POST", RECORDS, json=foreign)
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == [
        "operator_id",
        "product_id",
        "resource_id",
    ]
    unknown = api.as_("fsp-a", "POST", RECORDS, json={**foreign, "resource_id": "nope"})
    messages = {e["field"]: e["message"] for e in unknown.json()["errors"]}
    assert messages["resource_id"] == "is not a registered unit or group"
    assert {e["field"]: e["message"] for e in r.json()["errors"]} == messages


def test_records_are_their_fsps_and_their_operators(api: Api) -> None:
    market(api, prequalified=False)
    api.party("dso-b", "dso")
    record = prequalify(api, "fsp-a", "u1")
    assert api.as_("fsp-a", "GET", f"{RECORDS}/{record}").status_code == 200
    assert api.as_("dso-a", "GET", f"{RECORDS}/{record}").status_code == 200
    for party in ("fsp-b", "dso-b"):
        assert api.as_(party, "GET", f"{RECORDS}/{record}").status_code == 404, party
        assert api.as_(party, "GET", RECORDS).json() == [], party
    assert _decide(api, record, "dso-b", status="suspended").status_code == 404
    assert [p["id"] for p in api.as_("dso-a", "GET", RECORDS).json()] == [record]


def test_a_unit_bids_only_for_a_product_it_is_prequalified_for(api: Api) -> None:
    market(api, prequalified=False)
    r = api.as_("fsp-a", "POST", BIDS, json=bid_body("b1"))
    assert r.status_code == 422
    assert [(e["object_id"], e["field"]) for e in r.json()["errors"]] == [
        ("b1", "quantities[0].interval")
    ]
    assert "prequalification" in r.json()["errors"][0]["message"]
    expired = {"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-06-01T00:00:00Z"}
    record = prequalify(api, "fsp-a", "u1", status="conditionally_approved", **expired)
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b1")).status_code == 422
    _decide(api, record, status="suspended")
    r = _decide(api, record, status="conditionally_approved", **VALID)
    assert r.status_code == 200, r.text
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b1")).status_code == 201
    _decide(api, record, status="suspended")
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b2")).status_code == 422
    # another FSP's prequalified unit stays unknown to fsp-a
    prequalify(api, "fsp-b", "ub")
    r = api.as_("fsp-a", "POST", BIDS, json=bid_body("b3", resource="ub"))
    assert [e["field"] for e in r.json()["errors"]] == ["resource_id"]
