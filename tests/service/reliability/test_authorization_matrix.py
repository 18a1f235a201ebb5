"""T20-T22, the authorization matrix over every route of the app (discovered from
``app.routes``, so a route added later is covered, or the test fails until it is classified).

Two parties of every role own objects of their own. Then, for every route:

* T22, function level: every party of every role calls it; it answers 403 exactly when
  :data:`~flexcoord.service.roles.PERMISSIONS` does not grant the role the operation.
* T20, object level: every party whose role may call it calls it on every object of every
  *other* party (every path parameter that names an owned object); the answer is 404 and the
  same, but for the request id and the id itself, as for an id that does not exist.
* T20, lists: every list answers only what the caller may see (its own objects, or what its
  role is granted), also when a filter names another party.

Afterwards every object and every key is unchanged. A route whose path parameter names an
object this file does not know, or a list whose visibility rule it does not know, fails the
test until it is added to a table below (or to :data:`NOT_EXERCISED` with its reason).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.service import PERMISSIONS, Operation, Role, outbox
from flexcoord.service.tables import (
    ActivationOrderRow,
    AwardRow,
    ClearingRunRow,
    GridPrequalificationRow,
    StatementRow,
)
from tests.service.conftest import Api, Clock, unit_body
from tests.service.markets import VALID, bid_body, product_body, session_body

UNKNOWN: Final = "nothing-here"
#: (party, role): two of every role; "admin" is the fixture's first administrator.
PARTIES: Final = (
    ("admin", Role.ADMIN),
    ("admin-b", Role.ADMIN),
    ("tso-a", Role.TSO),
    ("tso-b", Role.TSO),
    ("dso-a", Role.DSO),
    ("dso-b", Role.DSO),
    ("fsp-a", Role.FSP),
    ("fsp-b", Role.FSP),
    ("mo-a", Role.MARKET_OPERATOR),
    ("mo-b", Role.MARKET_OPERATOR),
)
ROLE_OF: Final = dict(PARTIES)
#: Path parameters naming an object with owners: parameter → [(object id, who may see it)].
OWNED: dict[str, list[tuple[str, frozenset[str]]]] = {
    "unit_id": [("ua", frozenset({"fsp-a"})), ("ub", frozenset({"fsp-b"}))],
    "group_id": [("ga", frozenset({"fsp-a"})), ("gb", frozenset({"fsp-b"}))],
    "area_id": [(f"area-{p}", frozenset({p})) for p in ("dso-a", "dso-b", "tso-a", "tso-b")],
    "point_id": [(f"cp-{p}", frozenset({p})) for p in ("dso-a", "dso-b", "tso-a", "tso-b")],
    "bid_id": [("ba", frozenset({"fsp-a"})), ("bb", frozenset({"fsp-b"}))],
    # filled by the fixture: (fsp-a's record, {fsp-a, dso-a}), ..., and the grid records
    "record_id": [],
    "message_id": [],  # filled by the fixture: (a message, {its recipient})
    "key_id": [],  # filled by the fixture: every party's own key id
}
#: Path parameters naming an object every caller allowed the operation may see.
PUBLIC: Final = {
    "session_id": "sa",
    "product_id": "pa",
    "party_id": "fsp-a",
    "key_sha256": "0" * 64,  # a UFTP participant's key: the administrator sees every one
    "uftp_message_id": "0" * 32,  # a UFTP message flexcoord sends: the administrator's
}
#: Routes not exercised, with the reason (none today; a route not exercised and not listed
#: here fails the test).
NOT_EXERCISED: Final[dict[str, str]] = {}
#: Routes that are not operations (no key, no data of anyone's).
UNAUTHENTICATED: Final = {"health": "liveness", "ready": "readiness"}


def _mine(item: dict[str, Any], party: str) -> bool:
    return bool(item["owner_id"] == party)


#: The market operator of each session of the fixture.
SESSION_OWNER: Final = {"sa": "mo-a", "sb": "mo-b"}


def _result(item: dict[str, Any], party: str) -> bool:
    """An award or order: its FSP's, its buyer's, and its session's market operator's."""
    role = ROLE_OF[party]
    if role is Role.FSP:
        return _mine(item, party)
    if role in (Role.TSO, Role.DSO):
        return bool(item["buyer_id"] == party)
    return role is Role.MARKET_OPERATOR and SESSION_OWNER[item["session_id"]] == party


#: Who may see an item of each list: a list not named here fails the test.
LIST_VISIBILITY: Final[dict[str, Callable[[dict[str, Any], str], bool]]] = {
    Operation.GRID_AREA_LIST: _mine,
    Operation.CONNECTION_POINT_LIST: _mine,
    Operation.UNIT_LIST: _mine,
    Operation.GROUP_LIST: _mine,
    Operation.NEED_LIST: lambda i, p: _mine(i, p) or ROLE_OF[p] is Role.MARKET_OPERATOR,
    Operation.BID_LIST: lambda i, p: _mine(i, p) or ROLE_OF[p] is Role.MARKET_OPERATOR,
    Operation.PREQUALIFICATION_LIST: lambda i, p: p in (i["owner_id"], i["operator_id"]),
    Operation.GRID_PREQUALIFICATION_LIST: lambda i, p: p in (i["owner_id"], i["operator_id"]),
    Operation.AWARD_LIST: _result,
    Operation.ACTIVATION_LIST: _result,
    Operation.MESSAGE_LIST: lambda i, p: i["party_id"] == p,
    # the curves behind the operator's own coupling point (the fixture's areas name t-<party>)
    Operation.INTERFACE_OFFERS_READ: lambda i, p: i["coupling_point_id"] == f"t-{p}",
    # public to every role allowed the operation: the catalogue of the market, the parties
    Operation.PRODUCT_LIST: lambda i, p: True,
    Operation.SESSION_LIST: lambda i, p: True,
    Operation.PARTY_LIST: lambda i, p: True,
    Operation.UFTP_PARTICIPANT_LIST: lambda i, p: True,  # administrators only
    Operation.UFTP_OUTBOX_LIST: lambda i, p: True,  # the platform's operators see every one
}
#: Bodies for calls whose route must run (a foreign object's 404 comes from the route): valid
#: bodies, so that the answer depends on the object alone.
BODIES: Final[dict[str, dict[str, Any]]] = {
    Operation.BID_REPLACE: bid_body("ba", resource="ua"),
    Operation.PREQUALIFICATION_DECIDE: {"status": "approved", **VALID},
    Operation.GRID_PREQUALIFICATION_DECIDE: {"status": "approved"},
}
#: Lists answered only after the session's gate closes (409 before): listed once the matrix
#: has run, with the clock moved past the gate closure of ``sa``.
AFTER_GATE: Final = frozenset({Operation.INTERFACE_OFFERS_READ})


@dataclass
class Tally:
    """The matrix's counts and what went wrong."""

    function_cells: int = 0
    object_cells: int = 0
    list_cells: int = 0
    failures: list[str] = field(default_factory=list)


