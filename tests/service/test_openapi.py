"""The OpenAPI document: every schema has an example, every error is a documented problem."""

from __future__ import annotations

from typing import Any

from tests.service.conftest import Api


def _document(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_every_schema_carries_an_example(api: Api) -> None:
    schemas = _document(api)["components"]["schemas"]
    assert "UnitModel" in schemas and "ProblemOut" in schemas
    assert [name for name, schema in schemas.items() if not schema.get("examples")] == []


#: A route speaking a standard answers a rejected document with the standard's rejection (an IEC
#: 62325 acknowledgement ``A02``), not a problem; a missing key, role or session still gets one.
STANDARD_REJECTIONS = {
    ("/v1/sessions/{session_id}/documents/reserve-bids", "409"),
    ("/v1/sessions/{session_id}/documents/reserve-bids", "422"),
    ("/v1/sessions/{session_id}/documents/activation-responses", "409"),
    ("/v1/sessions/{session_id}/documents/activation-responses", "422"),
}


def test_every_operation_documents_its_problems_as_problem_json(api: Api) -> None:
    for path, methods in _document(api)["paths"].items():
        for method, spec in methods.items():
            errors = {s: r for s, r in spec["responses"].items() if int(s) >= 400}
            if path.startswith("/v1"):
                assert {"401", "403", "422"} <= errors.keys(), (method, path)
                assert spec["security"] == [{"HTTPBearer": []}], (method, path)
            for status, response in errors.items():
                if (path, status) in STANDARD_REJECTIONS:  # the standard's own answer
                    assert list(response["content"]) == ["application/xml"], (path, status)
                    continue
                assert list(response["content"]) == ["application/problem+json"], (path, status)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ProblemOut"}


def test_an_example_body_is_accepted_as_documented(api: Api) -> None:
    schemas = _document(api)["components"]["schemas"]
    api.party("dso-north", "dso")
    api.party("fsp-a", "fsp")
    for party, path, name in (
        ("dso-north", "/v1/grid-areas", "GridAreaModel"),
        ("dso-north", "/v1/connection-points", "ConnectionPointModel"),
        ("fsp-a", "/v1/units", "UnitModel"),
    ):
        r = api.as_(party, "POST", path, json=schemas[name]["examples"][0])
        assert r.status_code == 201, (name, r.text)


def test_health_and_readiness_answer_without_a_key(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    assert api.client.get("/ready").json() == {"status": "ready"}


def test_an_unknown_route_is_a_problem_and_the_request_id_is_echoed(api: Api) -> None:
    r = api.client.get("/v2/units", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["X-Request-ID"] == "abc-123"
    assert r.json()["request_id"] == "abc-123"
    hostile = api.client.get("/health", headers={"X-Request-ID": "x" * 65})
    assert hostile.headers["X-Request-ID"] != "x" * 65
