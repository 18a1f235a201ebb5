"""flexcoord delivers its FlexOrders and FlexSettlements to the AGR's own UFTP endpoint: an AGR
service built only from shapeshifter-uftp (``ShapeshifterAgrService``, served by uvicorn on a
real port) verifies flexcoord's signature and answers asynchronously, as UFTP prescribes, to
flexcoord's endpoint (served on a real port too). The outbox retries an AGR that is down,
records a Rejected answer without sending again, sends a message whose answer does not come by
the answer deadline again (the same MessageID), and expires it after the last attempt."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import uvicorn
from shapeshifter_uftp import transport
from shapeshifter_uftp.client import ShapeshifterAgrDsoClient
from shapeshifter_uftp.exceptions import TransportException
from shapeshifter_uftp.uftp import (
    AcceptedDisputed,
    AcceptedRejected,
    FlexOrder,
    FlexOrderResponse,
    FlexOrderSettlementStatus,
    FlexReservationUpdate,
    FlexReservationUpdateResponse,
    FlexSettlement,
    FlexSettlementResponse,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flexcoord.domain import Location
from flexcoord.service import ServiceSettings
from flexcoord.service.tables import AuditEventRow, UftpOutboxRow
from flexcoord.service.uftp_delivery import UftpDelivery
from flexcoord.service.uftp_endpoint import UFTP_PATH, DeliveryPolicy, UftpEndpoint, mount_uftp
from flexcoord.service.worker import Worker
from flexcoord.standards import uftp
from tests.service.conftest import Api, Clock
from tests.service.markets import DAY, GATE_CLOSES
from tests.service.platform import AREA, GRID, open_session, register_grid
from tests.service.test_uftp_cleared_day import CP, EAN, _meter, _offer, _request
from tests.service.test_uftp_day import AGR, DSO, FLEX, Exchange, _signed

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Agr:
    """The aggregator's UFTP endpoint, made of shapeshifter-uftp's pieces: its XML parser and
    ``unseal_message`` (a signature that does not verify → the package's HTTP status, 401),
    HTTP 200 at once, then its answer sent asynchronously by the package's own
    ``ShapeshifterAgrDsoClient`` to flexcoord's endpoint, as the package's services do.

    (The package's ``ShapeshifterAgrService`` cannot serve here: its fastapi-xml 1.1.2 route
    fails on FastAPI 0.165 with "'Dependant' object has no attribute 'is_coroutine_callable'".)
    """

    def __init__(
        self,
        keys: dict[str, tuple[str, str]],
        flexcoord_url: str,
        verdict: Callable[[Any], str | None],
        flexcoord_key: str,
    ) -> None:
        self.keys, self.flexcoord_url, self.verdict = keys, flexcoord_url, verdict
        self.public = {(FLEX, "DSO"): flexcoord_key}
        self.received: list[Any] = []
        self.refused: list[int] = []
        self.silent = 0  # how many messages to take (HTTP 200) without ever answering
        self.app = Starlette(routes=[Route(UFTP_PATH, self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        signed = transport.from_xml(await request.body())
        key = self.public.get((signed.sender_domain, str(signed.sender_role)))
        if key is None:
            self.refused.append(401)
            return Response(status_code=401)
        try:
            message = transport.unseal_message(signed.body, key)
        except TransportException as err:
            self.refused.append(err.http_status_code)
            return Response(status_code=err.http_status_code)
        self.received.append(message)
        if self.silent > 0:  # accepted by HTTP, swallowed: no response is ever sent
            self.silent -= 1
            return Response(status_code=200)
        threading.Thread(target=self.answer, args=(message,), daemon=True).start()
        return Response(status_code=200)

    def answer(self, message: Any) -> None:
        client = ShapeshifterAgrDsoClient(
            sender_domain=AGR,
            signing_key=self.keys["agr"][0],
            recipient_domain=message.sender_domain,
            recipient_endpoint=self.flexcoord_url,
        )
        if isinstance(message, FlexOrder):
            reason = self.verdict(message)
            client.send_flex_order_response(
                FlexOrderResponse(
                    conversation_id=message.conversation_id,
                    flex_order_message_id=message.message_id,
                    result=AcceptedRejected.ACCEPTED
                    if reason is None
                    else AcceptedRejected.REJECTED,
                    rejection_reason=reason,
                )
            )
        elif isinstance(message, FlexReservationUpdate):
            reason = self.verdict(message)
            client.send_flex_reservation_update_response(
                FlexReservationUpdateResponse(
                    conversation_id=message.conversation_id,
                    flex_reservation_update_message_id=message.message_id,
                    result=AcceptedRejected.ACCEPTED
                    if reason is None
                    else AcceptedRejected.REJECTED,
                    rejection_reason=reason,
                )
            )
        elif isinstance(message, FlexSettlement):
            client.send_flex_settlement_response(
                FlexSettlementResponse(
                    conversation_id=message.conversation_id,
                    flex_settlement_message_id=message.message_id,
                    result=AcceptedRejected.ACCEPTED,
                    flex_order_settlement_statuses=[
                        FlexOrderSettlementStatus(
                            order_reference=s.order_reference,
                            disposition=AcceptedDisputed.ACCEPTED,
                        )
                        for s in message.flex_order_settlements
                    ],
                )
            )


@contextmanager
def _serving(app: Any, port: int) -> Iterator[None]:
    """An ASGI app on a real port (lifespan off: flexcoord's app is the test's)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def _agr(
    keys: dict[str, tuple[str, str]],
    port: int,
    flexcoord_url: str,
    verdict: Callable[[Any], str | None] = lambda _: None,
    *,
    flexcoord_key: str | None = None,
) -> Iterator[Agr]:
    agr = Agr(keys, flexcoord_url, verdict, flexcoord_key or keys["flexcoord"][1])
    with _serving(agr.app, port):
        yield agr


def _endpoint(
    keys: dict[str, tuple[str, str]], agr_port: int, delivery: DeliveryPolicy
) -> UftpEndpoint:
    return UftpEndpoint(
        market=uftp.UftpMarket(
            product_id="da-cm",
            congestion_points={CP: Location.in_area(AREA)},
            domains={"dso": DSO, "fsp-a": AGR},
            resources={("fsp-a", CP): "u0"},
            eans={"u0": EAN},
        ),
        domain=FLEX,
        private_key=keys["flexcoord"][0],
        public_keys={(DSO, "DSO"): keys["dso"][1], (AGR, "AGR"): keys["agr"][1]},
        sessions={DAY: "s1"},
        endpoints={(AGR, "AGR"): f"http://127.0.0.1:{agr_port}{UFTP_PATH}"},
        delivery=delivery,
    )


class Day:
    """A UFTP day cleared by the service's worker, its FlexOrder in the outbox."""

    def __init__(
        self, api: Api, engine: Engine, clock: Clock, delivery: DeliveryPolicy | None = None
    ) -> None:
        self.api, self.engine, self.clock = api, engine, clock
        register_grid(api)
        open_session(api)
        self.keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr", "x")}
        self.agr_port, self.flexcoord_port = _free_port(), _free_port()
        self.flexcoord_url = f"http://127.0.0.1:{self.flexcoord_port}{UFTP_PATH}"
        self.endpoint = _endpoint(self.keys, self.agr_port, delivery or DeliveryPolicy())
        mount_uftp(api.app, self.endpoint)
        self.client = Exchange(api, self.keys["flexcoord"][1])
        request = _request()
        answer = self.client.result(_signed(request, DSO, "DSO", self.keys["dso"][0]))
        assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
        self.offer = _offer(request.message_id)
        answer = self.client.result(_signed(self.offer, AGR, "AGR", self.keys["agr"][0]))
        assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
        clock.now = GATE_CLOSES
        self.worker = Worker(
            engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock), uftp=self.endpoint
        )
        assert self.worker.run_once() is not None
        self.delivery = UftpDelivery(engine=engine, endpoint=self.endpoint, clock=clock)

    def rows(self) -> list[UftpOutboxRow]:
        with Session(self.engine) as s:
            return list(s.scalars(select(UftpOutboxRow).order_by(UftpOutboxRow.seq)))

    def wait_for(self, status: str, n: int = 1, timeout_s: float = 15.0) -> list[UftpOutboxRow]:
        """The outbox once ``n`` messages reached ``status`` (the AGR answers asynchronously)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rows = self.rows()
            if sum(r.status == status for r in rows) >= n:
                return rows
            time.sleep(0.05)
        raise AssertionError(f"not {status}: {[(r.status, r.last_error) for r in self.rows()]}")

    def audit(self, prefix: str) -> list[tuple[str, str, int]]:
        with Session(self.engine) as s:
            events = s.scalars(
                select(AuditEventRow)
                .where(AuditEventRow.operation.startswith(prefix))
                .order_by(AuditEventRow.seq)
            )
            return [(e.operation, e.outcome, e.status) for e in events]


def test_the_cleared_order_and_the_settlement_reach_the_agr_and_its_answers_are_recorded(
    api: Api, engine: Engine, clock: Clock
) -> None:
    started = time.perf_counter()
    day = Day(api, engine, clock)
    (row,) = day.rows()  # enqueued with the clearing's awards, nothing sent yet
    assert (row.message_type, row.status, row.attempts) == ("FlexOrder", "pending", 0)
    awards = api.as_("dso", "GET", "/v1/sessions/s1/awards").json()
    chosen = {a["bid_id"] for a in awards} & {"opt-a", "opt-b"}

    with (
        _serving(api.app, day.flexcoord_port),
        _agr(day.keys, day.agr_port, day.flexcoord_url) as agr,
    ):
        (attempt,) = day.delivery.run_once()
        assert (attempt.status, attempt.error) == (200, None)
        (row,) = day.wait_for("accepted")
        (order,) = agr.received  # verified by the package with flexcoord's key
        assert order.message_id == row.message_id and order.sender_domain == FLEX
        assert {order.option_reference} == chosen
        assert order.flex_offer_message_id == day.offer.message_id
        assert order.order_reference == f"s1/{order.option_reference}"

        # the AGR's metering, then the settlement: its FlexSettlement goes the same way
        ordered_kw = -order.isps[0].power // 1000
        meter = _signed(_meter(ordered_kw), AGR, "AGR", day.keys["agr"][0])
        assert day.client.result(meter).result == AcceptedRejected.ACCEPTED
        clock.advance(timedelta(days=1))
        assert api.as_("mo", "POST", "/v1/sessions/s1/settlement").status_code == 202
        assert day.worker.settle_once() == "s1"
        assert [r.message_type for r in day.rows()] == ["FlexOrder", "FlexSettlement"]
        (attempt,) = day.delivery.run_once()
        assert attempt.status == 200
        rows = day.wait_for("accepted", n=2)
        settlement = agr.received[1]
        assert settlement.message_id == rows[1].message_id
        assert [s.order_reference for s in settlement.flex_order_settlements] == [
            order.order_reference
        ]
    assert day.delivery.run_once() == []  # nothing is sent twice
    assert day.audit("uftp.deliver.") == [
        ("uftp.deliver.FlexOrder", "accepted", 200),
        ("uftp.deliver.FlexSettlement", "accepted", 200),
    ]
    assert day.audit("uftp.answer.") == [
        ("uftp.answer.FlexOrder", "accepted", 200),
        ("uftp.answer.FlexSettlement", "accepted", 200),
    ]
    print(
        f"\nUFTP delivery: FlexOrder and FlexSettlement delivered and accepted over HTTP, "
        f"{time.perf_counter() - started:.1f} s"
    )


def test_an_agr_that_is_down_or_refuses_the_signature_gets_the_order_again_later(
    api: Api, engine: Engine, clock: Clock
) -> None:
    day = Day(api, engine, clock)
    # 1. nobody listens: a transport failure, tried again after the backoff
    (attempt,) = day.delivery.run_once()
    assert attempt.status is None and "ConnectionError" in (attempt.error or "")
    (row,) = day.rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock() + day.endpoint.delivery.base_delay
    assert day.delivery.run_once() == []  # not due before its backoff
    with _serving(api.app, day.flexcoord_port):
        # 2. an AGR holding the wrong key for flexcoord refuses the signature: HTTP 401
        clock.advance(day.endpoint.delivery.base_delay)
        wrong = day.keys["x"][1]
        with _agr(day.keys, day.agr_port, day.flexcoord_url, flexcoord_key=wrong) as agr:
            (attempt,) = day.delivery.run_once()
            assert attempt.status == 401 and agr.received == []
        (row,) = day.rows()
        assert (row.status, row.attempts) == ("pending", 2)
        assert row.next_attempt_at == clock() + 2 * day.endpoint.delivery.base_delay
        # 3. the AGR is back with the right key: the same message, verified and accepted
        clock.advance(2 * day.endpoint.delivery.base_delay)
        with _agr(day.keys, day.agr_port, day.flexcoord_url) as agr:
            (attempt,) = day.delivery.run_once()
            assert attempt.status == 200
            (row,) = day.wait_for("accepted")
            assert [m.message_id for m in agr.received] == [row.message_id]
    assert row.attempts == 3 and row.last_error is None
    assert day.audit("uftp.deliver.") == [
        ("uftp.deliver.FlexOrder", "failed", 503),
        ("uftp.deliver.FlexOrder", "failed", 401),
        ("uftp.deliver.FlexOrder", "accepted", 200),
    ]


def test_a_rejected_order_is_recorded_and_not_sent_again(
    api: Api, engine: Engine, clock: Clock
) -> None:
    day = Day(api, engine, clock)
    reason = "Requested ISPs already ordered"
    with (
        _serving(api.app, day.flexcoord_port),
        _agr(day.keys, day.agr_port, day.flexcoord_url, lambda _: reason) as agr,
    ):
        day.delivery.run_once()
        (row,) = day.wait_for("rejected")
        assert row.rejection_reason == reason
        clock.advance(timedelta(days=1))
        assert day.delivery.run_once() == []
        assert len(agr.received) == 1
    assert day.audit("uftp.answer.") == [("uftp.answer.FlexOrder", "rejected", 422)]
    # an answer to a message flexcoord never sent is refused ("Unknown Reference"), audited
    stray = FlexOrderResponse(
        version="3.1.0",
        sender_domain=AGR,
        recipient_domain=FLEX,
        time_stamp="2026-06-01T08:30:00+00:00",
        message_id="00000000-0000-4000-8000-000000000001",
        conversation_id="00000000-0000-4000-8000-000000000002",
        flex_order_message_id="00000000-0000-4000-8000-000000000003",
        result=AcceptedRejected.ACCEPTED,
    )
    r = day.client.post(_signed(stray, AGR, "AGR", day.keys["agr"][0]))
    assert r.status_code == 200 and r.content == b""
    last = api.app.state.uftp_log[-1]
    assert not last.accepted and (last.reason or "").startswith("Unknown Reference")
    assert day.audit("uftp.answer.") == [("uftp.answer.FlexOrder", "rejected", 422)]


def test_an_order_whose_answer_never_comes_is_sent_again_after_the_answer_deadline(
    api: Api, engine: Engine, clock: Clock
) -> None:
    day = Day(api, engine, clock)
    deadline = day.endpoint.delivery.answer_deadline
    assert deadline == timedelta(minutes=15)  # the default
    with (
        _serving(api.app, day.flexcoord_port),
        _agr(day.keys, day.agr_port, day.flexcoord_url) as agr,
    ):
        agr.silent = 1  # the first FlexOrder is taken (HTTP 200) and never answered
        (attempt,) = day.delivery.run_once()
        assert attempt.status == 200
        (row,) = day.rows()
        assert (row.status, row.attempts) == ("sent", 1)
        assert row.next_attempt_at == clock() + deadline
        clock.advance(deadline - timedelta(seconds=1))
        assert day.delivery.run_once() == []  # still within the deadline: no re-send
        time.sleep(0.3)
        assert day.rows()[0].status == "sent"  # and no answer came
        clock.advance(timedelta(seconds=1))
        (attempt,) = day.delivery.run_once()  # the deadline passed: the same message again
        assert attempt.status == 200
        (row,) = day.wait_for("accepted")
        first, second = agr.received
        assert first.message_id == second.message_id == row.message_id
        assert uftp.to_xml(first) == uftp.to_xml(second)  # the very same message
    assert row.attempts == 2 and row.answered_at == clock()
    assert day.delivery.run_once() == []  # answered: never sent again
    assert day.audit("uftp.deliver.") == [("uftp.deliver.FlexOrder", "accepted", 200)] * 2
    assert day.audit("uftp.answer.") == [("uftp.answer.FlexOrder", "accepted", 200)]


def test_an_order_never_answered_expires_after_the_last_attempt_and_is_audited(
    api: Api, engine: Engine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    policy = DeliveryPolicy(answer_deadline=timedelta(minutes=5), max_attempts=3)
    day = Day(api, engine, clock, policy)
    with (
        _serving(api.app, day.flexcoord_port),
        _agr(day.keys, day.agr_port, day.flexcoord_url) as agr,
    ):
        agr.silent = 10  # takes every message, answers none
        waits = []
        for _ in range(policy.max_attempts):
            (attempt,) = day.delivery.run_once()
            assert attempt.status == 200
            (row,) = day.rows()
            waits.append(row.next_attempt_at - clock())
            clock.now = row.next_attempt_at
        assert waits == [policy.answer_deadline] * 3  # 5 min is longer than the backoff
        with caplog.at_level("ERROR", logger="flexcoord"):
            assert day.delivery.run_once() == []  # no attempt left: expired, nothing sent
        assert {m.message_id for m in agr.received} == {row.message_id}
        assert len(agr.received) == 3
    (row,) = day.rows()
    assert (row.status, row.attempts) == ("expired", 3)
    assert any("not answered after 3 attempts" in r.getMessage() for r in caplog.records)
    assert day.audit("uftp.deliver.") == [("uftp.deliver.FlexOrder", "accepted", 200)] * 3
    assert day.audit("uftp.expire.") == [("uftp.expire.FlexOrder", "failed", 504)]
    clock.advance(timedelta(days=1))
    assert day.delivery.run_once() == []  # an expired message stays expired
