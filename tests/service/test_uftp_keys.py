"""The participants' keys live in a table loaded from the UFTP configuration at start: a
rotated key still verifies until the time the configuration states, a key dropped from the
file is refused at once, every change audited."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from shapeshifter_uftp.uftp import AcceptedRejected
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError
from flexcoord.service.tables import AuditEventRow, UftpKeyRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_endpoint import load_keys, mount_uftp
from flexcoord.standards import uftp
from tests.service.conftest import START, Api, Clock
from tests.service.markets import market
from tests.service.test_uftp_config import _config
from tests.service.test_uftp_day import AGR, DSO, Exchange, _request, _signed


def _participants(
    dso: str, agr: str, previous: list[dict[str, str]] | None = None
) -> list[dict[str, object]]:
    return [
        {
            "party_id": "dso-a",
            "domain": DSO,
            "role": "DSO",
            "public_key": dso,
            **({"previous_keys": previous} if previous else {}),
        },
        {"party_id": "fsp-a", "domain": AGR, "role": "AGR", "public_key": agr},
    ]


def test_a_rotated_key_verifies_until_its_stated_time_and_a_dropped_one_not_at_all(
    api: Api, tmp_path: Path, clock: Clock
) -> None:
    market(api)
    k1, k2, k3, agr = (uftp.generate_keypair() for _ in range(4))
    keys = {"flexcoord": uftp.generate_keypair(), "dso": k1, "agr": agr}
    engine = api.app.state.services.engine

    def start(participants: list[dict[str, object]]) -> None:
        """The service starting on this configuration file (its keys loaded)."""
        endpoint = load_uftp_config(_config(tmp_path, keys, participants=participants))
        load_keys(engine, endpoint, clock())

    def status(key: tuple[str, str]) -> object:
        """How the endpoint takes a FlexRequest signed with ``key``: 401 or the Result."""
        r = client.post(_signed(_request(keys), DSO, "DSO", key[0]))
        return r.status_code if r.status_code != 200 else client.opened(r.content).result

    mount_uftp(
        api.app,
        load_uftp_config(_config(tmp_path, keys, participants=_participants(k1[1], agr[1]))),
    )
    client = Exchange(api, keys["flexcoord"][1])
    accepted = AcceptedRejected.ACCEPTED
    assert (status(k1), status(k2)) == (accepted, 401)
    # the DSO rotates to k2; k1 stays valid for an hour
    until = START + timedelta(hours=1)
    start(_participants(k2[1], agr[1], [{"public_key": k1[1], "valid_until": until.isoformat()}]))
    assert (status(k1), status(k2)) == (accepted, accepted)
    clock.now = until
    assert (status(k1), status(k2)) == (401, accepted)
    # k3 replaces k2 with no overlap: k2 is refused at once
    start(_participants(k3[1], agr[1]))
    assert (status(k2), status(k3)) == (401, accepted)
    with Session(engine) as s:
        rows = s.scalars(
            select(UftpKeyRow).where(UftpKeyRow.domain == DSO).order_by(UftpKeyRow.seq)
        )
        assert [(r.public_key, r.valid_until) for r in rows] == [
            (k1[1], until),
            (k2[1], until),
            (k3[1], None),
        ]
        changes = s.scalars(select(AuditEventRow).where(AuditEventRow.operation == "uftp.key"))
        # dso k1 + agr + flexcoord's own at mount; k2 in, k1 given an end; k3 in, k1 retired
        # already, k2 retired
        assert len(list(changes)) == 7


def test_a_previous_key_must_be_a_key_other_than_the_current_one_with_a_zoned_time(
    tmp_path: Path,
) -> None:
    k1, agr = uftp.generate_keypair(), uftp.generate_keypair()
    keys = {"flexcoord": uftp.generate_keypair(), "dso": k1, "agr": agr}
    previous = [
        {"public_key": k1[1], "valid_until": "2026-06-01T09:00:00Z"},
        {"public_key": "short", "valid_until": "2026-06-01T09:00:00Z"},
    ]
    path = _config(tmp_path, keys, participants=_participants(k1[1], agr[1], previous))
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert [i.field for i in err.value.issues] == [
        "participants[0].previous_keys[0].public_key",
        "participants[0].previous_keys[1].public_key",
    ]
    naive = [{"public_key": agr[1], "valid_until": "2026-06-01T09:00:00"}]
    path.write_text(
        json.dumps(
            {**json.loads(path.read_text()), "participants": _participants(k1[1], agr[1], naive)}
        )
    )
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert [i.field for i in err.value.issues] == ["participants[0].previous_keys[0].valid_until"]
