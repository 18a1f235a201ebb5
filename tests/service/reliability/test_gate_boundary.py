"""T3, the gate boundary and the calendar, by the server clock (pinned): a bid at
``gate_opens_at`` and at ``gate_closes_at`` − 1 µs is accepted, one at ``gate_closes_at``
refused (409); on the spring-forward day (92 MTUs), a normal day (96) and the autumn day (100),
a bid for MTU 92, 96 or 100 is accepted where the day has it and refused where it does not,
singly and inside a bulk document (which is then refused whole)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.domain import market_time_units
from flexcoord.service.tables import BidRow
from tests.service.conftest import Api, Clock
from tests.service.markets import gate_opens, iso, market

MICROSECOND = timedelta(microseconds=1)
MTU = timedelta(minutes=15)
DAYS = {date(2026, 3, 29): 92, date(2026, 6, 2): 96, date(2026, 10, 25): 100}
PROBED = (92, 96, 100)
BIDS, DOCUMENTS = "/v1/sessions/s1/bids", "/v1/sessions/s1/bid-documents"


def _bid(bid_id: str, day: date, k: int) -> dict[str, Any]:
    """A bid for the ``k``-th (1-based) quarter-hour from the day's local midnight."""
    start = market_time_units(day)[0].start + (k - 1) * MTU
    return {
        "id": bid_id,
        "resource_id": "u1",
        "direction": "up",
        "quantities": [{"start": iso(start), "end": iso(start + MTU), "quantity": 0.4}],
        "activation_price_eur_per_mwh": 80.0,
    }


def _fields(r: Any) -> list[tuple[str, str]]:
    return [(e["object_id"], e["field"]) for e in r.json()["errors"]]


def _probe(api: Api, day: date, label: str) -> dict[int, int]:
    """Submit one bid per probed MTU; their statuses."""
    return {
        k: api.as_("fsp-a", "POST", BIDS, json=_bid(f"{label}-{k}", day, k)).status_code
        for k in PROBED
    }


@pytest.mark.parametrize("day", list(DAYS), ids=[f"{n}-mtu" for n in DAYS.values()])
def test_gate_instants_and_the_mtus_of_the_day(
    api: Api, clock: Clock, engine: Engine, day: date
) -> None:
    mtus = DAYS[day]
    market(api, days=(day,))
    opens = gate_opens(day)
    closes = opens + timedelta(hours=2)
    session = api.as_("fsp-a", "GET", "/v1/sessions/s1").json()
    assert session["mtu_count"] == mtus
    expected = {k: 201 if k <= mtus else 422 for k in PROBED}
    clock.now = opens - MICROSECOND
    assert _probe(api, day, "early") == dict.fromkeys(PROBED, 409)
    clock.now = opens
    assert _probe(api, day, "opening") == expected
    clock.now = closes - MICROSECOND
    assert _probe(api, day, "last") == expected
    missing = [k for k in PROBED if k > mtus]
    if missing:  # a document naming a missing MTU is refused whole, naming that bid
        document = [_bid("doc-ok", day, 1), _bid(f"doc-{missing[0]}", day, missing[0])]
        r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": document})
        assert r.status_code == 422
        assert _fields(r) == [(f"doc-{missing[0]}", "quantities[0]")]
    clock.now = closes
    assert _probe(api, day, "closed") == dict.fromkeys(PROBED, 409)
    r = api.as_("fsp-a", "POST", BIDS, json=_bid("closed-1", day, 1))
    assert _fields(r) == [("s1", "gate_closes_at")]
    assert api.as_("fsp-a", "DELETE", f"{BIDS}/opening-92").status_code == 409
    assert (
        api.as_("fsp-a", "PUT", f"{BIDS}/last-92", json=_bid("last-92", day, 1)).status_code == 409
    )
    with Session(engine) as session_:
        rows = session_.scalars(select(BidRow).order_by(BidRow.id)).all()
    accepted = [k for k in PROBED if k <= mtus]
    assert sorted(r.id for r in rows) == sorted(
        f"{label}-{k}" for label in ("last", "opening") for k in accepted
    )
    assert all(opens <= r.submitted_at < closes for r in rows)
    assert all(r.submitted_at.utcoffset() == timedelta(0) for r in rows)
    assert {r.id: r.submitted_at for r in rows}[f"last-{accepted[0]}"] == closes - MICROSECOND