def _grid(api: Api, party: str, role: str) -> None:
    api.party(party, role)
    area = {"id": f"area-{party}", "bus_ids": [1, 2], "coupling_point_ids": [f"t-{party}"]}
    r = api.as_(party, "POST", "/v1/grid-areas", json=area)
    assert r.status_code == 201, r.text
    point = {
        "id": f"cp-{party}",
        "bus": 1,
        "area_id": f"area-{party}",
        "coupling_point_id": f"t-{party}",
    }
    r = api.as_(party, "POST", "/v1/connection-points", json=point)
    assert r.status_code == 201, r.text


def _ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _world(api: Api) -> None:
    """Every party and its objects; fills the key and record entries of :data:`OWNED`."""
    api.party("admin-b", "admin")
    for party in ("dso-a", "dso-b", "tso-a", "tso-b"):
        _grid(api, party, ROLE_OF[party].value)
    for mo, product, session in (("mo-a", "pa", "sa"), ("mo-b", "pb", "sb")):
        api.party(mo, "market_operator")
        _ok(api.as_(mo, "POST", "/v1/products", json=product_body(product)))
        _ok(api.as_(mo, "POST", "/v1/sessions", json=session_body(session, product_id=product)))
    records = []
    for fsp, unit, group, operator in (
        ("fsp-a", "ua", "ga", "dso-a"),
        ("fsp-b", "ub", "gb", "dso-b"),
    ):
        api.party(fsp, "fsp")
        _ok(api.as_(fsp, "POST", "/v1/units", json=unit_body(unit, f"cp-{operator}")))
        _ok(api.as_(fsp, "POST", "/v1/units", json=unit_body(f"{unit}2", f"cp-{operator}")))
        _ok(api.as_(fsp, "POST", "/v1/groups", json={"id": group, "unit_ids": [f"{unit}2"]}))
        body = {"resource_id": unit, "product_id": "pa", "operator_id": operator}
        record = _ok(api.as_(fsp, "POST", "/v1/prequalifications", json=body))["id"]
        _ok(
            api.as_(
                operator,
                "POST",
                f"/v1/prequalifications/{record}/decisions",
                json={"status": "approved", **VALID},
            )
        )
        records.append((record, frozenset({fsp, operator})))
        bid = "ba" if fsp == "fsp-a" else "bb"
        _ok(api.as_(fsp, "POST", "/v1/sessions/sa/bids", json=bid_body(bid, resource=unit)))
    for operator in ("dso-a", "tso-b"):
        need = {
            "id": f"n-{operator}",
            "location": {"kind": "area", "area_id": f"area-{operator}"},
            "direction": "up",
            "quantities": bid_body("x")["quantities"],
        }
        _ok(api.as_(operator, "POST", "/v1/sessions/sa/needs", json=need))
    OWNED["record_id"] = records
    OWNED["message_id"] = []
    OWNED["key_id"] = [(api.keys[p].split("_")[1], frozenset({p})) for p, _ in PARTIES]


