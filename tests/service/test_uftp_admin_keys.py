"""The administrator's routes over the UFTP key table: list the participants and their keys,
add (rotate) a key, retire one; every bad request named by its field with nothing written, every
call audited, and a restart with the configuration file never undoes what the API did."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from shapeshifter_uftp.uftp import TestMessage
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.service.audit import verify_chain
from flexcoord.service.tables import UftpKeyRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_endpoint import UFTP_PATH, load_keys, mount_uftp
from flexcoord.service.uftp_keys import key_sha256
from flexcoord.standards import uftp
from tests.service.conftest import START, Api, Clock, audit_events
from tests.service.test_uftp_config import _config
from tests.service.test_uftp_day import AGR, DSO, _meta, _signed

PARTICIPANTS = "/v1/uftp/participants"
KEYS = f"{PARTICIPANTS}/fsp-a/keys"


def _mounted(api: Api, tmp_path: Path) -> tuple[dict[str, tuple[str, str]], Path]:
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    path = _config(tmp_path, keys)
    mount_uftp(api.app, load_uftp_config(path))
    return keys, path


def _status(api: Api, private_key: str) -> int:
    """The HTTP status of the AGR's TestMessage signed with ``private_key`` (401: refused)."""
    data = _signed(TestMessage(**_meta(AGR)), AGR, "AGR", private_key)
    return int(api.client.post(UFTP_PATH, content=data).status_code)


def _table(api: Api) -> list[tuple[Any, ...]]:
    with Session(api.app.state.services.engine) as s:
        rows = s.scalars(select(UftpKeyRow).order_by(UftpKeyRow.seq))
        return [(r.domain, r.role, r.public_key, r.valid_until, r.source) for r in rows]


def test_the_administrator_lists_rotates_and_retires_and_a_restart_keeps_it(
    api: Api, tmp_path: Path, clock: Clock
) -> None:
    keys, path = _mounted(api, tmp_path)
    listed = api.as_("admin", "GET", PARTICIPANTS).json()
    assert [(p["party_id"], p["domain"], p["role"]) for p in listed] == [
        ("dso-a", DSO, "DSO"),
        ("fsp-a", AGR, "AGR"),
    ]
    assert [(k["public_key"], k["current"], k["source"]) for k in listed[1]["keys"]] == [
        (keys["agr"][1], True, "config")
    ]
    # rotation with an hour's overlap
    new = uftp.generate_keypair()
    until = START + timedelta(hours=1)
    r = api.as_(
        "admin",
        "POST",
        KEYS,
        json={"public_key": new[1], "previous_valid_until": until.isoformat()},
    )
    assert r.status_code == 201, r.text
    assert [
        (k["public_key"], k["current"], k["valid_now"], k["source"]) for k in r.json()["keys"]
    ] == [
        (new[1], True, True, "admin"),
        (keys["agr"][1], False, True, "admin"),
    ]
    assert (_status(api, keys["agr"][0]), _status(api, new[0])) == (200, 200)
    # a restart on the unchanged file (still naming the old key as current) undoes nothing
    load_keys(api.app.state.services.engine, load_uftp_config(path), clock())
    clock.now = until
    assert (_status(api, keys["agr"][0]), _status(api, new[0])) == (401, 200)
    # retire the new key: refused at once
    r = api.as_("admin", "DELETE", f"{KEYS}/{key_sha256(new[1])}")
    assert r.status_code == 200, r.text
    assert [k["valid_now"] for k in r.json()["keys"]] == [False, False]
    assert _status(api, new[0]) == 401
    assert _status(api, uftp.generate_keypair()[0]) == 401
    # a replacement without overlap (no previous_valid_until)
    third = uftp.generate_keypair()
    assert api.as_("admin", "POST", KEYS, json={"public_key": third[1]}).status_code == 201
    assert _status(api, third[0]) == 200
    assert audit_events(api, "uftp_key.add") == [
        (f"uftp-key:{AGR}/AGR", "accepted", 201),
        (f"uftp-key:{AGR}/AGR", "accepted", 201),
    ]
    assert audit_events(api, "uftp_key.retire") == [(f"uftp-key:{AGR}/AGR", "accepted", 200)]
    with Session(api.app.state.services.engine) as s:
        assert verify_chain(s).issues == ()
    # the DSO's keys were never touched
    assert [row[4] for row in _table(api) if row[0] == DSO] == ["config"]
    # the AGR dropped from the configuration: its keys go, the API's too
    dso_only = [p for p in json.loads(path.read_text())["participants"] if p["role"] == "DSO"]
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "participants": dso_only, "resources": []}))
    load_keys(api.app.state.services.engine, load_uftp_config(path), clock())
    assert _status(api, third[0]) == 401


