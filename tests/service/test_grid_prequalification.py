"""Grid prequalification per impacted operator, the traffic light as decision aid, what each
party reads, bids under grid decisions, and the TSO's interface view."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flexcoord.service import verify_chain
from flexcoord.service.grid_assessment import ASSESS_OPERATION, assess_pending
from flexcoord.service.interface_offers import merit_order
from flexcoord.service.tables import AuditEventRow
from tests.conftest import HVMV_MIXED, MV_RURAL, five_bus_two_level_net
from tests.service.conftest import Api, Clock, unit_body
from tests.service.markets import FIRST_MTU, GATE_CLOSES, bid_body, iso, market, prequalify

GPQ = "/v1/grid-prequalifications"
BIDS = "/v1/sessions/s1/bids"
DOCUMENTS = "/v1/sessions/s1/bid-documents"
MTU = timedelta(minutes=15)
OFFERS = "/v1/sessions/s1/interface-offers"
#: What a topology identifier looks like in a JSON text: a bus, a line or a transformer.
TOPOLOGY = re.compile(r"bus|line:|trafo:|cp-|constraint\"|asset", re.IGNORECASE)


def _post(api: Api, party: str, path: str, body: dict[str, Any]) -> Any:
    r = api.as_(party, "POST", path, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _tso(api: Api, *, couplings: tuple[str, ...] = ("trafo:mv-a",), bus: int = 100) -> None:
    """TSO ``tso-a``: area ``hv`` (one bus) naming the DSO areas' coupling points, and a
    connection point ``cp-hv`` on it."""
    api.party("tso-a", "tso")
    area = {"id": "hv", "bus_ids": [bus], "coupling_point_ids": list(couplings)}
    _post(api, "tso-a", "/v1/grid-areas", area)
    _post(api, "tso-a", "/v1/connection-points", {"id": "cp-hv", "bus": bus, "area_id": "hv"})


def _records(api: Api, party: str, **params: str) -> list[dict[str, Any]]:
    r = api.as_(party, "GET", GPQ, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _decide(api: Api, operator: str, record: str, **body: Any) -> Any:
    return api.as_(operator, "POST", f"{GPQ}/{record}/decisions", json=body)


def _record_of(api: Api, fsp: str, resource: str, operator: str) -> str:
    (record,) = [
        r["id"] for r in _records(api, fsp, resource_id=resource) if r["operator_id"] == operator
    ]
    return str(record)


def _audit(engine: Engine, target: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.target == target))
        return [(r.operation, r.outcome) for r in rows]


def test_an_application_makes_one_record_per_impacted_operator(api: Api) -> None:
    market(api, prequalified=False)
    _tso(api)
    api.party("dso-b", "dso")
    _post(api, "fsp-a", "/v1/units", unit_body("uh", "cp-hv"))
    prequalify(api, "fsp-a", "u1")
    prequalify(api, "fsp-a", "uh", operator="tso-a")
    _post(api, "fsp-b", "/v1/groups", {"id": "gb", "unit_ids": ["ub"]})
    prequalify(api, "fsp-b", "gb")
    mine = _records(api, "fsp-a")
    assert sorted((r["resource_id"], r["operator_id"], r["status"]) for r in mine) == [
        ("u1", "dso-a", "requested"),  # the DSO hosting the connection point
        ("u1", "tso-a", "requested"),  # the TSO whose area names its coupling point
        ("uh", "tso-a", "requested"),  # a TSO-connected unit impacts only the TSO
    ]
    groups = [(r["resource_id"], r["operator_id"]) for r in _records(api, "fsp-b")]
    assert sorted(groups) == [("gb", "dso-a"), ("gb", "tso-a")]
    # a second product application of u1 makes no second record per operator
    _post(api, "mo", "/v1/products", {**_product("da-2")})
    body = {"resource_id": "u1", "product_id": "da-2", "operator_id": "tso-a"}
    _post(api, "fsp-a", "/v1/prequalifications", body)
    assert len(_records(api, "fsp-a")) == 3
    # each operator sees the records it is impacted by; nobody else sees any
    assert sorted(r["resource_id"] for r in _records(api, "tso-a")) == ["gb", "u1", "uh"]
    assert sorted(r["resource_id"] for r in _records(api, "dso-a")) == ["gb", "u1"]
    record = mine[0]["id"]
    assert api.as_("fsp-b", "GET", f"{GPQ}/{record}").status_code == 404
    assert {r["owner_id"] for r in _records(api, "fsp-b")} == {"fsp-b"}
    assert _records(api, "dso-b") == []
    assert api.as_("dso-b", "GET", f"{GPQ}/{record}").status_code == 404
    assert api.as_("mo", "GET", GPQ).status_code == 403


def _product(product_id: str) -> dict[str, Any]:
    return {
        "id": product_id,
        "kind": "activation",
        "timeframe": "day_ahead",
        "min_quantity": 0.1,
        "lead_time_minutes": 15,
    }


def test_only_the_impacted_operator_decides_and_every_move_is_audited(
    api: Api, engine: Engine
) -> None:
    market(api, prequalified=False)
    _tso(api)
    prequalify(api, "fsp-a", "u1")
    record = _record_of(api, "fsp-a", "u1", "dso-a")
    assert _decide(api, "tso-a", record, status="in_progress").status_code == 404
    assert _decide(api, "dso-a", record, status="in_progress").json()["status"] == "in_progress"
    r = _decide(api, "dso-a", record, status="conditionally_approved")
    assert r.status_code == 422
    assert [(e["kind"], e["field"]) for e in r.json()["errors"]] == [
        ("GridPrequalification", "max_up_mw")
    ]
    r = _decide(api, "dso-a", record, status="approved", max_down_mw=0.2)
    assert [e["field"] for e in r.json()["errors"]] == ["max_down_mw"]
    body = {"status": "conditionally_approved", "max_up_mw": 0.3}
    key = {"Idempotency-Key": "decide-1"}
    path = f"{GPQ}/{record}/decisions"
    r = api.as_("dso-a", "POST", path, json=body, headers=key)
    assert (r.status_code, r.json()["max_up_mw"], r.json()["max_down_mw"]) == (200, 0.3, None)
    again = api.as_("dso-a", "POST", path, json=body, headers=key)
    assert (again.json(), again.headers["Idempotent-Replayed"]) == (r.json(), "true")
    r = _decide(api, "dso-a", record, status="suspended")
    assert (r.json()["status"], r.json()["suspended_from"]) == ("suspended", "2026-06-01T08:00:00Z")
    r = _decide(api, "dso-a", record, status="conditionally_approved")  # lifted, condition kept
    assert (r.status_code, r.json()["max_up_mw"], r.json()["suspended_from"]) == (200, 0.3, None)
    assert _decide(api, "dso-a", record, status="rejected").json()["status"] == "rejected"
    r = _decide(api, "dso-a", record, status="approved")
    assert "final" in r.json()["errors"][0]["message"]
    assert _decide(api, "fsp-a", record, status="approved").status_code == 403
    events = _audit(engine, f"grid_prequalification:{record}")
    assert events == [("grid_prequalification.decide", "accepted")] * 5
    with Session(engine) as session:
        refused = session.scalars(
            select(AuditEventRow.outcome).where(
                AuditEventRow.operation == "grid_prequalification.decide",
                AuditEventRow.target.is_(None),
            )
        ).all()
    assert sorted(refused) == ["denied", "denied", "rejected", "rejected", "rejected", "replayed"]


def test_a_bid_needs_no_refusing_grid_record_and_keeps_to_the_conditions(api: Api) -> None:
    market(api)
    record = _record_of(api, "fsp-a", "u1", "dso-a")
    assert _records(api, "fsp-a", resource_id="u1")[0]["status"] == "requested"
    # an undecided grid prequalification does not hold a bid back
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b1")).status_code == 201
    _decide(api, "dso-a", record, status="conditionally_approved", max_up_mw=0.3)
    r = api.as_("fsp-a", "POST", BIDS, json=bid_body("b2", k=41))  # 0.4 MW up > 0.3
    assert r.status_code == 422
    assert [(e["object_id"], e["field"]) for e in r.json()["errors"]] == [
        ("b2", "quantities[0].quantity")
    ]
    assert "0.3 MW up limit" in r.json()["errors"][0]["message"]
    assert api.as_("fsp-a", "POST", BIDS, json=_bid("b3", 0.3)).status_code == 201
    assert api.as_("fsp-a", "POST", BIDS, json=_bid("b4", 0.4, "down")).status_code == 201
    _decide(api, "dso-a", record, status="suspended")
    r = api.as_("fsp-a", "POST", BIDS, json=_bid("b5", 0.2))
    assert [e["field"] for e in r.json()["errors"]] == ["quantities[0].interval"]
    assert "suspends" in r.json()["errors"][0]["message"]
    _decide(api, "dso-a", record, status="approved")
    assert api.as_("fsp-a", "POST", BIDS, json=_bid("b5", 0.5)).status_code == 201
    _decide(api, "dso-a", record, status="rejected")
    r = api.as_("fsp-a", "POST", BIDS, json=_bid("b6", 0.2))
    assert [e["field"] for e in r.json()["errors"]] == ["quantities[0].interval"]
    # fsp-b's unit ub has its own record, untouched by u1's
    assert api.as_("fsp-b", "POST", BIDS, json=_bid("b1", 0.5, resource="ub")).status_code == 201


def test_a_condition_in_time_windows_refuses_the_time_outside_them(api: Api) -> None:
    market(api)
    record = _record_of(api, "fsp-b", "ub", "dso-a")
    window = {"start": iso(FIRST_MTU + 60 * MTU), "end": iso(FIRST_MTU + 62 * MTU)}
    r = _decide(api, "dso-a", record, status="conditionally_approved", windows=[window])
    assert (r.status_code, r.json()["windows"]) == (200, [window]), r.text
    inside = [bid_body(f"b{k}", "ub", k=k) for k in (60, 61)]
    assert api.as_("fsp-b", "POST", DOCUMENTS, json={"bids": inside}).status_code == 201
    r = api.as_("fsp-b", "POST", BIDS, json=bid_body("b62", "ub", k=62))
    assert [(e["object_id"], e["field"]) for e in r.json()["errors"]] == [
        ("b62", "quantities[0].interval")
    ]
    backwards = {"start": window["end"], "end": window["start"]}
    assert _decide(api, "dso-a", record, status="suspended").status_code == 200
    r = _decide(api, "dso-a", record, status="conditionally_approved", windows=[backwards])
    assert [e["field"] for e in r.json()["errors"]] == ["windows[0].end"]


def _bid(bid_id: str, quantity: float, direction: str = "up", **extra: Any) -> dict[str, Any]:
    body = bid_body(bid_id, k=50 + int(bid_id[1:]), direction=direction, **extra)
    body["quantities"][0]["quantity"] = quantity
    return body


def _five_bus(api: Api) -> None:
    """The hand-built 110/20 kV grid of ``tests.conftest.five_bus_two_level_net`` registered:
    TSO area ``hv`` (bus 0, naming both transformers), DSO area ``mv0`` (buses 1, 2 behind
    ``trafo:0``); 40 MW batteries of ``fsp-a`` at bus 2 and bus 0, and one of ``fsp-b`` at
    bus 2 under the same id as fsp-a's."""
    api.party("tso-a", "tso")
    api.party("dso-a", "dso")
    api.party("fsp-a", "fsp")
    api.party("mo", "market_operator")
    hv = {"id": "hv", "bus_ids": [0], "coupling_point_ids": ["trafo:0", "trafo:1"]}
    _post(api, "tso-a", "/v1/grid-areas", hv)
    mv = {"id": "mv0", "bus_ids": [1, 2], "coupling_point_ids": ["trafo:0"]}
    _post(api, "dso-a", "/v1/grid-areas", mv)
    _post(api, "tso-a", "/v1/connection-points", {"id": "cp-0", "bus": 0, "area_id": "hv"})
    point = {"id": "cp-2", "bus": 2, "area_id": "mv0", "coupling_point_id": "trafo:0"}
    _post(api, "dso-a", "/v1/connection-points", point)
    battery = {
        "technology": "bess",
        "p_min_mw": -20.0,
        "p_max_mw": 20.0,
        "energy_min_mwh": 0.0,
        "energy_max_mwh": 80.0,
    }
    _post(api, "fsp-a", "/v1/units", {**unit_body("b-mv", "cp-2"), **battery})
    _post(api, "fsp-a", "/v1/units", {**unit_body("b-hv", "cp-0"), **battery})
    api.party("fsp-b", "fsp")  # fsp-b's own b-mv: another resource under the same id
    _post(api, "fsp-b", "/v1/units", {**unit_body("b-mv", "cp-2"), **battery})
    _post(api, "mo", "/v1/products", _product("da-cm"))
    for fsp, unit, operator in (
        ("fsp-a", "b-mv", "dso-a"),
        ("fsp-a", "b-hv", "tso-a"),
        ("fsp-b", "b-mv", "dso-a"),
    ):
        body = {"resource_id": unit, "product_id": "da-cm", "operator_id": operator}
        _post(api, fsp, "/v1/prequalifications", body)


