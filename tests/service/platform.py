"""A market on the platform's real grid (1-HVMV-mixed): its operators, areas and connection
points registered through the API as ``build_portfolio`` has them, two FSPs with units of one
MV area, a day-ahead activation product, one session, a DSO need and bids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flexcoord.domain import Unit
from flexcoord.grid.model import load_grid
from flexcoord.grid.portfolio import build_portfolio
from flexcoord.schemas import ConnectionPointModel, GridAreaModel
from tests.service.conftest import Api
from tests.service.markets import FIRST_MTU, VALID, mtu, product_body, session_body

GRID = "1-HVMV-mixed-all-0-sw"
AREA = "MV1.102"
#: The MTUs of the need and the bids (10:00-11:00 local).
MTUS = range(40, 44)


def _unit_body(unit: Unit, unit_id: str) -> dict[str, Any]:
    return {
        "id": unit_id,
        "connection_point_id": unit.connection_point_id,
        "technology": str(unit.technology),
        "p_min_mw": unit.p_min_mw,
        "p_max_mw": unit.p_max_mw,
    }


def register_grid(
    api: Api, *, area: str = AREA, units: int = 6, product_kind: str = "activation"
) -> list[tuple[str, str]]:
    """Parties ``tso``, ``dso``, ``mo``, ``fsp-a``, ``fsp-b``; every grid area of the grid;
    ``units`` units of ``area`` with at least 0.4 MW of range, with their connection points,
    registered and prequalified (alternately each FSP's; ids ``u0``.. per FSP) for product
    ``da-cm`` of ``product_kind``. The (fsp, unit id) pairs."""
    register = build_portfolio(load_grid(GRID))
    for party, role in (("tso", "tso"), ("dso", "dso"), ("mo", "market_operator")):
        api.party(party, role)
    for fsp in ("fsp-a", "fsp-b"):
        api.party(fsp, "fsp")
    for a in register.areas:
        body = GridAreaModel.of(a).model_dump(mode="json")
        r = api.as_(a.operator_id, "POST", "/v1/grid-areas", json=body)
        assert r.status_code == 201, r.text
    points = {p.id: p for p in register.connection_points}
    chosen = [
        u
        for u in register.units
        if points[u.connection_point_id].area_id == area and u.p_max_mw - u.p_min_mw >= 0.4
    ][:units]
    assert len(chosen) == units
    r = api.as_("mo", "POST", "/v1/products", json=product_body(kind=product_kind))
    assert r.status_code == 201, r.text
    out: list[tuple[str, str]] = []
    for n, unit in enumerate(chosen):
        body = ConnectionPointModel.of(points[unit.connection_point_id]).model_dump(mode="json")
        r = api.as_("dso", "POST", "/v1/connection-points", json=body)
        assert r.status_code in (201, 409), r.text
        fsp, unit_id = ("fsp-a", "fsp-b")[n % 2], f"u{n // 2}"
        r = api.as_(fsp, "POST", "/v1/units", json=_unit_body(unit, unit_id))
        assert r.status_code == 201, r.text
        pq = {"resource_id": unit_id, "product_id": "da-cm", "operator_id": "dso"}
        r = api.as_(fsp, "POST", "/v1/prequalifications", json=pq)
        assert r.status_code == 201, r.text
        decision = {"status": "approved", **VALID}
        r = api.as_(
            "dso", "POST", f"/v1/prequalifications/{r.json()['id']}/decisions", json=decision
        )
        assert r.status_code == 200, r.text
        out.append((fsp, unit_id))
    return out


def open_session(api: Api, session_id: str = "s1", **extra: Any) -> None:
    r = api.as_("mo", "POST", "/v1/sessions", json=session_body(session_id, **extra))
    assert r.status_code == 201, r.text


def need(api: Api, session_id: str = "s1", *, mw: float = 0.5, area: str = AREA) -> None:
    body = {
        "id": "n1",
        "location": {"kind": "area", "area_id": area},
        "direction": "up",
        "quantities": [mtu(FIRST_MTU + k * timedelta(minutes=15), mw) for k in MTUS],
        "activation_price_cap_eur_per_mwh": 500.0,
    }
    r = api.as_("dso", "POST", f"/v1/sessions/{session_id}/needs", json=body)
    assert r.status_code == 201, r.text


def bid(
    api: Api, fsp: str, unit_id: str, bid_id: str, price: float, mw: float = 0.2, s: str = "s1"
) -> None:
    body = {
        "id": bid_id,
        "resource_id": unit_id,
        "direction": "up",
        "quantities": [mtu(FIRST_MTU + k * timedelta(minutes=15), mw) for k in MTUS],
        "activation_price_eur_per_mwh": price,
    }
    r = api.as_(fsp, "POST", f"/v1/sessions/{s}/bids", json=body)
    assert r.status_code == 201, r.text
