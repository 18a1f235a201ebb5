"""Helpers of the market tests: a market operator, a product, a session, an FSP with units."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.service.conftest import START, Api, grid, unit_body

GATE_OPENS = START
GATE_CLOSES = START + timedelta(hours=2)
DAY = date(2026, 6, 2)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def product_body(product_id: str = "da-cm", **extra: Any) -> dict[str, Any]:
    return {
        "id": product_id,
        "kind": "activation",
        "timeframe": "day_ahead",
        "min_quantity": 0.1,
        "lead_time_minutes": 15,
        **extra,
    }


def gate_opens(day: date) -> datetime:
    """The gate opening of the helpers' session of ``day``: 08:00 UTC the day before (the
    test clock's start for :data:`DAY`); it closes 2 h later."""
    before = day - timedelta(days=1)
    return datetime(before.year, before.month, before.day, 8, tzinfo=UTC)


def session_body(
    session_id: str = "s1", day: date = DAY, product_id: str = "da-cm", **extra: Any
) -> dict[str, Any]:
    return {
        "id": session_id,
        "product_id": product_id,
        "delivery_day": day.isoformat(),
        "gate_opens_at": iso(gate_opens(day)),
        "gate_closes_at": iso(gate_opens(day) + timedelta(hours=2)),
        **extra,
    }


def mtu(start: datetime, quantity: float = 0.4) -> dict[str, Any]:
    return {"start": iso(start), "end": iso(start + timedelta(minutes=15)), "quantity": quantity}


#: The first MTU of the default session's day (local midnight, CEST).
FIRST_MTU = datetime.fromisoformat("2026-06-01T22:00:00+00:00")


def bid_body(bid_id: str, resource: str = "u1", *, k: int = 40, **extra: Any) -> dict[str, Any]:
    """A bid for MTU ``k`` of the default day."""
    return {
        "id": bid_id,
        "resource_id": resource,
        "direction": "up",
        "quantities": [mtu(FIRST_MTU + k * timedelta(minutes=15))],
        "activation_price_eur_per_mwh": 100.0,
        **extra,
    }


VALID = {"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"}


def prequalify(
    api: Api, fsp: str, resource: str, *, operator: str = "dso-a", **decision: Any
) -> str:
    """Apply as ``fsp`` for ``resource`` and product ``da-cm``; the operator approves it for
    2026 (or decides ``decision``). The record's id."""
    body = {"resource_id": resource, "product_id": "da-cm", "operator_id": operator}
    r = api.as_(fsp, "POST", "/v1/prequalifications", json=body)
    assert r.status_code == 201, r.text
    record = r.json()["id"]
    r = api.as_(
        operator,
        "POST",
        f"/v1/prequalifications/{record}/decisions",
        json=decision or {"status": "approved", **VALID},
    )
    assert r.status_code == 200, r.text
    return str(record)


def market(
    api: Api, *, units: int = 1, days: tuple[date, ...] = (DAY,), prequalified: bool = True
) -> None:
    """DSO ``dso-a`` (area ``mv-a``), FSPs ``fsp-a`` (units ``u1``..) and ``fsp-b`` (``ub``),
    market operator ``mo`` with product ``da-cm`` and one session per day (``s1`` first);
    every unit prequalified for ``da-cm`` by ``dso-a`` for 2026 unless not ``prequalified``."""
    grid(api)
    api.party("mo", "market_operator")
    api.party("fsp-a", "fsp")
    api.party("fsp-b", "fsp")
    for n in range(1, units + 1):
        r = api.as_("fsp-a", "POST", "/v1/units", json=unit_body(f"u{n}", "cp-mv-a-1"))
        assert r.status_code == 201, r.text
    r = api.as_("fsp-b", "POST", "/v1/units", json=unit_body("ub", "cp-mv-a-2"))
    assert r.status_code == 201, r.text
    r = api.as_("mo", "POST", "/v1/products", json=product_body())
    assert r.status_code == 201, r.text
    for i, day in enumerate(days, start=1):
        r = api.as_("mo", "POST", "/v1/sessions", json=session_body(f"s{i}", day))
        assert r.status_code == 201, r.text
    if prequalified:
        for n in range(1, units + 1):
            prequalify(api, "fsp-a", f"u{n}")
        prequalify(api, "fsp-b", "ub")