def test_the_worker_stores_the_traffic_light_and_each_party_reads_its_view(
    api: Api, engine: Engine, clock: Clock
) -> None:
    from flexcoord.grid.model import GridModel

    _five_bus(api)
    grid = GridModel(five_bus_two_level_net(), code="five-bus")
    assert assess_pending(engine, grid, now=clock()) == 5
    assert assess_pending(engine, grid, now=clock()) == 0  # nothing is assessed twice
    record = _record_of(api, "fsp-a", "b-mv", "dso-a")
    operator = api.as_("dso-a", "GET", f"{GPQ}/{record}").json()
    assert operator["status"] == "in_progress"
    assessment = operator["assessment"]
    assert (assessment["grid_code"], assessment["bus_ids"]) == ("five-bus", [2])
    assert assessment["horizon_start"] == "2026-06-01T22:00:00Z"  # the next delivery day
    up, down = assessment["directions"]
    assert (up["direction"], down["direction"]) == ("up", "down")
    # 40 MW of battery range behind a ~14 MVA feeder cable: limited both ways, by a named limit
    for cell in (up, down):
        assert cell["light"] == "amber", cell
        assert 0 < cell["headroom_mw"] < cell["range_mw"] == 40.0
        assert re.fullmatch(r"(line|trafo|bus):\d+", cell["constraint"]), cell
        assert cell["constraint_ref"] in cell["message"]
    fsp = api.as_("fsp-a", "GET", f"{GPQ}/{record}").json()
    fsp_up = fsp["assessment"]["directions"][0]
    assert {k: fsp_up[k] for k in ("light", "headroom_mw", "range_mw")} == {
        k: up[k] for k in ("light", "headroom_mw", "range_mw")
    }
    assert sorted(fsp_up) == ["direction", "headroom_mw", "light", "message", "range_mw"]
    for text in (json.dumps(fsp), json.dumps(_records(api, "fsp-a"))):
        assert TOPOLOGY.search(text) is None, TOPOLOGY.search(text)
    assert "b-hv" not in json.dumps(fsp)  # no other unit either
    other = _records(api, "fsp-b", resource_id="b-mv")
    assert [r["assessment"]["directions"][0]["light"] for r in other] == ["amber"] * 2
    # the TSO-connected battery is assessed by the TSO only; each move has its audit event
    (hv,) = _records(api, "tso-a", resource_id="b-hv")
    assert hv["assessment"]["bus_ids"] == [0]
    assert _audit(engine, f"grid_prequalification:{record}") == [(ASSESS_OPERATION, "accepted")]
    with Session(engine) as session:
        assert verify_chain(session).intact


