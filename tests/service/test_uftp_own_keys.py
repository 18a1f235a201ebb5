"""flexcoord's own signing key rotates like a participant's (one implementation, the key table):
after a rotation it signs with the new key only, and ``GET /uftp/keys`` tells a participant
still holding the old key which key is current and until when its old one is announced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapeshifter_uftp import transport
from shapeshifter_uftp.exceptions import InvalidSignatureException
from shapeshifter_uftp.uftp import TestMessage, TestMessageResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError
from flexcoord.service import ServiceSettings, create_app
from flexcoord.service.tables import AuditEventRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_endpoint import UFTP_KEYS_PATH, UFTP_PATH, mount_uftp
from flexcoord.service.uftp_keys import key_sha256
from flexcoord.standards import uftp
from tests.service.conftest import START, Api, Clock
from tests.service.markets import market
from tests.service.test_uftp_config import _config
from tests.service.test_uftp_day import AGR, FLEX, _meta, _signed


class Agr:
    """A participant that knows one public key of flexcoord's and trusts the published list
    (served from flexcoord's own domain over TLS) to learn a new one."""

    def __init__(self, known: str) -> None:
        self.known = known

    def verify(self, signed_xml: bytes) -> Any:
        return transport.unseal_message(transport.from_xml(signed_xml).body, self.known)

    def learn(self, published: dict[str, Any]) -> bool:
        """Adopt the current key if the published list still names the key it knows."""
        if published["domain"] != FLEX or self.known not in {
            k["public_key"] for k in published["keys"]
        }:
            return False
        self.known = next(k["public_key"] for k in published["keys"] if k["current"])
        return True


@pytest.fixture
def restart(database_url: str, clock: Clock, tmp_path: Path) -> Iterator[Any]:
    """Start another flexcoord process on the same database with a configuration file."""
    clients: list[TestClient] = []

    def start(keys: dict[str, tuple[str, str]], **change: Any) -> TestClient:
        app = create_app(ServiceSettings(database_url=database_url, clock=clock))
        mount_uftp(app, load_uftp_config(_config(tmp_path, keys, **change)))
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _ping(client: TestClient, agr_private: str) -> bytes:
    """The AGR's TestMessage; flexcoord's signed TestMessageResponse."""
    data = _signed(TestMessage(**_meta(AGR)), AGR, "AGR", agr_private)
    r = client.post(UFTP_PATH, content=data, headers={"Content-Type": "text/xml"})
    assert r.status_code == 200, r.text
    return r.content


def test_after_a_rotation_new_messages_verify_with_the_new_key_and_the_list_names_it(
    api: Api, restart: Any, clock: Clock
) -> None:
    market(api)
    old, new = uftp.generate_keypair(), uftp.generate_keypair()
    keys = {"flexcoord": old, "dso": uftp.generate_keypair(), "agr": uftp.generate_keypair()}
    before = restart(keys)
    holder_of_old = Agr(old[1])
    assert isinstance(holder_of_old.verify(_ping(before, keys["agr"][0])), TestMessageResponse)
    published = before.get(UFTP_KEYS_PATH).json()
    assert [(k["public_key"], k["current"]) for k in published["keys"]] == [(old[1], True)]

    # rotation: the new key signs from the start, the old one is announced for a day
    until = START + timedelta(days=1)
    after = restart(
        {**keys, "flexcoord": new},
        previous_keys=[{"public_key": old[1], "valid_until": until.isoformat()}],
    )
    answer = _ping(after, keys["agr"][0])
    assert isinstance(Agr(new[1]).verify(answer), TestMessageResponse)
    with pytest.raises(
        InvalidSignatureException
    ):  # the old key no longer verifies what flexcoord signs
        holder_of_old.verify(answer)
    published = after.get(UFTP_KEYS_PATH).json()  # no API key needed
    assert published["roles"] == ["AGR", "CRO", "DSO"]
    assert [(k["public_key"], k["current"], k["valid_until"]) for k in published["keys"]] == [
        (new[1], True, None),
        (old[1], False, "2026-06-02T08:00:00Z"),
    ]
    assert published["keys"][0]["key_sha256"] == key_sha256(new[1])
    assert holder_of_old.learn(published)
    assert isinstance(holder_of_old.verify(answer), TestMessageResponse)
    assert not Agr(uftp.generate_keypair()[1]).learn(published)  # a stranger learns nothing

    clock.now = until  # the old key's announcement ends
    assert [k["public_key"] for k in after.get(UFTP_KEYS_PATH).json()["keys"]] == [new[1]]
    with Session(api.app.state.services.engine) as s:
        targets = s.scalars(
            select(AuditEventRow.target).where(AuditEventRow.operation == "uftp.key")
        ).all()
    # old at the first start; new in, old given its end at the rotation
    assert targets.count(f"uftp-key:{FLEX}/*") == 3


def test_flexcoords_own_key_never_verifies_a_message_sent_to_it(api: Api, restart: Any) -> None:
    """A FlexOrder flexcoord signed, posted back to it: its own key is no sender's key."""
    market(api)
    keys = {"flexcoord": uftp.generate_keypair()} | {
        who: uftp.generate_keypair() for who in ("dso", "agr")
    }
    client = restart(keys)
    for role in ("DSO", "AGR", "CRO"):
        data = _signed(TestMessage(**_meta(FLEX)), FLEX, role, keys["flexcoord"][0])
        assert client.post(UFTP_PATH, content=data).status_code == 401


def test_a_previous_own_key_must_be_a_real_key_other_than_the_signing_one(
    tmp_path: Path,
) -> None:
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    at = "2026-06-02T08:00:00Z"
    path = _config(
        tmp_path,
        keys,
        previous_keys=[
            {"public_key": keys["flexcoord"][1], "valid_until": at},
            {"public_key": "bm90IGEga2V5", "valid_until": at},
        ],
    )
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert [(i.field, i.message) for i in err.value.issues] == [
        ("previous_keys[0].public_key", "is the public key of private_key_file"),
        ("previous_keys[1].public_key", "is 9 bytes, not a 32-byte key"),
    ]
    doc = json.loads(path.read_text())
    (tmp_path / "flexcoord.key").write_text(keys["dso"][1])  # a public key as the signing key
    path.write_text(json.dumps({**doc, "previous_keys": []}))
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert [i.field for i in err.value.issues] == ["private_key_file"]