def _results(engine: Engine, now: datetime) -> None:
    """A cleared ``sa`` written as the worker would (a real clearing needs a SimBench grid):
    each FSP's award and activation order, bought by a DSO and a TSO; a statement; and a
    message to one party of every role. Fills the grid records and messages of :data:`OWNED`."""
    mtu = {"mtu_start": now + timedelta(days=1), "mtu_end": now + timedelta(days=1, minutes=15)}
    with Session(engine) as session, session.begin():
        session.add(
            ClearingRunRow(
                session_id="sa",
                status="done",
                attempt=1,
                worker_id="w",
                lease_until=now,
                started_at=now,
                finished_at=now,
                result_sha256="0" * 64,
                summary={"scheme": "common", "awards": 2},
            )
        )
        for fsp, bid, unit, buyer in (
            ("fsp-a", "ba", "ua", "dso-a"),
            ("fsp-b", "bb", "ub", "tso-b"),
        ):
            trade = {"session_id": "sa", "owner_id": fsp, "bid_id": bid, "buyer_id": buyer}
            session.add(
                AwardRow(
                    **trade,
                    **mtu,
                    market_id="m",
                    kind="availability",
                    direction="up",
                    quantity_mw=0.1,
                    price_eur_per_unit=10.0,
                    payment_eur=1.0,
                )
            )
            session.add(
                ActivationOrderRow(
                    **trade,
                    **mtu,
                    id=f"o-{fsp}",
                    unit_id=unit,
                    direction="up",
                    quantity_mw=0.1,
                    issued_at=now,
                )
            )
        spec = {"net_eur": 1.0, "roles": ["fsp"], "pending": [], "lines": []}
        session.add(
            StatementRow(
                session_id="sa", party_id="fsp-a", spec=spec, sha256="0" * 64, created_at=now
            )
        )
        for party in ("fsp-a", "fsp-b", "dso-a", "tso-b", "mo-a", "admin-b"):
            row = outbox.enqueue(
                session,
                party_id=party,
                kind=outbox.MessageKind.RESULTS,
                subject_id="session:sa",
                body={"session_id": "sa"},
                now=now,
                ack_within=timedelta(hours=1),
            )
            OWNED["message_id"].append((row.message_id, frozenset({party})))
        grid = session.scalars(select(GridPrequalificationRow)).all()
        assert grid, "the applications made no grid prequalification record"
        OWNED["record_id"] += [(r.id, frozenset({r.owner_id, r.operator_id})) for r in grid]


def _walk(routes: Any) -> Any:
    """Every route, into included routers (FastAPI >= 0.165 keeps an included router as one
    entry of ``app.routes`` holding its ``original_router``) and mounts."""
    for route in routes:
        inner = getattr(route, "original_router", None) or route
        if inner is not route or (hasattr(route, "routes") and not isinstance(route, APIRoute)):
            yield from _walk(inner.routes)
        else:
            yield route


def _routes(api: Api) -> list[APIRoute]:
    return [r for r in _walk(api.app.routes) if isinstance(r, APIRoute)]