def test_a_resource_off_the_grid_gets_an_assessment_that_says_so(
    api: Api, engine: Engine, clock: Clock
) -> None:
    from flexcoord.grid.model import GridModel

    market(api, prequalified=False)
    area = {"id": "mv-far", "bus_ids": [70], "coupling_point_ids": ["trafo:far"]}
    _post(api, "dso-a", "/v1/grid-areas", area)
    point = {"id": "cp-far", "bus": 70, "area_id": "mv-far", "coupling_point_id": "trafo:far"}
    _post(api, "dso-a", "/v1/connection-points", point)
    _post(api, "fsp-a", "/v1/units", unit_body("u-far", "cp-far"))
    prequalify(api, "fsp-a", "u-far", status="in_progress")
    grid = GridModel(five_bus_two_level_net(), code="five-bus")
    assert assess_pending(engine, grid, now=clock()) == 1
    (record,) = _records(api, "fsp-a", resource_id="u-far")
    assert record["assessment"]["error"] == "the resource is not on an in-service bus of the grid"
    assert record["assessment"]["directions"] == []


@pytest.mark.slow
def test_the_cli_assesses_once(api: Api, database_url: str) -> None:
    from flexcoord.cli.app import app

    market(api)
    result = CliRunner().invoke(
        app, ["service", "assess", "--database-url", database_url, "--grid", MV_RURAL]
    )
    assert result.exit_code == 0, result.output
    assert f"2 grid prequalification(s) assessed on {MV_RURAL}" in result.output
    assert {r["status"] for r in _records(api, "fsp-a")} == {"in_progress"}