def test_every_bad_request_names_its_field_and_writes_nothing_but_its_audit_event(
    api: Api, tmp_path: Path
) -> None:
    keys, _ = _mounted(api, tmp_path)
    api.party("fsp-a", "fsp")
    before = _table(api)
    good = uftp.generate_keypair()[1]
    cases: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
        ("POST", KEYS, {"public_key": "not base64!"}, 422, "public_key"),
        ("POST", KEYS, {"public_key": "bm90IGEga2V5"}, 422, "public_key"),
        ("POST", KEYS, {"public_key": keys["agr"][1]}, 409, "public_key"),  # a duplicate
        ("POST", f"{PARTICIPANTS}/nobody/keys", {"public_key": good}, 404, "party_id"),
        ("POST", KEYS, {"public_key": good, "role": "DSO"}, 422, "role"),
        (
            "POST",
            KEYS,
            {"public_key": good, "previous_valid_until": "2026-06-01T07:00:00Z"},
            422,
            "previous_valid_until",
        ),
        (
            "POST",
            KEYS,
            {"public_key": good, "previous_valid_until": "2026-06-01T09:00"},
            422,
            "previous_valid_until",
        ),
        ("POST", KEYS, {}, 422, "public_key"),
        ("DELETE", f"{KEYS}/{'0' * 64}", None, 404, "key_sha256"),
        ("DELETE", f"{PARTICIPANTS}/nobody/keys/{key_sha256(good)}", None, 404, "party_id"),
    ]
    for method, path, body, status, field in cases:
        r = api.as_("admin", method, path, json=body)
        assert r.status_code == status, (path, body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in r.json()["errors"]] == [field], (body, r.json())
    assert api.as_("fsp-a", "POST", KEYS, json={"public_key": good}).status_code == 403
    assert api.as_("fsp-a", "GET", PARTICIPANTS).status_code == 403
    # retiring twice: the second is a conflict
    sha = key_sha256(keys["agr"][1])
    assert api.as_("admin", "DELETE", f"{KEYS}/{sha}").status_code == 200
    after_retire = _table(api)
    r = api.as_("admin", "DELETE", f"{KEYS}/{sha}")
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (409, ["key_sha256"])
    assert _table(api) == after_retire
    assert [row for row in after_retire if row[0] != AGR] == [
        row for row in before if row[0] != AGR
    ]
    refused = audit_events(api, "uftp_key.add")
    assert [(outcome, status) for _, outcome, status in refused] == [
        ("rejected", 422),
        ("rejected", 422),
        ("rejected", 409),
        ("denied", 404),
        ("rejected", 422),
        ("rejected", 422),
        ("rejected", 422),
        ("rejected", 422),
        ("denied", 403),
    ]
    with Session(api.app.state.services.engine) as s:
        assert verify_chain(s).issues == ()


def test_without_a_uftp_configuration_there_are_no_participants(api: Api) -> None:
    assert api.as_("admin", "GET", PARTICIPANTS).json() == []
    r = api.as_("admin", "POST", KEYS, json={"public_key": uftp.generate_keypair()[1]})
    assert r.status_code == 404, r.text