def test_the_routes_walked_are_the_documented_operations(api: Api) -> None:
    """The discovery below misses nothing the OpenAPI document lists (and vice versa)."""
    paths = api.client.get("/openapi.json").json()["paths"]
    documented = {spec["operationId"] for methods in paths.values() for spec in methods.values()}
    assert {str(r.name) for r in _routes(api)} == documented


def _params(route: APIRoute) -> list[str]:
    return re.findall(r"\{([^}]+)\}", route.path)


def _fill(route: APIRoute, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], route.path)


def _call(api: Api, party: str, route: APIRoute, path: str, body: Any = None) -> Any:
    (method,) = route.methods
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = BODIES.get(route.name, {})
    return api.as_(party, method, path, json=body)


def _normalised(r: Any, *ids: str) -> tuple[int, str]:
    """The answer without what differs between two requests (request id, the path, the id)."""
    body = r.json() if r.content else None
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("request_id", "instance")}
    text = repr(body)
    for object_id in ids:
        text = text.replace(object_id, "<id>")
    return r.status_code, text


def _function_level(api: Api, route: APIRoute, tally: Tally) -> None:
    """Every party calls the route on unknown objects: 403 exactly where the table says so."""
    path = _fill(route, dict.fromkeys(_params(route), UNKNOWN))
    for party, role in PARTIES:
        r = _call(api, party, route, path, body={})
        tally.function_cells += 1
        permitted = role in PERMISSIONS[Operation(route.name)]
        if (r.status_code == 403) == permitted or r.status_code >= 500:
            tally.failures.append(f"T22 {route.name} as {party}: {r.status_code} {r.text[:120]}")


def _object_level(api: Api, route: APIRoute, tally: Tally) -> None:
    """Every permitted party calls the route on every other party's objects: the same 404 as
    for an unknown id."""
    owned = [p for p in _params(route) if p in OWNED]
    for party, role in PARTIES:
        if role not in PERMISSIONS[Operation(route.name)]:
            continue
        for param in owned:
            for object_id, visible_to in OWNED[param]:
                if party in visible_to:
                    continue
                values = {**PUBLIC, **{p: UNKNOWN for p in owned}, param: object_id}
                foreign = _call(api, party, route, _fill(route, values))
                unknown = _call(api, party, route, _fill(route, {**values, param: UNKNOWN}))
                tally.object_cells += 1
                if foreign.status_code != 404 or _normalised(foreign, object_id) != _normalised(
                    unknown, UNKNOWN
                ):
                    tally.failures.append(
                        f"T20 {route.name} as {party} on {param}={object_id}: "
                        f"{foreign.status_code} {foreign.text[:150]} "
                        f"vs unknown {unknown.status_code}"
                    )


def _is_list(route: APIRoute) -> bool:
    return "GET" in route.methods and typing.get_origin(route.response_model) is list


def _filters(route: APIRoute, party: str) -> list[dict[str, str]]:
    """No filter, and each filter naming another party (or its object)."""
    names = {p.name for p in route.dependant.query_params}
    found: list[dict[str, str]] = [{}]
    if "owner_id" in names:
        found += [{"owner_id": other} for other, _ in PARTIES if other != party]
    for name, param in (("connection_point_id", "point_id"), ("area_id", "area_id")):
        if name in names:
            found += [{name: i} for i, seen in OWNED[param] if party not in seen]
    return found


def _lists(api: Api, route: APIRoute, tally: Tally) -> None:
    visible = LIST_VISIBILITY.get(route.name)
    if visible is None:
        tally.failures.append(f"T20 list {route.name}: no visibility rule in LIST_VISIBILITY")
        return
    path = _fill(route, {p: PUBLIC.get(p, UNKNOWN) for p in _params(route)})
    for party, role in PARTIES:
        if role not in PERMISSIONS[Operation(route.name)]:
            continue
        for query in _filters(route, party):
            r = api.as_(party, "GET", path, params=query)
            tally.list_cells += 1
            leaked = (
                [i for i in r.json() if not visible(i, party)] if r.status_code == 200 else None
            )
            if leaked is None or leaked:
                tally.failures.append(
                    f"T20 list {route.name} as {party} {query}: {r.status_code} {leaked}"
                )