def test_the_tso_sees_distribution_bids_only_as_curves_at_its_coupling_points(
    api: Api, clock: Clock
) -> None:
    market(api)
    _tso(api)
    api.party("dso-b", "dso")
    _post(api, "fsp-a", "/v1/units", unit_body("uh", "cp-hv"))
    prequalify(api, "fsp-a", "uh", operator="tso-a")
    for party, body in (
        ("fsp-a", bid_body("b1")),  # 0.4 MW up at 100 EUR/MWh, behind trafo:mv-a
        ("fsp-b", bid_body("b1", "ub", activation_price_eur_per_mwh=80.0)),
        ("fsp-a", bid_body("b2", "uh", activation_price_eur_per_mwh=10.0)),  # on the TSO's area
        ("fsp-b", bid_body("b2", "ub", k=41, direction="down")),
    ):
        assert api.as_(party, "POST", BIDS, json=body).status_code == 201, body
    r = api.as_("tso-a", "GET", OFFERS)
    assert r.status_code == 409
    assert [(e["kind"], e["field"]) for e in r.json()["errors"]] == [
        ("MarketSession", "gate_closes_at")
    ]
    clock.now = GATE_CLOSES
    curves = api.as_("tso-a", "GET", OFFERS).json()
    assert [(c["start"], c["direction"], c["steps"]) for c in curves] == [
        (
            "2026-06-02T08:00:00Z",
            "up",
            [
                {"price": 80.0, "cumulative_quantity": 0.4},
                {"price": 100.0, "cumulative_quantity": 0.8},
            ],
        ),
        ("2026-06-02T08:15:00Z", "down", [{"price": 100.0, "cumulative_quantity": 0.4}]),
    ]
    assert {c["coupling_point_id"] for c in curves} == {"trafo:mv-a"}
    text = json.dumps(curves)
    for hidden in ("u1", "ub", "uh", "fsp-", "cp-", "bus"):
        assert hidden not in text, hidden
    assert api.as_("dso-a", "GET", OFFERS).json() == curves  # its own coupling point
    assert api.as_("dso-b", "GET", OFFERS).json() == []
    for party in ("fsp-a", "mo"):
        assert api.as_(party, "GET", OFFERS).status_code == 403
    assert api.as_("tso-a", "GET", "/v1/sessions/nope/interface-offers").status_code == 404


