"""flexcoord's own signing key rotated while the service runs: the administrator writes the new
key into ``private_key_file`` and calls ``POST /v1/uftp/own-key``; the next answer and the next
delivery attempt are signed with it, ``GET /uftp/keys`` names it current at once, the old key
stays published for the grace period; another process over the same database and key file
follows. A refused rotation changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapeshifter_uftp.exceptions import InvalidSignatureException
from shapeshifter_uftp.uftp import TestMessageResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.service import ServiceSettings, create_app, verify_chain
from flexcoord.service.tables import AuditEventRow, UftpKeyRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_delivery import UftpDelivery
from flexcoord.service.uftp_endpoint import UFTP_KEYS_PATH, UFTP_PATH, UftpEndpoint, mount_uftp
from flexcoord.standards import uftp
from tests.service.conftest import START, Api, Clock
from tests.service.markets import market
from tests.service.test_uftp_config import _config
from tests.service.test_uftp_day import AGR, DSO, FLEX
from tests.service.test_uftp_delivery import _agr, _free_port
from tests.service.test_uftp_outbox_view import _row
from tests.service.test_uftp_own_keys import Agr, _ping

ROTATE = "/v1/uftp/own-key"


class Flexcoord:
    """``flexcoord serve`` processes over one database and one configuration (and key file)."""

    def __init__(self, api: Api, database_url: str, clock: Clock, tmp_path: Path) -> None:
        market(api)
        self.api, self.database_url, self.clock = api, database_url, clock
        self.keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
        self.agr_port = _free_port()
        participants = [
            {"party_id": "dso-a", "domain": DSO, "role": "DSO", "public_key": self.keys["dso"][1]},
            {
                "party_id": "fsp-a",
                "domain": AGR,
                "role": "AGR",
                "public_key": self.keys["agr"][1],
                "endpoint": f"http://127.0.0.1:{self.agr_port}{UFTP_PATH}",
            },
        ]
        self.config = _config(tmp_path, self.keys, participants=participants)
        self.key_file = tmp_path / "flexcoord.key"
        self.clients: list[TestClient] = []
        self.endpoints: list[UftpEndpoint] = []

    def start(self) -> TestClient:
        app = create_app(ServiceSettings(database_url=self.database_url, clock=self.clock))
        endpoint = load_uftp_config(self.config)
        mount_uftp(app, endpoint)
        client = TestClient(app, raise_server_exceptions=False).__enter__()
        self.clients.append(client)
        self.endpoints.append(endpoint)
        return client

    def rotate(self, client: TestClient, **body: Any) -> Any:
        return client.post(ROTATE, json=body, headers=self.api.auth("admin"))

    def own_rows(self) -> list[tuple[str, Any]]:
        with Session(self.api.app.state.services.engine) as s:
            rows = s.scalars(
                select(UftpKeyRow).where(UftpKeyRow.role == "*").order_by(UftpKeyRow.seq)
            )
            return [(r.public_key, r.valid_until) for r in rows]

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture
def flexcoord(api: Api, database_url: str, clock: Clock, tmp_path: Path) -> Iterator[Flexcoord]:
    world = Flexcoord(api, database_url, clock, tmp_path)
    yield world
    world.close()


def test_a_key_rotated_through_the_api_signs_the_next_messages_without_a_restart(
    flexcoord: Flexcoord, clock: Clock
) -> None:
    old, new = flexcoord.keys["flexcoord"], uftp.generate_keypair()
    client, other = flexcoord.start(), flexcoord.start()  # two processes, one database
    holder_of_old = Agr(old[1])
    assert isinstance(
        holder_of_old.verify(_ping(client, flexcoord.keys["agr"][0])), TestMessageResponse
    )

    flexcoord.key_file.write_text(new[0] + "\n")  # the operator's new key, then the call
    until = START + timedelta(hours=6)
    r = flexcoord.rotate(client, previous_valid_until=until.isoformat())
    assert r.status_code == 200, r.text
    listed = [(k["public_key"], k["current"], k["valid_until"]) for k in r.json()["keys"]]
    assert listed == [(new[1], True, None), (old[1], False, "2026-06-01T14:00:00Z")]
    assert r.json()["keys"] == client.get(UFTP_KEYS_PATH).json()["keys"]  # published at once

    for process in (client, other):  # the other process follows the key table and the file
        answer = _ping(process, flexcoord.keys["agr"][0])
        assert isinstance(Agr(new[1]).verify(answer), TestMessageResponse)
        with pytest.raises(InvalidSignatureException):
            holder_of_old.verify(answer)
    assert holder_of_old.learn(client.get(UFTP_KEYS_PATH).json())  # the old key names the new

    # the delivery made before the rotation signs its next attempt with the new key
    engine = flexcoord.api.app.state.services.engine
    with Session(engine) as s, s.begin():
        s.add(_row("m1", "fsp-a", AGR, "pending"))
    delivery = UftpDelivery(engine=engine, endpoint=flexcoord.endpoints[1], clock=clock)
    with _agr(
        flexcoord.keys, flexcoord.agr_port, "http://127.0.0.1:9", flexcoord_key=new[1]
    ) as agr:
        (attempt,) = delivery.run_once()
        assert (attempt.status, attempt.error) == (200, None)
        assert [m.message_id for m in agr.received] == ["m1"]

    clock.now = until  # the grace period ends: only the new key is published
    assert [k["public_key"] for k in other.get(UFTP_KEYS_PATH).json()["keys"]] == [new[1]]
    with Session(engine) as s:
        events = s.scalars(
            select(AuditEventRow).where(AuditEventRow.operation == "uftp_own_key.rotate")
        ).all()
        assert [(e.target, e.outcome) for e in events] == [(f"uftp-key:{FLEX}/*", "accepted")]
        assert verify_chain(s).intact

    # a restart with the file holding the new key keeps the API's rotation as it is
    flexcoord.start()
    assert flexcoord.own_rows() == [(old[1], until), (new[1], None)]


def test_a_compromised_key_is_retired_at_once(flexcoord: Flexcoord) -> None:
    old, new = flexcoord.keys["flexcoord"], uftp.generate_keypair()
    client = flexcoord.start()
    flexcoord.key_file.write_text(new[0])
    r = flexcoord.rotate(client)  # no previous_valid_until: the old key is retired now
    assert r.status_code == 200, r.text
    assert [k["public_key"] for k in client.get(UFTP_KEYS_PATH).json()["keys"]] == [new[1]]
    assert flexcoord.own_rows() == [(old[1], START), (new[1], None)]


def test_a_refused_rotation_changes_nothing_and_names_the_field(
    flexcoord: Flexcoord, clock: Clock
) -> None:
    old = flexcoord.keys["flexcoord"]
    client = flexcoord.start()
    published = client.get(UFTP_KEYS_PATH).json()
    rows = flexcoord.own_rows()
    later = (START + timedelta(hours=1)).isoformat()

    def refused(status: int, field: str, **body: Any) -> str:
        r = flexcoord.rotate(client, **body)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in r.json()["errors"]] == [field]
        return str(r.json()["detail"])

    # the file still holds the key flexcoord signs with: the operator forgot to replace it
    assert "already" in refused(409, "private_key_file", previous_valid_until=later)
    flexcoord.key_file.write_text("not a key")
    refused(409, "private_key_file", previous_valid_until=later)
    flexcoord.key_file.write_text(flexcoord.keys["agr"][1])  # a public key, not a secret key
    refused(409, "private_key_file", previous_valid_until=later)
    flexcoord.key_file.unlink()
    refused(409, "private_key_file", previous_valid_until=later)
    new = uftp.generate_keypair()
    flexcoord.key_file.write_text(new[0])
    refused(
        422, "previous_valid_until", previous_valid_until=(START - timedelta(seconds=1)).isoformat()
    )
    r = flexcoord.rotate(client, previous_valid_until="tomorrow")
    assert r.status_code == 422
    r = flexcoord.rotate(client, previous_valid_until=later, private_key=new[0])
    assert r.status_code == 422  # the private key never travels over the API
    for party in ("dso-a", "fsp-a", "mo"):
        r = client.post(ROTATE, json={}, headers=flexcoord.api.auth(party))
        assert r.status_code == 403, (party, r.text)
    assert client.post(ROTATE, json={}).status_code == 401
    assert flexcoord.api.as_("admin", "POST", ROTATE, json={}).status_code == 404  # no UFTP

    assert flexcoord.own_rows() == rows
    assert client.get(UFTP_KEYS_PATH).json() == published
    assert isinstance(
        Agr(old[1]).verify(_ping(client, flexcoord.keys["agr"][0])), TestMessageResponse
    )
    with Session(flexcoord.api.app.state.services.engine) as s:
        assert verify_chain(s).intact
