"""The register endpoints: the domain's rules as problem+json, ownership, no existence oracle."""

from __future__ import annotations

from tests.service.conftest import Api, grid, unit_body


def _errors(response) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= body.keys()
    assert body["status"] == response.status_code
    return [(e["kind"], e["object_id"], e["field"], e["message"]) for e in body["errors"]]


def test_a_unit_at_a_registered_connection_point_is_registered_and_read_back(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    body = unit_body(
        "bess-1",
        "cp-mv-a-1",
        technology="bess",
        p_min_mw=-1.0,
        p_max_mw=1.0,
        energy_min_mwh=0.0,
        energy_max_mwh=2.0,
        activation_lead_time_minutes=5,
    )
    created = api.as_("fsp-a", "POST", "/v1/units", json=body)
    assert created.status_code == 201, created.text
    read = api.as_("fsp-a", "GET", "/v1/units/bess-1").json()
    assert read == created.json()
    assert read["owner_id"] == "fsp-a"
    assert read["activation_lead_time_minutes"] == 5
    assert [u["id"] for u in api.as_("fsp-a", "GET", "/v1/units").json()] == ["bess-1"]


def test_the_domains_unit_rules_answer_422_naming_object_and_field(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    bad = unit_body("hp-1", "cp-mv-a-1", technology="heat_pump", p_min_mw=-2.0, p_max_mw=1.0)
    r = api.as_("fsp-a", "POST", "/v1/units", json=bad)
    assert r.status_code == 422
    assert _errors(r) == [
        ("Unit", "hp-1", "p_max_mw", "must be <= 0 for heat_pump: p > 0 is injection")
    ]
    r = api.as_("fsp-a", "POST", "/v1/units", json=unit_body("pv-1", "cp-nowhere"))
    assert r.status_code == 422
    assert _errors(r) == [
        ("Unit", "pv-1", "connection_point_id", "is not a registered ConnectionPoint")
    ]
    assert api.as_("fsp-a", "GET", "/v1/units").json() == []


def test_a_body_failing_its_schema_answers_the_market_files_words(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    body = {**unit_body("pv-1", "cp-mv-a-1"), "p_max_mw": "lots"}
    del body["technology"]
    r = api.as_("fsp-a", "POST", "/v1/units", json=body)
    assert r.status_code == 422
    assert sorted(_errors(r)) == [
        ("Unit", "pv-1", "p_max_mw", "must be a number"),
        ("Unit", "pv-1", "technology", "is required"),
    ]


def test_the_owner_comes_from_the_key_never_from_the_body(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    api.party("fsp-b", "fsp")
    r = api.as_(
        "fsp-a", "POST", "/v1/units", json={**unit_body("pv-1", "cp-mv-a-1"), "fsp_id": "fsp-b"}
    )
    assert r.status_code == 422
    assert _errors(r) == [("Unit", "pv-1", "fsp_id", "is not a field of a unit")]
    r = api.as_(
        "fsp-a", "POST", "/v1/units", json={**unit_body("pv-1", "cp-mv-a-1"), "owner_id": "fsp-b"}
    )
    assert r.status_code == 422
    assert api.as_("fsp-b", "GET", "/v1/units").json() == []


def test_a_foreign_object_answers_exactly_as_a_missing_one(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    api.party("fsp-b", "fsp")
    assert api.as_("fsp-a", "POST", "/v1/units", json=unit_body("pv-1", "cp-mv-a-1")).is_success
    foreign = api.as_("fsp-b", "GET", "/v1/units/pv-1")
    missing = api.as_("fsp-b", "GET", "/v1/units/pv-2")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == "Unit 'pv-1' is not registered"
    assert missing.json()["detail"] == "Unit 'pv-2' is not registered"
    assert api.as_("fsp-b", "DELETE", "/v1/units/pv-1").status_code == 404
    assert api.as_("fsp-b", "GET", "/v1/units").json() == []
    listed = api.as_("fsp-b", "GET", "/v1/units", params={"connection_point_id": "cp-mv-a-1"})
    assert listed.json() == []
    # the same id is free for FSP B: ids are each owner's own namespace
    assert api.as_("fsp-b", "POST", "/v1/units", json=unit_body("pv-1", "cp-mv-a-2")).is_success
    assert api.as_("fsp-a", "GET", "/v1/units/pv-1").json()["connection_point_id"] == "cp-mv-a-1"


def test_an_operator_sees_only_its_own_grid_and_cannot_use_another_operators_area(
    api: Api,
) -> None:
    grid(api, "dso-a", area="mv-a")
    grid(api, "dso-b", area="mv-b")
    assert [a["id"] for a in api.as_("dso-b", "GET", "/v1/grid-areas").json()] == ["mv-b"]
    assert api.as_("dso-b", "GET", "/v1/grid-areas/mv-a").status_code == 404
    assert api.as_("dso-b", "GET", "/v1/connection-points/cp-mv-a-1").status_code == 404
    listed = api.as_("dso-b", "GET", "/v1/connection-points", params={"area_id": "mv-a"})
    assert listed.json() == []
    r = api.as_(
        "dso-b", "POST", "/v1/connection-points", json={"id": "cp-new", "bus": 1, "area_id": "mv-a"}
    )
    assert r.status_code == 422
    assert _errors(r) == [("ConnectionPoint", "cp-new", "area_id", "is not a registered GridArea")]


def test_a_connection_point_must_lie_in_its_area(api: Api) -> None:
    grid(api)
    r = api.as_(
        "dso-a", "POST", "/v1/connection-points", json={"id": "cp-9", "bus": 9, "area_id": "mv-a"}
    )
    assert r.status_code == 422
    assert _errors(r) == [("ConnectionPoint", "cp-9", "bus", "is not a bus of area 'mv-a'")]


def test_groups_follow_the_registers_rules(api: Api) -> None:
    grid(api, "dso-a", area="mv-a")
    grid(api, "dso-b", area="mv-b")
    api.party("fsp-a", "fsp")
    for unit_id, point in (("u1", "cp-mv-a-1"), ("u2", "cp-mv-a-2"), ("u3", "cp-mv-b-1")):
        assert api.as_("fsp-a", "POST", "/v1/units", json=unit_body(unit_id, point)).is_success
    r = api.as_("fsp-a", "POST", "/v1/groups", json={"id": "g-mixed", "unit_ids": ["u1", "u3"]})
    assert r.status_code == 422
    [(kind, object_id, field, message)] = _errors(r)
    assert (kind, object_id, field) == ("Group", "g-mixed", "unit_ids")
    assert message.startswith("must all sit behind one coupling point")
    assert (
        api.as_(
            "fsp-a", "POST", "/v1/groups", json={"id": "g", "unit_ids": ["u1", "u2"]}
        ).status_code
        == 201
    )
    r = api.as_("fsp-a", "POST", "/v1/groups", json={"id": "g2", "unit_ids": ["u2"]})
    assert r.status_code == 422
    assert ("Group", "g2", "unit_ids", "is in more than one group: g, g2") in _errors(r)
    r = api.as_("fsp-a", "DELETE", "/v1/units/u1")
    assert r.status_code == 409
    assert _errors(r) == [("Unit", "u1", "id", "is in group 'g': delete the group first")]
    assert api.as_("fsp-a", "DELETE", "/v1/groups/g").status_code == 204
    assert api.as_("fsp-a", "DELETE", "/v1/units/u1").status_code == 204
    assert [u["id"] for u in api.as_("fsp-a", "GET", "/v1/units").json()] == ["u2", "u3"]


def test_a_group_of_another_fsps_units_finds_no_such_units(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    api.party("fsp-b", "fsp")
    assert api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp-mv-a-1")).is_success
    r = api.as_("fsp-b", "POST", "/v1/groups", json={"id": "g", "unit_ids": ["u1"]})
    assert r.status_code == 422
    assert _errors(r) == [("Group", "g", "unit_ids", "is not a registered Unit")]


def test_an_id_registered_twice_by_its_owner_is_a_conflict(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    assert api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp-mv-a-1")).is_success
    r = api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp-mv-a-2"))
    assert r.status_code == 409
    assert _errors(r) == [("Unit", "u1", "id", "is already registered")]
    r = api.as_("fsp-a", "POST", "/v1/groups", json={"id": "u1", "unit_ids": ["u1"]})
    assert r.status_code == 409


def test_lists_page_in_id_order(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    for n in (3, 1, 2):
        assert api.as_(
            "fsp-a", "POST", "/v1/units", json=unit_body(f"u{n}", "cp-mv-a-1")
        ).is_success
    page = api.as_("fsp-a", "GET", "/v1/units", params={"limit": 2, "offset": 1}).json()
    assert [u["id"] for u in page] == ["u2", "u3"]
    r = api.as_("fsp-a", "GET", "/v1/units", params={"limit": 0})
    assert r.status_code == 422
    assert _errors(r) == [("query parameter", "limit", "value", "must be >= 1")]


def test_a_body_that_is_no_json_object_says_so(api: Api) -> None:
    api.party("fsp-a", "fsp")
    headers = {"content-type": "application/json"}
    cases = {
        b'{"id": "u1", ': "the request body must be valid JSON (at character 13)",
        b"": "the request body is required (a JSON object)",
        b"[1, 2]": "must be an object",
    }
    for body, message in cases.items():
        r = api.as_("fsp-a", "POST", "/v1/units", content=body, headers=headers)
        assert r.status_code == 422
        assert _errors(r) == [("", "", "", message)], body
