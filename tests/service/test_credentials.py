"""API keys: stored hashed, checked exactly, rotated with a grace period, revoked at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.service.credentials import parse_key
from flexcoord.service.tables import CredentialRow
from tests.service.conftest import Api, Clock


def _whoami(api: Api, key: str) -> int:
    return api.client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code


def test_only_the_hash_of_a_key_is_stored(api: Api, engine: Engine) -> None:
    key = api.party("fsp-a", "fsp")
    key_id, secret = parse_key(key)  # type: ignore[misc]
    with Session(engine) as session:
        row = session.get(CredentialRow, key_id)
        assert row is not None and row.party_id == "fsp-a"
        stored = [
            c for r in session.scalars(select(CredentialRow)) for c in (r.key_id, r.secret_sha256)
        ]
    assert secret not in stored and key not in stored
    assert _whoami(api, key) == 200


def test_a_key_with_one_wrong_character_or_of_another_id_is_refused(api: Api) -> None:
    key = api.party("fsp-a", "fsp")
    other = api.party("fsp-b", "fsp")
    wrong_last = key[:-1] + ("A" if key[-1] != "A" else "B")
    spliced = other[: len("fck_") + 16] + key[len("fck_") + 16 :]
    assert [_whoami(api, k) for k in (wrong_last, spliced, key + "x", "")] == [401] * 4
    assert api.client.get("/v1/me", headers=api.auth("fsp-a")).json()["party_id"] == "fsp-a"


def test_rotation_keeps_the_old_key_for_the_grace_period_only(api: Api, clock: Clock) -> None:
    old = api.party("fsp-a", "fsp")
    r = api.client.post("/v1/me/credentials/rotate", headers=api.auth("fsp-a"))
    assert r.status_code == 201, r.text
    rotated = r.json()
    new = rotated["api_key"]
    assert rotated["previous_key_id"] == parse_key(old)[0]  # type: ignore[index]
    assert rotated["previous_valid_until"] == "2026-06-02T08:00:00Z"
    clock.advance(timedelta(hours=23, minutes=59))
    assert (_whoami(api, old), _whoami(api, new)) == (200, 200)
    clock.advance(timedelta(minutes=1))
    assert (_whoami(api, old), _whoami(api, new)) == (401, 200)


def test_a_party_revokes_its_own_key_at_once_and_not_another_partys(api: Api) -> None:
    key = api.party("fsp-a", "fsp")
    other = api.party("fsp-b", "fsp")
    other_id = parse_key(other)[0]  # type: ignore[index]
    r = api.client.delete(f"/v1/me/credentials/{other_id}", headers=api.auth("fsp-a"))
    assert r.status_code == 404
    assert r.json()["detail"] == f"Credential {other_id!r} is not registered"
    assert _whoami(api, other) == 200
    key_id = parse_key(key)[0]  # type: ignore[index]
    r = api.client.delete(f"/v1/me/credentials/{key_id}", headers=api.auth("fsp-a"))
    assert r.status_code == 200, r.text
    assert _whoami(api, key) == 401


def test_an_administrator_issues_keys_only_to_registered_parties(api: Api) -> None:
    r = api.as_("admin", "POST", "/v1/parties/nobody/credentials")
    assert r.status_code == 404
    r = api.as_("admin", "POST", "/v1/parties", json={"id": "admin", "name": "x", "role": "fsp"})
    assert r.status_code == 409


@pytest.mark.parametrize("name", ["nul\x00byte", "two\nlines", "tab\there", "del\x7f"])
def test_a_party_name_with_a_control_character_is_refused_naming_the_field(
    api: Api, name: str
) -> None:
    """Found by schemathesis (tests/service/reliability/test_schemathesis.py): a NUL in the
    name reached PostgreSQL, which cannot store it, and the request failed with a 500."""
    r = api.as_("admin", "POST", "/v1/parties", json={"id": "p1", "name": name, "role": "fsp"})
    assert r.status_code == 422, r.text
    assert [(e["object_id"], e["field"]) for e in r.json()["errors"]] == [("p1", "name")]
    assert api.as_("admin", "GET", "/v1/parties/p1").status_code == 404