@pytest.mark.slow
def test_the_real_grid_assesses_an_mv_and_an_hv_unit_for_their_operators(
    api: Api, engine: Engine, clock: Clock, hvmv_mixed: Any
) -> None:
    """1-HVMV-mixed: the TSO runs the HV area, one DSO an MV area behind its transformers; a
    unit on an MV bus impacts both, one on an HV bus the TSO only."""
    split = hvmv_mixed.areas
    mv = split.dso_areas[0]
    couplings = sorted(cp.id for cp in mv.coupling_points)
    api.party("tso-a", "tso")
    api.party("dso-a", "dso")
    api.party("fsp-a", "fsp")
    api.party("mo", "market_operator")
    hv_bus, mv_bus = min(split.tso_bus_ids), max(mv.bus_ids)
    tso_area = {"id": "hv", "bus_ids": sorted(split.tso_bus_ids), "coupling_point_ids": couplings}
    _post(api, "tso-a", "/v1/grid-areas", tso_area)
    dso_area = {"id": mv.id, "bus_ids": sorted(mv.bus_ids), "coupling_point_ids": couplings}
    _post(api, "dso-a", "/v1/grid-areas", dso_area)
    _post(api, "tso-a", "/v1/connection-points", {"id": "cp-hv", "bus": hv_bus, "area_id": "hv"})
    point = {"id": "cp-mv", "bus": mv_bus, "area_id": mv.id, "coupling_point_id": couplings[0]}
    _post(api, "dso-a", "/v1/connection-points", point)
    _post(api, "fsp-a", "/v1/units", unit_body("u-mv", "cp-mv"))
    _post(api, "fsp-a", "/v1/units", unit_body("u-hv", "cp-hv"))
    _post(api, "mo", "/v1/products", _product("da-cm"))
    for unit in ("u-mv", "u-hv"):
        body = {"resource_id": unit, "product_id": "da-cm", "operator_id": "tso-a"}
        _post(api, "fsp-a", "/v1/prequalifications", body)
    assert assess_pending(engine, hvmv_mixed, now=clock()) == 3
    records = _records(api, "fsp-a")
    assert sorted((r["resource_id"], r["operator_id"]) for r in records) == [
        ("u-hv", "tso-a"),
        ("u-mv", "dso-a"),
        ("u-mv", "tso-a"),
    ]
    for record in records:
        assert record["status"] == "in_progress"
        assert record["assessment"]["error"] is None
        for cell in record["assessment"]["directions"]:
            assert cell["light"] in ("green", "amber", "red")
            assert 0 <= cell["headroom_mw"] <= cell["range_mw"] == 0.5
    (dso,) = _records(api, "dso-a")
    assert dso["assessment"]["bus_ids"] == [mv_bus]
    for cell in dso["assessment"]["directions"]:  # the colour follows the headroom
        assert (cell["light"] == "green") == (cell["headroom_mw"] == cell["range_mw"])
        if cell["light"] == "red":
            assert cell["headroom_mw"] < 0.01 and cell["constraint"] is not None
    lights = [
        (r["resource_id"], r["operator_id"], [c["light"] for c in r["assessment"]["directions"]])
        for r in records
    ]
    print(f"\nlights on {HVMV_MIXED}: {lights}")


def test_importing_the_worker_module_loads_no_grid_library() -> None:
    """The worker's module imports the grid layer inside ``assess_pending`` only, so the app
    (which never imports it) and a worker that has nothing pending stay light."""
    code = (
        "import flexcoord.service.grid_assessment, sys\n"
        "print([m for m in ('pandapower', 'simbench', 'power_grid_model', 'highspy') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@given(
    st.lists(
        st.tuples(
            st.floats(-500, 500, allow_nan=False).map(lambda p: round(p, 1)),
            st.floats(0, 50, allow_nan=False),
        ),
        max_size=30,
    )
)
def test_a_merit_order_is_cheapest_first_and_sums_every_offer(
    offers: list[tuple[float, float]],
) -> None:
    steps = merit_order(offers)
    prices = [p for p, _ in steps]
    assert prices == sorted(set(prices)) == sorted({p for p, _ in offers})
    totals = [c for _, c in steps]
    assert totals == sorted(totals)
    assert totals[-1:] == (
        [pytest.approx(sum(q for _, q in offers), abs=1e-9)] if offers else []
    )  # steps are rounded to 1e-9 MW