def _snapshot(api: Api) -> dict[str, Any]:
    """What every party sees of its own objects, and that every key still works."""
    seen: dict[str, Any] = {}
    for party, _ in PARTIES:
        seen[party, "me"] = api.as_(party, "GET", "/v1/me").status_code
        for route in (
            "/v1/units",
            "/v1/groups",
            "/v1/grid-areas",
            "/v1/connection-points",
            "/v1/prequalifications",
            "/v1/sessions/sa/bids",
            "/v1/sessions/sa/needs",
        ):
            r = api.as_(party, "GET", route)
            if r.status_code == 200:
                seen[party, route] = r.json()
    return seen


@pytest.mark.slow
def test_every_route_every_role_every_foreign_object(
    api: Api, engine: Engine, clock: Clock, record_property: Any
) -> None:
    _world(api)
    _results(engine, clock())
    before = _snapshot(api)
    tally = Tally()
    for route in _routes(api):
        if route.name in UNAUTHENTICATED or route.name in NOT_EXERCISED:
            continue
        if route.name not in set(Operation):
            tally.failures.append(f"{route.name} {route.path}: neither an operation nor listed")
            continue
        unknown_params = [p for p in _params(route) if p not in OWNED and p not in PUBLIC]
        if unknown_params:
            tally.failures.append(
                f"{route.name}: path parameters {unknown_params} not in OWNED/PUBLIC"
            )
            continue
        _function_level(api, route, tally)
        _object_level(api, route, tally)
        if _is_list(route) and route.name not in AFTER_GATE:
            _lists(api, route, tally)
    after = _snapshot(api)
    closes = api.as_("mo-a", "GET", "/v1/sessions/sa").json()["gate_closes_at"]
    clock.now = datetime.fromisoformat(closes) + timedelta(minutes=1)
    for route in _routes(api):
        if route.name in AFTER_GATE:
            _lists(api, route, tally)
    cells = tally.function_cells + tally.object_cells + tally.list_cells
    figures = (
        f"T20-T22: {cells} cells ({tally.function_cells} role x route, {tally.object_cells} "
        f"foreign objects, {tally.list_cells} lists and filters) over {len(_routes(api))} routes; "
        f"{len(tally.failures)} leaks or mismatches"
    )
    print(f"\n{figures}")
    record_property("cells", cells)
    record_property("leaks", len(tally.failures))
    assert not tally.failures, (figures, tally.failures[:20])
    assert after == before, "a denied call changed something"
    assert all(before[p, "me"] == 200 for p, _ in PARTIES)
    assert tally.object_cells > 0 and tally.list_cells > 0


#: Fields the service decides (the caller, the server clock, the version): never the body's.
SERVER_DECIDED: Final = ("owner_id", "fsp_id", "buyer_id", "created_at", "submitted_at", "version")


def _example(route: APIRoute) -> dict[str, Any] | None:
    """The documented example of the route's body model (``None``: the route takes no body)."""
    if route.body_field is None:
        return None
    model = route.body_field.field_info.annotation
    examples = (
        model.model_json_schema().get("examples") if hasattr(model, "model_json_schema") else None
    )
    assert examples, f"{route.name}: the body model has no example"
    return dict(examples[0])


def test_no_body_sets_what_the_service_decides(api: Api, record_property: Any) -> None:
    """T21, mass assignment: every route with a body refuses (422, naming the field) each
    server-decided field its body model does not declare, for a caller the role table allows."""
    callers = {}
    for role in Role:
        party = "admin" if role is Role.ADMIN else f"p-{role.value}"
        if role is not Role.ADMIN:
            api.party(party, role.value)
        callers[role] = party
    cells, failures = 0, []
    for route in _routes(api):
        example = _example(route)
        if example is None or route.name not in set(Operation):
            continue
        model = route.body_field.field_info.annotation  # type: ignore[union-attr]
        party = next(callers[r] for r in Role if r in PERMISSIONS[Operation(route.name)])
        path = _fill(route, {p: PUBLIC.get(p, UNKNOWN) for p in _params(route)})
        for name in SERVER_DECIDED:
            if name in model.model_fields:
                continue
            r = _call(api, party, route, path, body={**example, name: "forged"})
            cells += 1
            named = r.status_code == 422 and name in {e["field"] for e in r.json()["errors"]}
            if not named:
                failures.append(f"{route.name} {name}: {r.status_code} {r.text[:150]}")
    print(f"\nT21: {cells} forged server-decided fields over the bodies; {len(failures)} accepted")
    record_property("mass_assignment_cells", cells)
    assert not failures, failures
    assert cells > 0
