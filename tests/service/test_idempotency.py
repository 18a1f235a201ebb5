"""Idempotency keys: a retry gets the original answer and changes nothing; a reused key with
another body is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.service.idempotency import replay_of
from flexcoord.service.tables import AuditEventRow, UnitRow
from tests.service.conftest import Api, grid, unit_body


def _post_unit(api: Api, party: str, key: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    return api.as_(party, "POST", "/v1/units", json=body, headers={"Idempotency-Key": key})


def _units(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(UnitRow)) or 0)


def test_a_retry_with_the_same_key_and_body_gets_the_original_answer(
    api: Api, engine: Engine
) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    body = unit_body("u1", "cp-mv-a-1")
    first = _post_unit(api, "fsp-a", "k-1", body)
    again = _post_unit(api, "fsp-a", "k-1", body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _units(engine) == 1
    with Session(engine) as session:
        last = session.scalars(select(AuditEventRow).order_by(AuditEventRow.seq.desc())).first()
    assert last is not None and (last.outcome, last.status) == ("replayed", 201)
    assert last.request_id == again.headers["X-Request-ID"]


def test_the_same_key_with_another_body_is_refused_naming_the_header(
    api: Api, engine: Engine
) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    assert _post_unit(api, "fsp-a", "k-1", unit_body("u1", "cp-mv-a-1")).status_code == 201
    r = _post_unit(api, "fsp-a", "k-1", unit_body("u2", "cp-mv-a-1"))
    assert r.status_code == 422
    [issue] = r.json()["errors"]
    assert (issue["kind"], issue["object_id"], issue["field"]) == (
        "header",
        "Idempotency-Key",
        "value",
    )
    assert _units(engine) == 1


def test_keys_are_per_party_and_a_refused_request_stores_nothing(api: Api, engine: Engine) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    api.party("fsp-b", "fsp")
    bad = {**unit_body("u1", "cp-mv-a-1"), "p_max_mw": -1.0}
    assert _post_unit(api, "fsp-a", "k-1", bad).status_code == 422
    assert _post_unit(api, "fsp-a", "k-1", unit_body("u1", "cp-mv-a-1")).status_code == 201
    b = _post_unit(api, "fsp-b", "k-1", unit_body("u9", "cp-mv-a-2"))
    assert b.status_code == 201 and "Idempotent-Replayed" not in b.headers
    assert b.json()["owner_id"] == "fsp-b"
    assert _units(engine) == 2


def test_a_delete_retried_with_its_key_answers_as_the_first_time(api: Api) -> None:
    grid(api)
    api.party("fsp-a", "fsp")
    assert api.as_("fsp-a", "POST", "/v1/units", json=unit_body("u1", "cp-mv-a-1")).is_success
    headers = {"Idempotency-Key": "del-1"}
    first = api.as_("fsp-a", "DELETE", "/v1/units/u1", headers=headers)
    again = api.as_("fsp-a", "DELETE", "/v1/units/u1", headers=headers)
    assert (first.status_code, again.status_code) == (204, 204)
    assert api.as_("fsp-a", "DELETE", "/v1/units/u1").status_code == 404


def test_a_malformed_key_or_one_on_key_issuance_is_refused(api: Api) -> None:
    api.party("fsp-a", "fsp")
    for key in ("", "x" * 256, "with space"):
        r = _post_unit(api, "fsp-a", key, unit_body("u1", "cp"))
        assert r.status_code == 422, key
        assert r.json()["errors"][0]["object_id"] == "Idempotency-Key"
    r = api.as_("fsp-a", "POST", "/v1/me/credentials/rotate", headers={"Idempotency-Key": "k"})
    assert r.status_code == 422
    assert "is not accepted by 'credential.rotate'" in r.json()["detail"]


def test_a_retry_racing_its_first_attempt_gets_the_original_answer(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry looked its key up before the first attempt committed, then failed on the first
    attempt's change (the id is now used): it answers the stored answer, not that 409 (found by
    the gate-closure rush, tests/service/reliability/test_gate_rush.py)."""
    grid(api)
    api.party("fsp-a", "fsp")
    body = unit_body("u1", "cp-mv-a-1")
    first = _post_unit(api, "fsp-a", "k-1", body)
    assert first.status_code == 201
    looked = []

    def blind_once(*args: Any) -> Any:
        looked.append(args)
        return None if len(looked) == 1 else replay_of(*args)

    monkeypatch.setattr("flexcoord.service.calls.replay_of", blind_once)
    again = _post_unit(api, "fsp-a", "k-1", body)
    assert len(looked) == 2  # the dependency's look-up (blinded), then the one under the key's lock
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    other = _post_unit(api, "fsp-a", "k-2", body)  # no key of its own stored: the 409 stands
    assert other.status_code == 409
    assert _units(engine) == 1
