"""flexcoord as UFTP's Common Reference Operator: a client made only of shapeshifter-uftp
sends the DSO's and the AGR's portfolio updates and queries; flexcoord answers the queries from
its register and accepts an update only where the register agrees. Bad input (an unknown
congestion point, an EAN not in the register, another DSO's congestion point, an AGR's update
naming a connection it has no unit at, the wrong sender role) is a protocol rejection with
nothing written."""

from __future__ import annotations

import uuid
from base64 import b64decode
from typing import Any

import pytest
from nacl.bindings import crypto_sign_open
from shapeshifter_uftp import transport
from shapeshifter_uftp.uftp import (
    AcceptedRejected,
    AgrPortfolioQuery,
    AgrPortfolioQueryResponse,
    AgrPortfolioUpdate,
    AgrPortfolioUpdateConnection,
    AgrPortfolioUpdateResponse,
    DsoPortfolioQuery,
    DsoPortfolioQueryResponse,
    DsoPortfolioUpdate,
    DsoPortfolioUpdateCongestionPoint,
    DsoPortfolioUpdateConnection,
    DsoPortfolioUpdateResponse,
    RedispatchBy,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from xsdata.models.datatype import XmlDate

from flexcoord.domain import Location
from flexcoord.service.audit import verify_chain
from flexcoord.service.tables import (
    AuditEventRow,
    ConnectionPointRow,
    GridAreaRow,
    PartyRow,
    UnitRow,
)
from flexcoord.service.uftp_endpoint import UftpEndpoint, mount_uftp
from flexcoord.standards import uftp
from tests.service.conftest import Api, unit_body
from tests.service.markets import DAY
from tests.service.test_uftp_day import AGR, DSO, FLEX, Exchange, _meta, _signed
from tests.standards.binding_check import uftp_violations

DSO_B = "dso-b.example"
CP_A = "ea1.2026-06.dso.example:mv-a"  # dso-a's area mv-a (buses 1-3)
CP_BUS = "ea1.2026-06.dso.example:mv-a-bus-1"  # its bus 1 alone
CP_B = "ea1.2026-06.dso-b.example:mv-b"  # dso-b's area mv-b
PERIOD = XmlDate.from_date(DAY)


def ean(n: int) -> str:
    """The register id (the connection's EAN) of connection point ``n``."""
    return f"8716859000000000{n:02d}"


def address(n: int) -> str:
    return f"ean.{ean(n)}"


def _register(api: Api) -> None:
    """dso-a: area mv-a, connections 1-3 on buses 1-3; dso-b: area mv-b (connection 4, bus 4)
    and mv-c (connection 5, bus 5, in no congestion point). fsp-a (the UFTP AGR): units at 1,
    3, 4 and 5; fsp-b (no UFTP domain): a unit at 2."""
    for party, role in (("dso-a", "dso"), ("dso-b", "dso"), ("fsp-a", "fsp"), ("fsp-b", "fsp")):
        api.party(party, role)
    areas = {"mv-a": ("dso-a", (1, 2, 3)), "mv-b": ("dso-b", (4,)), "mv-c": ("dso-b", (5,))}
    for area, (dso, buses) in areas.items():
        body = {"id": area, "bus_ids": list(buses), "coupling_point_ids": [f"trafo:{area}"]}
        r = api.as_(dso, "POST", "/v1/grid-areas", json=body)
        assert r.status_code == 201, r.text
        for bus in buses:
            point = {
                "id": ean(bus),
                "bus": bus,
                "area_id": area,
                "coupling_point_id": f"trafo:{area}",
            }
            r = api.as_(dso, "POST", "/v1/connection-points", json=point)
            assert r.status_code == 201, r.text
    for fsp, n in (("fsp-a", 1), ("fsp-a", 3), ("fsp-a", 4), ("fsp-a", 5), ("fsp-b", 2)):
        r = api.as_(fsp, "POST", "/v1/units", json=unit_body(f"u{n}", ean(n)))
        assert r.status_code == 201, r.text


def _endpoint(keys: dict[str, tuple[str, str]]) -> UftpEndpoint:
    return UftpEndpoint(
        market=uftp.UftpMarket(
            product_id="da-cm",
            congestion_points={
                CP_A: Location.in_area("mv-a"),
                CP_BUS: Location.at_buses([1]),
                CP_B: Location.in_area("mv-b"),
            },
            domains={"dso-a": DSO, "dso-b": DSO_B, "fsp-a": AGR},
        ),
        domain=FLEX,
        private_key=keys["flexcoord"][0],
        public_keys={
            (DSO, "DSO"): keys["dso"][1],
            (DSO_B, "DSO"): keys["dso-b"][1],
            (AGR, "AGR"): keys["agr"][1],
        },
    )


class Cro:
    """The register, flexcoord's endpoint and a shapeshifter-uftp client for each sender."""

    def __init__(self, api: Api, engine: Engine) -> None:
        _register(api)
        self.api, self.engine = api, engine
        self.keys = {w: uftp.generate_keypair() for w in ("flexcoord", "dso", "dso-b", "agr")}
        mount_uftp(api.app, _endpoint(self.keys))
        self.client = Exchange(api, self.keys["flexcoord"][1])
        self.senders = {DSO: ("DSO", "dso"), DSO_B: ("DSO", "dso-b"), AGR: ("AGR", "agr")}
        self.xsd, self.validated = uftp.schema_dir_from_environment(), 0

    def send(self, message: Any, *, role: str | None = None) -> Any:
        """``message`` signed by its sender (in its role, or ``role``); flexcoord's answer,
        verified with flexcoord's key."""
        sender_role, key = self.senders[message.sender_domain]
        signed = _signed(message, message.sender_domain, role or sender_role, self.keys[key][0])
        r = self.client.post(signed)
        assert r.status_code == 200, r.text
        wrapper = transport.from_xml(r.content)
        assert wrapper.sender_role == "CRO"  # flexcoord answers as the CRO
        inner = crypto_sign_open(wrapper.body, b64decode(self.keys["flexcoord"][1]))
        answer = transport.unseal_message(wrapper.body, self.keys["flexcoord"][1])
        assert uftp_violations(inner, type(answer)) == []  # the package's bindings, in CI
        if self.xsd is not None:  # the CRO's answers are in UFTP-cro.xsd
            assert uftp.schema_violations(inner, self.xsd, "UFTP-cro.xsd") == ()
            self.validated += 1
        return answer

    def written(self) -> tuple[int, ...]:
        """How many rows the register and the rest of the service hold (the audit chain
        aside)."""
        with Session(self.engine) as s:
            return tuple(
                s.scalar(select(func.count()).select_from(t)) or 0
                for t in (PartyRow, GridAreaRow, ConnectionPointRow, UnitRow)
            )

    def audit(self) -> list[tuple[str, str]]:
        with Session(self.engine) as s:
            assert verify_chain(s).issues == ()
            rows = s.scalars(
                select(AuditEventRow)
                .where(AuditEventRow.operation.like("uftp.%Portfolio%"))
                .order_by(AuditEventRow.seq)
            )
            return [(e.operation, e.outcome) for e in rows]


def _dso_update(sender: str, points: dict[str, list[int]], **extra: Any) -> DsoPortfolioUpdate:
    return DsoPortfolioUpdate(
        **_meta(sender),
        time_zone=extra.pop("time_zone", "Europe/Amsterdam"),
        congestion_points=[
            DsoPortfolioUpdateCongestionPoint(
                entity_address=cp,
                start_period=PERIOD,
                mutex_offers_supported=True,
                day_ahead_redispatch_by=RedispatchBy.DSO,
                connections=[
                    DsoPortfolioUpdateConnection(entity_address=c, start_period=PERIOD)
                    for c in map(address, ns)
                ],
            )
            for cp, ns in points.items()
        ],
    )


def _agr_update(sender: str, connections: list[str]) -> AgrPortfolioUpdate:
    return AgrPortfolioUpdate(
        **_meta(sender),
        time_zone="Europe/Amsterdam",
        connections=[
            AgrPortfolioUpdateConnection(entity_address=c, start_period=PERIOD) for c in connections
        ],
    )


def test_the_dso_portfolio_query_is_answered_from_the_register(api: Api, engine: Engine) -> None:
    cro = Cro(api, engine)
    query = DsoPortfolioQuery(
        **_meta(DSO), time_zone="Europe/Amsterdam", period=PERIOD, entity_address=CP_A
    )
    answer = cro.send(query)
    assert isinstance(answer, DsoPortfolioQueryResponse)
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    assert answer.dso_portfolio_query_message_id == query.message_id
    assert (answer.period, answer.time_zone) == (PERIOD, "Europe/Amsterdam")
    assert answer.congestion_point.entity_address == CP_A
    # the three connections of mv-a, each with the AGR that has a unit there if it speaks UFTP
    assert [(c.entity_address, c.agr_domain) for c in answer.congestion_point.connections] == [
        (address(1), AGR),
        (address(2), None),  # fsp-b has no UFTP domain
        (address(3), AGR),
    ]
    by_bus = cro.send(
        DsoPortfolioQuery(
            **_meta(DSO), time_zone="Europe/Amsterdam", period=PERIOD, entity_address=CP_BUS
        )
    )
    assert [c.entity_address for c in by_bus.congestion_point.connections] == [address(1)]
    assert cro.xsd is None or cro.validated == 2  # both answers valid against UFTP-cro.xsd


def test_a_dso_portfolio_update_the_register_agrees_with_is_accepted(
    api: Api, engine: Engine
) -> None:
    cro = Cro(api, engine)
    before = cro.written()
    update = _dso_update(DSO, {CP_A: [1, 2, 3], CP_BUS: [1]})
    answer = cro.send(update)
    assert isinstance(answer, DsoPortfolioUpdateResponse)
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    assert answer.dso_portfolio_update_message_id == update.message_id
    assert cro.written() == before  # the register is not changed over UFTP
    assert cro.audit() == [("uftp.DsoPortfolioUpdate", "accepted")]


@pytest.mark.parametrize(
    ("sender", "points", "reason"),
    [
        (DSO, {"ea1.2026-06.dso.example:nowhere": [1]}, "is not a known congestion point"),
        (DSO, {CP_A: [1, 77]}, f"{address(77)} is not in the register"),
        (DSO, {CP_BUS: [1, 3]}, f"{address(3)} is not in congestion point {CP_BUS}"),
        (DSO, {CP_B: [4]}, f"{CP_B} is not dso-a's"),  # dso-b's area
        (DSO_B, {CP_A: [1]}, f"{CP_A} is not dso-b's"),
        (DSO, {CP_A: [1, 1]}, f"{address(1)} is given twice in {CP_A}"),
    ],
)
def test_a_dso_portfolio_update_the_register_contradicts_is_rejected_with_nothing_written(
    api: Api, engine: Engine, sender: str, points: dict[str, list[int]], reason: str
) -> None:
    cro = Cro(api, engine)
    before = cro.written()
    answer = cro.send(_dso_update(sender, points))
    assert answer.result == AcceptedRejected.REJECTED
    assert reason in (answer.rejection_reason or "")
    assert cro.written() == before
    assert cro.audit() == [("uftp.DsoPortfolioUpdate", "rejected")]


def test_the_wrong_sender_role_or_time_zone_is_rejected(api: Api, engine: Engine) -> None:
    cro = Cro(api, engine)
    before = cro.written()
    # the AGR (signed as the AGR it is registered as) sends the DSO's message
    answer = cro.send(_dso_update(AGR, {CP_A: [1]}))
    assert answer.result == AcceptedRejected.REJECTED
    assert answer.rejection_reason.startswith(
        "Invalid Sender Role: DSOPortfolioUpdate is sent in role DSO, not AGR"
    )
    # a DSO sends the AGR's
    answer = cro.send(_agr_update(DSO, [address(1)]))
    assert answer.result == AcceptedRejected.REJECTED
    assert answer.rejection_reason.startswith(
        "Invalid Sender Role: AGRPortfolioUpdate is sent in role AGR, not DSO"
    )
    # a rejected AGRPortfolioQuery has no response the package can write or read (it must
    # hold a DSO-View): refused at the transport, HTTP 400 with the reason
    query = AgrPortfolioQuery(**_meta(DSO), time_zone="Europe/Amsterdam", period=PERIOD)
    r = cro.client.post(_signed(query, DSO, "DSO", cro.keys["dso"][0]))
    assert (r.status_code, r.text) == (
        400,
        "Invalid Sender Role: AGRPortfolioQuery is sent in role AGR, not DSO",
    )
    answer = cro.send(_dso_update(DSO, {CP_A: [1]}, time_zone="Europe/London"))
    assert answer.result == AcceptedRejected.REJECTED
    assert "TimeZone" in (answer.rejection_reason or "")
    assert cro.written() == before
    assert cro.audit() == [
        ("uftp.DsoPortfolioUpdate", "rejected"),
        ("uftp.AgrPortfolioUpdate", "rejected"),
        ("uftp.AgrPortfolioQuery", "rejected"),
        ("uftp.DsoPortfolioUpdate", "rejected"),
    ]


def test_a_query_with_nothing_to_answer_is_rejected(api: Api, engine: Engine) -> None:
    cro = Cro(api, engine)
    for unit in ("u1", "u3", "u4"):  # fsp-a keeps only u5, in no congestion point
        r = api.as_("fsp-a", "DELETE", f"/v1/units/{unit}")
        assert r.status_code == 204, r.text
    query = AgrPortfolioQuery(**_meta(AGR), time_zone="Europe/Amsterdam", period=PERIOD)
    r = cro.client.post(_signed(query, AGR, "AGR", cro.keys["agr"][0]))
    assert (r.status_code, r.text) == (
        400,
        "Unknown Reference: fsp-a has no connection in a congestion point",
    )
    unknown = DsoPortfolioQuery(
        **_meta(DSO), time_zone="Europe/Amsterdam", period=PERIOD, entity_address="ea1.x:y"
    )
    answer = cro.send(unknown)
    assert answer.result == AcceptedRejected.REJECTED and answer.congestion_point is None
    assert "is not a known congestion point" in (answer.rejection_reason or "")


def test_the_agr_portfolio_query_shows_its_connections_per_dso_and_congestion_point(
    api: Api, engine: Engine
) -> None:
    cro = Cro(api, engine)
    query = AgrPortfolioQuery(**_meta(AGR), time_zone="Europe/Amsterdam", period=PERIOD)
    answer = cro.send(query)
    assert isinstance(answer, AgrPortfolioQueryResponse)
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    assert answer.agr_portfolio_query_message_id == query.message_id
    (view,) = answer.dso_views
    seen = {
        (p.dso_domain, cp.entity_address): [c.entity_address for c in cp.connections]
        for p in view.dso_portfolios
        for cp in p.congestion_points
    }
    assert seen == {
        (DSO, CP_A): [address(1), address(3)],  # not 2: fsp-b's
        (DSO, CP_BUS): [address(1)],
        (DSO_B, CP_B): [address(4)],
    }
    assert all(
        cp.mutex_offers_supported and cp.day_ahead_redispatch_by == RedispatchBy.DSO
        for p in view.dso_portfolios
        for cp in p.congestion_points
    )
    assert [c.entity_address for c in view.connections] == [address(5)]  # in no congestion point


def test_an_agr_portfolio_update_is_checked_against_its_units(api: Api, engine: Engine) -> None:
    cro = Cro(api, engine)
    before = cro.written()
    good = cro.send(_agr_update(AGR, [address(1), address(3), address(5)]))
    assert isinstance(good, AgrPortfolioUpdateResponse)
    assert good.result == AcceptedRejected.ACCEPTED, good.rejection_reason
    not_mine = cro.send(_agr_update(AGR, [address(1), address(2)]))
    assert not_mine.result == AcceptedRejected.REJECTED
    assert f"{address(2)} has no unit of fsp-a" in (not_mine.rejection_reason or "")
    unknown = cro.send(_agr_update(AGR, [f"ean.{uuid.uuid4().int % 10**18:018d}"]))
    assert unknown.result == AcceptedRejected.REJECTED
    assert "is not in the register" in (unknown.rejection_reason or "")
    assert cro.written() == before
    assert cro.audit() == [
        ("uftp.AgrPortfolioUpdate", o) for o in ("accepted", "rejected", "rejected")
    ]
