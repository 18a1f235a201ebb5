"""T2, the idempotency contract as a Hypothesis state machine: an FSP sends bid.submit,
bid.submit_bulk and unit.create requests with keys drawn from a small pool and bodies from a
few variants, so keys are reused with the same and with other bodies.

* A key whose first request was accepted: the same operation, path and body → the stored
  answer, byte for byte, status and body, ``Idempotent-Replayed: true``; anything else → 422
  naming the header. Nothing changes either way.
* A key not stored (new, or its request was refused): the request is judged afresh, and the
  model predicts the answer (201, or 409 for an id already used).
* What is stored is exactly what the accepted answers said (no duplicate, nothing lost).

Every run is a fresh FSP on the same market (keys are per party), on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.service.conftest import Api, unit_body
from tests.service.markets import bid_body, market, prequalify

KEYS = [f"key-{n}" for n in range(4)]
BID_IDS = ["b1", "b2", "b3"]
UNIT_IDS = ["x1", "x2"]
QUANTITIES = [0.2, 0.3]
BIDS, DOCUMENTS, UNITS = "/v1/sessions/s1/bids", "/v1/sessions/s1/bid-documents", "/v1/units"


@dataclass(frozen=True)
class Request:
    """One request as sent: its path, its body's bytes, and the ids it would create."""

    path: str
    body: bytes
    bids: tuple[str, ...] = ()
    units: tuple[str, ...] = ()


def _bid(bid_id: str, quantity: float) -> dict[str, Any]:
    body = bid_body(bid_id)
    body["quantities"][0]["quantity"] = quantity
    return body


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


REQUESTS = st.one_of(
    st.builds(
        lambda b, q: Request(path=BIDS, body=_encode(_bid(b, q)), bids=(b,)),
        st.sampled_from(BID_IDS),
        st.sampled_from(QUANTITIES),
    ),
    st.builds(
        lambda ids, q: Request(
            path=DOCUMENTS, body=_encode({"bids": [_bid(b, q) for b in ids]}), bids=tuple(ids)
        ),
        st.lists(st.sampled_from(BID_IDS), min_size=1, max_size=2, unique=True),
        st.sampled_from(QUANTITIES),
    ),
    st.builds(
        lambda u, p: Request(
            path=UNITS, body=_encode(unit_body(u, "cp-mv-a-1", p_max_mw=p)), units=(u,)
        ),
        st.sampled_from(UNIT_IDS),
        st.sampled_from([0.5, 0.6]),
    ),
)


def machine_of(api: Api, counters: dict[str, int]) -> type[RuleBasedStateMachine]:
    """The machine over ``api`` (the market of :func:`tests.service.markets.market` set up)."""
    parties = itertools.count()

    class Idempotency(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.fsp = f"fsp-m{next(parties)}"
            api.party(self.fsp, "fsp")
            r = api.as_(self.fsp, "POST", UNITS, json=unit_body("u1", "cp-mv-a-1"))
            assert r.status_code == 201, r.text
            prequalify(api, self.fsp, "u1")
            self.stored: dict[str, tuple[Request, int, bytes]] = {}
            self.bids: set[str] = set()
            self.units: set[str] = {"u1"}
            counters["runs"] += 1

        def _fresh_status(self, request: Request) -> int:
            taken = set(request.bids) & self.bids or set(request.units) & self.units
            return 409 if taken else 201

        @rule(key=st.sampled_from(KEYS), request=REQUESTS)
        def send(self, key: str, request: Request) -> None:
            r = api.as_(
                self.fsp,
                "POST",
                request.path,
                content=request.body,
                headers={"Idempotency-Key": key, "content-type": "application/json"},
            )
            counters["requests"] += 1
            known = self.stored.get(key)
            if known is None:
                assert r.status_code == self._fresh_status(request), (key, request, r.text)
                assert "Idempotent-Replayed" not in r.headers
                if r.status_code == 201:
                    self.stored[key] = (request, r.status_code, r.content)
                    self.bids |= set(request.bids)
                    self.units |= set(request.units)
            elif known[0] == request:
                counters["replays"] += 1
                assert (r.status_code, r.content) == known[1:], (key, request, r.text)
                assert r.headers["Idempotent-Replayed"] == "true"
            else:
                counters["mismatches"] += 1
                assert r.status_code == 422, (key, request, r.text)
                assert r.json()["errors"][0]["object_id"] == "Idempotency-Key"

        @invariant()
        def stored_is_what_was_acknowledged(self) -> None:
            bids = api.as_(self.fsp, "GET", BIDS).json()
            assert sorted(b["id"] for b in bids) == sorted(self.bids)
            assert all(b["version"] == 1 for b in bids)
            units = api.as_(self.fsp, "GET", UNITS).json()
            assert sorted(u["id"] for u in units) == sorted(self.units)

    return Idempotency


@pytest.mark.slow
def test_the_idempotency_contract_holds_over_generated_sequences(
    api: Api, record_property: Any
) -> None:
    market(api)
    counters = dict.fromkeys(("runs", "requests", "replays", "mismatches"), 0)
    run_state_machine_as_test(
        machine_of(api, counters),
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    figures = (
        f"T2: {counters['runs']} sequences, {counters['requests']} requests, "
        f"{counters['replays']} replays, {counters['mismatches']} key reuses with another "
        "request; 0 violations"
    )
    print(f"\n{figures}")
    for name, value in counters.items():
        record_property(name, value)
    assert counters["replays"] > 0 and counters["mismatches"] > 0, figures
